"""Retrying what another process blocks for a while: a SQLite writer's lock, a Kuzu
database opened read-write elsewhere.

A source runs its engine call through ``RetryPolicy.run`` with a test that says
which failures are such locks. Between attempts it waits a backoff that doubles from
``initial_backoff`` up to ``max_backoff``, each wait a random fraction (one half to
all) of it so that readers blocked together do not retry in lockstep. The waits end
early when the query is cancelled or times out. After ``attempts`` tries the last
failure is raised as ``RetryExhausted``, which the source turns into a
``SourceError`` saying what holds the lock and how long it waited.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from .errors import QueryCancelled

T = TypeVar("T")


class RetryExhausted(Exception):
    """Every attempt failed with a transient error; ``last`` is the final one."""

    def __init__(self, last: BaseException, attempts: int, waited: float):
        self.last = last
        self.attempts = attempts
        self.waited = waited
        super().__init__(f"{first_line(last)} (still failing after {attempts} attempts over {waited:.1f} s)")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying while a source is locked by another process.

    The defaults try 8 times over about 1.1 to 2.3 seconds: long enough for an
    application's short write transactions to commit, short enough that a
    database held for minutes is reported rather than waited on.
    """

    attempts: int = 8  # tries in all, the first included; 1 never retries
    initial_backoff: float = 0.02  # seconds before the second try
    max_backoff: float = 1.0  # the backoff doubles up to this many seconds

    def backoff(self, attempt: int) -> float:
        """The longest wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial_backoff * 2.0 ** min(attempt - 1, 64), self.max_backoff)

    def run(self, action: Callable[[], T], transient: Callable[[BaseException], bool],
            cancelled: threading.Event | None = None) -> T:
        """``action()``, tried again while it raises an exception ``transient`` accepts.

        ``cancelled`` (the query's cancellation flag) ends a wait at once with
        ``QueryCancelled``.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            if cancelled is not None and cancelled.is_set():
                raise QueryCancelled("The query was cancelled")
            try:
                return action()
            except Exception as exc:  # noqa: BLE001 - the engine's type; `transient` decides
                if not transient(exc):
                    raise
                if attempt >= self.attempts:
                    raise RetryExhausted(exc, attempt, time.monotonic() - started) from exc
            wait = self.backoff(attempt) * random.uniform(0.5, 1.0)
            if cancelled is None:
                time.sleep(wait)
            elif cancelled.wait(wait):
                raise QueryCancelled("The query was cancelled")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

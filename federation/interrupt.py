"""Run engine work so that Ctrl-C cancels it instead of being ignored.

Python delivers a signal only between bytecodes, so a native engine call on the
main thread would ignore Ctrl-C until it returned. The work runs on a helper thread
while the caller waits, and Ctrl-C there becomes the engines' interrupt.

The helper is one long-lived thread per federation, not a fresh thread per query.
The wait is on a Future, not ``Thread.join``: in CPython 3.11 a
KeyboardInterrupt that lands inside ``join()`` leaves ``is_alive()`` False while the
thread still runs.
"""

from __future__ import annotations

import concurrent.futures
from typing import Callable, TypeVar

T = TypeVar("T")


class QueryThread:
    """The one thread a federation runs Ctrl-C-cancellable work on."""

    def __init__(self, interrupt: Callable[[], object]):
        self._interrupt = interrupt
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def run(self, work: Callable[[], T], *, tick: Callable[[], None] | None = None, every: float = 0.1) -> T:
        """``work()`` on the query thread; ``tick()`` runs every ``every`` seconds.

        On Ctrl-C, the interrupt is called until the work stops (again and again: the
        query may still be planning, with nothing yet to interrupt), then the
        KeyboardInterrupt is re-raised. A second Ctrl-C stops waiting.
        """
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="federation-query")
        future = self._pool.submit(work)
        try:
            while not _settled(future, every):
                if tick is not None:
                    tick()
        except KeyboardInterrupt:
            try:
                while True:
                    self._interrupt()
                    if _settled(future, every):
                        break
            except KeyboardInterrupt:
                pass
            raise
        return future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _settled(future: concurrent.futures.Future, seconds: float) -> bool:
    done, _ = concurrent.futures.wait([future], timeout=seconds)
    return bool(done)

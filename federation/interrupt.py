"""Run engine work so that Ctrl-C cancels it instead of being ignored.

Python delivers a signal only between bytecodes, so a native engine call on the
main thread would ignore Ctrl-C until it returned. The work runs in a helper thread
while the caller waits, and Ctrl-C there becomes the engines' interrupt.

The wait is on an Event, not ``Thread.join``: in CPython 3.11 a KeyboardInterrupt
that lands inside ``join()`` leaves ``is_alive()`` False while the thread still runs.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

T = TypeVar("T")


def run_interruptibly(work: Callable[[], T], interrupt: Callable[[], object], *,
                      tick: Callable[[], None] | None = None, every: float = 0.1) -> T:
    """``work()`` in a helper thread; ``tick()`` runs every ``every`` seconds.

    On Ctrl-C, ``interrupt()`` is called until the work stops (again and again: the
    query may still be planning, with nothing yet to interrupt), then the
    KeyboardInterrupt is re-raised. A second Ctrl-C stops waiting.
    """
    done = threading.Event()
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="federation-query", daemon=True).start()
    try:
        while not done.wait(every):
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        try:
            while True:
                interrupt()
                if done.wait(every):
                    break
        except KeyboardInterrupt:
            pass
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

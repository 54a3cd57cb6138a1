"""The interface every source implements.

A source describes its tables (``tables``), tells its data version (``version``, part
of every cache key), compiles the planner's requests into native fragments, and runs a
fragment into a ``pyarrow.Table``. Everything specific to one engine lives in that
source's module and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Callable, Mapping

import pyarrow as pa

from ..catalog import TableInfo, same_type
from ..errors import ColumnTypeError, FederationError, QueryCancelled, SourceError, format_bytes
from ..limits import UNLIMITED, Limits
from ..plan import Fragment
from ..retry import RetryExhausted, RetryPolicy, first_line


class Source(ABC):
    kind: str = "source"
    # Validate every value of a result, not only its structure (see ``conform``).
    validate_fully: bool = False

    def __init__(self, name: str, options: Mapping[str, object]):
        self.name = name
        self.options = dict(options)
        self._lock = threading.RLock()
        self._tables: dict[str, TableInfo] | None = None
        self._tables_version: object = None
        self._counts: dict[str, tuple[TableInfo, int]] = {}  # see row_count
        # how long to wait while another process locks the source ([retry] in the config)
        self.retry: RetryPolicy = self.options.pop("retry", None) or RetryPolicy()

    # ------------------------------------------------------------ catalog
    def tables(self) -> dict[str, TableInfo]:
        """Tables by name; re-read when the data version changes (a schema may have too)."""
        version = self._catalog_version()
        with self._lock:
            if self._tables is None or self._tables_version != version:
                self._tables = self._guard(self._load_tables, "reading the catalog")
                self._tables_version = version
            return self._tables

    @abstractmethod
    def _load_tables(self) -> dict[str, TableInfo]: ...

    def _catalog_version(self) -> object:
        """The data version that decides whether the catalog is read again."""
        return self.version()

    # ------------------------------------------------------------ data
    @abstractmethod
    def version(self, tables: tuple[str, ...] = (), running: "Running | None" = None) -> object:
        """A token that changes whenever the data (of ``tables``, or all) may have changed.

        ``running``, when given, is the query's token: a wait for a lock ends when it
        is cancelled."""

    @abstractmethod
    def compile_scan(self, table: TableInfo, columns: tuple[str, ...]) -> Fragment:
        """A fragment returning ``columns`` of every row of ``table``."""

    def few_keys(self, access) -> int:
        """Up to how many semi-join keys the source is asked with a second form of the
        reduced request, cheaper for few keys (0: it has one form)."""
        return 0

    def row_count(self, table: TableInfo) -> int | None:
        """Rows in ``table``, an estimate for the planner (None: unknown), cached per
        data version: a TableInfo is renewed whenever the data version changes, so the
        TableInfo the count was taken for is its version key."""
        with self._lock:
            cached = self._counts.get(table.name)
            if cached is not None and cached[0] is table:
                return cached[1]
        count = self._count_rows(table)
        if count is not None:
            with self._lock:
                self._counts[table.name] = (table, count)
        return count

    def _count_rows(self, table: TableInfo) -> int | None:
        """The source's own, cheap count of ``table``'s rows (None: no estimate)."""
        return None

    @abstractmethod
    def _execute(self, fragment: Fragment, params: Mapping[str, object], running: "Running") -> pa.Table: ...

    def execute(self, fragment: Fragment, params: Mapping[str, object], running: "Running | None" = None) -> pa.Table:
        """Run a fragment; any engine failure becomes one ``SourceError``.

        ``running`` is the query in flight: a source registers with it how to
        interrupt the engine call, and what it keeps until the query ends (Kuzu: the
        open database). Without one, the fragment is a query of its own.
        """
        if running is None:
            with Running() as running:
                return self.execute(fragment, params, running)
        table = self._guard(lambda: self._execute(fragment, params, running), fragment.text)
        # Sources that stream stop at the cap themselves; this covers the others.
        running.limits.check_table(table, source=self.name, fragment=fragment.text)
        return conform(table, fragment, self.name, full=self.validate_fully)

    def close(self) -> None:
        """Release connections and files. Idempotent."""

    # ------------------------------------------------------------ health
    @property
    def location(self) -> str:
        return str(self.options.get("path") or self.options.get("uri") or "")

    def import_engine(self) -> None:
        """Import the engine's Python module (seconds, the first time), so that a
        health probe's latency is the source's own."""

    def missing(self) -> str | None:
        """Why the source's database does not exist, or None if it does."""
        return None

    @abstractmethod
    def probe(self) -> str:
        """Read the source as a query would (open it, read the catalog and one row of
        each table) and return its data version as text. Raises what the engine
        raises; ``diagnose`` sorts that into a status of ``federation.health``."""

    def diagnose(self, exc: BaseException) -> str:
        """``"locked"``, ``"corrupt"`` or ``"error"`` for an exception ``probe`` raised."""
        return "error"

    # ------------------------------------------------------------ helpers
    def _guard(self, action, what: str):
        try:
            return action()
        except FederationError:
            raise
        except RetryExhausted as exc:
            raise SourceError(self.name, self._locked_message(exc), fragment=what) from exc.last
        except Exception as exc:  # the engine's own exception type, whatever it is
            raise SourceError(self.name, self._error_message(exc), fragment=what) from exc

    def _retrying(self, action, running: "Running | None" = None):
        """``action()``, tried again per the retry policy while another process locks
        the source (``_is_locked``); waits end when ``running`` is cancelled."""
        return self.retry.run(action, self._is_locked, running.cancelled if running is not None else None)

    def _is_locked(self, exc: BaseException) -> bool:
        """Whether ``exc`` says another process holds a lock that it will release."""
        return False

    def _locked_message(self, exc: RetryExhausted) -> str:
        return (f"{exc}. The [retry] settings (attempts, max_backoff) say how long to wait for the"
                " process holding the lock")

    def _error_message(self, exc: BaseException) -> str:
        """What an engine exception means, for the ``SourceError`` that replaces it."""
        return first_line(exc)

    def describe(self) -> str:
        return f"{self.kind} {self.options.get('path') or self.options.get('uri') or ''}".strip()


class Running:
    """One query in flight: a cancelled flag, how to interrupt what it runs now, the
    caps on what it reads, and what it keeps until it ends.

    Used as a context manager by whoever runs the query: leaving it releases what the
    query kept (``keep``).
    """

    # An interrupt that arrives just before the engine starts its call is lost, so
    # a cancelled query's registered interrupts are repeated until its calls return.
    REPEAT_SECONDS = 0.02

    def __init__(self, timeout: float | None = None, limits: Limits = UNLIMITED):
        self.limits = limits  # the caps on each result this query reads
        self.cancelled = threading.Event()
        self.timed_out = False
        # when the query's timeout cancels it (time.monotonic()), for engines that take a timeout
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        self._interrupts: list = []
        self._lock = threading.Lock()
        self._kept: dict[object, tuple[object, Callable[[], None]]] = {}

    def keep(self, key: object, acquire: Callable[[], tuple[object, Callable[[], None]]]) -> object:
        """What ``acquire()`` returns, acquired once per query and released when it ends.

        ``acquire()`` returns ``(value, release)``. A source keeps, e.g., its open
        database this way, so that all its fragments of one query read one state and
        the data versions checked at the end of the query are those of that state.
        """
        with self._lock:
            if key in self._kept:
                return self._kept[key][0]
        value, release = acquire()  # may wait (a writer holds the file): not under the lock
        with self._lock:
            if key not in self._kept:
                self._kept[key] = (value, release)
                return value
        release()  # another fragment of this query acquired it meanwhile
        return self._kept[key][0]

    def release(self) -> None:
        """Release everything the query kept. Idempotent."""
        with self._lock:
            kept, self._kept = list(self._kept.values()), {}
        for _, release in reversed(kept):
            release()

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def on_cancel(self, interrupt) -> "_Registration":
        """Register ``interrupt()`` for the engine call in its ``with`` block."""
        return _Registration(self, interrupt)

    def remaining(self) -> float | None:
        """Seconds until the deadline (0 once passed), or None without a timeout."""
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def cancel(self, *, timed_out: bool = False) -> None:
        if self.cancelled.is_set():
            return
        self.timed_out = timed_out  # set before the flag, which the query thread reads
        self.cancelled.set()
        threading.Thread(target=self._interrupt_until_idle, name="federation-cancel", daemon=True).start()

    def _interrupt_until_idle(self) -> None:
        while True:
            with self._lock:
                if not self._interrupts:
                    return
                # Under the lock, which a call takes to leave its ``on_cancel`` block: its
                # connection is never interrupted once it is closed (Kuzu's last for one
                # call) or lent to another query (SQLite's are pooled). Interrupting only
                # sets a flag in each engine; it does not wait.
                for interrupt in list(self._interrupts):
                    try:
                        interrupt()
                    except Exception:  # noqa: BLE001 - the call may have finished meanwhile
                        pass
            time.sleep(self.REPEAT_SECONDS)


class _Registration:
    """``Running.on_cancel``: an engine call's interrupt, registered while it runs."""

    __slots__ = ("running", "interrupt")

    def __init__(self, running: Running, interrupt):
        self.running = running
        self.interrupt = interrupt

    def __enter__(self) -> None:
        if self.running.cancelled.is_set():
            raise QueryCancelled("The query was cancelled")
        with self.running._lock:
            self.running._interrupts.append(self.interrupt)

    def __exit__(self, *exc) -> None:
        with self.running._lock:
            self.running._interrupts.remove(self.interrupt)


class ConnectionPool:
    """Connections lent to one caller at a time and kept for the next.

    A connection per thread would leak one per thread that ever queried (a thread
    per request opens a file descriptor per request, until the federation closes);
    a pool holds as many as ever ran at once. SQLite connections may move between
    threads as long as one thread uses them at a time.

    ``renew()`` retires every connection (the file they read was replaced): idle ones
    close at once, those in use when they come back. A connection that comes back
    with ``reusable(connection)`` false is closed instead of kept.
    """

    def __init__(self, open_connection, reusable: Callable[[object], bool] | None = None):
        self._open = open_connection
        self._reusable = reusable
        self._idle: list = []
        self._generation = 0
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self):
        with self._lock:
            connection = self._idle.pop() if self._idle else None
            generation = self._generation
        if connection is None:
            connection = self._open()
        try:
            yield connection
        finally:
            with self._lock:
                keep = (not self._closed and generation == self._generation
                        and (self._reusable is None or self._reusable(connection)))
                if keep:
                    self._idle.append(connection)
            if not keep:  # closed or renewed while it was in use
                _close_quietly(connection)

    def renew(self) -> None:
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for connection in idle:
            _close_quietly(connection)

    def close(self) -> None:
        """Close the idle connections now and those in use when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            _close_quietly(connection)

    def __len__(self) -> int:
        return len(self._idle)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing what may already be gone
        pass


def file_stats(*paths: str) -> tuple:
    """(inode, size, mtime, ctime) of each path, None where it does not exist: part of
    a data version. The inode tells a replaced file from a rewritten one."""
    stats = []
    for path in paths:
        try:
            st = os.stat(path)
            stats.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        except FileNotFoundError:
            stats.append(None)
    return tuple(stats)


def describe_files(*paths: str) -> str:
    """A data version people can read: the latest modification time (UTC) and the
    total size of the files that exist."""
    stats = []
    for path in paths:
        try:
            stats.append(os.stat(path))
        except FileNotFoundError:
            pass
    if not stats:
        return "no files"
    modified = dt.datetime.fromtimestamp(max(st.st_mtime for st in stats), dt.timezone.utc)
    return f"modified {modified.isoformat(timespec='seconds')}, {format_bytes(sum(st.st_size for st in stats))}"


def conform(table: pa.Table, fragment: Fragment, source: str, *, full: bool = False) -> pa.Table:
    """Check a fragment result before DuckDB sees it: the fragment's column names, the
    catalog's type for every column whose type the fragment knows, valid Arrow data.

    Engines infer Arrow types from values: an empty or all-NULL result comes back
    typed as whatever the driver guesses (ADBC SQLite says int64), which would change
    the meaning of the DuckDB step, so such a column takes the catalog type. Any
    other difference is a ``ColumnTypeError`` naming the column: the sources convert
    what they can convert exactly (docs/types.md), and nothing else is converted.

    ``full`` validates every value (UTF-8, offsets, decimal precision, nested
    lengths), not only the structure: for engines known to return invalid data.
    """
    if table.num_columns != len(fragment.columns):
        raise SourceError(
            source,
            f"returned {table.num_columns} columns, expected {len(fragment.columns)}",
            fragment=fragment.text,
        )
    table = table.rename_columns(list(fragment.columns))
    if fragment.types:
        arrays = []
        changed = False
        for name, column, expected in zip(fragment.columns, table.columns, fragment.types):
            if expected is not None and not same_type(column.type, expected):
                if column.null_count != len(column) and not pa.types.is_null(column.type):
                    raise ColumnTypeError(
                        source,
                        f"column {name!r} came back as {column.type}, not as {expected} (the type the"
                        " catalog gives it); no value was converted. See docs/types.md",
                        column=name, fragment=fragment.text)
                # all NULL: the values say nothing, the catalog type is the truth
                column = pa.nulls(len(column), expected)
                changed = True
            arrays.append(column)
        if changed:
            table = pa.Table.from_arrays(arrays, names=list(fragment.columns))
    for name, column in zip(fragment.columns, table.columns):
        try:
            column.validate(full=full)
        except pa.ArrowInvalid as exc:
            raise ColumnTypeError(source, f"returned invalid Arrow data in column {name!r}: {exc}",
                                  column=name, fragment=fragment.text) from exc
    return table

"""Stage 3: run a plan. Fragments -> Arrow tables -> DuckDB -> one Arrow table.

Each fragment's Arrow result is registered in a fresh DuckDB cursor under the
fragment's name (a zero-copy scan, never Python rows) and the plan's SQL runs over
them with the user's parameters bound. Fragment and whole-query results are cached
under keys that include each source's data version.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Callable, Hashable, Mapping

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from cachetools import LRUCache

from .cache import ResultCache
from .errors import CatalogError, ExecutionError, FederationError, QueryCancelled, QueryTimeout, UnsupportedError
from .limits import UNLIMITED, Limits
from .plan import KEYS, DerivedFragment, Fragment, LanceFragment, Plan, fragment_name
from .sources.base import Running, Source
from .stats import StatsRecorder

Progress = Callable[[int, int], None]
POOL_SIZE = 8  # fragments of one query (and of concurrent queries) running at once
STREAM_BATCH_ROWS = 65536  # rows per batch read from DuckDB, each checked against the caps
# Runs of a query while writes keep landing during it, before its last answer is
# returned without the single-state guarantee (see docs/python.md, Consistency).
CONSISTENT_ATTEMPTS = 3


@dataclass(frozen=True)
class Step:
    """What one step of a query did, for EXPLAIN ANALYZE."""

    name: str  # a fragment's name, or "DuckDB"
    rows: int
    seconds: float
    cache_hit: bool
    reduced: bool = False  # a semi-join: the reduced fragment ran
    keys: int | None = None  # a semi-join: how many distinct keys the producer gave
    fragment: Fragment | None = None  # the request that ran (None: none was needed)
    bound: tuple[tuple[str, object], ...] = ()  # its native parameters with their values
    bytes: int = 0  # Arrow bytes of a fragment's result


def _check(running: Running) -> None:
    if running.cancelled.is_set():
        raise QueryCancelled("The query was cancelled")


class Executor:
    def __init__(self, sources: Mapping[str, Source], duck: duckdb.DuckDBPyConnection, cache: ResultCache,
                 limits: Limits = UNLIMITED):
        self.sources = sources
        self.duck = duck
        self.cache = cache
        self.limits = limits  # caps on each fragment's result and the final result
        self.stats = StatsRecorder()
        self._duck_lock = threading.Lock()
        self._running: set[Running] = set()
        self._running_lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._described: LRUCache = LRUCache(maxsize=1024)
        self._described_lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._duck_lock:
            return self.duck.cursor()

    # ------------------------------------------------------------ running
    def run(self, plan: Plan, params: Mapping[str, object], *, use_cache: bool = True,
            progress: Progress | None = None, profile: list[Step] | None = None,
            timeout: float | None = None, interrupted=None) -> tuple[pa.Table, bool]:
        """The plan's result, and whether it came from the cache.

        ``progress(done, total)`` is called as steps (fragments, then DuckDB) finish;
        ``profile``, when given, receives one ``Step`` per step run; after
        ``timeout`` seconds the query is cancelled and raises ``QueryTimeout``.
        ``interrupted()``, checked once the query can be interrupted, tells whether an
        interrupt arrived earlier (while it was being planned).
        """
        steps = profile if profile is not None else []
        return self.stats.observe(plan, steps, lambda: self._run_cancellable(plan, params, use_cache, progress,
                                                                             steps, timeout, interrupted))

    def _run_cancellable(self, plan, params, use_cache, progress, profile, timeout, interrupted=None):
        running = Running(timeout, self.limits)
        with self._running_lock:
            self._running.add(running)
        if interrupted is not None and interrupted():  # Ctrl-C while it was being planned
            running.cancel()
        timer = None
        if timeout is not None:
            timer = threading.Timer(timeout, running.cancel, kwargs={"timed_out": True})
            timer.daemon = True
            timer.start()
        try:
            return self._run(plan, params, use_cache, progress, running, profile)
        except FederationError as exc:
            if getattr(running, "failed", False) and not running.timed_out:
                raise  # a fragment failed and the others were stopped: its error is the answer
            if running.cancelled.is_set() and running.timed_out:
                raise QueryTimeout(f"The query ran longer than its timeout of {timeout:g} s and was cancelled") from exc
            if running.cancelled.is_set() and not isinstance(exc, QueryCancelled):
                raise QueryCancelled("The query was cancelled") from exc
            raise
        finally:
            if timer is not None:
                timer.cancel()
            with self._running_lock:
                self._running.discard(running)
            running.release()  # e.g. a Kuzu database kept open for the query

    def interrupt(self) -> int:
        """Cancel every query in flight; returns how many there were."""
        with self._running_lock:
            running = list(self._running)
        for query in running:
            query.cancel()
        return len(running)

    def _run(self, plan, params, use_cache, progress, running: Running, profile):
        """Run the plan over one state of its sources and cache what is known to come from it.

        The data versions are read before and again after the fragments run. Equal,
        no write landed in between, so every fragment read the state the versions
        name (at one instant, for all sources together): the results are cached
        under them. Different, the query runs again; a result is never cached under
        versions it may not come from.
        """
        versions = self._versions(plan, running)
        for _ in range(CONSISTENT_ATTEMPTS):
            key = ("query", plan, freeze(params), versions)
            if use_cache:
                hit = self.cache.get(key)
                if hit is not None:
                    return hit, True
            computed: list[tuple[Hashable, pa.Table]] = []
            result = self._attempt(plan, params, dict(versions), use_cache, progress, running, profile, computed)
            after = self._versions(plan, running)
            if after == versions:
                if use_cache:
                    for fragment_key, table in computed:
                        self.cache.put(fragment_key, table)
                    self.cache.put(key, result)
                return result, False
            versions = after  # a write landed while the query ran
            if profile is not None:
                profile.clear()
        return result, False  # the data kept changing: the last answer, not cached

    def _versions(self, plan: Plan, running: Running) -> tuple[tuple[str, object], ...]:
        return tuple((name, self._version(name, plan, running)) for name in sorted(plan.sources))

    def _attempt(self, plan, params, versions, use_cache, progress, running: Running, profile, computed):
        total = len(plan.fragments) + (plan.sql is not None)
        if progress:
            progress(0, total)
        tables = self._fragments(plan, params, versions, use_cache, running, profile, progress, total, computed)
        _check(running)
        if plan.sql is None:  # the last fragment is the answer (the only one, or SQLite's last step)
            result = shape(tables[-1], plan.output)
        else:
            started = time.perf_counter()
            result = self.duckdb(plan.sql, {fragment_name(i): t for i, t in enumerate(tables)},
                                 {p: duck_value(params[p]) for p in plan.sql_params}, running)
            if profile is not None:
                profile.append(Step("DuckDB", result.num_rows, time.perf_counter() - started, False))
            if progress:
                progress(total, total)
        return result

    def _fragments(self, plan, params, versions, use_cache, running, profile, progress, total,
                   computed) -> list[pa.Table]:
        """Every fragment's result. Fragments run concurrently on the pool, each as soon
        as the fragments it needs (a semi-join's keys, rows to ship) have finished; the
        only fragment ready, with none running, runs on this thread."""
        count = len(plan.fragments)
        tables: list[pa.Table | None] = [None] * count
        lock = threading.Lock()
        finished = [0]

        def one(i: int) -> None:
            _check(running)
            started = time.perf_counter()
            table, step = self._fragment_step(plan, i, params, tables, versions, use_cache, running, computed)
            tables[i] = table
            with lock:
                if profile is not None:
                    profile.append(replace(step, seconds=time.perf_counter() - started, bytes=table.nbytes))
                finished[0] += 1
                if progress:
                    progress(finished[0], total)

        waiting = {i: set(plan.dependencies(i)) for i in range(count) if plan.dependencies(i)}
        ready = [i for i in range(count) if i not in waiting]
        futures: dict = {}
        failure: BaseException | None = None

        def fail(error: BaseException) -> None:
            nonlocal failure
            if failure is None:
                failure = error
                # a fragment stopped by a timeout or an interrupt fails as well:
                # then the cancellation, not its error, is the answer
                if not running.cancelled.is_set():
                    running.failed = True
                    running.cancel()  # stop the others; the first error is the answer

        def unblock(i: int) -> None:
            for j, needs in list(waiting.items()):
                needs.discard(i)
                if not needs:
                    del waiting[j]
                    ready.append(j)

        while failure is None and (ready or futures):
            if len(ready) == 1 and not futures:
                # the only work there is (a chain: the keys, then the fragment they
                # reduce): run it on this thread, not a pool thread; a hand-off costs
                # 0.1-0.5 ms, as much as a small fragment
                i = ready.pop()
                one(i)  # an error here stops the query: nothing else is running
                unblock(i)
                continue
            for i in ready:
                futures[self._pool().submit(one, i)] = i
            ready.clear()
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                i = futures.pop(future)
                error = future.exception()
                if error is not None:
                    fail(error)
                elif failure is None:
                    unblock(i)
        if futures:  # after a failure: the others were cancelled; wait for them to stop
            wait(futures)
        if failure is not None:
            raise failure
        return tables

    def _fragment_step(self, plan: Plan, i: int, params, tables, versions, use_cache, running, computed):
        fragment = plan.fragments[i]
        semijoin = plan.semijoin(i)
        name = fragment_name(i)
        if isinstance(fragment, DerivedFragment):
            bound = fragment.bind(params)
            table = self.duckdb(fragment.text, {fragment_name(j): tables[j] for j in fragment.inputs},
                                {k: duck_value(v) for k, v in bound.items()}, running, first=True)
            return table, Step(name, table.num_rows, 0.0, False, fragment=fragment, bound=tuple(bound.items()))
        if semijoin is None and getattr(fragment, "shipped", ()):
            # other fragments' rows, bound as JSON arrays (optimizer/shipping.py)
            bound = {**params, **{name_: json_rows(tables[j]) for name_, j in fragment.shipped}}
            table, hit = self._fragment(fragment, bound, versions[fragment.source], use_cache, running, computed)
            inputs = dict(fragment.shipped)
            shown = tuple((k, f"<{tables[inputs[k]].num_rows} rows of {fragment_name(inputs[k])}>" if k in inputs
                           else v) for k, v in fragment.bind(bound).items())
            return table, Step(name, table.num_rows, 0.0, hit, fragment=fragment, bound=shown)
        if semijoin is None:
            table, hit = self._fragment(fragment, params, versions[fragment.source], use_cache, running, computed)
            return table, Step(name, table.num_rows, 0.0, hit, fragment=fragment,
                               bound=tuple(fragment.bind(params).items()))
        producer = tables[semijoin.producer]
        keys = pc.unique(producer.column(semijoin.producer_column or 0)).drop_null()
        if len(keys) == 0:  # nothing can join: no need to ask the source
            table = pa.table({c: pa.array([], type=t or pa.null())
                              for c, t in zip(fragment.columns, fragment.types or [None] * len(fragment.columns))})
            return table, Step(name, 0, 0.0, False, reduced=True, keys=0)
        if semijoin.max_keys is not None and len(keys) > semijoin.max_keys:
            table, hit = self._fragment(fragment, params, versions[fragment.source], use_cache, running, computed)
            return table, Step(name, table.num_rows, 0.0, hit, keys=len(keys), fragment=fragment,
                               bound=tuple(fragment.bind(params).items()))
        bound = {**params, KEYS: keys.to_pylist()}
        reduced = semijoin.request(len(keys))
        table, hit = self._fragment(reduced, bound, versions[fragment.source], use_cache, running, computed)
        return table, Step(name, table.num_rows, 0.0, hit, reduced=True, keys=len(keys), fragment=reduced,
                           bound=tuple(reduced.bind(bound).items()))

    def _pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="federation-fragment")
            return self._threads

    def close(self) -> None:
        with self._pool_lock:
            if self._threads is not None:
                self._threads.shutdown(wait=True)
                self._threads = None

    def _version(self, source: str, plan: Plan, running: Running) -> object:
        tables = tuple(sorted({f.table for f in plan.fragments if f.source == source and isinstance(f, LanceFragment)}))
        return self.sources[source].version(tables, running)  # running: a wait for a lock ends on cancel

    def _fragment(self, fragment: Fragment, params, version, use_cache: bool,
                  running: Running, computed: list) -> tuple[pa.Table, bool]:
        key = ("fragment", fragment, freeze(fragment.bind(params)), version)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return hit, True
        table = self.sources[fragment.source].execute(fragment, params, running)
        computed.append((key, table))  # cached once the query's versions are confirmed
        return table, False

    def duckdb(self, sql: str, tables: Mapping[str, pa.Table], params: Mapping[str, object],
               running: Running | None = None, *, first: bool = False) -> pa.Table:
        """``sql`` over ``tables``; ``first``: a step that runs before the fragments that
        need it (a DerivedFragment), not the query's result (for ResultTooLarge)."""
        cursor = self.cursor()
        running = running or Running()
        try:
            for name, table in tables.items():
                cursor.register(name, table)
            with running.on_cancel(cursor.interrupt):
                # Streamed in batches up to the caps: a runaway join stops at the cap.
                reader = cursor.sql(sql, params=dict(params) or None).to_arrow_reader(STREAM_BATCH_ROWS)
                return running.limits.read(reader, fragment=sql if first else None)
        except duckdb.Error as exc:
            raise translate_duckdb_error(exc, sql) from exc
        except OSError as exc:  # DuckDB's error while the result streams arrives through Arrow
            raise translate_duckdb_error(streamed_error(exc), sql) from exc
        finally:
            cursor.close()

    def describe(self, sql: str, schemas, params: Mapping[str, object]) -> list[tuple[str, pa.DataType]]:
        """Names and types DuckDB gives ``sql`` over empty tables of the given schemas
        (remembered: the answer depends only on the SQL, the schemas and the types)."""
        used = {k: duck_value(v) for k, v in params.items() if f"${k}" in sql}
        key = (sql, tuple((name, schema) for name, schema in schemas),
               tuple(sorted((k, type(v).__name__) for k, v in used.items())))
        with self._described_lock:
            found = self._described.get(key)
        if found is not None:
            return found
        empty = {name: schema.empty_table() for name, schema in schemas}
        result = self.duckdb(sql, empty, used)
        found = [(f.name, f.type) for f in result.schema]
        with self._described_lock:
            self._described[key] = found
        return found


def shape(table: pa.Table, output) -> pa.Table:
    """Give a whole-query fragment result DuckDB's column names and types."""
    if output is None:
        return table
    names = [n for n, _ in output]
    arrays = []
    for column, (_, expected) in zip(table.columns, output):
        if column.type != expected:
            try:
                column = column.cast(expected)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # keep the source's exact values rather than a lossy conversion
        arrays.append(column)
    return pa.Table.from_arrays(arrays, names=names)


def translate_duckdb_error(exc: duckdb.Error, sql: str) -> FederationError:
    message = str(exc).split("\n")[0]
    for prefix in ("Binder Error: ", "Conversion Error: ", "Invalid Input Error: ", "Out of Range Error: ",
                   "Parser Error: ", "Not implemented Error: "):
        message = message.replace(prefix, "")
    if isinstance(exc, duckdb.CatalogException) or (
        isinstance(exc, duckdb.BinderException) and ("not found" in message or "does not have a column" in message)
    ):
        return CatalogError(message)
    if isinstance(exc, (duckdb.ParserException, duckdb.NotImplementedException)):
        return UnsupportedError(f"DuckDB cannot run the join step: {message}")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return ExecutionError(f"DuckDB ran out of memory in the join step ({message}); raise [duckdb] memory_limit"
                              " in the configuration, or make the query smaller")
    return ExecutionError(message)


_DUCKDB_ERRORS = {cls.__name__.lower().removesuffix("exception"): cls for cls in vars(duckdb).values()
                  if isinstance(cls, type) and issubclass(cls, duckdb.Error)}


def streamed_error(exc: OSError) -> duckdb.Error:
    """The DuckDB exception behind an Arrow stream's error ("Conversion Error: ..."),
    so that it is translated as if DuckDB had raised it."""
    kind = str(exc).split(" Error:", 1)[0]
    return _DUCKDB_ERRORS.get("".join(kind.split()).lower(), duckdb.Error)(str(exc))


def duck_value(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if type(value).__name__ == "ndarray":
        return value.tolist()  # type: ignore[attr-defined]
    return value


def freeze(params: Mapping[str, object]) -> Hashable:
    """A hashable, type-exact form of parameter values (1, 1.0 and True differ)."""
    return tuple(sorted((name, _freeze_value(value)) for name, value in params.items()))


def _freeze_value(value: object) -> Hashable:
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_freeze_value(v) for v in value))
    if type(value).__name__ == "ndarray":
        return ("ndarray", str(value.dtype), value.tobytes(), value.shape)  # type: ignore[attr-defined]
    if isinstance(value, (str, int, float, bool, Decimal, bytes, dt.date, dt.time, type(None))):
        return (type(value).__name__, value)
    return (type(value).__name__, repr(value))


def json_rows(table: pa.Table) -> str:
    """A fragment's rows as one JSON array of arrays (integers and strings only: the
    planner ships no other type), for SQLite's ``json_each``; one column's rows as a
    flat array of its values (``sqlite.shipped_rows`` reads them so: a quarter of the
    text, and SQLite reads each value without ``json_extract``)."""
    if table.num_columns == 1:
        return json.dumps(table.column(0).to_pylist(), ensure_ascii=False)
    columns = [column.to_pylist() for column in table.columns]
    return json.dumps([list(row) for row in zip(*columns)] if columns else [], ensure_ascii=False)

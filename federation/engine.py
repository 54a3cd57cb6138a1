"""The Python API: ``connect`` and the ``Federation`` it returns.

The pipeline reads in one function (``Federation._run``): parse -> plan -> execute.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Mapping

import pyarrow as pa

from . import ast
from .cache import PlanCache, ResultCache
from .catalog import Catalog
from .config import Config, SourceConfig, load, parse_timeout
from .errors import FederationError, ParameterError, UnsupportedError
from .executor import Executor
from .health import Health, check
from .interrupt import QueryThread
from .limits import Limits
from .parser import parse
from .plan import Plan
from .planner import Planner
from .result import Result
from .sources.base import Source
from .stats import Stats


def make_source(config: SourceConfig) -> Source:
    if config.type == "sqlite":
        from .sources.sqlite import SqliteSource

        return SqliteSource(config.name, config.options)
    if config.type == "kuzu":
        from .sources.kuzu import KuzuSource

        return KuzuSource(config.name, config.options)
    from .sources.lancedb import LanceSource

    return LanceSource(config.name, config.options)


# Seconds close() waits for calls in flight in other threads (their queries are
# cancelled; a LanceDB call or planning in progress finishes first).
CLOSE_WAIT = 10.0


def _in_use(method):
    """Count a public call while it runs: ``close()`` cancels and waits for the calls
    in flight before it closes the connections they use (closing DuckDB under a
    running query failed with DuckDB's own errors in both threads)."""

    @functools.wraps(method)
    def counted(self: "Federation", *args, **kwargs):
        me = threading.get_ident()
        with self._lock:
            if self._closed:
                raise FederationError("This federation is closed; connect again")
            self._calls[me] += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            with self._lock:
                self._calls[me] -= 1
                if not self._calls[me]:
                    del self._calls[me]
                self._lock.notify_all()

    return counted


def connect(config: str | Path | Mapping[str, Any]) -> "Federation":
    """Open a federation from a TOML file path or a dict of the same structure."""
    return Federation(load(config))


class Federation:
    """One query surface over several sources. Safe to share between threads."""

    def __init__(self, config: Config):
        self.config = config
        self.sources: dict[str, Source] = {s.name: make_source(s) for s in config.sources}
        self.catalog = Catalog(self.sources)
        self.cache = ResultCache(config.cache_bytes)
        self._duck = config.duckdb.connect(config.origin)
        self._executor = Executor(self.sources, self._duck, self.cache, Limits(config.max_rows, config.max_bytes))
        self._planner = Planner(self.catalog, self._executor.describe, max_keys=config.max_keys,
                                ship_rows=config.ship_rows)
        self._closed = False
        self._lock = threading.Condition()
        self._interrupts = 0  # how many times interrupt() was called
        self._calls: Counter = Counter()  # calls in flight, by thread: close() waits for them
        self._query_thread = QueryThread(self.interrupt)
        self._plans = PlanCache()

    # ------------------------------------------------------------ queries
    @_in_use
    def query(self, text: str, params: Mapping[str, object] | None = None, *, cache: bool = True,
              progress: Callable[[int, int], None] | None = None, timeout: float | None = None) -> Result:
        """Run one FQL statement; ``$name`` parameters are bound from ``params``.

        ``progress(done, total)`` is called as the query's steps (one per fragment,
        then the DuckDB join) finish; ``interrupt()`` from another thread cancels it.
        ``timeout`` (seconds; default: the configuration's ``[query] timeout``)
        cancels it with ``QueryTimeout``.
        """
        params = dict(params or {})
        interrupted = self._since()
        statement, plan, timings = self._prepare(text, params)
        if isinstance(statement, ast.QueryStatement):
            limit = parse_timeout(timeout) if timeout is not None else self.config.timeout
            table, cached = self._interruptible(
                lambda: self._executor.run(plan, params, use_cache=cache, progress=progress, timeout=limit,
                                           interrupted=interrupted))
            return Result(table, cached=cached)
        if isinstance(statement, ast.Explain):
            text = self._explain(statement, params, cache, plan, timings)
            if statement.format == "json":
                return Result(pa.table({"plan": [text]}))
            return Result(pa.table({"plan": text.split("\n")}))
        if params:
            raise ParameterError(f"{_STATEMENT_NAMES[type(statement)]} takes no parameters")
        return Result(self._meta(statement))

    @_in_use
    def plan(self, text: str, params: Mapping[str, object] | None = None) -> Plan:
        """The plan of a query, without running it.

        Parameters without a value are allowed here: they are planned for as values
        of unknown type, so the plan can differ once they are bound.
        """
        statement, plan, _ = self._prepare(text, dict(params or {}), unbound_ok=True)
        if plan is None:
            raise UnsupportedError("Only queries have a plan")
        return plan

    @_in_use
    def explain(self, text: str, params: Mapping[str, object] | None = None, *, analyze: bool = False,
                cache: bool = True, format: str = "text") -> str:
        """The plan tree, with each fragment's exact Cypher / SQL / LanceDB request,
        what was pushed into it and the planner's row estimate.

        With ``analyze``, the query runs and each step shows the rows it returned
        (and the estimate), its time and whether the cache answered it, followed by
        the parse, plan and execute times. ``format="json"`` gives the same as one
        JSON document, for tools.
        """
        if format not in ("text", "json"):
            raise ParameterError(f"explain format must be 'text' or 'json', not {format!r}")
        params = dict(params or {})
        statement, plan, timings = self._prepare(text, params, unbound_ok=not analyze)
        if isinstance(statement, ast.QueryStatement):
            statement = ast.Explain(statement.query)
        if not isinstance(statement, ast.Explain):
            raise UnsupportedError("Only queries have a plan")
        statement = ast.Explain(statement.query, analyze=analyze or statement.analyze,
                                format="json" if format == "json" else statement.format)
        return self._explain(statement, params, cache, plan, timings)

    def _prepare(self, text: str, params: dict, *, unbound_ok: bool | None = None):
        """The parsed statement, its plan (None unless a query) and (parse s, plan s,
        plan-cache hit). Plans come from the plan cache when the text, the parameters'
        types and every catalog the plan read are unchanged.

        ``unbound_ok``: plan missing parameters as values of unknown type; None: only
        for EXPLAIN without ANALYZE.
        """
        started = time.perf_counter()
        exact = self._plans.shaping(text)
        if exact is not None:
            found = self._plans.get(self._plans.key(text, params, exact), self.sources)
            if found is not None:
                plan, statement = found
                return statement, plan, (0.0, time.perf_counter() - started, True)
        statement = parse(text)
        parsed = time.perf_counter()
        if not isinstance(statement, (ast.QueryStatement, ast.Explain)):
            return statement, None, (parsed - started, 0.0, False)
        query = statement.query
        if isinstance(statement, ast.Explain) and statement.analyze:
            unbound_ok = False  # it runs: every value is needed
        elif unbound_ok is None:
            unbound_ok = isinstance(statement, ast.Explain)
        catalog = self.catalog.snapshot()
        plan = self._planner.plan(query, params, unbound_ok=unbound_ok, catalog=catalog)
        timings = (parsed - started, time.perf_counter() - parsed, False)
        if not (query.parameters() - set(params)):  # fully bound: valid for values of these types
            self._plans.put(text, params, _shaping_parameters(query), plan, statement, catalog.pinned)
        return statement, plan, timings

    def _explain(self, statement: ast.Explain, params: dict, cache: bool, plan: Plan, timings) -> str:
        parse_s, plan_s, plan_hit = timings
        if not statement.analyze:
            return plan.to_json() if statement.format == "json" else plan.pretty()
        started = time.perf_counter()
        profile: list = []
        table, hit = self._interruptible(
            lambda: self._executor.run(plan, params, use_cache=cache, profile=profile))
        execute_s = time.perf_counter() - started
        steps = {step.name: step for step in profile}
        totals = {"rows": table.num_rows, "result_cache_hit": hit, "plan_cache_hit": plan_hit,
                  "parse_ms": 1000 * parse_s, "plan_ms": 1000 * plan_s, "execute_ms": 1000 * execute_s}
        if statement.format == "json":
            return plan.to_json(steps, totals)
        answer = "the result cache" if hit else "the steps above"
        planned = (f"plan cache hit {1000 * plan_s:.2f} ms" if plan_hit
                   else f"parse {1000 * parse_s:.1f} ms, plan {1000 * plan_s:.1f} ms")
        return (f"{plan.pretty(steps)}\n{table.num_rows} rows from {answer}; {planned},"
                f" execute {1000 * execute_s:.1f} ms")

    def _interruptible(self, work):
        """Ctrl-C cancels ``work()`` when it runs on the main thread (see interrupt.py)."""
        if threading.current_thread() is not threading.main_thread():
            return work()
        return self._query_thread.run(work)

    def run_cancellable(self, work, *, tick=None):
        """For front ends (CLI, REPL): ``work()`` on this federation's query thread,
        so that Ctrl-C cancels its queries; ``tick()`` runs every 0.1 s meanwhile."""
        return self._query_thread.run(work, tick=tick)

    def interrupt(self) -> int:
        """Cancel every query running on this federation, from any thread (Ctrl-C in
        the REPL). Each raises ``QueryCancelled``; returns how many were running."""
        with self._lock:
            self._interrupts += 1  # first: a query still being planned sees it (see _since)
        return self._executor.interrupt()

    def _since(self) -> Callable[[], bool]:
        """For a query about to be planned: whether ``interrupt()`` was called since."""
        start = self._interrupts
        return lambda: self._interrupts != start

    # ------------------------------------------------------------ operations
    @_in_use
    def health(self) -> Health:
        """Probe every source now: ok, missing, locked, corrupt or error, its data
        version and the probe's latency (see federation/health.py). Never raises for a
        broken source."""
        return check(self.sources.values())

    def stats(self, *, reset: bool = False) -> Stats:
        """Per-source query counts, rows, bytes, latency percentiles and errors, and the
        cache's size and hit ratio, since the federation opened or the last
        ``stats(reset=True)`` (see federation/stats.py)."""
        return self._executor.stats.snapshot(self.sources, self.cache, reset=reset)

    # ------------------------------------------------------------ catalog
    def _meta(self, statement) -> pa.Table:
        if isinstance(statement, ast.ShowSources):
            rows = [(s.name, s.kind, str(s.options.get("path") or s.options.get("uri") or ""))
                    for s in self.sources.values()]
            return _table(["source", "type", "location"], rows)
        if isinstance(statement, ast.ShowTables):
            sources = [self.catalog.source(statement.source)] if statement.source else list(self.sources.values())
            rows = [(s.name, t.name, t.kind, len(t.columns)) for s in sources for t in s.tables().values()]
            return _table(["source", "table", "kind", "columns"], rows)
        if isinstance(statement, ast.Describe):
            info = self.catalog.table(statement.table.source, statement.table.name)
            rows = [(c.name, str(c.type) if c.type is not None else "(from values)", c.native_type)
                    for c in info.columns]
            return _table(["column", "type", "source_type"], rows)
        raise UnsupportedError(f"Unsupported statement {type(statement).__name__}")

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close every source connection. Queries running in other threads are cancelled
        (they raise ``QueryCancelled``) and waited for, up to ``CLOSE_WAIT`` seconds,
        before anything they use is closed; calls after this raise ``FederationError``."""
        me = threading.get_ident()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + CLOSE_WAIT
        while True:
            self.interrupt()  # again each time: a call may have been planning the last time
            with self._lock:
                if not any(thread != me for thread in self._calls) or time.monotonic() > deadline:
                    break
                self._lock.wait(0.05)
        with self._lock:
            self._query_thread.close()
            self._executor.close()
            for source in self.sources.values():
                source.close()
            self.cache.clear()
            self._duck.close()

    def __enter__(self) -> "Federation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ", ".join(f"{s.name}={s.kind}" for s in self.sources.values())
        return f"<Federation {state}>"


def _shaping_parameters(query: ast.Query) -> frozenset[str]:
    """Parameters whose values (not only types) decide the plan: VECTOR_SEARCH options."""
    return frozenset(value.name for node in query.walk() if isinstance(node, ast.VectorSearch)
                     for _, value in node.options if isinstance(value, ast.Param))


_STATEMENT_NAMES = {ast.ShowSources: "SHOW SOURCES", ast.ShowTables: "SHOW TABLES", ast.Describe: "DESCRIBE"}


def _table(names: list[str], rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(list(c), type=pa.int64() if n == "columns" else pa.string())
                     for n, c in zip(names, columns)})

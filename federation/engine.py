"""The Python API: ``connect`` and the ``Federation`` it returns.

The pipeline reads in one function (``Federation._run``): parse -> plan -> execute.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import duckdb
import pyarrow as pa

from . import ast
from .cache import ResultCache
from .catalog import Catalog
from .config import Config, SourceConfig, load, parse_timeout
from .errors import FederationError, ParameterError, UnsupportedError
from .executor import Executor
from .interrupt import QueryThread
from .parser import parse
from .plan import Plan
from .planner import Planner
from .result import Result
from .sources.base import Source


def make_source(config: SourceConfig) -> Source:
    if config.type == "sqlite":
        from .sources.sqlite import SqliteSource

        return SqliteSource(config.name, config.options)
    if config.type == "kuzu":
        from .sources.kuzu import KuzuSource

        return KuzuSource(config.name, config.options)
    from .sources.lancedb import LanceSource

    return LanceSource(config.name, config.options)


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
        self._duck = duckdb.connect(":memory:")
        self._executor = Executor(self.sources, self._duck, self.cache)
        self._planner = Planner(self.catalog, self._executor.describe)
        self._closed = False
        self._lock = threading.Lock()
        self._query_thread = QueryThread(self.interrupt)

    # ------------------------------------------------------------ queries
    def query(self, text: str, params: Mapping[str, object] | None = None, *, cache: bool = True,
              progress: Callable[[int, int], None] | None = None, timeout: float | None = None) -> Result:
        """Run one FQL statement; ``$name`` parameters are bound from ``params``.

        ``progress(done, total)`` is called as the query's steps (one per fragment,
        then the DuckDB join) finish; ``interrupt()`` from another thread cancels it.
        ``timeout`` (seconds; default: the configuration's ``[query] timeout``)
        cancels it with ``QueryTimeout``.
        """
        self._check_open()
        statement = parse(text)
        params = dict(params or {})
        if isinstance(statement, ast.QueryStatement):
            plan = self._planner.plan(statement.query, params)
            limit = parse_timeout(timeout) if timeout is not None else self.config.timeout
            table, cached = self._interruptible(
                lambda: self._executor.run(plan, params, use_cache=cache, progress=progress, timeout=limit))
            return Result(table, cached=cached)
        if isinstance(statement, ast.Explain):
            text = self._explain(statement, params, cache)
            return Result(pa.table({"plan": text.split("\n")}))
        if params:
            raise ParameterError(f"{_STATEMENT_NAMES[type(statement)]} takes no parameters")
        return Result(self._meta(statement))

    def plan(self, text: str, params: Mapping[str, object] | None = None) -> Plan:
        """The plan of a query, without running it.

        Parameters without a value are allowed here: they are planned for as values
        of unknown type, so the plan can differ once they are bound.
        """
        self._check_open()
        statement = parse(text)
        if isinstance(statement, ast.Explain):
            statement = ast.QueryStatement(statement.query)
        if not isinstance(statement, ast.QueryStatement):
            raise UnsupportedError("Only queries have a plan")
        return self._planner.plan(statement.query, dict(params or {}), unbound_ok=True)

    def explain(self, text: str, params: Mapping[str, object] | None = None, *, analyze: bool = False,
                cache: bool = True) -> str:
        """The plan tree, with each fragment's exact Cypher / SQL / LanceDB request.

        With ``analyze``, the query runs and each step shows the rows it returned,
        its time and whether the cache answered it, followed by the totals.
        """
        self._check_open()
        statement = parse(text)
        if isinstance(statement, ast.QueryStatement):
            statement = ast.Explain(statement.query, analyze=analyze)
        if not isinstance(statement, ast.Explain):
            raise UnsupportedError("Only queries have a plan")
        if analyze and not statement.analyze:
            statement = ast.Explain(statement.query, analyze=True)
        return self._explain(statement, dict(params or {}), cache)

    def _explain(self, statement: ast.Explain, params: dict, cache: bool) -> str:
        if not statement.analyze:
            return self._planner.plan(statement.query, params, unbound_ok=True).pretty()
        started = time.perf_counter()
        plan = self._planner.plan(statement.query, params)
        planned = time.perf_counter()
        profile: list = []
        table, hit = self._executor.run(plan, params, use_cache=cache, profile=profile)
        done = time.perf_counter()
        text = plan.pretty({step.name: step for step in profile})
        answer = "the result cache" if hit else "the steps above"
        return (f"{text}\n{table.num_rows} rows from {answer}; plan {1000 * (planned - started):.1f} ms,"
                f" execute {1000 * (done - planned):.1f} ms")

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
        return self._executor.interrupt()

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
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._query_thread.close()
            for source in self.sources.values():
                source.close()
            self.cache.clear()
            self._duck.close()

    def _check_open(self) -> None:
        if self._closed:
            raise FederationError("This federation is closed; connect again")

    def __enter__(self) -> "Federation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ", ".join(f"{s.name}={s.kind}" for s in self.sources.values())
        return f"<Federation {state}>"


_STATEMENT_NAMES = {ast.ShowSources: "SHOW SOURCES", ast.ShowTables: "SHOW TABLES", ast.Describe: "DESCRIBE"}


def _table(names: list[str], rows: list[tuple]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(list(c), type=pa.int64() if n == "columns" else pa.string())
                     for n, c in zip(names, columns)})

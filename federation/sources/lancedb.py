"""LanceDB source: tables of one LanceDB database, scans and kNN searches.

LanceDB filters are DataFusion SQL text with no parameter binding, so this module
renders them from an expression with escaped literals (``render_filter``), only once
the values are known. ``_distance`` is recomputed in float64 from the returned
vectors, so the top-k rows carry exactly LanceDB's definition of the distance
(squared L2, 1 - cosine similarity, 1 - dot product) without float32 rounding.
"""

from __future__ import annotations

import concurrent.futures
import functools
import datetime as dt
import math
import os
import queue
import re
import threading
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa

from .. import ast
from ..catalog import ColumnInfo, TableInfo, duckdb_readable, fits_int64_or_double, type_family, value_family
from ..errors import ColumnTypeError, FederationError, ParameterError, QueryCancelled, SourceError, UnsupportedError
from ..limits import Limits
from ..plan import KEYS, Fragment, LanceFragment, ParamRef, VectorQuery, bind_value
from ..retry import first_line
from .base import Running, Source

METRICS = ("l2", "cosine", "dot")
DISTANCE = "_distance"


def is_vector_type(t: pa.DataType) -> bool:
    return pa.types.is_fixed_size_list(t) and pa.types.is_floating(t.value_type)


class LanceSource(Source):
    kind = "lancedb"

    def __init__(self, name: str, options: Mapping[str, object]):
        super().__init__(name, options)
        self.uri = str(options["uri"])
        self._db = None
        self._handles: dict[str, object] = {}
        self._embedder = None
        self._embedder_lock = threading.Lock()
        self._workers: _Workers | None = None
        self._listed: tuple[object, tuple[str, ...]] | None = None  # (folder stamp, names): see _names

    # ------------------------------------------------------------ connections
    def _connect(self):
        with self._lock:
            if self._db is None:
                import lancedb

                if "://" not in self.uri and not Path(self.uri).is_dir():
                    raise SourceError(self.name, f"LanceDB database {self.uri} does not exist")
                # interval 0: every read sees the latest committed version, never a stale one
                self._db = lancedb.connect(self.uri, read_consistency_interval=dt.timedelta(0))
            return self._db

    def _table(self, name: str):
        with self._lock:
            handle = self._handles.get(name)
            if handle is None:
                handle = self._connect().open_table(name)
                self._handles[name] = handle
            return handle

    def _table_names(self) -> list[str]:
        db = self._connect()
        names: list[str] = []
        token = None
        while True:
            page = db.list_tables(page_token=token)
            names.extend(page.tables)
            token = page.page_token
            if not token:
                return names

    def close(self) -> None:
        with self._lock:
            self._handles.clear()
            self._db = None
            self._listed = None
            if self._workers is not None:
                self._workers.close()
                self._workers = None

    # ------------------------------------------------------------ faults
    def _call(self, running: Running, work):
        """``work(stop)``, a LanceDB call, on a worker thread while this thread waits.

        LanceDB calls cannot be interrupted, so a cancelled query stops waiting at once
        and abandons its call: ``stop`` is set (a scan ends at its next batch), the
        call's result is dropped when it arrives, and a call still queued never runs.
        At most ``WORKERS`` calls run per source, abandoned ones included, so threads
        cannot pile up; a call queued behind them still obeys its own query's cancel.
        A query with a timeout also hands LanceDB a timeout (see ``_lance_timeout``),
        which does stop the work itself.
        """
        with self._lock:
            if self._workers is None:
                self._workers = _Workers(WORKERS, f"federation-lancedb-{self.name}")
            workers = self._workers
        stop = threading.Event()
        settled = threading.Event()
        with running.on_cancel(settled.set):
            future = workers.submit(work, stop)
            future.add_done_callback(lambda _: settled.set())
            try:
                settled.wait()
            finally:
                if not future.done():
                    stop.set()
                    future.cancel()
        if not future.done():
            raise QueryCancelled("The query was cancelled")
        if future.exception() is not None and running.remaining() == 0:
            running.cancel(timed_out=True)  # LanceDB's timeout came before the query's timer
            raise QueryCancelled("The query was cancelled")
        return future.result()

    @staticmethod
    def _lance_timeout(running: Running) -> dt.timedelta | None:
        """LanceDB's own timeout for a call of a query with a deadline. It ends the work
        (where abandoning only stops the wait) and so frees the CPU and the worker.
        It is set a little after the query's deadline, so that the query times out
        first and raises QueryTimeout, not LanceDB's error."""
        remaining = running.remaining()
        return None if remaining is None else dt.timedelta(seconds=remaining + LANCE_TIMEOUT_GRACE)

    def _dropped(self, table: str) -> str | None:
        """After a failure on ``table``: why, if the table is gone (dropped meanwhile)."""
        with self._lock:
            self._handles.pop(table, None)  # the next use opens the table again
        try:
            gone = table not in self._table_names()
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            return None
        if not gone:
            return None
        return (f"table {table!r} no longer exists in LanceDB database {self.uri}"
                " (it was dropped after the query was planned); run the query again")

    def _error_message(self, exc: BaseException) -> str:
        # Lance appends the Rust source location: ", /root/.cargo/.../commit.rs:653:26"
        return re.sub(r",\s*\S+\.rs:\d+:\d+\s*$", "", first_line(exc))

    # ------------------------------------------------------------ health
    def import_engine(self) -> None:
        import lancedb  # noqa: F401

    def missing(self) -> str | None:
        if "://" in self.uri or Path(self.uri).is_dir():
            return None
        return f"LanceDB database {self.uri} does not exist"

    def probe(self) -> str:
        versions = []
        for name in sorted(self._table_names()):
            table = self._table(name)
            if table.version == 0:  # a table is created as version 1; a zeroed manifest reads as 0
                raise _Corrupt(f"table {name!r} has no readable manifest (it reads as version 0, empty)")
            table.search().limit(1).to_arrow()  # reads a data file, not only the manifest
            versions.append(f"{name} v{table.version}")
        return ", ".join(versions) or "no tables"

    def diagnose(self, exc: BaseException) -> str:
        message = str(exc)
        if isinstance(exc, _Corrupt) or ("LanceError" in message and "ermission denied" not in message):
            return "corrupt"  # a manifest or data file that does not read as Lance
        return "error"

    # ------------------------------------------------------------ catalog
    def version(self, tables: tuple[str, ...] = (), running: Running | None = None) -> object:
        names = tables or self._names()
        return tuple((name, self._version_of(name)) for name in names)

    def _names(self) -> tuple[str, ...]:
        """Every table's name. In a local database, listed again only when the
        database's folder changed (a table created or dropped): ``list_tables``
        costs ~0.4 ms, a stat ~2 µs, and every query reads the version."""
        root = self._root
        if root is not None:
            try:
                stamp = _stamp(root)
            except OSError:
                stamp = None
            with self._lock:
                if stamp is not None and self._listed is not None and self._listed[0] == stamp:
                    return self._listed[1]
        names = tuple(sorted(self._guard(self._table_names, "listing tables")))
        if root is not None and stamp is not None:
            with self._lock:
                self._listed = (stamp, names)
        return names

    def _version_of(self, name: str) -> object:
        """A token that changes with every commit to table ``name``.

        Locally, the stat of the table's ``_versions`` folder, where each commit adds
        its manifest (atomically, by a rename; see docs/python.md#consistency on the
        timestamps this rests on), with the version hint Lance writes after it: a
        stat instead of LanceDB's ~0.3 ms version check. The folder's inode also tells
        a table dropped and created again, whose versions count from 1 again.
        Elsewhere (object stores, or a layout without that folder): LanceDB's own
        version and the table folder's identity.
        """
        if self._root is not None:
            manifests = os.path.join(self._root, f"{name}.lance", "_versions")
            try:
                stamp = _stamp(manifests)
            except FileNotFoundError:
                pass  # dropped (the slow path says so), or not this layout
            else:
                return ("stat", *stamp, _read_hint(manifests))
        # the version first: it names a dropped table; then the folder of the open handle
        return (self._table_version(name), folder_identity(self._table(name)))

    @functools.cached_property
    def _root(self) -> str | None:
        """The database's folder, when it is local."""
        uri = self.uri[len("file://"):] if self.uri.startswith("file://") else self.uri
        return None if "://" in uri else os.path.abspath(uri)

    def _table_version(self, name: str) -> int:
        what = f"reading the version of table {name!r}"
        try:
            return self._guard(lambda: self._table(name).version, what)
        except SourceError as exc:
            dropped = self._dropped(name)
            if dropped is None:
                raise
            raise SourceError(self.name, dropped, fragment=what) from exc.__cause__

    def _load_tables(self) -> dict[str, TableInfo]:
        tables = {}
        for name in sorted(self._table_names()):
            schema = self._table(name).schema
            # A column reads as the type DuckDB reads (float16 as float32: DuckDB has no
            # float16); filters run in LanceDB over the stored ("arrow") types.
            columns = tuple(ColumnInfo(f.name, duckdb_readable(f.type), str(f.type)) for f in schema)
            vectors = tuple(f.name for f in schema if is_vector_type(f.type))
            stored = tuple((f.name, f.type) for f in schema)
            tables[name] = TableInfo(self.name, name, "vector" if vectors else "table", columns,
                                     (("vectors", vectors), ("arrow_types", stored)))
        return tables

    def vector_column(self, table: TableInfo, requested: str | None) -> ColumnInfo:
        vectors = table.option("vectors") or ()
        if requested is not None:
            column = table.require_column(requested, where=" (VECTOR_SEARCH column =>)")
            if column.name not in vectors:
                raise UnsupportedError(
                    f"Column {table.source}.{table.name}.{column.name} is not a vector column"
                    f" (a fixed-size list of floats); vector columns: {', '.join(vectors) or 'none'}"
                )
            return column
        if not vectors:
            raise UnsupportedError(f"Table {table.source}.{table.name} has no vector column")
        if len(vectors) > 1:
            raise UnsupportedError(
                f"Table {table.source}.{table.name} has several vector columns ({', '.join(vectors)});"
                " choose one with column => 'name'"
            )
        return table.require_column(vectors[0])

    # ------------------------------------------------------------ compile
    def compile_scan(self, table: TableInfo, columns: tuple[str, ...], *, filters=(), order=(),
                     limit: int | None = None, keys: str | None = None) -> Fragment:
        types = tuple(table.require_column(c).type for c in columns)
        where = ast.and_all([f.expr for f in filters])
        text = f"{table.name}.search()"
        shown = [check_filter(where, dict(table_types(table)))] if where is not None else []
        if keys is not None:
            shown.append(f"{quote_identifier(keys)} IN (<keys>)")
        if shown:
            text += f".where({' AND '.join(shown)!r})"
        text += f".select({list(columns)})"
        if limit is not None:
            text += f".limit({int(limit)})"
        params = tuple(_filter_params(where))
        if keys is not None:
            params += ((KEYS, ParamRef(KEYS)),)
        return LanceFragment(self.name, text, columns, params, types, table=table.name, where=where,
                             column_types=table_types(table), limit=limit, keys_column=keys)

    # ------------------------------------------------------------ what this source evaluates exactly
    def can_filter(self, table: TableInfo, expr: ast.Expr, params: Mapping[str, object]) -> bool:
        types = dict(table_types(table))
        try:
            check_filter(expr, types)
            if any(isinstance(n, ast.Param) for n in expr.walk()):
                render_filter(expr, params, types)
        except FederationError:
            return False
        return True

    def can_order(self, table: TableInfo, order) -> bool:
        return not order  # a LanceDB scan has no ORDER BY: only a plain LIMIT

    def can_reduce(self, access, column: str) -> bool:
        if access.kind != "scan":
            return False
        t = access.table.require_column(column).type
        return t is not None and (pa.types.is_integer(t) or pa.types.is_string(t))

    def _count_rows(self, table: TableInfo) -> int | None:
        try:
            return self._table(table.name).count_rows()
        except Exception:  # noqa: BLE001 - an estimate only
            return None

    def compile_search(self, table: TableInfo, columns: tuple[str, ...], vector: VectorQuery,
                       prefilter: ast.Expr | None, keys: str | None = None) -> Fragment:
        """A kNN search; with ``keys``, the prefilter also requires ``keys IN (<values
        bound to __keys>)`` (a prefilter ``column IN (SELECT ...)``)."""
        where = check_filter(prefilter, dict(table_types(table))) if prefilter is not None else None
        query = vector.query
        if isinstance(query, ParamRef):
            shown = str(query)
        elif isinstance(query, str):
            shown = repr(query)
        else:
            shown = f"<vector of {len(query)}>"
        text = f"{table.name}.search({shown}, vector_column_name={vector.column!r})" \
               f".distance_type({vector.metric!r})"
        if keys is not None:
            shown_keys = f"{quote_identifier(keys)} IN (<keys>)"
            where = shown_keys if where is None else f"{where} AND {shown_keys}"
        if where is not None:
            text += f".where({where!r}, prefilter=True)"
        text += f".limit({vector.top_k}).select({[c for c in columns if c != DISTANCE]})"
        params = tuple((name, value) for name, value in _filter_params(prefilter))
        if isinstance(query, ParamRef):
            params += (("query", query),)
        if keys is not None:
            params += ((KEYS, ParamRef(KEYS)),)
        types = tuple(pa.float64() if c == DISTANCE else table.require_column(c).type for c in columns)
        return LanceFragment(self.name, text, columns, params, types, table=table.name,
                             where=prefilter, vector=vector, column_types=table_types(table), keys_column=keys)

    # ------------------------------------------------------------ run
    def _execute(self, fragment: Fragment, params: Mapping[str, object], running: Running) -> pa.Table:
        assert isinstance(fragment, LanceFragment)
        try:
            if fragment.vector is None:
                timeout = self._lance_timeout(running)
                found = self._call(running, lambda stop: self._scan(fragment, params, stop, timeout, running.limits))
                return as_catalog_types(found, fragment, self.name)
            return self._search(fragment, params, running)
        except FederationError:
            raise
        except Exception as exc:
            dropped = self._dropped(fragment.table)
            if dropped is None:
                raise
            raise SourceError(self.name, dropped, fragment=fragment.text) from exc

    def _conditions(self, fragment: LanceFragment, params: Mapping[str, object]) -> str | None:
        """The fragment's filter and semi-join keys as one LanceDB filter."""
        conditions = []
        if fragment.where is not None:
            conditions.append(render_filter(fragment.where, params, dict(fragment.column_types)))
        if fragment.keys_column is not None:
            conditions.append(self._keys_filter(fragment, params[KEYS]))
        return " AND ".join(conditions) if conditions else None

    def _scan(self, fragment: LanceFragment, params: Mapping[str, object], stop: threading.Event,
              timeout: dt.timedelta | None, limits: Limits) -> pa.Table:
        scan = self._table(fragment.table).search()
        where = self._conditions(fragment, params)
        if where is not None:
            scan = scan.where(where)
        reader = scan.select(list(fragment.columns)).limit(fragment.limit).to_batches(timeout=timeout)
        batches = []
        rows = nbytes = 0
        for batch in reader:
            if stop.is_set():  # the query was cancelled: no one waits for the rest
                reader.close()
                raise QueryCancelled("The query was cancelled")
            rows, nbytes = rows + batch.num_rows, nbytes + batch.nbytes
            if limits.exceeded(rows, nbytes):  # past a cap: the rest is not read (a search has top_k rows)
                reader.close()
                limits.check(rows, nbytes, source=self.name, fragment=fragment.text)
            batches.append(batch)
        return pa.Table.from_batches(batches, reader.schema)

    def _search(self, fragment: LanceFragment, params: Mapping[str, object], running: Running) -> pa.Table:
        vq = fragment.vector

        def call(stop: threading.Event) -> tuple[np.ndarray, pa.Table]:
            table = self._table(fragment.table)
            query = self._query_vector(vq, params, table.schema.field(vq.column).type)
            search = table.search(query, vector_column_name=vq.column).distance_type(vq.metric)
            where = self._conditions(fragment, params)
            if where is not None:
                search = search.where(where, prefilter=True)
            # LanceDB's float32 _distance is fetched (it warns otherwise) and replaced below.
            found = search.limit(vq.top_k).select(fetch + [DISTANCE]).to_arrow(timeout=self._lance_timeout(running))
            return query, found.select(fetch)

        wanted = [c for c in fragment.columns if c != DISTANCE]
        fetch = wanted if vq.column in wanted else wanted + [vq.column]
        query, found = self._call(running, call)
        distances = exact_distances(found.column(vq.column), query, vq.metric)
        order = np.argsort(distances, kind="stable")
        found = found.take(pa.array(order)).append_column(DISTANCE, pa.array(distances[order]))
        return as_catalog_types(found.select(list(fragment.columns)), fragment, self.name)

    def _keys_filter(self, fragment: LanceFragment, keys: list) -> str:
        """``column IN (keys)`` with escaped literals; keys of another type family than
        the column are refused (DuckDB would cast them, LanceDB would not)."""
        column = fragment.keys_column
        column_type = dict(fragment.column_types).get(column)
        family = type_family(column_type)
        integral = column_type is not None and pa.types.is_integer(column_type)
        for value in keys:
            if value is not None and (render_family(value) != family
                                      or integral and not isinstance(value, int)):
                raise UnsupportedError(
                    f"The prefilter `{column} IN (SELECT ...)` compares {column!r} ({family or 'unknown type'})"
                    f" with {type(value).__name__} values; CAST the subquery's column to the column's type"
                )
        return f"({quote_identifier(column)} IN ({', '.join(render_literal(v) for v in keys)}))"

    def _query_vector(self, vq: VectorQuery, params: Mapping[str, object], column_type) -> np.ndarray:
        value = bind_value(vq.query, params)
        if isinstance(value, str):
            value = self.embed(value)
        try:
            vector = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(
                f"The VECTOR_SEARCH query must be a list of numbers or a string, not {type(value).__name__}"
            ) from None
        if vector.ndim != 1 or not np.all(np.isfinite(vector)):
            raise ParameterError("The VECTOR_SEARCH query must be a flat list of finite numbers")
        if len(vector) != column_type.list_size:
            raise ParameterError(
                f"The VECTOR_SEARCH query has {len(vector)} dimensions; column {vq.column!r}"
                f" has {column_type.list_size}"
            )
        return vector

    def embed(self, text: str) -> np.ndarray:
        spec = self.options.get("embedder")
        if spec is None:
            raise UnsupportedError(
                f"Source {self.name!r} has no embedder, so VECTOR_SEARCH needs a vector, not a string;"
                " set `embedder = \"hash\"` for this source in the configuration"
            )
        with self._embedder_lock:
            if self._embedder is None:
                from ..embedding import make_embedder

                try:
                    self._embedder = make_embedder(spec)
                except ValueError as exc:
                    raise UnsupportedError(f"Source {self.name!r}: {exc}") from None
            return np.asarray(self._embedder.embed_one(text), dtype=np.float64)


def _stamp(path: str) -> tuple[int, int, int]:
    """A folder's inode and times: they change whenever an entry is added or removed."""
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _read_hint(manifests: str) -> bytes | None:
    """The latest version Lance noted after its last commit (None: no note)."""
    try:
        fd = os.open(os.path.join(manifests, "latest_version_hint.json"), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, 64)
    finally:
        os.close(fd)


def folder_identity(table) -> tuple[int, int] | None:
    """The inode and ctime of a local table's folder, part of its data version.

    A table dropped and created again (by any process) numbers its versions from 1
    again, so its version alone could repeat one that results were cached under; its
    folder is a new one. Tables behind a URI scheme (object stores) have no folder
    to ask.
    """
    uri = str(getattr(table, "uri", "") or "")
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    if not uri or "://" in uri:
        return None
    try:
        st = os.stat(uri)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_ctime_ns)


def render_family(value: object) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


WORKERS = 4  # LanceDB calls running at once per source, abandoned ones included
LANCE_TIMEOUT_GRACE = 0.2  # seconds LanceDB's own timeout lags the query's (see _lance_timeout)


class _Workers:
    """At most ``size`` daemon threads running LanceDB calls, started as needed.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so a call
    abandoned by a cancelled query would hold up the exit of a CLI after Ctrl-C.
    """

    def __init__(self, size: int, name: str):
        self._size = size
        self._name = name
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads = 0
        self._lock = threading.Lock()

    def submit(self, work, *args) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._tasks.put((future, work, args))
        if not self._idle.acquire(timeout=0):
            with self._lock:
                if self._threads < self._size:
                    self._threads += 1
                    threading.Thread(target=self._run, name=f"{self._name}-{self._threads}", daemon=True).start()
        return future

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, work, args = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                    future.set_exception(exc)
            del task, future, work, args  # an abandoned result is freed now, not at the next call
            self._idle.release()

    def close(self) -> None:
        """Each thread exits once its current call (if any) returns."""
        with self._lock:
            for _ in range(self._threads):
                self._tasks.put(None)
            self._threads = 0


class _Corrupt(Exception):
    """A table that opens but cannot be what LanceDB wrote (for ``diagnose``)."""


def table_types(table: TableInfo) -> tuple[tuple[str, pa.DataType], ...]:
    """Each column's stored Arrow type: what LanceDB evaluates a filter over."""
    stored = table.option("arrow_types")
    if stored is not None:
        return stored
    return tuple((c.name, c.type) for c in table.columns if c.type is not None)


def as_catalog_types(table: pa.Table, fragment: Fragment, source: str) -> pa.Table:
    """Each column as the type its catalog gives it (``duckdb_readable``): float16
    widens exactly, and a narrowing conversion checks every value."""
    for i, (column, expected) in enumerate(zip(table.columns, fragment.types)):
        if expected is None or column.type == expected:
            continue
        try:
            column = column.cast(expected, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            name = fragment.columns[i]
            raise ColumnTypeError(
                source, f"column {name!r} holds a {column.type} value that {expected}, the type DuckDB reads,"
                f" cannot hold exactly: {exc}. See docs/types.md", column=name, fragment=fragment.text) from exc
        table = table.set_column(i, table.field(i).with_type(expected), column)
    return table


def exact_distances(vectors: pa.ChunkedArray, query: np.ndarray, metric: str) -> np.ndarray:
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    flat = vectors.combine_chunks()
    dim = flat.type.list_size
    matrix = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), dtype=np.float64).reshape(n, dim)
    if metric == "l2":
        diff = matrix - query
        return np.einsum("ij,ij->i", diff, diff)
    dots = matrix @ query
    if metric == "dot":
        return 1.0 - dots
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - dots / norms


# ---------------------------------------------------------------- filters

_FILTER_COMPARE = {"=", "<>", "<", "<=", ">", ">="}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def check_filter(expr: ast.Expr, types: Mapping[str, pa.DataType]) -> str:
    """The filter as EXPLAIN shows it (parameters as ``$name``); UnsupportedError
    unless ``render_filter`` can express ``expr`` exactly."""
    for node in expr.walk():
        if isinstance(node, ast.Like) and not isinstance(node.pattern, (ast.Literal, ast.Param)):
            pass  # a column as a LIKE pattern: its backslashes cannot be escaped
        elif isinstance(node, (ast.Literal, ast.Param, ast.Column, ast.IsNull, ast.InList, ast.Between, ast.Like)):
            continue
        elif isinstance(node, ast.Binary) and (node.op in _FILTER_COMPARE or node.op in ("AND", "OR")):
            continue
        elif isinstance(node, ast.Unary) and node.op == "NOT":
            continue
        raise UnsupportedError(
            f"A VECTOR_SEARCH prefilter runs inside LanceDB, which cannot evaluate this {_describe(node)} "
            f"exactly as SQL does (line {node.pos[0]}, column {node.pos[1]}). The prefilter supports "
            "comparisons, AND/OR/NOT, [NOT] IN (values), [NOT] BETWEEN, [NOT] LIKE 'pattern' and IS [NOT] NULL "
            "over the table's columns and values; filter the search result in an outer WHERE instead."
        )
    return render_filter(expr, None, types)  # literal values of the wrong type fail here, at plan time


def _describe(node: ast.Node) -> str:
    if isinstance(node, ast.Function):
        return f"function {node.name}"
    if isinstance(node, ast.Binary):
        return f"operator {node.op}"
    return type(node).__name__


def _filter_params(expr: ast.Expr | None):
    if expr is None:
        return
    seen = set()
    for node in expr.walk():
        if isinstance(node, ast.Param) and node.name not in seen:
            seen.add(node.name)
            yield (node.name, ParamRef(node.name))


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _coerce(value: object, column: str | None, target: pa.DataType | None) -> object:
    """``value`` as DuckDB would compare it with ``column``, or UnsupportedError.

    DataFusion will not compare an integer column with 100.5, nor a string column with
    a number; DuckDB casts. Integral numbers are rewritten to integers; the rest is
    refused with a message, rather than sent to fail or to match differently.
    DataFusion reads a number literal as a double, so a DECIMAL column is compared with
    a cast of the exact value, which must fit the column's scale.
    """
    if target is not None and pa.types.is_decimal(target) and value is not None and column is not None:
        return _decimal_literal(value, column, target)
    _require_exact(value)
    if value is None or target is None or column is None:
        return value

    def refuse(kind: str):
        raise UnsupportedError(
            f"A VECTOR_SEARCH prefilter compares {kind} column `{column}` with {value!r}, which LanceDB"
            " cannot evaluate as SQL does; compare it with a value of the column's type, or filter"
            " the search result in an outer WHERE"
        )

    if pa.types.is_integer(target):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            refuse("integer")
        if isinstance(value, (float, Decimal)):
            if not (math.isfinite(value) and value == int(value)):
                refuse("integer")
            return int(value)
        return value
    if pa.types.is_floating(target) and (isinstance(value, bool) or not isinstance(value, (int, float, Decimal))):
        refuse("floating-point")
    if pa.types.is_float16(target) and value == value and float(np.float16(value)) != value:
        # LanceDB compares in float16, DuckDB in float32 (it reads float16 as float32)
        refuse("float16")
    if (pa.types.is_string(target) or pa.types.is_large_string(target)) and not isinstance(value, str):
        refuse("string")
    if pa.types.is_boolean(target) and not isinstance(value, bool):
        refuse("boolean")
    return value


class _Sql(str):
    """Filter text already rendered (``render_literal`` passes it through)."""


def _decimal_literal(value: object, column: str, target: pa.DataType) -> _Sql:
    exact = None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        exact = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        exact = Decimal(value)  # the double's exact value
    fits = False
    if exact is not None and exact.is_finite():
        with localcontext() as context:
            context.prec = 80  # more than DECIMAL(38) and a double's exact expansion need
            scaled = exact.quantize(Decimal(1).scaleb(-target.scale))
            fits = scaled == exact and len(scaled.as_tuple().digits) <= target.precision
    if not fits:
        raise UnsupportedError(
            f"A VECTOR_SEARCH prefilter compares DECIMAL column `{column}` ({target}) with {value!r}, which"
            f" has no exact value of the column's type; compare it with a number of at most {target.scale}"
            f" digit{'' if target.scale == 1 else 's'} after the decimal point, or filter the search result in an"
            " outer WHERE")
    return _Sql(f"CAST('{scaled:f}' AS DECIMAL({target.precision}, {target.scale}))")


def _require_exact(value: object) -> None:
    if not fits_int64_or_double(value):
        raise UnsupportedError(
            f"A VECTOR_SEARCH prefilter value {value!r} does not fit LanceDB's 64-bit integers or doubles"
            " exactly; filter the search result in an outer WHERE instead"
        )


def render_literal(value: object) -> str:
    """A DataFusion SQL literal; strings escape ``'`` by doubling (no backslash escapes)."""
    if isinstance(value, _Sql):
        return value
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        # DataFusion reads -9223372036854775808 as a double (the minus applies to a literal too big)
        return "(-9223372036854775807 - 1)" if value == -(2**63) else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            # DataFusion, like DuckDB, takes NaN as equal to NaN and above every number
            return {"inf": "CAST('inf' AS DOUBLE)", "-inf": "CAST('-inf' AS DOUBLE)"}.get(repr(value),
                                                                                        "CAST('NaN' AS DOUBLE)")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ParameterError(f"{value!r} cannot be used in a LanceDB filter")
        return str(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ParameterError("A string with a NUL character cannot be used in a LanceDB filter")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    raise ParameterError(f"A value of type {type(value).__name__} cannot be used in a LanceDB filter")


def like_pattern(pattern: str) -> str:
    """DataFusion's LIKE treats backslash as an escape character; DuckDB's has none."""
    return pattern.replace("\\", "\\\\")


def render_filter(expr: ast.Expr, params: Mapping[str, object] | None,
                  types: Mapping[str, pa.DataType] | None = None) -> str:
    """DataFusion SQL for ``expr``. With ``params=None``, parameters show as ``$name``.

    ``types`` (column name -> Arrow type) lets values compared with a column be
    checked and converted as DuckDB would (see ``_coerce``).
    """
    types = types or {}

    def value(node: ast.Expr, column: str | None = None, like: bool = False) -> str:
        if isinstance(node, ast.Param) and params is None:
            return f"${node.name}"
        raw = params[node.name] if isinstance(node, ast.Param) else node.value
        raw = _coerce(raw, column, types.get(column) if column else None)
        if like and isinstance(raw, str):
            raw = like_pattern(raw)
        return render_literal(raw)

    def column_of(*nodes) -> str | None:
        return next((n.name for n in nodes if isinstance(n, ast.Column)), None)

    def family(node: ast.Expr) -> str | None:
        if isinstance(node, ast.Column):
            return type_family(types.get(node.name))
        if isinstance(node, ast.Param) and params is None:
            return None  # not known until the query runs; checked then
        return value_family(node, params or {})

    def same_family(*nodes: ast.Expr) -> None:
        """DuckDB raises on a comparison across type families that DataFusion coerces."""
        families = {family(n) for n in nodes} - {None, "null"}
        if len(families) > 1:
            first = nodes[0]
            raise UnsupportedError(
                f"A VECTOR_SEARCH prefilter compares values of different types (line {first.pos[0]},"
                f" column {first.pos[1]}), which LanceDB would convert where SQL raises an error"
            )

    def fraction(node: ast.Expr, column: str | None):
        """The value of ``node`` if it is a non-integral number compared with an integer column."""
        if column is None or not pa.types.is_integer(types.get(column, pa.null())):
            return None
        if not isinstance(node, (ast.Literal, ast.Param)) or (isinstance(node, ast.Param) and params is None):
            return None
        raw = params[node.name] if isinstance(node, ast.Param) else node.value
        _require_exact(raw)
        if isinstance(raw, (float, Decimal)) and not isinstance(raw, bool) and math.isfinite(raw) \
                and raw != int(raw):
            return raw
        return None

    def r(node: ast.Expr, column: str | None = None) -> str:
        if isinstance(node, (ast.Literal, ast.Param)):
            return value(node, column)
        if isinstance(node, ast.Column):
            return quote_identifier(node.name)
        if isinstance(node, ast.Binary) and node.op in _FILTER_COMPARE:
            same_family(node.left, node.right)
            target = column_of(node.left, node.right)
            op, col, other = node.op, node.left, node.right
            if not isinstance(col, ast.Column):
                op, col, other = _FLIPPED[op], node.right, node.left
            v = fraction(other, target)
            if v is not None:
                # DataFusion will not compare an integer column with 100.5; the same
                # truth value, NULL included, from integer bounds:
                name = quote_identifier(col.name)
                return {
                    "<": f"({name} <= {math.floor(v)})", "<=": f"({name} <= {math.floor(v)})",
                    ">": f"({name} >= {math.ceil(v)})", ">=": f"({name} >= {math.ceil(v)})",
                    "=": f"({name} <> {name})", "<>": f"({name} = {name})",
                }[op]
            return f"({r(node.left, target)} {node.op} {r(node.right, target)})"
        if isinstance(node, ast.Binary):
            return f"({r(node.left)} {node.op} {r(node.right)})"
        if isinstance(node, ast.Unary):
            return f"(NOT {r(node.operand)})"
        if isinstance(node, ast.IsNull):
            return f"({r(node.operand)} IS {'NOT ' if node.negated else ''}NULL)"
        if isinstance(node, ast.InList):
            same_family(node.operand, *node.items)
            target = column_of(node.operand)
            kept = [i for i in node.items if fraction(i, target) is None]  # 2.5 never equals an integer
            if not kept:
                name = r(node.operand)
                return f"({name} {'=' if node.negated else '<>'} {name})"
            items = ", ".join(r(i, target) for i in kept)
            return f"({r(node.operand)} {'NOT ' if node.negated else ''}IN ({items}))"
        if isinstance(node, ast.Between):
            same_family(node.operand, node.low, node.high)
            target = column_of(node.operand)
            low, high = fraction(node.low, target), fraction(node.high, target)
            low_text = str(math.ceil(low)) if low is not None else r(node.low, target)
            high_text = str(math.floor(high)) if high is not None else r(node.high, target)
            return (f"({r(node.operand)} {'NOT ' if node.negated else ''}BETWEEN "
                    f"{low_text} AND {high_text})")
        if isinstance(node, ast.Like):
            if family(node.operand) not in ("string", "null", None) or family(node.pattern) not in ("string", "null", None):
                raise UnsupportedError("A VECTOR_SEARCH prefilter LIKE needs strings on both sides")
            pattern = value(node.pattern, like=True)
            return f"({r(node.operand)} {'NOT ' if node.negated else ''}LIKE {pattern})"
        raise UnsupportedError(f"Cannot express {type(node).__name__} in a LanceDB filter")

    return r(expr)

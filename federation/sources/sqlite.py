"""SQLite source: tables and views of one database file, read through ADBC.

ADBC returns Arrow directly (about 6x faster than ``sqlite3`` rows converted to
Arrow). Every connection is read-only three times over: opened with ``mode=ro``, with
``PRAGMA query_only`` (which also covers databases an ATTACH would add), and either
an authorizer that denies ATTACH, writes, pragmas and extension loading (``sqlite3``
connections) or, where ADBC offers no authorizer, a check that the statement is one
SELECT. SQL is built as a sqlglot tree and rendered in SQLite's dialect; values
travel as bound parameters.

SQLite stores any value in any column. A column reads as the type its declared type
gives (by affinity) and every stored value must have that type's storage class; a
column without one (or of NUMERIC affinity) reads as the type its values share. What
does not fit is a ``ColumnTypeError`` naming the table, column, row and value, never
a converted value (docs/types.md). ADBC infers types from the first rows and converts
mixed values by itself, so its result is checked against these types and, where they
differ, the stored values are checked and read exactly instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import urllib.parse
from dataclasses import replace
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Mapping

import pyarrow as pa
import sqlglot
from sqlglot import exp

from .. import ast
from ..catalog import ColumnInfo, TableInfo, fits_int64_or_double, literal_value, type_family, value_family
from ..errors import ColumnTypeError, QueryCancelled, SourceError, UnsupportedError
from ..limits import Limits
from ..plan import KEYS, Fragment, ParamRef, SqlFragment
from ..retry import first_line
from .base import ConnectionPool, Running, Source, describe_files, file_stats

FETCH_ROWS = 65536  # rows fetched and converted to Arrow at a time by the interruptible path
PROBE_BUSY_SECONDS = 0.5  # how long a health probe waits for another process's lock


def affinity_type(declared: str) -> pa.DataType | None:
    """Arrow type for a declared column type, by SQLite's affinity rules (section 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return pa.int64()
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in upper:
        return pa.binary()
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if upper.startswith("BOOL"):
        return pa.int64()  # stored as 0/1 integers
    return None  # NUMERIC affinity or no declared type: known only from the values


# The storage class (typeof) of every value a column of each catalog type may hold.
_STORAGE_CLASS = {pa.int64(): "integer", pa.float64(): "real", pa.string(): "text", pa.binary(): "blob"}
_SQL_NAME = {"integer": "INTEGER", "real": "REAL", "text": "TEXT", "blob": "BLOB"}
_READS_AS = {pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR", pa.binary(): "BLOB"}
_EXACT_DOUBLE = 2**53  # integers beyond it have no exact double


def _beyond_double(name: str) -> str:
    return f"{name} NOT BETWEEN {-_EXACT_DOUBLE} AND {_EXACT_DOUBLE}"


def needs_check(column: ColumnInfo) -> bool:
    """Whether a column read as it is stored must have its values checked in SQL
    before a scan: ADBC returns a declared-BLOB column's integers and text as bytes,
    and types an undeclared column from its first rows. A column declared INTEGER,
    REAL or TEXT comes back as another type when a value does not fit, which the
    scan notices at no cost."""
    return column.type is None or column.type == pa.binary()


class SqliteSource(Source):
    kind = "sqlite"

    def __init__(self, name: str, options: Mapping[str, object]):
        super().__init__(name, options)
        self.path = Path(str(options["path"]))
        self._uri = "file:" + urllib.parse.quote(str(self.path)) + "?mode=ro"
        self._connections = ConnectionPool(self._open_adbc)
        self._interruptible = ConnectionPool(self._open_interruptible)
        self._meta: sqlite3.Connection | None = None
        self._checked: dict[tuple[str, str], tuple[object, pa.DataType | None]] = {}
        self._file: tuple[int, int] | None = None  # (device, inode) the connections have open

    # ------------------------------------------------------------ connections
    def _check_file(self) -> None:
        """The database file is still the one the connections read; if it was replaced
        (a restored backup moved into place), they reopen on the new one."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise SourceError(self.name, f"database file {self.path} does not exist") from None
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(self.name, f"{self.path} is not a database file")
        identity = (st.st_dev, st.st_ino)
        if self._file is not None and self._file != identity:
            self._connections.renew()
            self._interruptible.renew()
            if self._meta is not None:
                self._meta.close()
                self._meta = None
        self._file = identity

    def _meta_connection(self) -> sqlite3.Connection:
        """A stdlib connection for the catalog and PRAGMA data_version, used only under
        the source's lock (see ``row_count``)."""
        if self._meta is None:
            self._require_file()
            # timeout=0: a lock is waited for by the retry policy, which a cancel ends
            self._meta = read_only(sqlite3.connect(self._uri, uri=True, check_same_thread=False, timeout=0))
        return self._meta

    def _require_file(self) -> None:
        if not self.path.is_file():
            raise SourceError(self.name, f"database file {self.path} does not exist")

    def _open_adbc(self) -> "_Adbc":
        self._require_file()
        return _Adbc(self._uri)

    def close(self) -> None:
        with self._lock:
            self._connections.close()
            self._interruptible.close()
            if self._meta is not None:
                self._meta.close()
                self._meta = None
            self._file = None

    def _open_interruptible(self) -> sqlite3.Connection:
        """A stdlib connection: slower to Arrow than ADBC, but it can be interrupted
        (ADBC's SQLite driver implements no cancel), and it takes an authorizer."""
        self._require_file()
        connection = sqlite3.connect(self._uri, uri=True, check_same_thread=False, timeout=0)
        connection.execute("PRAGMA case_sensitive_like = ON")  # before the authorizer denies pragmas
        return read_only(connection)

    def _execute_interruptible(self, fragment: Fragment, params: Mapping[str, object], running: Running,
                               types: tuple[pa.DataType | None, ...] | None = None) -> pa.Table:
        """The fragment's rows through the stdlib driver, converted exactly to ``types``
        (default: the fragment's)."""
        values = {name: _bind_value(value) for name, value in fragment.bind(params).items()}
        with self._interruptible.connection() as connection, running.on_cancel(connection.interrupt):
            def fetch():
                cursor = connection.execute(fragment.text, values)
                try:
                    return fetch_arrow(cursor, fragment, fragment.types if types is None else types,
                                       running.limits, self.name)
                finally:
                    cursor.close()

            return _decoding(connection, fetch)

    def _fetch(self, sql: str, values, running: Running | None) -> list[tuple]:
        with self._interruptible.connection() as connection, (running or Running()).on_cancel(connection.interrupt):
            def fetch():
                cursor = connection.execute(sql, values)
                try:
                    return cursor.fetchall()
                finally:
                    cursor.close()

            return _decoding(connection, fetch)

    # ------------------------------------------------------------ stored values
    def check_columns(self, reads, running: Running | None = None, *,
                      fragment: str | None = None) -> dict[tuple[str, str], pa.DataType | None]:
        """The type each ``(table, columns)`` column reads as, once its stored values
        are checked against it (once per data version): a declared type's values must
        all have its storage class; an undeclared column's values must share one (or
        be integers and reals, read as DOUBLE when every integer has an exact double).
        Raises ``ColumnTypeError`` with the table, column, row and value otherwise."""
        found: dict[tuple[str, str], pa.DataType | None] = {}
        if not any(names for _, names in reads):
            return found
        version = self.version(running=running)
        tables = self.tables()
        for table_name, names in reads:
            info = tables.get(table_name)
            if info is None:
                continue
            todo = []
            with self._lock:
                for name in names:
                    hit = self._checked.get((table_name, name))
                    if hit is not None and hit[0] == version:
                        found[(table_name, name)] = hit[1]
                    else:
                        todo.append(info.require_column(name))
            if todo:
                for name, type_ in self._check_values(info, todo, running, fragment).items():
                    with self._lock:
                        self._checked[(table_name, name)] = (version, type_)
                    found[(table_name, name)] = type_
        return found

    def _check_values(self, table: TableInfo, columns: list[ColumnInfo], running,
                      fragment: str | None) -> dict[str, pa.DataType | None]:
        # One pass over the table counts, per column, the values of a foreign storage
        # class (declared type) or of each storage class (no declared type).
        counts = []
        for column in columns:
            name = _quote(column.name)
            kind = _STORAGE_CLASS.get(column.type)
            if kind is not None:
                counts.append(f"sum(typeof({name}) NOT IN ('{kind}', 'null'))")
            else:
                counts.extend(f"sum(typeof({name}) = '{k}')" for k in _SQL_NAME)
                counts.append(f"sum(typeof({name}) = 'integer' AND {_beyond_double(name)})")
        row = iter(self._fetch(f"SELECT {', '.join(counts)} FROM {_quote(table.name)}", (), running)[0])
        types = {}
        for column in columns:
            name = _quote(column.name)
            kind = _STORAGE_CLASS.get(column.type)
            if kind is not None:
                foreign = next(row) or 0
                if foreign:
                    wanted = _SQL_NAME[kind]
                    self._refuse(table, column, f"typeof({name}) NOT IN ('{kind}', 'null')", running, fragment,
                                 f"is declared {column.native_type} and reads as {_READS_AS[column.type]}, but",
                                 f" ({foreign} values in the column are not {wanted})" if foreign > 1 else "")
                types[column.name] = column.type
                continue
            present = {k: n for k in _SQL_NAME if (n := next(row) or 0)}
            inexact = next(row) or 0
            types[column.name] = self._values_type(table, column, present, inexact, running, fragment)
        return types

    def _values_type(self, table, column, present: dict[str, int], inexact: int, running,
                     fragment: str | None) -> pa.DataType | None:
        """The type an undeclared column's values share (``present``: storage class -> count)."""
        if not present:
            return None  # only NULLs: nothing to say, the driver's type stands
        if len(present) == 1:
            return next(t for t, k in _STORAGE_CLASS.items() if k in present)
        name = _quote(column.name)
        undeclared = f"is declared {column.native_type} (no fixed type)" if column.native_type else \
            "has no declared type"
        if set(present) == {"integer", "real"}:
            if inexact:
                self._refuse(table, column, f"typeof({name}) = 'integer' AND {_beyond_double(name)}", running,
                             fragment, f"{undeclared} and holds INTEGER and REAL values, so it reads as DOUBLE,"
                             " but", ", which no DOUBLE holds exactly")
            return pa.float64()
        usual = max(present, key=present.get)
        counts = [f"{n} {_SQL_NAME[k]}" for k, n in sorted(present.items(), key=lambda kv: -kv[1])]
        mix = ", ".join(counts[:-1]) + " and " + counts[-1]
        self._refuse(table, column, f"typeof({name}) NOT IN ('{usual}', 'null')", running, fragment,
                     f"{undeclared}, so it reads as the one type its values share, but it holds {mix} values:")

    def _refuse(self, table: TableInfo, column: ColumnInfo, condition: str, running, fragment: str | None,
                what: str, more: str = ""):
        """Raise the ColumnTypeError for the first row of ``table`` matching ``condition``:
        "column t.c <what> row N holds the <class> value v<more>. <what to do>"."""
        name = _quote(column.name)
        try:
            found = self._fetch(f"SELECT _rowid_, {name}, typeof({name}) FROM {_quote(table.name)}"
                                f" WHERE {condition} LIMIT 1", (), running)
        except sqlite3.OperationalError:  # a view or a WITHOUT ROWID table: no rowid
            found = self._fetch(f"SELECT NULL, {name}, typeof({name}) FROM {_quote(table.name)}"
                                f" WHERE {condition} LIMIT 1", (), running)
        rowid, value, kind = found[0] if found else (None, None, "?")
        where = f"row {rowid}" if rowid is not None else "a row"
        raise ColumnTypeError(
            self.name,
            f"column {table.name}.{column.name} {what} {where} holds the {_SQL_NAME.get(kind, kind)} value"
            f" {_show(value)}{more}. A stored value is never converted silently: correct the data, or read the"
            f" column through a view that converts it (e.g. CAST({column.name} AS TEXT)). See docs/types.md",
            table=table.name, column=column.name, row=rowid, value=value, fragment=fragment)

    # ------------------------------------------------------------ faults
    def _is_locked(self, exc: BaseException) -> bool:
        return _sqlite_code(exc) in (SQLITE_BUSY, SQLITE_LOCKED)

    def _locked_message(self, exc) -> str:
        return (f"database file {self.path} is locked by another connection, such as a write transaction"
                f" in another process ({first_line(exc.last)}); still locked after {exc.attempts} attempts"
                f" over {exc.waited:.1f} s. Retry when the writer has committed, or let the engine wait"
                " longer with the [retry] settings attempts and max_backoff")

    def _error_message(self, exc: BaseException) -> str:
        if _sqlite_code(exc) in (SQLITE_NOTADB, SQLITE_CORRUPT):
            return (f"database file {self.path} is not a valid SQLite database ({first_line(exc)});"
                    " check the path in the configuration")
        return first_line(exc)

    # ------------------------------------------------------------ catalog
    def version(self, tables: tuple[str, ...] = (), running: Running | None = None) -> object:
        return self._guard(lambda: self._retrying(self._data_version, running), "reading the data version")

    def _data_version(self) -> tuple:
        """PRAGMA data_version, and the file's identity, size and time (a copy moved into
        place may keep the size and time; a new connection restarts data_version)."""
        with self._lock:
            self._check_file()
            data_version = self._meta_connection().execute("PRAGMA data_version").fetchone()[0]
            return (data_version, self._file, file_stats(str(self.path), f"{self.path}-wal"))

    def _catalog_version(self) -> object:
        """While a writer locks the database, plans use the catalog read last: readers
        do not see its uncommitted changes anyway, and the query waits for the lock
        (cancellably, unlike planning) when it reads the data version to run."""
        if self._tables is not None:
            try:
                return self._data_version()
            except Exception as exc:  # noqa: BLE001 - anything but a lock is reported by version()
                if self._is_locked(exc):
                    return self._tables_version
        return self.version()

    def _load_tables(self) -> dict[str, TableInfo]:
        return self._retrying(self._read_catalog)

    def _read_catalog(self) -> dict[str, TableInfo]:
        meta = self._meta_connection()
        rows = meta.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        tables = {}
        for name, kind in rows:
            info = meta.execute("SELECT name, type, pk FROM pragma_table_info(?)", (name,)).fetchall()
            columns = tuple(ColumnInfo(col, affinity_type(declared or ""), declared or "") for col, declared, _ in info)
            keys = [col for col, _, pk in info if pk]
            # a one-column primary key: the planner's estimates know `key = value` finds one row
            extra = (("primary_key", keys[0]),) if len(keys) == 1 and kind == "table" else ()
            tables[name] = TableInfo(self.name, name, kind, columns, extra)
        return tables

    # ------------------------------------------------------------ compile
    def compile_scan(self, table: TableInfo, columns: tuple[str, ...], *, filters=(), order=(),
                     limit: int | None = None, keys: str | None = None) -> Fragment:
        """``columns`` of ``table``, filtered by the pushed ``filters``, the first ``limit``
        rows by ``order``; with ``keys``, only rows whose ``keys`` column is among the
        values bound (as one JSON array) to the ``__keys`` parameter."""
        select = exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(
            exp.table_(table.name, quoted=True)
        )
        conditions = [f.sql for f in filters]
        if keys is not None:
            conditions.append(_among_keys(exp.column(keys, quoted=True)))
        for condition in conditions:
            select = select.where(condition, copy=False)
        sql = select.sql(dialect="sqlite")
        if order:
            sql += " ORDER BY " + ", ".join(
                f"{_quote(c)}{' DESC' if desc else ''} NULLS {'FIRST' if first else 'LAST'}"
                for c, desc, first in order)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        types = tuple(table.require_column(c).type for c in columns)
        params = tuple((n, ParamRef(n)) for n in placeholder_order(sql))
        # SQLite computes with the columns it filters, orders or matches keys on: their
        # stored values must fit their types; the returned ones are checked as they come.
        computed = {n.name for f in filters for n in f.expr.walk() if isinstance(n, ast.Column)}
        computed |= {c for c, _, _ in order} | ({keys} if keys is not None else set())
        checked = tuple(c.name for c in table.columns
                        if c.name in computed or (c.name in columns and needs_check(c)))
        return SqlFragment(self.name, sql, columns, params, types, reads=((table.name, checked),))

    # ------------------------------------------------------------ what this source evaluates exactly
    def can_filter(self, table: TableInfo, expr: ast.Expr, params: Mapping[str, object]) -> bool:
        """Whether SQLite filters ``table`` by ``expr`` exactly as DuckDB would."""
        try:
            _Exactness([table], params).condition(expr)
        except _NotExact:
            return False
        return True

    def can_order(self, table: TableInfo, order) -> bool:
        # Within one type family SQLite's order (BINARY collation: code points) is DuckDB's.
        return all(type_family((table.column(c) or ColumnInfo(c, None)).type) in ("number", "string")
                   for c, _, _ in order)

    def can_reduce(self, access, column: str) -> bool:
        return access.kind in ("scan", "query")

    def _count_rows(self, table: TableInfo) -> int | None:
        """Cheap enough to run while planning; views get no estimate."""
        if table.kind == "view":
            return None  # counting runs the view, for as long as it takes, while planning
        quoted = _quote(table.name)
        # A pooled connection, not the catalog's: two threads on one sqlite3 connection
        # can deadlock (one holds the GIL waiting for SQLite's mutex, the other holds
        # the mutex waiting for the GIL), and that one is used under the source's lock.
        with self._interruptible.connection() as connection:
            try:  # the largest rowid: O(log n), exact unless rows were deleted
                count = connection.execute(f"SELECT max(_rowid_) FROM {quoted}").fetchone()[0] or 0
            except sqlite3.Error:  # a WITHOUT ROWID table (or locked: no estimate, no wait)
                try:
                    count = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
                except sqlite3.Error:
                    return None
        return count

    def compile_query(self, tree: exp.Expression, columns: tuple[str, ...],
                      types: tuple[pa.DataType | None, ...], *, keys: str | None = None) -> SqlFragment:
        """A whole query for this database; ``exp.Placeholder`` nodes are user parameters.
        With ``keys``, only its rows whose ``keys`` column is among the values bound to
        ``__keys`` (SQLite moves the condition into the query, onto the table's index)."""
        if keys is not None:
            tree = _keys_filtered(tree, columns, keys)
        sql = tree.sql(dialect="sqlite")
        order = placeholder_order(sql)
        return SqlFragment(self.name, sql, columns, tuple((n, ParamRef(n)) for n in order), types,
                           whole_query=True, reads=self._columns_used(tree))

    def _columns_used(self, tree: exp.Expression) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The columns of each table a whole query names (all of them under a ``*``):
        SQLite computes with their stored values, which must fit their types."""
        tables = self.tables()
        names: set[str] = set()
        star = False
        read: dict[str, TableInfo] = {}
        for node in tree.find_all(exp.Column, exp.Star, exp.Table):  # one walk
            if isinstance(node, exp.Column):
                names.add(node.name.lower())
            elif isinstance(node, exp.Star):
                star = True
            elif (info := tables.get(node.name)) is not None:
                read.setdefault(info.name, info)
        return tuple((name, tuple(c.name for c in info.columns if star or c.name.lower() in names))
                     for name, info in read.items())

    def runs_exactly(self, query: ast.Query, tables: list[TableInfo], params: Mapping[str, object],
                     shipped: Mapping[str, TableInfo] | None = None) -> bool:
        """Whether this database computes the whole ``query`` exactly as DuckDB does;
        ``shipped``: FROM items of other sources (by alias) whose rows it is given."""
        return exact_in_sqlite(query, tables, params, shipped)

    def compile_shipped(self, tree: exp.Expression, columns: tuple[str, ...], types, shipped) -> SqlFragment:
        """A whole query for this database that also reads the rows of other fragments,
        each bound as one JSON array of rows to ``:<name>`` (``shipped``: (name,
        fragment index) pairs): the last step of a query, run here instead of in DuckDB."""
        fragment = self.compile_query(tree, columns, types)
        return replace(fragment, shipped=tuple(shipped))

    # ------------------------------------------------------------ run
    def _execute(self, fragment: Fragment, params: Mapping[str, object], running: Running) -> pa.Table:
        assert isinstance(fragment, SqlFragment)
        # a writer's lock, met anywhere in the fragment, is waited for and the whole fragment run again
        return self._retrying(lambda: self._run(fragment, params, running), running)

    def _run(self, fragment: SqlFragment, params: Mapping[str, object], running: Running) -> pa.Table:
        checked = self.check_columns(fragment.reads, running, fragment=fragment.text)
        if fragment.whole_query:
            return self._execute_interruptible(fragment, params, running)
        # A scan: bounded by the table's size; ADBC returns Arrow directly, and stops
        # between two batches when the query is cancelled.
        table = fragment.reads[0][0]
        types = tuple(t if t is not None else checked.get((table, c))
                      for c, t in zip(fragment.columns, fragment.types))
        values = {name: _bind_value(value) for name, value in fragment.bind(params).items()}
        try:  # batch by batch, up to the caps
            with self._connections.connection() as connection:
                result = connection.query(fragment.text, values, running, source=self.name)
        except Exception as exc:  # noqa: BLE001 - the driver's own error type
            if "Type mismatch" not in str(exc):
                raise
            result = None  # ADBC typed a column from its first rows, and a later value differs
        differ = [c for i, c in enumerate(fragment.columns)
                  if result is None or not _typed_as(result.column(i), types[i])]
        if not differ:
            return result
        # A value the driver read as another type: name it, or, if every stored value
        # fits (the driver guessed wrong from the first rows), read them exactly.
        self.check_columns(((table, tuple(differ)),), running, fragment=fragment.text)
        return self._execute_interruptible(fragment, params, running, types)

    # ------------------------------------------------------------ health
    def missing(self) -> str | None:
        return None if self.path.is_file() else f"database file {self.path} does not exist"

    def probe(self) -> str:
        # A new connection, waiting briefly for locks: what the next query meets now.
        connection = read_only(sqlite3.connect(self._uri, uri=True, timeout=PROBE_BUSY_SECONDS))
        try:
            tables = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")]
            for table in tables:  # a row of each table reads pages beyond the schema
                connection.execute(f"SELECT * FROM {exp.to_identifier(table, quoted=True).sql('sqlite')} LIMIT 1"
                                   ).fetchall()
        finally:
            connection.close()
        return describe_files(str(self.path), f"{self.path}-wal")

    def diagnose(self, exc: BaseException) -> str:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return "locked"
        if code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return "corrupt"
        return "error"


def exact_in_sqlite(query: ast.Query, tables: list[TableInfo], params: Mapping[str, object],
                    shipped: Mapping[str, TableInfo] | None = None) -> bool:
    """Whether SQLite computes ``query`` exactly as DuckDB does (see docs/language.md).

    SQLite converts between types where DuckDB casts or fails: text in arithmetic or
    in a WHERE, mixed CASE/COALESCE branches, integer overflow into REAL, decimals
    rounded to doubles. So the whole query is type-checked by family (number,
    string, bool) and anything whose family is unknown or mixed, plus integer
    division, modulo, multiplication (overflow), CAST, LOWER/UPPER (ASCII-only in
    SQLite), ROUND, SUBSTR, scalar subqueries (SQLite takes the first of several
    rows; DuckDB errors), INTERSECT/EXCEPT ALL and column-aliased tables, sends the
    query through DuckDB instead. Conservative by design: a false "no" costs speed,
    a false "yes" would cost correctness.
    """
    try:
        _Exactness(tables, params, shipped).query(query)
    except _NotExact:
        return False
    return True


class _NotExact(Exception):
    pass


_SAFE_FUNCTIONS = {"COUNT", "SUM", "AVG", "MIN", "MAX", "COALESCE", "ABS"}
_COMPARE = {"=", "<>", "<", "<=", ">", ">="}


class _Exactness:
    """Infers the family of every expression; raises _NotExact where engines may differ."""

    def __init__(self, tables: list[TableInfo], params: Mapping[str, object],
                 shipped: Mapping[str, TableInfo] | None = None):
        self.params = params
        self.tables = tables
        # FROM items of other sources whose rows SQLite is given (by alias, lower-cased):
        # a GRAPH_TABLE, or a Kuzu table, as a table of their typed columns
        self.shipped = dict(shipped or {})
        self.by_table: dict[str, TableInfo | None] = {}
        self.by_name: dict[str, pa.DataType | None] = {}
        for table in [*tables, *self.shipped.values()]:
            for column in table.columns:
                if column.type is None:
                    raise _NotExact  # affinity decided per value: only DuckDB's typed view is exact
                known = self.by_name.setdefault(column.name.lower(), column.type)
                if known != column.type:
                    self.by_name[column.name.lower()] = None  # one name, several types

    # ------------------------------------------------------------ queries
    def query(self, query: ast.Query) -> list[str | None]:
        for node in query.walk():  # names the query gives to other things have no known type
            if isinstance(node, ast.SelectItem) and node.alias:
                self.by_name[node.alias.lower()] = None
            if isinstance(node, ast.CTE):
                self.by_name[node.name.lower()] = None
                self.by_table[node.name.lower()] = None
                for name in node.columns:
                    self.by_name[name.lower()] = None
            if isinstance(node, (ast.SubqueryRef, ast.TableRef)) and node.alias is not None:
                if node.alias.columns:
                    raise _NotExact  # SQLite has no column aliases on tables
        for table in (n for n in query.walk() if isinstance(n, ast.TableRef)):
            self._register(table)
        for cte in query.ctes:
            self.query(cte.query)
        families = self.body(query.body)
        for item in query.order_by:
            self.expr(item.expr)
        for clause in (query.limit, query.offset):
            if clause is not None and self.expr(clause) not in ("number", "null"):
                raise _NotExact
        return families

    def _register(self, ref: ast.TableRef) -> None:
        name = (ref.alias.name if ref.alias else ref.name).lower()
        if name in self.shipped:
            table = self.shipped[name]
        else:
            table = next((t for t in self.tables if t.name.lower() == ref.name.lower()), None)
        if name in self.by_table and self.by_table[name] is not table:
            table = None  # one alias for different tables in different scopes: unknown
        self.by_table[name] = table

    def body(self, body) -> list[str | None]:
        if isinstance(body, ast.Query):
            if body.order_by or body.limit is not None or body.offset is not None or body.ctes:
                raise _NotExact
            return self.body(body.body)
        if isinstance(body, ast.SetOp):
            if body.all and body.op != "UNION":
                raise _NotExact  # SQLite has no INTERSECT ALL / EXCEPT ALL
            left, right = self.body(body.left), self.body(body.right)
            if len(left) != len(right) or not all(_compatible(a, b) for a, b in zip(left, right)):
                raise _NotExact  # SQLite compares mixed-type set operands by its own rules
            return [a if a != "null" else b for a, b in zip(left, right)]
        return self.select(body)

    def select(self, select: ast.Select) -> list[str | None]:
        for item in select.from_:
            self.from_item(item)
        if select.where is not None:
            self.condition(select.where)
        for expr in select.group_by:
            self.expr(expr)
        if select.having is not None:
            self.condition(select.having)
        families: list[str | None] = []
        for item in select.items:
            # Expanded columns are not tracked: unknown, which only a set operation or
            # IN (subquery) needs to know, and there it means "not exact".
            families.append(None if isinstance(item.expr, ast.Star) else self.expr(item.expr))
        return families

    def from_item(self, item) -> None:
        if isinstance(item, ast.Join):
            self.from_item(item.left)
            self.from_item(item.right)
            if item.on is not None:
                self.condition(item.on)
        elif isinstance(item, ast.SubqueryRef):
            families = self.query(item.query)
            names = ast.output_names(item.query)
            if item.alias is not None and names is not None:
                # its columns have the families of the expressions they are
                alias = item.alias.name.lower()
                info = TableInfo("", alias, "table", tuple(
                    ColumnInfo(n, _FAMILY_TYPES.get(f)) for n, f in zip(names, families)))
                self.by_table[alias] = info if alias not in self.by_table else None
        elif isinstance(item, ast.GraphTable) and item.alias is not None \
                and item.alias.name.lower() in self.shipped and not item.alias.columns:
            self.by_table[item.alias.name.lower()] = self.shipped[item.alias.name.lower()]
        elif not isinstance(item, ast.TableRef):
            raise _NotExact

    def condition(self, expr: ast.Expr) -> None:
        if self.expr(expr) not in ("bool", "null"):
            raise _NotExact  # SQLite reads any value as a truth value; DuckDB does not

    # ------------------------------------------------------------ expressions
    # expr() gives an expression's family, None when it is a name of unknown type, and
    # raises _NotExact for an operation whose result may differ between the engines.
    def expr(self, e: ast.Expr) -> str | None:
        if isinstance(e, ast.Column):
            return self._column(e)
        if isinstance(e, (ast.Literal, ast.Param)):
            if not fits_int64_or_double(literal_value(e, self.params)):
                raise _NotExact  # SQLite would round it to a REAL
            if isinstance(e, ast.Literal) and isinstance(e.value, str) and "\x00" in e.value:
                raise _NotExact  # SQLite's SQL text ends at a NUL; DuckDB's holds one
            return _require(value_family(e, self.params))
        if isinstance(e, ast.Unary):
            want = "bool" if e.op == "NOT" else "number"
            return _require(want if self.expr(e.operand) in (want, "null") else None)
        if isinstance(e, ast.Binary):
            left, right = self.expr(e.left), self.expr(e.right)
            if e.op in ("AND", "OR"):
                return _require("bool" if {left, right} <= {"bool", "null"} else None)
            if e.op in _COMPARE:
                return _require("bool" if _compatible(left, right) else None)
            if e.op in ("+", "-"):
                return _require("number" if {left, right} <= {"number", "null"} else None)
            if e.op == "||":
                return _require("string" if {left, right} <= {"string", "null"} else None)
            raise _NotExact  # / and % (integer division, zero), * (overflow into REAL)
        if isinstance(e, ast.IsNull):
            self.expr(e.operand)
            return "bool"
        if isinstance(e, ast.InList):
            operand = self.expr(e.operand)
            return _require("bool" if all(_compatible(operand, self.expr(i)) for i in e.items) else None)
        if isinstance(e, ast.InQuery):
            operand = self.expr(e.operand)
            families = self.query(e.query)
            return _require("bool" if len(families) == 1 and _compatible(operand, families[0]) else None)
        if isinstance(e, ast.Between):
            operand = self.expr(e.operand)
            ok = _compatible(operand, self.expr(e.low)) and _compatible(operand, self.expr(e.high))
            return _require("bool" if ok else None)
        if isinstance(e, ast.Like):
            return _require("bool" if {self.expr(e.operand), self.expr(e.pattern)} <= {"string", "null"} else None)
        if isinstance(e, ast.Exists):
            self.query(e.query)
            return "bool"
        if isinstance(e, ast.Function):
            return self._function(e)
        if isinstance(e, ast.Case):
            return self._case(e)
        raise _NotExact  # CAST, scalar subqueries, arrays

    def _column(self, column: ast.Column) -> str | None:
        if column.table is not None:
            table = self.by_table.get(column.table.lower())
            info = table.column(column.name) if table is not None else None
            return type_family(info.type) if info is not None else None
        return type_family(self.by_name.get(column.name.lower()))

    def _function(self, f: ast.Function) -> str | None:
        if f.name not in _SAFE_FUNCTIONS:
            raise _NotExact
        if f.star:
            return "number"
        args = [self.expr(a) for a in f.args]
        if f.name == "COUNT":
            return "number"
        if f.name in ("SUM", "AVG", "ABS"):
            return _require("number" if args[0] in ("number", "null") else None)
        return _common(args)  # MIN, MAX, COALESCE

    def _case(self, c: ast.Case) -> str | None:
        if c.operand is not None:
            operand = self.expr(c.operand)
            if not all(_compatible(operand, self.expr(when)) for when, _ in c.whens):
                raise _NotExact
        else:
            for when, _ in c.whens:
                self.condition(when)
        results = [self.expr(result) for _, result in c.whens]
        if c.default is not None:
            results.append(self.expr(c.default))
        return _common(results)


_FAMILY_TYPES = {"number": pa.float64(), "string": pa.string(), "bool": pa.bool_()}  # a type of each family


def _require(family: str | None) -> str:
    if family is None:
        raise _NotExact
    return family


def _compatible(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and (a == b or "null" in (a, b))


def _common(families: list[str | None]) -> str:
    """The one family of CASE/COALESCE/MIN/MAX branches; mixed or unknown is not exact."""
    known = {f for f in families if f != "null"}
    if None in known or len(known) > 1:
        raise _NotExact
    return known.pop() if known else "null"


# SQLite result codes (the primary code is the low byte of an extended one)
SQLITE_CORRUPT, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOTADB = 11, 5, 6, 26


def _sqlite_code(exc: BaseException) -> int | None:
    """SQLite's result code in an exception from the sqlite3 module or the ADBC driver."""
    code = getattr(exc, "sqlite_errorcode", None) or getattr(exc, "vendor_code", None)
    if isinstance(code, int) and code > 0:
        return code & 0xFF
    text = str(exc)
    if "database is locked" in text:  # e.g. raised while ADBC streams batches, without a code
        return SQLITE_BUSY
    if "database table is locked" in text:
        return SQLITE_LOCKED
    return None


# What a statement may never do on the engine's connections: write (even to a
# temporary table), attach or detach another file, change the schema.
_DENIED = {
    sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_DELETE, sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_REINDEX, sqlite3.SQLITE_ANALYZE,
    sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_TEMP_INDEX,
    sqlite3.SQLITE_CREATE_TEMP_TABLE, sqlite3.SQLITE_CREATE_TEMP_TRIGGER, sqlite3.SQLITE_CREATE_TEMP_VIEW,
    sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_CREATE_VTABLE,
    sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_DROP_TEMP_INDEX,
    sqlite3.SQLITE_DROP_TEMP_TABLE, sqlite3.SQLITE_DROP_TEMP_TRIGGER, sqlite3.SQLITE_DROP_TEMP_VIEW,
    sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_DROP_VTABLE,
}
# Pragmas the engine reads after the authorizer is installed; every other pragma is
# denied (query_only = OFF, writable_schema, journal_mode, ...).
_READ_ONLY_PRAGMAS = {"data_version", "table_info", "table_xinfo"}


def read_only(connection: sqlite3.Connection) -> sqlite3.Connection:
    """``connection`` (opened with ``mode=ro``) made unable to write anywhere.

    ``query_only`` refuses writes to every database of the connection, the attach
    limit of 0 refuses ATTACH (which could create a file), and the authorizer denies
    the rest at prepare time, whatever SQL reaches it.
    """
    connection.execute("PRAGMA query_only = ON")
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    connection.set_authorizer(_read_only_authorizer)
    return connection


def _read_only_authorizer(action, arg1, arg2, database, trigger):
    """Deny what could write or reach beyond the file, even if SQL asked for it:
    ATTACH/DETACH, writes and schema changes, pragmas other than the read-only ones
    the engine uses, and extension loading."""
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
        return sqlite3.SQLITE_OK  # asked when pragma_table_info() is prepared; writing it needs writable_schema
    if action in _DENIED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() not in _READ_ONLY_PRAGMAS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class _Adbc:
    """An ADBC SQLite connection through the driver manager's low-level API.

    The DB-API wrapper imports pandas and polars (about a second); this does not.
    Autocommit, or ADBC holds a read transaction open and a writer in another
    process waits on our SHARED lock ("database is locked"). ADBC has no authorizer
    and no attach limit, so besides ``mode=ro`` and ``query_only`` (no writes, also
    not to attached files) it runs nothing but one SELECT: an ATTACH would create
    the file it names.
    """

    def __init__(self, uri: str):
        import adbc_driver_manager
        import adbc_driver_sqlite

        self._manager = adbc_driver_manager
        self._database = adbc_driver_sqlite.connect(uri)
        self._connection = None
        try:
            self._connection = adbc_driver_manager.AdbcConnection(self._database)
            self._connection.set_autocommit(True)
            # DuckDB's LIKE is case-sensitive; SQLite's is not unless told so.
            self._statement("PRAGMA case_sensitive_like = ON", update=True)
            self._statement("PRAGMA query_only = ON", update=True)
        except BaseException:
            self.close()  # a failed open leaves no file handle behind
            raise

    def _statement(self, sql: str, update: bool = False):
        statement = self._manager.AdbcStatement(self._connection)
        try:
            statement.set_sql_query(sql)
            if update:
                return statement.execute_update()
            handle, _ = statement.execute_query()
            return pa.RecordBatchReader.from_stream(handle).read_all()
        finally:
            statement.close()

    def query(self, sql: str, values: Mapping[str, object] | None = None,
              running: Running | None = None, *, source: str | None = None) -> pa.Table:
        """The result of ``sql``, read batch by batch: the driver cannot be interrupted
        (no cancel in ADBC's SQLite driver), so a cancelled query stops at the next
        batch (1024 rows) instead; so does a result past the query's caps (``source``
        names the SQLite source in ResultTooLarge)."""
        if not is_one_select(sql):
            raise UnsupportedError(f"The SQLite scan connection runs only one SELECT, not: {sql}")
        statement = self._manager.AdbcStatement(self._connection)
        try:
            statement.set_sql_query(sql)
            if values:
                # SQLite numbers named parameters by first appearance; the batch binds by position.
                statement.bind(pa.record_batch([_bind_array(v) for v in values.values()], names=list(values)))
            handle, _ = statement.execute_query()
            with pa.RecordBatchReader.from_stream(handle) as reader:
                batches = []
                rows = nbytes = 0
                for batch in reader:
                    if running is not None and running.cancelled.is_set():
                        raise QueryCancelled("The query was cancelled")
                    if running is not None:
                        rows, nbytes = rows + batch.num_rows, nbytes + batch.nbytes
                        running.limits.check(rows, nbytes, source=source, fragment=sql)
                    batches.append(batch)
                return pa.Table.from_batches(batches, reader.schema)
        finally:
            statement.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._database.close()


def fetch_arrow(cursor: sqlite3.Cursor, fragment: Fragment, types, limits: Limits, source: str) -> pa.Table:
    """The cursor's rows as Arrow of ``types``, fetched and converted ``FETCH_ROWS`` at a
    time, so that a result past a cap stops early and Python rows never pile up."""
    chunks: list[pa.Table] = []
    rows = nbytes = 0
    while batch := cursor.fetchmany(FETCH_ROWS):
        chunk = rows_to_arrow(batch, fragment.columns, types, source, fragment=fragment.text)
        rows += chunk.num_rows
        nbytes += chunk.nbytes
        limits.check(rows, nbytes, source=source, fragment=fragment.text)
        chunks.append(chunk)
    if not chunks:
        return rows_to_arrow([], fragment.columns, types, source, fragment=fragment.text)
    if all(chunk.schema == chunks[0].schema for chunk in chunks):
        return pa.concat_tables(chunks)
    # A column without a known type took its type from each chunk's values (integers
    # here, reals there): convert all rows together, as one fetch would have.
    every = [row for chunk in chunks for row in zip(*(column.to_pylist() for column in chunk.columns))]
    return rows_to_arrow(every, fragment.columns, types, source, fragment=fragment.text)


def rows_to_arrow(rows: list[tuple], names: tuple[str, ...], types, source: str, *,
                  fragment: str | None = None) -> pa.Table:
    """Rows from the stdlib driver as Arrow of ``types``: a value converts only when it
    keeps its meaning (an integer into a DOUBLE that holds it exactly, 0/1 into a
    BOOLEAN), anything else is a ``ColumnTypeError`` naming the column."""
    arrays = []
    for i, name in enumerate(names):
        expected = types[i] if i < len(types) else None
        arrays.append(exact_array(list(map(itemgetter(i), rows)), expected, name, source, fragment))
    return pa.Table.from_arrays(arrays, names=list(names))




# Python types (from the stdlib driver) that convert exactly into each kind of Arrow type.
def _accepts(expected: pa.DataType):
    if pa.types.is_integer(expected):
        return (int,)
    if pa.types.is_floating(expected):
        return (int, float)
    if pa.types.is_decimal(expected):
        return (int, float, Decimal)
    if pa.types.is_boolean(expected):
        return (int,)
    if pa.types.is_string(expected) or pa.types.is_large_string(expected):
        return (str,)
    if pa.types.is_binary(expected) or pa.types.is_large_binary(expected):
        return (bytes,)
    return None


def exact_array(values: list, expected: pa.DataType | None, name: str, source: str,
                fragment: str | None = None) -> pa.Array:
    """``values`` (as sqlite3 returns them) as an Arrow array of ``expected`` (None: the
    type the values share), or ColumnTypeError: no value changes on the way."""

    def refuse(value, why: str):
        raise ColumnTypeError(
            source, f"column {name!r} holds the {_storage_name(value)} value {_show(value)}, {why}."
            " A stored value is never converted silently: correct the data (see docs/types.md)",
            column=name, value=value, fragment=fragment)

    kinds = set(map(type, values))  # at C speed: the values are checked by their types
    kinds.discard(type(None))
    if _InvalidText in kinds:
        refuse(next(v for v in values if isinstance(v, _InvalidText)), "which is not valid UTF-8 text")
    if expected is None:
        if not kinds:
            return pa.nulls(len(values), pa.int64())
        if kinds == {int, float}:
            expected = pa.float64()
        elif len(kinds) == 1:
            expected = {int: pa.int64(), float: pa.float64(), str: pa.string(), bytes: pa.binary()}[kinds.pop()]
        else:
            first = next(v for v in values if v is not None)
            refuse(next(v for v in values if v is not None and type(v) is not type(first)),
                   f"but its first value is {_storage_name(first)}: a column's values must share one type")
    accepted = _accepts(expected)
    if accepted is not None:
        if not kinds <= set(accepted):  # exactly these types (a bool is not an int here)
            refuse(next(v for v in values if v is not None and type(v) not in accepted), f"which is not a {expected}")
        if pa.types.is_boolean(expected):
            if any(v not in (0, 1) for v in values if v is not None):
                refuse(next(v for v in values if v is not None and v not in (0, 1)), "which is not a boolean 0 or 1")
            values = [None if v is None else bool(v) for v in values]
        elif pa.types.is_decimal(expected):
            values = [Decimal(v) if isinstance(v, float) else v for v in values]
    try:
        return pa.array(values, type=expected)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError) as exc:
        raise ColumnTypeError(source, f"column {name!r} holds a value that does not fit {expected} exactly: {exc}."
                              " See docs/types.md", column=name, fragment=fragment) from exc


def _decoding(connection: sqlite3.Connection, fetch):
    """``fetch()`` with the driver's own UTF-8 decoding (fast); if a TEXT value is not
    UTF-8 (SQLite does not check), again with each such value kept as its bytes, so
    that the conversion names it (see exact_array)."""
    try:
        return fetch()
    except sqlite3.OperationalError as exc:
        if "decode to UTF-8" not in str(exc):
            raise
    connection.text_factory = _decode_text
    try:
        return fetch()
    finally:
        connection.text_factory = str


class _InvalidText(bytes):
    """A TEXT value that is not UTF-8 (SQLite does not check): kept as its bytes."""


def _decode_text(data: bytes):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _InvalidText(data)


def _storage_name(value) -> str:
    if isinstance(value, _InvalidText) or isinstance(value, str):
        return "TEXT"
    return {int: "INTEGER", float: "REAL", bytes: "BLOB"}.get(type(value), type(value).__name__)


def _show(value) -> str:
    text = repr(bytes(value) if isinstance(value, _InvalidText) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _typed_as(column: pa.ChunkedArray, expected: pa.DataType | None) -> bool:
    """Whether a scanned column has the type it reads as (all NULL: any type, cast
    later) and, as text, is UTF-8: SQLite stores TEXT without checking it, and ADBC
    passes it on."""
    if expected is not None and column.type != expected and column.null_count != len(column):
        return False
    if pa.types.is_string(column.type):
        try:
            column.validate(full=True)
        except pa.ArrowInvalid:
            return False
    return True


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _bind_value(value: object) -> object:
    if isinstance(value, list):  # semi-join keys: one JSON array for json_each
        return json.dumps(value)
    return _sqlite_value(value)


def _bind_array(value: object) -> pa.Array:
    if value is None:
        return pa.nulls(1, pa.int64())
    if isinstance(value, Decimal):
        value = float(value)  # only values a double holds exactly are pushed (fits_int64_or_double)
    return pa.array([value])


def is_one_select(sql: str) -> bool:
    """Whether ``sql`` is exactly one query (SELECT, WITH or a set operation of them)."""
    try:
        statements = sqlglot.parse(sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return False
    return len(statements) == 1 and isinstance(statements[0], exp.Query)


def _sqlite_value(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    return value


def _among_keys(column: exp.Expression) -> exp.Expression:
    """``column IN (SELECT value FROM json_each(:__keys))``: the semi-join keys, bound as
    one JSON array, whatever their number."""
    values = exp.select("value").from_(exp.func("json_each", exp.Placeholder(this=KEYS)))
    return exp.In(this=column, query=exp.Subquery(this=values))


def _keys_filtered(tree: exp.Expression, columns: tuple[str, ...], keys: str) -> exp.Expression:
    """``tree`` keeping only rows whose output column ``keys`` is among the bound keys.

    Inside the query's own WHERE when that means the same (SQLite 3.40 does not move
    a condition with a subquery into a GROUP BY subquery, so a filter outside would
    aggregate the whole table first): the column is a plain input column, and the
    query has no LIMIT or window, and aggregates only grouped by that column.
    Otherwise around it."""
    if isinstance(tree, exp.Select) and keys in columns and len(tree.expressions) == len(columns):
        item = tree.expressions[columns.index(keys)]
        value = item.unalias()
        group = tree.args.get("group")
        grouped = {g.sql() for g in group.expressions} if group is not None else set()
        aggregates = any(True for e in tree.expressions for _ in e.find_all(exp.AggFunc)) \
            or tree.args.get("having") is not None or group is not None
        if isinstance(value, exp.Column) and not tree.args.get("limit") and not tree.args.get("offset") \
                and not any(True for e in tree.expressions for _ in e.find_all(exp.Window)) \
                and (not aggregates or value.sql() in grouped):
            return tree.copy().where(_among_keys(value.copy()), copy=False)
    return (exp.select(*(exp.column(c, quoted=True) for c in columns))
            .from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("__q"))))
            .where(_among_keys(exp.column(keys, quoted=True))))


def placeholder_order(sql: str) -> list[str]:
    """Named ``:param`` placeholders in order of first appearance, outside quotes.

    SQLite numbers named parameters by first appearance, and ADBC binds by number.
    A doubled quote inside a literal toggles the state twice, so it needs no case.
    """
    names: list[str] = []
    i, quote = 0, None
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == ":" and i + 1 < len(sql) and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            if sql[i + 1:j] not in names:
                names.append(sql[i + 1:j])
            i = j
            continue
        i += 1
    return names


def shipped_rows(name: str, columns, alias: str) -> exp.Expression:
    """``(SELECT json_extract(value, '$[0]') AS c0, ... FROM json_each(:name)) AS alias``:
    the rows of another fragment, bound as one JSON array of arrays; one column's as
    a flat array, read as ``SELECT value AS c0`` (see ``executor.json_rows``)."""
    if len(columns) == 1:
        items = [exp.alias_(exp.column("value"), columns[0], quoted=True)]
    else:
        items = [exp.alias_(exp.Anonymous(this="json_extract", expressions=[
            exp.column("value"), exp.Literal.string(f"$[{i}]")]), column, quoted=True)
            for i, column in enumerate(columns)]
    source = exp.Table(this=exp.Anonymous(this="json_each", expressions=[exp.Placeholder(this=name)]))
    return exp.Subquery(this=exp.select(*items).from_(source), alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))

"""SQLite source: tables and views of one database file, read through ADBC.

ADBC returns Arrow directly (about 6x faster than ``sqlite3`` rows converted to
Arrow). Every connection is opened read-only (``mode=ro``). SQL is built as a sqlglot
tree and rendered in SQLite's dialect; values travel as bound parameters.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path
from typing import Mapping

import pyarrow as pa
from sqlglot import exp

from .. import ast
from ..catalog import ColumnInfo, TableInfo, type_family, value_family
from ..errors import SourceError
from ..plan import Fragment, ParamRef, SqlFragment
from .base import PerThread, Source, file_stats


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


class SqliteSource(Source):
    kind = "sqlite"

    def __init__(self, name: str, options: Mapping[str, object]):
        super().__init__(name, options)
        self.path = Path(str(options["path"]))
        self._uri = "file:" + urllib.parse.quote(str(self.path)) + "?mode=ro"
        self._connections = PerThread(self._open_adbc)
        self._meta: sqlite3.Connection | None = None

    # ------------------------------------------------------------ connections
    def _check_file(self) -> None:
        if not self.path.is_file():
            raise SourceError(self.name, f"database file {self.path} does not exist")

    def _meta_connection(self) -> sqlite3.Connection:
        """A stdlib connection for the catalog and PRAGMA data_version."""
        if self._meta is None:
            self._check_file()
            self._meta = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        return self._meta

    def _open_adbc(self):
        from adbc_driver_sqlite import dbapi

        self._check_file()
        # autocommit: otherwise ADBC holds a read transaction open, and a writer in
        # another process waits on our SHARED lock ("database is locked").
        connection = dbapi.connect(self._uri, autocommit=True)
        cursor = connection.cursor()
        # DuckDB's LIKE is case-sensitive; SQLite's is not unless told so.
        cursor.execute("PRAGMA case_sensitive_like = ON")
        cursor.close()
        return connection

    def close(self) -> None:
        with self._lock:
            self._connections.close()
            if self._meta is not None:
                self._meta.close()
                self._meta = None

    # ------------------------------------------------------------ catalog
    def version(self, tables: tuple[str, ...] = ()) -> object:
        with self._lock:
            meta = self._guard(self._meta_connection, "reading the data version")
            data_version = self._guard(lambda: meta.execute("PRAGMA data_version").fetchone()[0],
                                       "PRAGMA data_version")
        return (data_version, file_stats(str(self.path), f"{self.path}-wal"))

    def _load_tables(self) -> dict[str, TableInfo]:
        meta = self._meta_connection()
        rows = meta.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        tables = {}
        for name, kind in rows:
            info = meta.execute("SELECT name, type FROM pragma_table_info(?)", (name,)).fetchall()
            columns = tuple(ColumnInfo(col, affinity_type(declared or ""), declared or "") for col, declared in info)
            tables[name] = TableInfo(self.name, name, kind, columns)
        return tables

    # ------------------------------------------------------------ compile
    def compile_scan(self, table: TableInfo, columns: tuple[str, ...]) -> Fragment:
        select = exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(
            exp.table_(table.name, quoted=True)
        )
        types = tuple(table.require_column(c).type for c in columns)
        return SqlFragment(self.name, select.sql(dialect="sqlite"), columns, (), types)

    def compile_query(self, tree: exp.Expression, columns: tuple[str, ...],
                      types: tuple[pa.DataType | None, ...]) -> SqlFragment:
        """A whole query for this database; ``exp.Placeholder`` nodes are user parameters."""
        sql = tree.sql(dialect="sqlite")
        order = placeholder_order(sql)
        return SqlFragment(self.name, sql, columns, tuple((f":{n}", ParamRef(n)) for n in order), types)

    def runs_exactly(self, query: ast.Query, tables: list[TableInfo], params: Mapping[str, object]) -> bool:
        """Whether this database computes the whole ``query`` exactly as DuckDB does."""
        return exact_in_sqlite(query, tables, params)

    # ------------------------------------------------------------ run
    def _execute(self, fragment: Fragment, params: Mapping[str, object]) -> pa.Table:
        values = tuple(_sqlite_value(v) for v in fragment.bind(params).values())
        cursor = self._connections.get().cursor()
        try:
            cursor.execute(fragment.text, values or None)
            return cursor.fetch_arrow_table()
        finally:
            cursor.close()


def exact_in_sqlite(query: ast.Query, tables: list[TableInfo], params: Mapping[str, object]) -> bool:
    """Whether SQLite computes ``query`` exactly as DuckDB does (see docs/language.md).

    Conservative: integer division, modulo, CAST, Unicode case mapping, ROUND, SUBSTR,
    string concatenation of non-strings, scalar subqueries (SQLite takes the first of
    several rows; DuckDB errors), compound operands with their own ORDER BY/LIMIT,
    INTERSECT/EXCEPT ALL, column-aliased tables, and comparisons across type families
    all send the query through DuckDB instead.
    """
    types: dict[str, pa.DataType | None] = {}
    for table in tables:
        for column in table.columns:
            if column.type is None:
                return False  # affinity decided per value: only DuckDB's typed view is exact
            types.setdefault(column.name.lower(), column.type)
            if types[column.name.lower()] != column.type:
                types[column.name.lower()] = None  # same name, different types: unknown
    # A name the query gives to something else (an alias, a CTE column) has no known type.
    for node in query.walk():
        for name in _names_given(node):
            types[name.lower()] = None
    for node in query.walk():
        if isinstance(node, (ast.Cast, ast.ScalarSubquery, ast.Array)):
            return False
        if isinstance(node, ast.Binary) and node.op in ("/", "%"):
            return False
        if isinstance(node, ast.Function) and node.name not in ("COUNT", "SUM", "AVG", "MIN", "MAX", "COALESCE", "ABS"):
            return False
        if isinstance(node, ast.SetOp) and (node.all and node.op != "UNION"):
            return False
        if isinstance(node, ast.SetOp) and any(
            isinstance(side, ast.Query) and (side.order_by or side.limit is not None or side.offset is not None or side.ctes)
            for side in (node.left, node.right)
        ):
            return False
        if isinstance(node, ast.Query) and isinstance(node.body, ast.Query):
            return False
        if isinstance(node, ast.Alias) and node.columns:
            return False
        if isinstance(node, (ast.GraphTable, ast.VectorSearch)):
            return False
        if isinstance(node, ast.Binary) and node.op == "||":
            if not all(_family_of(side, types, params) == "string" for side in (node.left, node.right)):
                return False
        if isinstance(node, ast.Binary) and node.op in ("=", "<>", "<", "<=", ">", ">="):
            if not _same_family(node.left, node.right, types, params):
                return False
        if isinstance(node, ast.InList):
            if not all(_same_family(node.operand, item, types, params) for item in node.items):
                return False
        if isinstance(node, ast.Between):
            if not (_same_family(node.operand, node.low, types, params)
                    and _same_family(node.operand, node.high, types, params)):
                return False
        if isinstance(node, ast.Like):
            if not all(_family_of(side, types, params) == "string" for side in (node.operand, node.pattern)):
                return False
    return True


def _family_of(expr, types, params) -> str | None:
    if isinstance(expr, ast.Column):
        t = types.get(expr.name.lower())
        return type_family(t) if t is not None else None
    if isinstance(expr, (ast.Literal, ast.Param)):
        return value_family(expr, params)
    if isinstance(expr, ast.Binary) and expr.op in ("+", "-", "*"):
        left, right = _family_of(expr.left, types, params), _family_of(expr.right, types, params)
        return "number" if left == right == "number" else None
    if isinstance(expr, ast.Function) and expr.name in ("COUNT", "SUM", "AVG", "ABS"):
        return "number"
    if isinstance(expr, ast.Function) and expr.name in ("MIN", "MAX", "COALESCE") and expr.args:
        families = {_family_of(a, types, params) for a in expr.args}
        return families.pop() if len(families) == 1 else None
    if isinstance(expr, ast.Unary) and expr.op == "-":
        return _family_of(expr.operand, types, params)
    if isinstance(expr, (ast.InQuery, ast.Exists)):
        return "bool"
    return None


def _same_family(left, right, types, params) -> bool:
    a, b = _family_of(left, types, params), _family_of(right, types, params)
    if "null" in (a, b):
        return True
    if isinstance(left, ast.InQuery) or isinstance(right, ast.InQuery):
        return True
    return a is not None and a == b


def _names_given(node: ast.Node) -> tuple[str, ...]:
    if isinstance(node, ast.SelectItem) and node.alias:
        return (node.alias,)
    if isinstance(node, (ast.CTE, ast.Alias)):
        return node.columns
    return ()


def _sqlite_value(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    return value


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

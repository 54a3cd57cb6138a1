"""SQLite source: tables and views of one database file, read through ADBC.

ADBC returns Arrow directly (about 6x faster than ``sqlite3`` rows converted to
Arrow). Every connection is opened read-only (``mode=ro``). SQL is built as a sqlglot
tree and rendered in SQLite's dialect; values travel as bound parameters.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Mapping

import pyarrow as pa
from sqlglot import exp

from ..catalog import ColumnInfo, TableInfo
from ..errors import SourceError
from ..plan import Fragment, ParamRef, SqlFragment
from .base import Source


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
        self._local = threading.local()
        self._connections: list = []
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

    def _adbc(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            from adbc_driver_sqlite import dbapi

            self._check_file()
            # autocommit: otherwise ADBC holds a read transaction open, and a writer in
            # another process waits on our SHARED lock ("database is locked").
            connection = dbapi.connect(self._uri, autocommit=True)
            cursor = connection.cursor()
            # DuckDB's LIKE is case-sensitive; SQLite's is not unless told so.
            cursor.execute("PRAGMA case_sensitive_like = ON")
            cursor.close()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                try:
                    connection.close()
                except Exception:  # already closed by its thread's exit
                    pass
            self._connections.clear()
            self._local = threading.local()
            if self._meta is not None:
                self._meta.close()
                self._meta = None

    # ------------------------------------------------------------ catalog
    def version(self, tables: tuple[str, ...] = ()) -> object:
        with self._lock:
            meta = self._guard(self._meta_connection, "reading the data version")
            data_version = self._guard(lambda: meta.execute("PRAGMA data_version").fetchone()[0],
                                       "PRAGMA data_version")
        stats = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(str(self.path) + suffix)
                stats.append((st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stats.append(None)
        return (data_version, tuple(stats))

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

    # ------------------------------------------------------------ run
    def _execute(self, fragment: Fragment, params: Mapping[str, object]) -> pa.Table:
        values = tuple(_sqlite_value(v) for v in fragment.bind(params).values())
        cursor = self._adbc().cursor()
        try:
            cursor.execute(fragment.text, values or None)
            return cursor.fetch_arrow_table()
        finally:
            cursor.close()


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

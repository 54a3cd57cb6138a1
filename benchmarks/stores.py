"""Connections to a workspace's stores, opened once per run, as an application would.

Every alternative (the engine, the hand-written pipelines) reads the same files.
One ``kuzu.Database`` per path per process: the engine is handed the same
read-only database object (Kuzu must not see two on one path in one process).
"""

from __future__ import annotations

import json
import sqlite3
from functools import cached_property
from typing import Any

import duckdb
import pyarrow as pa

from .datagen import Workspace


class Stores:
    def __init__(self, workspace: Workspace):
        self.ws = workspace

    # ------------------------------------------------------------- Kuzu
    @cached_property
    def kuzu_db(self):
        from federation.sources.kuzu import kuzu_module

        return kuzu_module().Database(str(self.ws.graph), read_only=True)

    @cached_property
    def kuzu(self):
        from federation.sources.kuzu import kuzu_module

        return kuzu_module().Connection(self.kuzu_db)

    def cypher(self, text: str, params: dict[str, Any] | None = None) -> pa.Table:
        from federation.sources.kuzu import chunk_rows

        # chunks of the result's own size, as the engine's: get_as_arrow()'s default
        # allocates a chunk of 10M values first (1.5 ms for a one-row result)
        result = self.kuzu.execute(text, params or {})
        return result.get_as_arrow(chunk_rows(result))

    def cypher_df(self, text: str, params: dict[str, Any] | None = None):
        return self.kuzu.execute(text, params or {}).get_as_df()

    # ------------------------------------------------------------- SQLite
    @cached_property
    def adbc(self):
        import adbc_driver_sqlite.dbapi as adbc

        return adbc.connect(f"file:{self.ws.state_db}?mode=ro")

    def sql(self, text: str, params: tuple = ()) -> pa.Table:
        """SQLite state.db through ADBC: Arrow directly, no Python rows."""
        with self.adbc.cursor() as cur:
            cur.execute(text, params)
            return cur.fetch_arrow_table()

    @cached_property
    def sqlite(self) -> sqlite3.Connection:
        """A plain sqlite3 connection, for the pandas pipeline (pandas.read_sql)."""
        return sqlite3.connect(f"file:{self.ws.state_db}?mode=ro", uri=True, check_same_thread=False)

    # ------------------------------------------------------------- LanceDB
    @cached_property
    def lance(self):
        import lancedb

        return lancedb.connect(str(self.ws.lance))

    @cached_property
    def facts(self):
        return self.lance.open_table("facts")

    def lance_table(self, name: str):
        return self.lance.open_table(name)

    # ------------------------------------------------------------- engine
    @cached_property
    def fed(self):
        import federation

        return federation.connect({
            "cache": {"max_bytes": "256MiB"},
            "sources": {
                "state": {"type": "sqlite", "path": str(self.ws.state_db)},
                "graph": {"type": "kuzu", "database": self.kuzu_db},
                "knowledge": {"type": "lancedb", "uri": str(self.ws.lance)},
            },
        })

    # ------------------------------------------------------------- relations
    @cached_property
    def rel_sqlite(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.ws.relations_db}?mode=ro", uri=True, check_same_thread=False)

    @cached_property
    def rel_duckdb(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.ws.relations_duckdb), read_only=True)
        con.execute("SET enable_progress_bar = false")
        return con

    def warm(self) -> None:
        """Open every connection and run one small request in each, so first-use
        costs (imports, opening files) fall outside every measurement."""
        self.sql("SELECT 1")
        self.sqlite.execute("SELECT 1").fetchall()
        self.cypher("MATCH (a:Agent) RETURN a.id LIMIT 1")
        self.facts.search().limit(1).to_arrow()
        self.fed.query("SELECT 1 AS one")
        self.rel_sqlite.execute("SELECT 1").fetchall()
        self.rel_duckdb.execute("SELECT 1").fetchall()
        import pandas  # noqa: F401  (the pandas pipeline's import, not its query)

    def close(self) -> None:
        for name in ("fed", "adbc", "sqlite", "rel_sqlite", "rel_duckdb", "kuzu"):
            obj = self.__dict__.pop(name, None)
            if obj is not None:
                obj.close()
        db = self.__dict__.pop("kuzu_db", None)
        if db is not None:
            db.close()


def json_list(values) -> str:
    """Keys for ``IN (SELECT value FROM json_each(?))``: one bound parameter, any length."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_pylist()
    return json.dumps(list(values))

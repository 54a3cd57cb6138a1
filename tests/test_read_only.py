"""Read-only by construction: every connection the engine opens refuses to write.

The session-wide proof is ``source_guard`` in conftest.py (every watched store is
byte-identical at the end of the session); these tests show each layer on its own:
the hashing that guard relies on, and each source's connections refusing writes,
ATTACH, writing pragmas and extension loading, and never creating a missing store.
"""

from __future__ import annotations

import contextlib
import sqlite3
import textwrap
from pathlib import Path

import pytest

import federation
from federation.errors import SourceError, UnsupportedError
from federation.sources.kuzu import KuzuSource
from federation.sources.sqlite import SqliteSource
from sourceguard import hash_tree, tree_changes

pytest_plugins = ["pytester"]

TESTS = Path(__file__).parent


# ---------------------------------------------------------------- the hashing


def test_hash_tree_sees_every_kind_of_change(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "a.bin").write_bytes(b"\x00" * 4096)
    (tmp_path / "b.txt").write_text("same size")
    before = hash_tree(tmp_path)
    assert tree_changes(before, hash_tree(tmp_path)) == []

    data = bytearray((tmp_path / "db" / "a.bin").read_bytes())
    data[2048] = 1  # one byte, same size
    (tmp_path / "db" / "a.bin").write_bytes(bytes(data))
    (tmp_path / "b.txt").unlink()
    (tmp_path / "db" / "new.wal").write_bytes(b"")
    assert tree_changes(before, hash_tree(tmp_path)) == [
        "changed: db/a.bin", "removed: b.txt", "added:   db/new.wal"]


def test_the_session_fails_when_a_watched_file_changes(pytester, monkeypatch):
    """The suite's own fixture, in a session of its own: a changed file fails the run."""
    pytester.makeconftest(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from sourceguard import source_guard
    """))
    pytester.makepyfile(test_write=textwrap.dedent("""
        def test_reads(source_guard, tmp_path):
            (tmp_path / "state.db").write_bytes(b"rows")
            source_guard.watch(tmp_path)

        def test_writes(tmp_path_factory):
            for path in tmp_path_factory.getbasetemp().rglob("state.db"):
                path.write_bytes(b"ROWS")
    """))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*Source files changed during the test session*", "*changed: state.db*"])


# ---------------------------------------------------------------- SQLite


ESCAPES = [
    "ATTACH DATABASE 'file:{evil}?mode=rwc' AS evil",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = DELETE",
    "SELECT load_extension('libevil')",
    "INSERT INTO people (id, name) VALUES (100001, 'x')",
    "UPDATE people SET name = 'x'",
    "DELETE FROM people",
    "DROP TABLE people",
    "CREATE TABLE t (x)",
    "CREATE TEMP TABLE t (x)",
    "CREATE TEMP VIEW v AS SELECT 1",
]


@pytest.fixture
def sqlite_source(dataset):
    source = SqliteSource("state", {"path": dataset.config["sources"]["state"]["path"]})
    yield source
    source.close()


@pytest.mark.parametrize("connection", ["catalog", "whole query"])
@pytest.mark.parametrize("statement", ESCAPES)
def test_sqlite_stdlib_connections_refuse_to_write(sqlite_source, connection, statement, tmp_path):
    evil = tmp_path / "evil.db"
    with contextlib.ExitStack() as stack:
        con = (sqlite_source._meta_connection() if connection == "catalog"
               else stack.enter_context(sqlite_source._interruptible.connection()))
        with pytest.raises(sqlite3.DatabaseError):
            con.execute(statement.format(evil=evil)).fetchall()
    assert not evil.exists()


@pytest.mark.parametrize("statement", [s for s in ESCAPES if not s.startswith("SELECT")])
def test_sqlite_scan_connection_runs_only_one_select(sqlite_source, statement, tmp_path):
    evil = tmp_path / "evil.db"
    with sqlite_source._connections.connection() as scan:
        with pytest.raises(UnsupportedError, match="only one SELECT"):
            scan.query(statement.format(evil=evil))
        with pytest.raises(UnsupportedError, match="only one SELECT"):
            scan.query("SELECT 1; " + statement.format(evil=evil))
    assert not evil.exists()


def test_sqlite_scan_connection_is_query_only(sqlite_source):
    """ADBC takes no authorizer: below the SELECT check, SQLite itself refuses writes."""
    with sqlite_source._connections.connection() as scan:
        with pytest.raises(Exception, match="readonly|read-only|query_only"):
            scan._statement("INSERT INTO people (id, name) VALUES (100001, 'x')", update=True)
        assert scan._statement("PRAGMA query_only").column(0).to_pylist() == [1]
        with pytest.raises(Exception, match="not authorized"):
            scan.query("SELECT load_extension('libevil')")


def test_sqlite_reads_still_work_through_the_authorizer(sqlite_source):
    assert set(sqlite_source.tables()) == {"people", "orders", "cities"}
    assert sqlite_source.version() is not None


# ---------------------------------------------------------------- Kuzu


def test_kuzu_database_is_opened_read_only(dataset):
    source = KuzuSource("graph", {"path": dataset.config["sources"]["graph"]["path"]})
    try:
        for cypher in ("CREATE (:Person {id: 100001, name: 'x', age: 1})",
                       "MATCH (p:Person) DETACH DELETE p",
                       "CREATE NODE TABLE Evil(id INT64 PRIMARY KEY)"):
            with pytest.raises(Exception, match="(?i)read.only|read-only"):
                source._query(cypher)
        assert source._query("MATCH (p:Person) RETURN count(*)").column(0).to_pylist() == [180]
    finally:
        source.close()


def test_duckdb_reads_only_the_tables_it_is_handed(dataset, tmp_path):
    """The join step's DuckDB has no file system: no file read, no ATTACH, no COPY,
    no extension install, whatever SQL reached it; queries still run."""
    import duckdb

    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with federation.connect(dataset.config) as fed:
        duck = fed._duck.cursor()  # noqa: SLF001 - the connection itself, past FQL's own checks
        for sql in (f"SELECT * FROM read_csv('{secret}')", f"ATTACH '{tmp_path / 'x.duckdb'}'",
                    f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'", "INSTALL httpfs",
                    "SET enable_external_access = true"):
            with pytest.raises(duckdb.Error):
                duck.execute(sql)
        assert not (tmp_path / "x.duckdb").exists() and not (tmp_path / "out.csv").exists()
        assert fed.query("SELECT COUNT(*) AS n FROM state.people").fetchall() == [(200,)]


# ---------------------------------------------------------------- missing stores are not created


@pytest.mark.parametrize("kind, option, name", [
    ("sqlite", "path", "missing.db"),
    ("kuzu", "path", "missing.kuzu"),
    ("lancedb", "uri", "missing-lance"),
])
def test_a_missing_store_is_reported_not_created(tmp_path, kind, option, name):
    location = tmp_path / name
    with federation.connect({"sources": {"s": {"type": kind, option: str(location)}}}) as fed:
        with pytest.raises(SourceError, match="does not exist"):
            fed.query("SHOW TABLES")
    assert not location.exists()
    assert list(tmp_path.iterdir()) == []

"""Operations over the real engines: result caps and DuckDB settings."""

from __future__ import annotations

import sqlite3

import pytest

import federation
from federation import ConfigError, ResultTooLarge

# 1000 x 1000 x ~190 rows if nothing stopped it: far more than memory holds as Arrow.
RUNAWAY_JOIN = "SELECT * FROM state.orders a CROSS JOIN state.orders b CROSS JOIN graph.Person c"
# The same size, run whole inside SQLite.
RUNAWAY_SQLITE = "SELECT * FROM state.orders a CROSS JOIN state.orders b CROSS JOIN state.people c"


def with_settings(dataset, **sections) -> dict:
    return dict(dataset.config, **sections)


# ---------------------------------------------------------------- caps


@pytest.mark.parametrize("sql, source", [
    (RUNAWAY_JOIN, None),  # the DuckDB step's result, read batch by batch
    (RUNAWAY_SQLITE, "state"),  # a whole query in SQLite, fetched a chunk at a time
])
def test_a_runaway_query_stops_at_the_row_cap(dataset, sql, source):
    with federation.connect(with_settings(dataset, query={"max_rows": 5000})) as fed:
        with pytest.raises(ResultTooLarge) as info:
            fed.query(sql)
        error = info.value
        assert (error.setting, error.limit, error.source) == ("max_rows", 5000, source)
        assert "more than 5,000 rows" in str(error) and "LIMIT" in str(error)
        assert "raise [query] max_rows" in str(error)
        # under the cap, the same federation answers
        assert len(fed.query(sql + " LIMIT 10")) == 10


@pytest.mark.parametrize("sql, source", [
    ("SELECT UPPER(o.status) AS s FROM state.orders o", "state"),  # an ADBC scan (UPPER runs in DuckDB)
    ("SELECT p.name FROM graph.Person p", "graph"),  # Kuzu
    ("SELECT d.title FROM knowledge.docs d", "knowledge"),  # a LanceDB scan
])
def test_each_source_stops_a_fragment_at_the_byte_cap(dataset, sql, source):
    # each fragment is over 1 KiB; it stops before DuckDB runs
    with federation.connect(with_settings(dataset, query={"max_bytes": "1KiB"})) as fed:
        with pytest.raises(ResultTooLarge) as info:
            fed.query(sql)
    error = info.value
    assert (error.setting, error.limit, error.source) == ("max_bytes", 1024, source)
    assert f"source {source!r} returned more than 1.0 KiB" in str(error)
    assert error.fragment and "while running: " in str(error)


def test_kuzu_checks_the_row_count_before_converting(dataset):
    with federation.connect(with_settings(dataset, query={"max_rows": 10})) as fed:
        with pytest.raises(ResultTooLarge) as info:
            fed.query("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person)"
                      " COLUMNS (a.id AS a, b.id AS b)) g JOIN state.people p ON p.id = g.a")
    assert info.value.source == "graph" and "MATCH" in info.value.fragment


def test_no_cap_and_defaults(dataset):
    with federation.connect(with_settings(dataset, query={"max_rows": 0, "max_bytes": 0})) as fed:
        assert len(fed.query("SELECT a.id FROM state.orders a CROSS JOIN graph.Person b")) > 100_000
    config = federation.config.load(dataset.config)
    assert config.max_rows is None
    assert config.max_bytes == federation.limits.available_memory() // 4


def test_chunked_fetch_keeps_the_types_of_a_single_fetch(tmp_path, monkeypatch):
    """SQLite values decide their Arrow type; chunks that disagree are converted together."""
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (k INTEGER, v)")  # v: no declared type
        db.executemany("INSERT INTO t VALUES (?, ?)", [(1, 1), (2, 2), (3, 2.5), (4, None), (5, 7)])
    sql = "SELECT k, v FROM s.t WHERE k > 0 ORDER BY k"
    with federation.connect({"sources": {"s": {"type": "sqlite", "path": str(path)}}}) as fed:
        whole = fed.query(sql, cache=False).to_arrow()
        monkeypatch.setattr("federation.sources.sqlite.FETCH_ROWS", 2)
        chunked = fed.query(sql, cache=False).to_arrow()
    assert chunked.equals(whole) and chunked.column("v").to_pylist() == [1.0, 2.0, 2.5, None, 7.0]


def test_duckdb_settings_apply(dataset, tmp_path):
    spill = tmp_path / "spill" / "here"
    config = with_settings(dataset, duckdb={"memory_limit": "1MiB", "threads": 1, "temp_directory": str(spill)})
    with federation.connect(config) as fed:
        assert spill.is_dir()  # created, parents too, for DuckDB to spill into
        # a hash table of 190,000 groups does not fit in 1 MiB
        with pytest.raises(federation.ExecutionError, match=r"out of memory.*raise \[duckdb\] memory_limit"):
            fed.query("SELECT a.id, b.id, COUNT(*) AS n FROM state.orders a CROSS JOIN graph.Person b"
                      " GROUP BY a.id, b.id ORDER BY n DESC LIMIT 1")


@pytest.mark.parametrize("settings, message", [
    ({"query": {"max_rows": "many"}}, r"\[query\] max_rows must be a whole number"),
    ({"query": {"max_rows": -1}}, r"\[query\] max_rows must be a whole number of at least 0"),
    ({"query": {"max_bytes": "lots"}}, r"\[query\] max_bytes must be a byte count"),
    ({"query": {"max_row": 5}}, r"unknown setting 'max_row' in \[query\]. Did you mean 'max_rows'"),
    ({"duckdb": {"memory_limit": "2 elephants"}}, r"\[duckdb\] memory_limit must be a byte count"),
    ({"duckdb": {"memory_limit": 0}}, r"\[duckdb\] memory_limit must be more than 0"),
    ({"duckdb": {"threads": 0}}, r"\[duckdb\] threads must be a whole number of at least 1"),
    ({"duckdb": {"thread": 2}}, r"Did you mean 'threads'"),
    ({"duckdb": "fast"}, r"\[duckdb\] must be a table"),
    ({"duckbd": {}}, r"unknown section 'duckbd'. Did you mean 'duckdb'"),
])
def test_config_errors_name_the_setting(dataset, settings, message):
    with pytest.raises(ConfigError, match=message):
        federation.connect(with_settings(dataset, **settings))

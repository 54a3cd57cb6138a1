"""Operations over the real engines: result caps, DuckDB settings, fed.health() and
fed.stats()."""

from __future__ import annotations

import glob
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pytest

import federation
from federation import ConfigError, ResultTooLarge
from federation.cache import ENTRY_OVERHEAD, ResultCache, entry_size
from federation.sources.kuzu import SharedDatabase
from federation.stats import Latency

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
    # (ship_rows 0: the join's last step in DuckDB, not in SQLite over the people's rows)
    with federation.connect(with_settings(dataset, query={"max_rows": 5000}, planner={"ship_rows": 0})) as fed:
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


def test_result_too_large_says_where():
    assert str(ResultTooLarge(setting="max_rows", limit=5, source="s", fragment="SELECT 1")).startswith(
        "source 's' returned more than 5 rows, the cap set by [query] max_rows.")
    assert str(ResultTooLarge(setting="max_bytes", limit=3 * 2**30)).startswith(
        "The query's result has more than 3.0 GiB of Arrow data, the cap set by [query] max_bytes.")
    # a DuckDB step that runs before the fragments needing it (a VECTOR_SEARCH prefilter's subquery)
    assert str(ResultTooLarge(setting="max_rows", limit=5, fragment="SELECT id FROM __f0")).startswith(
        "DuckDB returned more than 5 rows")


def test_an_error_in_a_later_batch_is_typed(fed):
    """DuckDB reports an error met while its result streams through Arrow (as an
    OSError); it reaches the caller as the same typed error as any other."""
    with pytest.raises(federation.ExecutionError, match="Could not convert string 'x'") as info:
        # ~190,000 rows in order of k: the first 'x' comes after the first batches
        fed.query("SELECT CAST(CASE WHEN s.k < 900000 THEN '1' ELSE 'x' END AS INTEGER) AS v FROM"
                  " (SELECT a.id * 1000 + p.id AS k FROM state.orders a CROSS JOIN graph.Person p ORDER BY k) s")
    assert isinstance(info.value.__cause__, OSError)  # it did arrive while streaming


def test_kuzu_checks_the_row_count_before_converting(dataset):
    with federation.connect(with_settings(dataset, query={"max_rows": 10})) as fed:
        with pytest.raises(ResultTooLarge) as info:
            fed.query("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person)"
                      " COLUMNS (a.id AS a, b.id AS b)) g")
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


def test_the_cache_counts_what_small_results_really_hold():
    """Each entry costs its key and objects besides its buffers: a cache of tiny results
    must not hold thousands of them under a bound meant for bytes."""
    cache = ResultCache(256 * 1024)
    for i in range(2000):
        cache.put(("query", i), pa.table({"n": [i]}))
    assert cache.bytes <= 256 * 1024
    assert len(cache) <= 256 * 1024 // ENTRY_OVERHEAD < 2000
    assert entry_size(pa.table({"n": [1]})) > ENTRY_OVERHEAD


def test_kuzu_keeps_no_statement_between_queries(dataset):
    """Kuzu keeps what a connection prepares until it closes (about 40 KiB for a
    variable-length pattern): each call has a connection of its own, closed when the
    call returns, and the database itself closes when no query reads it."""
    sql = ("SELECT g.b FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) WHERE a.id = $id"
           " COLUMNS (b.id AS b)) g")
    graph = SharedDatabase.of(Path(dataset.config["sources"]["graph"]["path"]))
    with federation.connect(dataset.config) as fed:
        expected = [len(fed.query(sql, {"id": i}, cache=False)) for i in range(1, 30)]
        for i in range(1, 30):  # three statements in turn: IN lists of 1, 2 and 3 values
            shaped = sql.replace("a.id = $id", "a.id IN (" + ", ".join(["$id"] * (i % 3 + 1)) + ")")
            assert len(fed.query(shaped, {"id": i}, cache=False)) == expected[i - 1]
            assert not graph.is_open
        assert [len(fed.query(sql, {"id": i}, cache=False)) for i in range(1, 30)] == expected


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


# ---------------------------------------------------------------- health


def copy_stores(dataset, folder: Path) -> dict:
    """A private copy of the dataset's three stores."""
    folder.mkdir()
    sources = dataset.config["sources"]
    shutil.copy(sources["state"]["path"], folder / "state.db")
    shutil.copy(sources["graph"]["path"], folder / "graph.kuzu")
    shutil.copytree(sources["knowledge"]["uri"], folder / "lance")
    return {"sources": {
        "state": {"type": "sqlite", "path": str(folder / "state.db")},
        "graph": {"type": "kuzu", "path": str(folder / "graph.kuzu")},
        "knowledge": {"type": "lancedb", "uri": str(folder / "lance")},
    }}


def test_health_of_healthy_sources(fed):
    health = fed.health()
    assert health.ok and [s.name for s in health] == ["state", "graph", "knowledge"]
    for source in health:
        assert source.status == "ok" and source.detail == "" and source.latency_ms >= 0
    assert health["state"].version.startswith("modified ") and health["state"].kind == "sqlite"
    assert health["knowledge"].version == "docs v1"
    data = json.loads(json.dumps(health.to_dict()))
    assert data["ok"] is True and data["sources"][1]["name"] == "graph"


def test_health_of_missing_sources(tmp_path):
    config = {"sources": {
        "state": {"type": "sqlite", "path": str(tmp_path / "nope.db")},
        "graph": {"type": "kuzu", "path": str(tmp_path / "nope.kuzu")},
        "knowledge": {"type": "lancedb", "uri": str(tmp_path / "nope")},
    }}
    with federation.connect(config) as fed:
        health = fed.health()
    assert not health.ok
    assert [s.status for s in health] == ["missing"] * 3
    assert "nope.db does not exist" in health["state"].detail
    assert health["graph"].version is None


@pytest.mark.parametrize("manifest", [b"\x00garbage" * 40, bytes(320)], ids=["garbage", "zeroed"])
def test_health_of_corrupt_sources(dataset, tmp_path, manifest):
    config = copy_stores(dataset, tmp_path / "stores")
    Path(config["sources"]["state"]["path"]).write_bytes(b"not a database " * 200)
    Path(config["sources"]["graph"]["path"]).write_bytes(b"not a graph " * 2000)
    for path in glob.glob(str(tmp_path / "stores" / "lance" / "*" / "_versions" / "*.manifest")):
        Path(path).write_bytes(manifest)  # zeroed: LanceDB reads it as an empty version 0
    with federation.connect(config) as fed:
        health = fed.health()
        assert {s.name: s.status for s in health} == {"state": "corrupt", "graph": "corrupt", "knowledge": "corrupt"}
        assert "not a database" in health["state"].detail
        assert "not a valid Kuzu database" in health["graph"].detail
        with pytest.raises(federation.SourceError):  # a query says the same thing, as an error
            fed.query("SELECT * FROM state.people")


def hold(script: str) -> subprocess.Popen:
    """Run ``script`` in another process until its stdin closes; returns once it printed."""
    proc = subprocess.Popen([sys.executable, "-c", script + "\nprint('holding', flush=True)\nsys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=60)


def test_health_of_locked_sources(dataset, tmp_path):
    config = copy_stores(dataset, tmp_path / "stores")
    state, graph = config["sources"]["state"]["path"], config["sources"]["graph"]["path"]
    sqlite_writer = hold(f"import sqlite3, sys\ndb = sqlite3.connect({state!r}, isolation_level=None)\n"
                         "db.execute('BEGIN EXCLUSIVE')")
    kuzu_writer = hold(f"import kuzu, sys\ndb = kuzu.Database({graph!r})")  # read-write: holds the file lock
    try:
        with federation.connect(config) as fed:
            health = fed.health()
            assert {s.name: s.status for s in health} == {"state": "locked", "graph": "locked", "knowledge": "ok"}
            assert "database is locked" in health["state"].detail
            assert "lock" in health["graph"].detail
            release(sqlite_writer)
            release(kuzu_writer)
            assert fed.health().ok  # the same federation sees the locks go
    finally:
        for proc in (sqlite_writer, kuzu_writer):
            if proc.poll() is None:
                proc.kill()


# ---------------------------------------------------------------- stats


JOIN = "SELECT p.name FROM graph.Person p JOIN state.people q ON q.id = p.id"


def test_stats_count_queries_fragments_rows_and_cache(dataset):
    with federation.connect(with_settings(dataset, planner={"ship_rows": 0})) as fed:  # two fragments, DuckDB
        people = len(fed.query("SELECT * FROM state.people", cache=False))
        persons = len(fed.query("SELECT id FROM graph.Person", cache=False))
        joined = len(fed.query(JOIN, cache=False))
        fed.stats(reset=True)
        fed.query(JOIN)  # two fragments run
        fed.query(JOIN)  # the whole query from the cache
        fed.query(JOIN + " ORDER BY p.name")  # a new query: both fragments from the cache
        fed.query(JOIN, cache=False)  # both fragments run again
        with pytest.raises(federation.ExecutionError):
            fed.query("SELECT CAST(p.name AS INTEGER) FROM graph.Person p JOIN state.people q ON q.id = p.id")
        stats = fed.stats()
    assert (stats.queries, stats.errors, stats.cancelled, stats.cached) == (5, 1, 0, 1)
    state, graph, knowledge = stats.sources
    assert (state.name, state.kind, graph.name, knowledge.name) == ("state", "sqlite", "graph", "knowledge")
    assert (state.queries, state.fragments, state.cache_hits, state.rows) == (5, 2, 2, 2 * people)
    assert (graph.queries, graph.fragments, graph.cache_hits, graph.rows) == (5, 2, 2, 2 * persons)
    assert state.bytes > 0 and state.errors == 0  # the CAST failed in DuckDB, not in a source
    assert state.latency.samples == 2 and state.latency.p50_ms <= state.latency.p95_ms <= state.latency.p99_ms
    assert (knowledge.queries, knowledge.fragments, knowledge.latency.p50_ms) == (0, 0, None)
    # lookups: whole queries 1 hit, 3 misses (the cache=False one looks nothing up);
    # fragments 4 hits (third and fifth queries), 2 misses (the first)
    assert (stats.cache.hits, stats.cache.misses, stats.cache.hit_ratio) == (5, 5, 0.5)
    assert stats.cache.entries > 0 and stats.cache.bytes > 0
    assert stats.rows == 4 * joined and stats.latency.samples == 4


def test_stats_reset_and_errors_by_source(dataset):
    # orders' every column is over 16 KiB; its amount column, which the timed-out query reads, is not
    with federation.connect(with_settings(dataset, query={"max_bytes": "16KiB"})) as fed:
        with pytest.raises(ResultTooLarge, match="source 'state'"):
            fed.query("SELECT * FROM state.orders o JOIN graph.Person p ON p.id = o.person_id")
        with pytest.raises(federation.QueryTimeout):
            fed.query("SELECT COUNT(*) FROM graph.Person c CROSS JOIN state.orders a CROSS JOIN state.orders b"
                      " WHERE a.amount + b.amount > c.age", timeout=0.3)
        before = fed.stats(reset=True)
        after = fed.stats()
    assert (before.queries, before.errors, before.cancelled) == (2, 1, 1)
    assert (before.source("state").errors, before.source("graph").errors) == (1, 0)
    assert before.cache.misses > 0
    assert (after.queries, after.errors, after.cache.hits, after.cache.misses) == (0, 0, 0, 0)
    assert after.source("state").fragments == 0
    table = before.sources_table()
    assert table.column_names[:3] == ["source", "kind", "queries"] and table.num_rows == 3
    assert "queries: 2 (1 failed, 1 cancelled" in before.summary()


def test_stats_are_thread_safe(dataset):
    with federation.connect(dataset.config) as fed:
        def work(i: int) -> None:
            for j in range(15):
                fed.query("SELECT COUNT(*) FROM state.people WHERE id > $n", {"n": i * 100 + j})
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = fed.stats()
    assert stats.queries == 60 and stats.source("state").queries == 60
    assert stats.source("state").fragments == 60 and stats.latency.samples == 60


def test_latency_percentiles_by_nearest_rank():
    latency = Latency.of([i / 1000 for i in range(100, 0, -1)])
    assert (latency.samples, latency.p50_ms, latency.p95_ms, latency.p99_ms) == (100, 50.0, 95.0, 99.0)
    assert Latency.of([]).p50_ms is None
    assert pa.Table.from_pylist([{"x": Latency.of([0.002]).p99_ms}]).column("x").to_pylist() == [2.0]

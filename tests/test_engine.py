"""The Python API over the real engines: results, plans, errors, cache and freshness."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import kuzu
import lancedb
import numpy as np
import pyarrow as pa
import pytest

import federation
from federation import CatalogError, ParameterError, QuerySyntaxError, SourceError, UnsupportedError
from federation.plan import CypherFragment, ParamRef

from datagen import build_dataset

# ---------------------------------------------------------------- results


def test_result_api(fed):
    res = fed.query("SELECT id, name FROM state.people WHERE id <= 3 ORDER BY id")
    assert res.columns == ["id", "name"]
    assert len(res) == 3
    assert res.fetchall()[0][0] == 1
    assert res.df()["id"].tolist() == [1, 2, 3]
    assert res.pl()["id"].to_list() == [1, 2, 3]
    table = res.to_arrow()
    assert isinstance(table, pa.Table)
    # the Arrow C stream interface: any Arrow consumer can read the result
    assert pa.table(res).equals(table)
    assert duckdb.sql("SELECT count(*) FROM res").fetchall() == [(3,)]
    assert "(3 rows)" in repr(res)


def test_show_and_describe(fed):
    sources = fed.query("SHOW SOURCES").to_arrow().to_pylist()
    assert {s["source"]: s["type"] for s in sources} == {"state": "sqlite", "graph": "kuzu", "knowledge": "lancedb"}
    tables = fed.query("SHOW TABLES FROM graph").to_arrow().to_pylist()
    assert {(t["table"], t["kind"]) for t in tables} == {
        ("Person", "node"), ("Company", "node"), ("KNOWS", "rel"), ("WORKS_AT", "rel")
    }
    columns = fed.query("DESCRIBE graph.KNOWS").to_arrow().column("column").to_pylist()
    assert columns[:2] == ["_from", "_to"]
    vector = [r for r in fed.query("DESCRIBE knowledge.docs").to_arrow().to_pylist() if r["column"] == "vector"]
    assert vector[0]["type"].startswith("fixed_size_list")


def test_explain_statement_returns_the_plan(fed):
    plan = fed.query("EXPLAIN SELECT p.name FROM graph.Person p JOIN state.people q ON q.id = p.id")
    text = "\n".join(plan.to_arrow().column("plan").to_pylist())
    assert "MATCH (n:`Person`)" in text and 'FROM "people"' in text


# ---------------------------------------------------------------- plans


def plan_of(fed, sql, params=None):
    return fed.plan(sql, params or {})


def test_single_sqlite_query_runs_whole_in_sqlite(fed):
    plan = plan_of(fed, "SELECT p.name, COUNT(*) AS n FROM state.people p JOIN state.orders o ON o.person_id = p.id "
                        "WHERE p.name LIKE 'A%' GROUP BY p.name ORDER BY n DESC, p.name LIMIT 5")
    assert plan.sql is None and len(plan.fragments) == 1
    text = plan.fragments[0].text
    assert "JOIN" in text and "LIKE" in text and "NULLS LAST" in text


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT age / 2 FROM state.people",  # integer division differs
        "SELECT UPPER(name) FROM state.people",  # SQLite's UPPER is ASCII-only
        "SELECT CAST(score AS INTEGER) FROM state.people",  # SQLite truncates, DuckDB rounds
        "SELECT ROUND(amount, 1) FROM state.orders",  # decimal vs binary rounding
        "SELECT * FROM state.people WHERE city = 5",  # affinity-dependent comparison
        "SELECT (SELECT id FROM state.people) AS x",  # several rows: SQLite takes one, DuckDB errors
    ],
)
def test_sqlite_differences_go_through_duckdb(fed, sql):
    plan = plan_of(fed, sql)
    assert plan.sql is not None, "must not run whole in SQLite"


def test_projection_fetches_only_used_columns(fed):
    plan = plan_of(fed, "SELECT d.title FROM knowledge.docs d JOIN graph.Person p ON p.id = d.author_id")
    lance = next(f for f in plan.fragments if f.source == "knowledge")
    assert lance.columns == ("title", "author_id")  # never the vector unless selected
    kuzu_fragment = next(f for f in plan.fragments if f.source == "graph")
    assert kuzu_fragment.columns == ("id",)


def test_count_star_fetches_one_column(fed):
    plan = plan_of(fed, "SELECT COUNT(*) FROM knowledge.docs CROSS JOIN graph.Company")
    assert all(len(f.columns) == 1 for f in plan.fragments)


def test_graph_filters_in_cypher_are_parameters(fed):
    plan = plan_of(fed, "SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
                        "WHERE a.name = 'x'' OR 1=1 //' AND LOWER(b.name) = 'y' COLUMNS (b.id AS id)) g")
    cypher = plan.fragments[0]
    assert isinstance(cypher, CypherFragment)
    assert "OR 1=1" not in cypher.text and "$p0" in cypher.text
    assert dict(cypher.params)["p0"] == "x' OR 1=1 //"
    # LOWER is not pushed (kept in DuckDB with its exact semantics)
    assert "lower" not in cypher.text.lower()
    assert "LOWER" in plan.sql


def test_kuzu_refuses_unbound_parameters(fed):
    # Kuzu would silently drop this WHERE; the source must refuse to run it.
    source = fed.sources["graph"]
    fragment = CypherFragment("graph", "MATCH (n:Person) WHERE n.id = $x RETURN n.id AS id", ("id",), ())
    with pytest.raises(SourceError, match="parameters"):
        source.execute(fragment, {})
    ok = CypherFragment("graph", "MATCH (n:Person) WHERE n.id = $x RETURN n.id AS id", ("id",),
                        (("x", ParamRef("v")),))
    assert source.execute(ok, {"v": 1}).column("id").to_pylist() == [1]


def test_vector_prefilter_is_escaped(fed):
    plan = plan_of(fed, "SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE title = $t), $q, top_k => 3)",
                   {"t": "x' OR '1'='1", "q": [0.0] * 8})
    fragment = plan.fragments[0]
    from federation.sources.lancedb import render_filter

    assert render_filter(fragment.where, {"t": "x' OR '1'='1"}) == "(`title` = 'x'' OR ''1''=''1')"
    res = fed.query("SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE title = $t), $q, top_k => 3)",
                    {"t": "x' OR '1'='1", "q": [0.0] * 8})
    assert len(res) == 0


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "sql, error, message",
    [
        ("SELECT * FROM stat.people", CatalogError, "Did you mean 'state'?"),
        ("SELECT * FROM state.peeple", CatalogError, "Did you mean 'people'?"),
        ("SELECT * FROM peeple", CatalogError, "Did you mean 'state.people'?"),
        ("SELECT nmae FROM state.people", CatalogError, "Did you mean 'name'?"),
        ("SELECT p.nmae FROM state.people p", CatalogError, "Did you mean 'name'?"),
        ("SELECT q.name FROM state.people p", CatalogError, "In scope: p"),
        ("SELECT id FROM state.people p JOIN state.orders o ON o.person_id = p.id", CatalogError, "ambiguous"),
        ("SELECT * FROM state.people JOIN graph.Person ON TRUE JOIN state.people ON TRUE", CatalogError, "used twice"),
        ("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Persn) COLUMNS (a.id))", CatalogError, "Did you mean 'Person'?"),
        ("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person) COLUMNS (a.nam))", CatalogError, "Did you mean 'name'?"),
        ("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person) COLUMNS (b.name))", CatalogError, "pattern variable"),
        ("SELECT * FROM GRAPH_TABLE (state MATCH (a:Person) COLUMNS (a.name))", UnsupportedError, "graph (Kuzu) source"),
        ("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->{1,2}(b) COLUMNS (k.since))",
         UnsupportedError, "quantified edge"),
        ("SELECT * FROM VECTOR_SEARCH(state.people, [1.0])", UnsupportedError, "LanceDB table"),
        ("SELECT * FROM VECTOR_SEARCH(knowledge.docs, [1.0], top_k => 0)", ParameterError, "positive integer"),
        ("SELECT * FROM VECTOR_SEARCH(knowledge.docs, [1.0], metric => 'manhattan')", ParameterError, "metric"),
        ("SELECT * FROM VECTOR_SEARCH(knowledge.docs, [1.0], topk => 3)", UnsupportedError, "Did you mean 'top_k'?"),
        ("SELECT * FROM VECTOR_SEARCH(knowledge.docs, 'text')", UnsupportedError, "no embedder"),
        ("SELECT * FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE LOWER(title) = 'x'), [1.0])",
         UnsupportedError, "prefilter"),
        ("SELECT FOO(1)", UnsupportedError, "Unknown function FOO()"),
        ("SELECT CAST(1 AS BLOB)", UnsupportedError, "Unknown type BLOB"),
        ("SELECT * FROM VECTOR_SEARCH(knowledge.docs, [1.0, 2.0])", ParameterError, "has 2 dimensions"),
    ],
)
def test_user_errors(fed, sql, error, message):
    with pytest.raises(error, match=None) as info:
        fed.query(sql)
    assert message in str(info.value)


def test_parameter_errors(fed):
    with pytest.raises(ParameterError, match=r"No value for \$x"):
        fed.query("SELECT $x")
    with pytest.raises(ParameterError, match=r"\$y is not used"):
        fed.query("SELECT $x", {"x": 1, "y": 2})
    with pytest.raises(ParameterError, match="type object"):
        fed.query("SELECT $x", {"x": object()})


def test_syntax_error_is_typed(fed):
    with pytest.raises(QuerySyntaxError) as info:
        fed.query("SELECT name\nFROM state.people\nWHERE")
    assert info.value.line == 3


def test_runtime_error_from_duckdb_is_typed(fed):
    with pytest.raises(federation.ExecutionError, match="Could not convert"):
        fed.query("SELECT CAST(name AS INTEGER) FROM state.people")


def test_missing_source_file(tmp_path):
    with federation.connect({"sources": {"s": {"type": "sqlite", "path": str(tmp_path / "nope.db")}}}) as fed:
        with pytest.raises(SourceError) as info:
            fed.query("SELECT * FROM s.t")
        assert "'s'" in str(info.value) and "does not exist" in str(info.value)


@pytest.mark.parametrize(
    "config, message",
    [
        ({}, "at least one source"),
        ({"sources": {"s": {"type": "postgres", "path": "x"}}}, "type must be one of"),
        ({"sources": {"s": {"type": "sqlite"}}}, "needs path"),
        ({"sources": {"s": {"type": "sqlite", "path": "x", "pth": 1}}}, "unknown setting 'pth'"),
        ({"sources": {"my-db": {"type": "sqlite", "path": "x"}}}, "plain identifier"),
        ({"sources": {"s": {"type": "sqlite", "path": "x"}}, "cache": {"max_bytes": "lots"}}, "max_bytes"),
        ({"sources": {"g": {"type": "kuzu", "path": "x", "buffer_pool_size": "big"}}}, "buffer_pool_size must be"),
        ({"sources": {"s": {"type": "sqlite", "path": "x", "buffer_pool_size": 1}}}, "unknown setting"),
    ],
)
def test_config_errors(config, message):
    with pytest.raises(federation.ConfigError, match=message):
        federation.connect(config)


def test_toml_paths_resolve_against_the_file(tmp_path, dataset):
    folder = tmp_path / "conf"
    folder.mkdir()
    import shutil

    shutil.copy(dataset.config["sources"]["state"]["path"], folder / "state.db")
    (folder / "federation.toml").write_text('[sources.state]\ntype = "sqlite"\npath = "state.db"\n')
    with federation.connect(folder / "federation.toml") as fed:
        assert fed.query("SELECT COUNT(*) AS n FROM state.people").fetchall() == [(200,)]
    with pytest.raises(federation.FederationError, match="closed"):
        fed.query("SELECT 1")


# ---------------------------------------------------------------- cache and freshness


@pytest.fixture()
def private(tmp_path):
    """A dataset of its own, for tests that write to the stores."""
    return build_dataset(tmp_path, seed=7)


def test_cache_hit_returns_an_equal_table(fed):
    sql = "SELECT p.name, COUNT(*) AS n FROM graph.Person p JOIN state.orders o ON o.person_id = p.id GROUP BY p.name"
    first = fed.query(sql)
    second = fed.query(sql)
    assert second.cached and second.to_arrow().equals(first.to_arrow())
    uncached = fed.query(sql, cache=False)
    assert not uncached.cached
    assert uncached.to_arrow().sort_by("name").equals(first.to_arrow().sort_by("name"))


def test_sqlite_write_by_another_process_changes_the_answer(private):
    path = private.config["sources"]["state"]["path"]
    with federation.connect(private.config) as fed:
        sql = "SELECT COUNT(*) AS n FROM state.people WHERE city = $c"
        before = fed.query(sql, {"c": "Paris"}).fetchall()[0][0]
        script = textwrap.dedent(f"""
            import sqlite3
            con = sqlite3.connect({path!r})
            con.execute("INSERT INTO people (id, name, city) VALUES (100000, 'New', 'Paris')")
            con.commit()
        """)
        subprocess.run([sys.executable, "-c", script], check=True)
        after = fed.query(sql, {"c": "Paris"})
        assert not after.cached
        assert after.fetchall()[0][0] == before + 1
        # and a federated query over the same table sees it too
        joined = fed.query("SELECT COUNT(*) FROM state.people p JOIN graph.Company c ON c.id = 1 WHERE p.id = 100000")
        assert joined.fetchall() == [(1,)]


def test_lancedb_write_changes_the_answer(private):
    uri = private.config["sources"]["knowledge"]["uri"]
    with federation.connect(private.config) as fed:
        sql = "SELECT COUNT(*) AS n FROM knowledge.docs"
        before = fed.query(sql).fetchall()[0][0]
        table = lancedb.connect(uri).open_table("docs")
        row = table.search().limit(1).to_arrow()
        row = row.set_column(row.schema.get_field_index("id"), "id", pa.array([999999], pa.int64()))
        table.add(row)
        assert fed.query(sql).fetchall()[0][0] == before + 1
        table.delete("id = 999999")
        assert fed.query(sql).fetchall()[0][0] == before
        # kNN results follow the data too
        query = [float(x) for x in np.ones(8)]
        near = fed.query("SELECT id FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 1)", {"q": query}).fetchall()
        vector = pa.array([[1.0] * 8], pa.list_(pa.float32(), 8))
        row = row.set_column(row.schema.get_field_index("vector"), "vector", vector)
        table.add(row)
        assert fed.query("SELECT id FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 1)",
                         {"q": query}).fetchall() == [(999999,)] != near


def test_kuzu_write_through_a_shared_database_changes_the_answer(private):
    # An application that owns the graph read-write hands its Database to the engine.
    config = {"sources": dict(private.config["sources"])}
    path = config["sources"]["graph"]["path"]
    db = kuzu.Database(path)
    config["sources"]["graph"] = {"type": "kuzu", "database": db}
    writer = kuzu.Connection(db)
    with federation.connect(config) as fed:
        sql = "SELECT COUNT(*) AS n FROM graph.Person"
        before = fed.query(sql).fetchall()[0][0]
        writer.execute("CREATE (:Person {id: 999999, name: 'New'})")
        assert fed.query(sql).fetchall()[0][0] == before + 1
        writer.execute("MATCH (p:Person) WHERE p.id = 999999 DELETE p")
        assert fed.query(sql).fetchall()[0][0] == before
    writer.close()
    db.close()


def test_kuzu_write_by_another_process_between_queries(private):
    """The engine opens the graph read-only, and only while a query reads it: between
    queries another process can write it, and the next query sees the write."""
    import threading
    import time

    from federation.sources.kuzu import SharedDatabase

    path = private.config["sources"]["graph"]["path"]
    write = (f"import kuzu; db = kuzu.Database({path!r}); "
             "kuzu.Connection(db).execute(\"CREATE (:Person {id: 999999, name: 'New'})\")")
    with federation.connect(private.config) as fed:
        sql = "SELECT COUNT(*) AS n FROM graph.Person"
        before = fed.query(sql).fetchall()[0][0]
        subprocess.run([sys.executable, "-c", write], check=True, capture_output=True)
        after = fed.query(sql)
        assert not after.cached and after.fetchall()[0][0] == before + 1

        # while a query reads the graph, a writer cannot take it
        long = threading.Thread(target=lambda: pytest.raises(federation.QueryCancelled, fed.query,
            "SELECT COUNT(*) FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]-{1,9}(b:Person) COLUMNS (b.id AS id)) g",
            cache=False))
        long.start()
        deadline = time.monotonic() + 30
        while not SharedDatabase.of(Path(path)).is_open and time.monotonic() < deadline:
            time.sleep(0.01)
        proc = subprocess.run([sys.executable, "-c", write.replace("999999", "999998")],
                              capture_output=True, text=True)
        fed.interrupt()
        long.join(30)
        assert proc.returncode != 0 and "lock" in proc.stderr.lower()
        assert fed.query(sql).fetchall()[0][0] == before + 1


def test_kuzu_keep_open_holds_the_graph_until_close(private):
    """With keep_open the graph is opened once, not for each query (at scale M that
    costs 60 ms a query), and other processes cannot write it until close()."""
    from federation.sources.kuzu import SharedDatabase

    path = private.config["sources"]["graph"]["path"]
    shared = SharedDatabase.of(Path(path))
    config = dict(private.config, sources=dict(private.config["sources"],
                                               graph=dict(private.config["sources"]["graph"], keep_open=True)))
    write = (f"import kuzu; db = kuzu.Database({path!r}); "
             "kuzu.Connection(db).execute(\"CREATE (:Person {id: 999997, name: 'New'})\")")
    with federation.connect(config) as fed:
        opened = shared.opened
        answers = [fed.query("SELECT COUNT(*) FROM graph.Person", cache=False).fetchall() for _ in range(3)]
        assert answers[0] == answers[1] == answers[2]
        assert shared.is_open and shared.opened - opened == 1
        proc = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True)
        assert proc.returncode != 0 and "lock" in proc.stderr.lower()
    assert not shared.is_open
    with pytest.raises(federation.ConfigError, match="keep_open must be true or false"):
        federation.connect(dict(config, sources={"graph": dict(config["sources"]["graph"], keep_open="yes")}))


def test_cache_can_be_turned_off(private):
    config = dict(private.config, cache={"max_bytes": 0})
    with federation.connect(config) as fed:
        fed.query("SELECT COUNT(*) FROM state.people")
        assert not fed.query("SELECT COUNT(*) FROM state.people").cached


def test_one_federation_serves_many_threads(fed):
    from concurrent.futures import ThreadPoolExecutor

    queries = [
        ("SELECT COUNT(*) FROM state.people p JOIN graph.Person q ON q.id = p.id", {}),
        ("SELECT id FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 5) ORDER BY _distance", {"q": [0.5] * 8}),
        ("SELECT g.b FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) WHERE a.id = $id "
         "COLUMNS (b.id AS b)) g ORDER BY g.b", {"id": 3}),
        ("SELECT city, COUNT(*) FROM state.people GROUP BY city ORDER BY city", {}),
    ]
    expected = [fed.query(q, p, cache=False).to_arrow() for q, p in queries]

    def work(i):
        q, p = queries[i % len(queries)]
        return i % len(queries), fed.query(q, p, cache=i % 2 == 0).to_arrow()

    with ThreadPoolExecutor(max_workers=4) as pool:
        for index, table in pool.map(work, range(80)):
            assert table.equals(expected[index])


def test_explain_without_parameter_values(fed):
    text = fed.explain("SELECT p.name FROM state.people p JOIN graph.Person q ON q.id = p.id WHERE p.city = $city")
    assert "$city" in text and 'FROM "people"' in text
    # an unbound value has no known type, so nothing type-dependent is pushed into Kuzu
    graph = "SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person) WHERE a.name = $n COLUMNS (a.id AS id)) g"
    assert "WHERE" not in fed.plan(graph).fragments[0].text
    assert "WHERE" in fed.plan(graph, {"n": "x"}).fragments[0].text
    with pytest.raises(ParameterError, match="needs a value"):
        fed.explain("SELECT * FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => $k)")
    with pytest.raises(ParameterError, match=r"No value for \$city"):
        fed.query("SELECT name FROM state.people WHERE city = $city")


@pytest.mark.parametrize(
    "sql",
    [
        # long-running in SQLite, run whole there: a 200-million-row join counted
        "SELECT COUNT(*) FROM state.orders a CROSS JOIN state.orders b CROSS JOIN state.people c "
        "WHERE a.amount + b.amount > c.score",
        # the same size of join across sources, in DuckDB
        "SELECT COUNT(*) FROM graph.Person c CROSS JOIN state.orders a CROSS JOIN state.orders b "
        "WHERE a.amount + b.amount > c.age",
        # long-running in Kuzu: every walk of up to 9 hops
        "SELECT COUNT(*) FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]-{1,9}(b:Person) COLUMNS (b.id AS id)) g",
        # both at once, in parallel fragments: each fails when interrupted, and the
        # answer is still the cancellation, not the first fragment's error
        "SELECT COUNT(*) FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]-{1,9}(b:Person) COLUMNS (b.id AS id)) g"
        " CROSS JOIN (SELECT COUNT(*) AS n FROM state.orders a CROSS JOIN state.orders b CROSS JOIN state.people c"
        " WHERE a.amount + b.amount > c.score) s",
    ],
    ids=["sqlite", "duckdb", "kuzu", "kuzu-and-sqlite"],
)
def test_interrupt_cancels_a_running_query(fed, sql):
    import threading
    import time

    outcome = {}

    def run():
        started = time.perf_counter()
        try:
            fed.query(sql, cache=False)
            outcome["result"] = "finished"
        except federation.QueryCancelled:
            outcome["result"] = "cancelled"
        outcome["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while fed.interrupt() == 0 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the query is in flight, then cancel it
    worker.join(30)
    assert not worker.is_alive()
    assert outcome["result"] == "cancelled", outcome
    # the federation stays usable
    assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(200,)]


def test_progress_reports_each_step(fed):
    steps = []
    sql = "SELECT p.name FROM state.people p JOIN knowledge.docs d ON d.author_id = p.id"
    fed.query(sql, cache=False, progress=lambda done, total: steps.append((done, total)))
    assert fed.plan(sql).sql is not None  # two fragments and the DuckDB step
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_polars_result_with_repeated_column_names(fed):
    res = fed.query("SELECT p.id, q.id FROM state.people p JOIN graph.Person q ON q.id = p.id WHERE p.id = 1")
    assert res.columns == ["id", "id"]
    assert res.pl().columns == ["id", "id_1"]


def test_ctrl_c_on_the_main_thread_cancels_the_query(dataset, tmp_path):
    """A script's Ctrl-C reaches the engines: the query stops with KeyboardInterrupt."""
    import json
    import signal
    import time

    script = tmp_path / "long.py"
    script.write_text(
        "import json, sys, federation\n"
        f"fed = federation.connect(json.loads({json.dumps(json.dumps(dataset.config))}))\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    fed.query('SELECT COUNT(*) FROM state.orders a CROSS JOIN state.orders b CROSS JOIN state.people c "
        "WHERE a.amount + b.amount > c.score', cache=False)\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', fed.query('SELECT COUNT(*) FROM state.people').fetchall())\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert out.strip() == "interrupted [(200,)]", err


LONG = ("SELECT COUNT(*) FROM graph.Person c CROSS JOIN state.orders a CROSS JOIN state.orders b "
        "WHERE a.amount + b.amount > c.age")


def test_timeout_cancels_with_query_timeout(fed):
    with pytest.raises(federation.QueryTimeout, match="timeout of 0.3 s"):
        fed.query(LONG, cache=False, timeout=0.3)
    assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(200,)]
    with pytest.raises(federation.ConfigError, match="positive number of seconds"):
        fed.query("SELECT 1", timeout=-1)


def test_timeout_from_the_configuration(dataset):
    with federation.connect(dict(dataset.config, query={"timeout": 0.3})) as fed:
        with pytest.raises(federation.QueryTimeout):
            fed.query(LONG, cache=False)
        # a short query is unaffected
        assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(200,)]
    with pytest.raises(federation.ConfigError, match=r"\[query\] timeout"):
        federation.connect(dict(dataset.config, query={"timeout": "soon"}))


def test_main_thread_queries_reuse_one_query_thread(private):
    """Ctrl-C-cancellable queries from the main thread run on one helper thread, not a new one each."""
    import threading

    def query_threads() -> set:
        return {t for t in threading.enumerate() if t.name.startswith("federation-query")}

    from federation.executor import POOL_SIZE

    before = query_threads()
    with federation.connect(private.config) as fed:
        for _ in range(25):
            fed.query("SELECT COUNT(*) FROM state.people p JOIN knowledge.docs q ON q.author_id = p.id", cache=False)
        assert len(query_threads() - before) == 1
        # pooled: at most as many connections as fragments ever ran at once
        assert 1 <= len(fed.sources["state"]._connections) <= POOL_SIZE  # noqa: SLF001


@pytest.mark.parametrize("prefilter, message", [
    ("author_id NOT IN (SELECT id FROM state.people)", "NOT IN"),
    ("author_id IN (SELECT id FROM state.people) OR topic = 'x'", "top-level"),
    ("author_id IN (SELECT id FROM state.people) AND id IN (SELECT id FROM state.orders)", "one `column IN"),
    ("author_id IN (SELECT id, age FROM state.people)", "one column"),
])
def test_prefilter_subquery_errors(fed, prefilter, message):
    sql = f"SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE {prefilter}), [1,0,0,0,0,0,0,0])"
    with pytest.raises(federation.FederationError, match=message):
        fed.query(sql)


def test_prefilter_subquery_keys_of_another_type_are_refused(fed):
    sql = ("SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE author_id IN "
           "(SELECT name FROM state.people)), [1,0,0,0,0,0,0,0])")
    with pytest.raises(federation.UnsupportedError, match="CAST"):
        fed.query(sql)


def test_prefilter_subquery_cannot_be_correlated(fed):
    sql = ("SELECT p.id FROM state.people p, VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE author_id IN "
           "(SELECT o.person_id FROM state.orders o WHERE o.person_id = p.id)), [1,0,0,0,0,0,0,0]) v")
    with pytest.raises(federation.FederationError):
        fed.query(sql)


@pytest.mark.parametrize("key", ["max_keys", "ship_rows"])
@pytest.mark.parametrize("value", [-1, "many", True, 1.5])
def test_planner_settings_are_checked(dataset, key, value):
    with pytest.raises(federation.ConfigError, match=rf"\[planner\] {key} must be a whole number >= 0"):
        federation.connect({**dataset.config, "planner": {key: value}})


def test_an_unknown_planner_setting_is_named(dataset):
    with pytest.raises(federation.ConfigError, match="takes max_keys .* and ship_rows"):
        federation.connect({**dataset.config, "planner": {"max_key": 5}})


def test_max_keys_zero_turns_semijoins_off(dataset):
    sql = ("SELECT p.name FROM state.orders o JOIN graph.Person p ON p.id = o.person_id "
           "WHERE o.status = 'shipped'")
    # (ship_rows 0: the few people would otherwise be joined in SQLite, with no semi-join)
    with federation.connect({**dataset.config, "planner": {"max_keys": 0, "ship_rows": 0}}) as fed:
        assert all(s is None for s in fed.plan(sql).semijoins)
    with federation.connect({**dataset.config, "planner": {"ship_rows": 0}}) as fed:
        assert any(s is not None for s in fed.plan(sql).semijoins)


def test_ship_rows_zero_keeps_the_last_step_in_duckdb(dataset):
    sql = "SELECT g.name, o.amount FROM graph.Person g JOIN state.orders o ON o.person_id = g.id WHERE g.id = 7"
    with federation.connect(dataset.config) as fed:
        assert fed.plan(sql).sql is None  # the last step in SQLite, over the person's row
        shipped = fed.query(sql, cache=False).to_arrow()
    with federation.connect({**dataset.config, "planner": {"ship_rows": 0}}) as fed:
        assert fed.plan(sql).sql is not None
        assert fed.query(sql, cache=False).to_arrow().sort_by("amount").equals(shipped.sort_by("amount"))


def test_an_interrupt_while_a_query_is_planned_cancels_it(fed):
    """Ctrl-C can land before the query is running (still planning): it must not be lost."""
    sql = "SELECT p.name FROM state.people p JOIN graph.Person g ON g.id = p.id"
    plan = fed.plan(sql)
    interrupted = fed._since()  # noqa: SLF001 - the query's start, as Federation.query takes it
    fed.interrupt()
    with pytest.raises(federation.QueryCancelled):
        fed._executor.run(plan, {}, use_cache=False, interrupted=interrupted)  # noqa: SLF001
    assert len(fed.query(sql, cache=False)) > 0  # queries started afterwards are not affected

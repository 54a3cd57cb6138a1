"""Kuzu connections kept between calls with the statements they prepared
(federation/sources/kuzu.py ``Statements``): a kept statement must answer exactly
as a newly prepared one, whatever values, types and schema changes come between."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from pathlib import Path

import kuzu
import pyarrow as pa
import pytest

import federation
from federation.sources.kuzu import SharedDatabase, Statements, statement_pool

from datagen import build_dataset


@pytest.fixture
def graph(tmp_path):
    db = kuzu.Database(str(tmp_path / "g.kuzu"))
    setup = kuzu.Connection(db)
    setup.execute("CREATE NODE TABLE A(id INT64, name STRING, w DOUBLE, PRIMARY KEY(id))")
    for i in range(5):
        setup.execute("CREATE (:A {id: $i, name: $n, w: $w})", {"i": i, "n": f"a{i}", "w": i / 2})
    setup.close()
    yield db
    db.close()


def _fresh(db, text, params):
    """The answer of a connection that never ran anything before."""
    connection = kuzu.Connection(db)
    try:
        return _answer(lambda: connection.execute(text, params))
    finally:
        connection.close()


def _answer(call):
    try:
        table = call().get_as_arrow()
        return table.schema, table.to_pylist()
    except RuntimeError as exc:
        return "error", str(exc)


STATEMENTS = ["RETURN $x AS v", "RETURN $x + 1 AS v", "MATCH (a:A) WHERE a.id >= $x RETURN a.id ORDER BY a.id",
              "MATCH (a:A) WHERE a.w >= $x OR a.w <> a.w RETURN a.name ORDER BY a.name", "UNWIND $x AS k RETURN k"]
VALUES = [2, 1.5, "2", None, [1, 2], dt.date(2020, 1, 1), 2**40, True]


@pytest.mark.parametrize("text", STATEMENTS)
def test_a_kept_statement_answers_as_a_new_one_for_any_sequence_of_values(graph, text):
    # Kuzu types a parameter at execution: the first value's type must not stick
    for order in (VALUES, VALUES[::-1], VALUES[3:] + VALUES[:3]):
        kept = Statements(graph)
        try:
            for value in order:
                assert _answer(lambda: kept.execute(text, {"x": value})) == _fresh(graph, text, {"x": value}), value
            assert kept.prepared == 1  # one preparation served every value
        finally:
            kept.close()


def test_a_kept_statement_follows_schema_changes(graph):
    text = "MATCH (a:A) WHERE a.id = $x RETURN a.id, a.name"
    kept = Statements(graph)
    writer = kuzu.Connection(graph)
    try:
        steps = [None, "ALTER TABLE A DROP name", "ALTER TABLE A ADD name INT64 DEFAULT 5", "DROP TABLE A",
                 "CREATE NODE TABLE A(id INT64, name STRING, PRIMARY KEY(id))", "CREATE (:A {id: 1, name: 'new'})"]
        answers = []
        for ddl in steps:
            if ddl:
                writer.execute(ddl)
            answer = _answer(lambda: kept.execute(text, {"x": 1}))
            assert answer == _fresh(graph, text, {"x": 1}), ddl
            answers.append(answer)
        assert answers[0][1] == [{"a.id": 1, "a.name": "a1"}]
        assert answers[1][0] == "error" and "name" in answers[1][1]
        assert answers[2][1] == [{"a.id": 1, "a.name": 5}]
        assert answers[3][0] == "error" and "does not exist" in answers[3][1]
        assert answers[5][1] == [{"a.id": 1, "a.name": "new"}]
    finally:
        writer.close()
        kept.close()


def test_a_failed_preparation_is_not_kept(graph):
    kept = Statements(graph)
    writer = kuzu.Connection(graph)
    try:
        text = "MATCH (b:B) RETURN b.id"
        assert _answer(lambda: kept.execute(text, {}))[0] == "error"
        writer.execute("CREATE NODE TABLE B(id INT64, PRIMARY KEY(id))")
        writer.execute("CREATE (:B {id: 7})")
        assert _answer(lambda: kept.execute(text, {}))[1] == [{"b.id": 7}]
        assert kept.prepared == 2
    finally:
        writer.close()
        kept.close()


def test_a_data_frame_parameter_is_never_kept(graph):
    # Kuzu binds a scanned data frame when it prepares: a kept statement would
    # read the first call's frame again
    kept = Statements(graph)
    try:
        text = "LOAD FROM $t RETURN k"
        first = kept.execute(text, {"t": pa.table({"k": [1, 2]})}).get_as_arrow().column(0).to_pylist()
        second = kept.execute(text, {"t": pa.table({"k": [3]})}).get_as_arrow().column(0).to_pylist()
        assert (first, second) == ([1, 2], [3])
    finally:
        kept.close()


def test_the_least_recently_used_statements_are_kept_and_connections_recycled(graph):
    pool = statement_pool(graph)
    texts = [f"RETURN $x + {i} AS v" for i in range(Statements.KEEP + 1)]
    seen = set()
    try:
        for text in texts + texts[-1:]:  # the last text again: kept
            with pool.connection() as kept:
                seen.add(id(kept))
                assert kept.execute(text, {"x": 1}).get_as_arrow().column(0).to_pylist() == [1 + int(text.split()[3])]
        assert kept.prepared == Statements.KEEP + 1 and len(seen) == 1
        with pool.connection() as kept:
            assert kept.execute(texts[0], {"x": 0}).get_as_arrow().num_rows == 1  # evicted: prepared again
            assert kept.prepared == Statements.KEEP + 2
        # a connection keeps every statement it prepared until it closes: after
        # RECYCLE preparations it is closed and another takes its place
        for i in itertools.count():
            with pool.connection() as kept:
                kept.execute(f"RETURN $x - {i} AS v", {"x": 1})
                done = not kept.reusable()
                old = kept
            if done:
                break
        assert old.connection.is_closed
        with pool.connection() as kept:
            assert kept is not old and kept.prepared == 0
    finally:
        pool.close()


def test_a_connection_whose_call_failed_is_not_lent_again(tmp_path):
    dataset = build_dataset(tmp_path, seed=3)
    config = dict(dataset.config, sources=dict(dataset.config["sources"],
                                               graph=dict(dataset.config["sources"]["graph"], keep_open=True)))
    with federation.connect(config) as fed:
        fed.query("SELECT COUNT(*) FROM graph.Person", cache=False)
        pool = fed.sources["graph"]._kept[0]
        assert len(pool) == 1
        with pool.connection() as first:
            pass
        long = "SELECT COUNT(*) FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]-{1,9}(b:Person) COLUMNS (b.id AS id)) g"
        stop = threading.Timer(0.5, fed.interrupt)
        stop.start()
        with pytest.raises(federation.QueryCancelled):
            fed.query(long, cache=False)
        stop.cancel()
        assert first.connection.is_closed and len(pool) == 0
        assert fed.query("SELECT COUNT(*) FROM graph.Person", cache=False).fetchall()[0][0] > 0


def test_connections_close_with_the_database_they_use(tmp_path):
    dataset = build_dataset(tmp_path, seed=4)
    path = Path(dataset.config["sources"]["graph"]["path"])
    with federation.connect(dataset.config) as fed:
        fed.query("SELECT COUNT(*) FROM graph.Person", cache=False)
        # opened for the query only: closed with its connections once it ended
        assert not SharedDatabase.of(path).is_open and SharedDatabase.of(path)._connections is None


def test_the_application_database_sees_schema_changes_between_queries(tmp_path):
    dataset = build_dataset(tmp_path, seed=5)
    config = {"sources": dict(dataset.config["sources"])}
    db = kuzu.Database(config["sources"]["graph"]["path"])
    config["sources"]["graph"] = {"type": "kuzu", "database": db}
    writer = kuzu.Connection(db)
    try:
        with federation.connect(config) as fed:
            sql = "SELECT name FROM graph.Person WHERE id = $id"
            first = fed.query("SELECT MIN(id) FROM graph.Person").fetchall()[0][0]
            before = fed.query(sql, {"id": first}, cache=False).fetchall()
            assert len(before) == 1
            writer.execute("ALTER TABLE Person DROP name")
            writer.execute("ALTER TABLE Person ADD name STRING DEFAULT 'renamed'")
            assert fed.query(sql, {"id": first}, cache=False).fetchall() == [("renamed",)] != before
            writer.execute("ALTER TABLE Person DROP name")
            with pytest.raises(federation.FederationError, match="name"):
                fed.query(sql, {"id": first}, cache=False)
    finally:
        writer.close()
        db.close()

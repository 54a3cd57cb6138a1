"""The last step in SQLite over a few graph rows (federation/optimizer/shipping.py):
(query, expected plan) pairs, and the queries it must leave to DuckDB."""

import copy

import pytest

from compare import assert_same
from federation.parser import parse
from test_random_optimizer import _unoptimized

SHIPPED = [
    pytest.param(  # a neighbourhood's rows joined with a SQLite group and counted: one SQLite query
        "SELECT g.bid, p.name, COUNT(*) AS n FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) COLUMNS (b.id AS bid)) g JOIN state.people p ON p.id = g.bid JOIN state.orders o ON o.person_id = g.bid GROUP BY g.bid, p.name",
        ['MATCH (`a`:`Person` {`id`: $p0})-[:`KNOWS`]->(`b`:`Person`)\nRETURN `b`.`id` AS `b.id`', 'SELECT "g"."bid", "__g0"."__p_name" AS "name", COUNT(*) AS "n" FROM (SELECT "b.id" AS "bid" FROM (SELECT value AS "b.id" FROM JSON_EACH(:__rows0)) AS "__leaf0") AS "g" INNER JOIN (SELECT * FROM (SELECT "p"."name" AS "__p_name", "p"."id" AS "__p_id", "o"."person_id" AS "__o_person_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "p"."id" = "o"."person_id") AS "__leaf3") AS "__g0" ON ("__g0"."__p_id" = "g"."bid") AND ("__g0"."__o_person_id" = "g"."bid") GROUP BY "g"."bid", "__g0"."__p_name"'],
        id="grouped-join"),
    pytest.param(  # DISTINCT over the graph's rows, a LEFT JOIN, and a filter pushed into a scan
        "SELECT d.bid, p.name, COUNT(o.id) AS n FROM (SELECT DISTINCT g.bid FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) COLUMNS (b.id AS bid)) g) d JOIN state.people p ON p.id = d.bid LEFT JOIN state.orders o ON o.person_id = d.bid WHERE p.city <> 'Lima' GROUP BY d.bid, p.name",
        ['MATCH (`a`:`Person` {`id`: $p0})-[:`KNOWS`]->(`b`:`Person`)\nRETURN `b`.`id` AS `b.id`', 'SELECT "d"."bid", "p"."name", COUNT("o"."id") AS "n" FROM (SELECT DISTINCT "g"."bid" FROM (SELECT "b.id" AS "bid" FROM (SELECT value AS "b.id" FROM JSON_EACH(:__rows0)) AS "__leaf0") AS "g") AS "d" INNER JOIN (SELECT "id", "name" FROM "people" WHERE "city" <> \'Lima\') AS "p" ON "p"."id" = "d"."bid" LEFT JOIN (SELECT "id", "person_id" FROM "orders") AS "o" ON "o"."person_id" = "d"."bid" GROUP BY "d"."bid", "p"."name"'],
        id="distinct-left-join"),
    pytest.param(  # a node table's rows: integers and strings, kept as they are
        "SELECT g.name, o.amount FROM graph.Person g JOIN state.orders o ON o.person_id = g.id WHERE g.id = 7",
        ['MATCH (n:`Person`) WHERE (`n`.`id` = $p0) RETURN n.`id` AS `id`, n.`name` AS `name`', 'SELECT "g"."name", "o"."amount" FROM (SELECT JSON_EXTRACT(value, \'$[0]\') AS "id", JSON_EXTRACT(value, \'$[1]\') AS "name" FROM JSON_EACH(:__rows0)) AS "g" INNER JOIN (SELECT "person_id", "amount" FROM "orders") AS "o" ON "o"."person_id" = "g"."id"'],
        id="node-table"),
    pytest.param(  # one column (here strings) is shipped as a flat array, read as `value`
        "SELECT g.nm, p.name FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) "
        "COLUMNS (b.name AS nm)) g JOIN state.people p ON p.name = g.nm",
        ['MATCH (`a`:`Person` {`id`: $p0})-[:`KNOWS`]->(`b`:`Person`)\nRETURN `b`.`name` AS `b.name`',
         'SELECT "g"."nm", "p"."name" FROM (SELECT "b.name" AS "nm" FROM (SELECT value AS "b.name" FROM '
         'JSON_EACH(:__rows0)) AS "__leaf0") AS "g" INNER JOIN (SELECT "name" FROM "people") AS "p" '
         'ON "p"."name" = "g"."nm"'],
        id="one-string-column"),
]

LEFT_TO_DUCKDB = [
    pytest.param(  # (a condition on it alone would go into the match, and the float not leave Kuzu)
        "SELECT g.bid, g.w, o.amount FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[k:KNOWS]->(b:Person) "
        "COLUMNS (b.id AS bid, k.weight AS w)) g JOIN state.orders o ON o.person_id = g.bid", id="a-float-column"),
    pytest.param("SELECT g.bid, o.amount / 2 AS half FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->"
                 "(b:Person) COLUMNS (b.id AS bid)) g JOIN state.orders o ON o.person_id = g.bid",
                 id="integer-division"),
    pytest.param("SELECT g.bid, d.title FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) "
                 "COLUMNS (b.id AS bid)) g JOIN knowledge.docs d ON d.author_id = g.bid", id="not-sqlite"),
    pytest.param("SELECT g.bid, g.aname, o.amount FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->"
                 "(b:Person) COLUMNS (b.id AS bid, a.name || '!' AS aname)) g JOIN state.orders o "
                 "ON o.person_id = g.bid", id="an-expression-in-columns"),
]


@pytest.mark.parametrize("sql, fragments", SHIPPED)
def test_shipped(fed, sql, fragments):
    plan = fed.plan(sql)
    assert plan.sql is None and [f.text for f in plan.fragments] == fragments
    assert plan.dependencies(len(plan.fragments) - 1) == {0}
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)
    text = fed.explain(sql, analyze=True, cache=False)
    assert "Result: the last step runs in SQLite (__f1)" in text
    assert "__rows0=<rows of a fragment above>" in text and "the query's last step, run here over the rows of __f0" in text


@pytest.mark.parametrize("sql", LEFT_TO_DUCKDB)
def test_left_to_duckdb(fed, sql):
    plan = fed.plan(sql)
    assert plan.sql is not None and not any("JSON_EACH(:__rows" in f.text for f in plan.fragments)
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


def test_above_ship_rows_the_join_stays_in_duckdb(fed):
    """The bound is on the estimate: a larger graph result is not shipped."""
    sql = SHIPPED[0].values[0]
    planner = copy.copy(fed._planner)
    planner.ship_rows = 1
    assert planner.plan(parse(sql).query, {}).sql is not None
    planner.ship_rows = 0  # off
    assert planner.plan(parse(sql).query, {}).sql is not None


def test_the_graph_rows_keep_their_multiplicity(fed):
    """A node reached twice is two rows: shipped rows are not a set of keys."""
    sql = ("SELECT g.bid, COUNT(*) AS n FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(c:Person)-[:KNOWS]->"
           "(b:Person) WHERE a.id = 13 COLUMNS (b.id AS bid)) g JOIN state.people p ON p.id = g.bid GROUP BY g.bid")
    assert fed.plan(sql).sql is None
    got = fed.query(sql, cache=False).to_arrow()
    assert_same(got, _unoptimized(fed, sql), ordered=False)
    assert max(got["n"].to_pylist(), default=0) >= 2  # some node is reached by two walks

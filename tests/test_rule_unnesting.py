"""``x IN (SELECT ...)`` made a join (federation/optimizer/unnesting.py): (query,
expected plan) pairs, and the queries it must leave as they are."""

import pytest

from compare import assert_same
from planning import plan_unshipped
from test_random_optimizer import _unoptimized

UNNESTED = [
    pytest.param(  # a graph neighbourhood's ids: they reduce the SQLite scan, as a join's would
        "SELECT p.name, p.city FROM state.people p WHERE p.id IN (SELECT g.bid FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) COLUMNS (b.id AS bid)) g) AND p.city <> 'Lima'",
        'SELECT "p"."name", "p"."city" FROM __f1 AS "p" INNER JOIN (SELECT DISTINCT "__s"."bid" AS "__k" FROM (SELECT "g"."bid" FROM (SELECT "b.id" AS "bid" FROM __f0) AS "g") AS "__s") AS "__in0" ON "p"."id" = "__in0"."__k"',
        ['MATCH (`a`:`Person` {`id`: $p0})-[:`KNOWS`]->(`b`:`Person`)\nRETURN `b`.`id` AS `b.id`', 'SELECT "id", "name", "city" FROM "people" WHERE "city" <> \'Lima\''],
        [None, (0, 'b.id', 'id')],
        id='graph-values'),
    pytest.param(  # the reduced table is reduced on its key: it then reduces the LEFT JOIN's right side
        "SELECT t.id, COUNT(o.id) AS n FROM state.people t LEFT JOIN state.orders o ON o.person_id = t.id WHERE t.id IN (SELECT g.bid FROM GRAPH_TABLE (graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) COLUMNS (b.id AS bid)) g) GROUP BY t.id",
        'SELECT "t"."id", COUNT("o"."id") AS "n" FROM __f1 AS "t" LEFT JOIN __f2 AS "o" ON "o"."person_id" = "t"."id" INNER JOIN (SELECT DISTINCT "__s"."bid" AS "__k" FROM (SELECT "g"."bid" FROM (SELECT "b.id" AS "bid" FROM __f0) AS "g") AS "__s") AS "__in0" ON "t"."id" = "__in0"."__k" GROUP BY "t"."id"',
        ['MATCH (`a`:`Person` {`id`: $p0})-[:`KNOWS`]->(`b`:`Person`)\nRETURN `b`.`id` AS `b.id`', 'SELECT "id" FROM "people"', 'SELECT "id", "person_id" FROM "orders"'],
        [None, (0, 'b.id', 'id'), (1, 'id', 'person_id')],
        id='then-reduces'),
    pytest.param(  # unqualified columns of the subquery's one table; the values run whole in SQLite
        "SELECT d.title FROM knowledge.docs d WHERE d.author_id IN (SELECT person_id FROM state.orders WHERE amount > 290)",
        'SELECT "d"."title" FROM __f0 AS "d" INNER JOIN (SELECT * FROM __f1) AS "__in0" ON "d"."author_id" = "__in0"."__k"',
        ["docs.search().select(['title', 'author_id'])", 'SELECT DISTINCT "__s"."person_id" AS "__k" FROM (SELECT "person_id" FROM "orders" AS "orders" WHERE "amount" > 290) AS "__s"'],
        [None, None],
        id='unqualified'),
]

LEFT_ALONE = [
    pytest.param("SELECT p.name FROM state.people p WHERE p.id NOT IN (SELECT d.author_id FROM knowledge.docs d)",
                 id="not-in"),
    pytest.param("SELECT p.name FROM state.people p WHERE p.id IN (SELECT d.author_id FROM knowledge.docs d "
                 "WHERE d.title = p.name)", id="correlated"),
    pytest.param("SELECT p.name FROM state.people p WHERE p.id IN (SELECT author_id FROM knowledge.docs "
                 "WHERE title = name)", id="correlated-unqualified"),
    pytest.param("SELECT p.name FROM state.people p WHERE p.id IN (SELECT d.author_id FROM knowledge.docs d) "
                 "OR p.city = 'Lima'", id="under-or"),
    pytest.param("SELECT * FROM state.people p WHERE p.id IN (SELECT d.author_id FROM knowledge.docs d)",
                 id="star"),
    pytest.param("SELECT p.name FROM state.people p JOIN graph.Person g ON g.id = p.id "
                 "AND p.id IN (SELECT d.author_id FROM knowledge.docs d)", id="in-an-on"),
]


@pytest.mark.parametrize("sql, duckdb, fragments, semijoins", UNNESTED)
def test_unnested(fed, sql, duckdb, fragments, semijoins):
    plan = plan_unshipped(fed, sql)  # the semi-joins, as for a big graph (a small one's rows join in SQLite)
    assert plan.sql == duckdb
    assert [f.text for f in plan.fragments] == fragments
    assert [(s.producer, s.producer_column, s.column) if s else None for s in plan.semijoins] == semijoins
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


@pytest.mark.parametrize("sql", LEFT_ALONE)
def test_left_alone(fed, sql):
    plan = fed.plan(sql)
    assert "__in" not in plan.sql
    assert " IN (SELECT" in plan.sql
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)

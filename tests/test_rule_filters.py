"""Filter pushdown (federation/optimizer/filters.py): (query, expected plan) pairs."""

import pytest

from federation.optimizer.filters import push_filters
from planning import plan_with, texts

CASES = [
    pytest.param(  # each table's own conjunct goes into its source; LIKE stays (Kuzu's LIKE differs)
        "SELECT p.name FROM state.people p JOIN graph.Person g ON g.id = p.id WHERE p.age > 30 AND g.name LIKE 'A%'",
        {},
        'SELECT "p"."name" FROM __f0 AS "p" INNER JOIN __f1 AS "g" ON "g"."id" = "p"."id" WHERE "g"."name" LIKE \'A%\'',
        ['SELECT "id", "name", "city", "age", "score" FROM "people" WHERE "age" > 30',
         "MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`"],
        id="sqlite-where"),
    pytest.param(  # the ON of a LEFT JOIN pre-filters its right side; WHERE on that side stays
        "SELECT p.name FROM state.people p LEFT JOIN graph.Person g ON g.id = p.id AND g.age < 40 WHERE g.name IS NULL",
        {},
        'SELECT "p"."name" FROM __f0 AS "p" LEFT JOIN __f1 AS "g" ON "g"."id" = "p"."id" WHERE "g"."name" IS NULL',
        ['SELECT "id", "name", "city", "age", "score" FROM "people"',
         "MATCH (n:`Person`) WHERE (`n`.`age` < $p0) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`"],
        id="left-join-on"),
    pytest.param(  # LanceDB scans take a where; parameters stay parameters
        "SELECT d.title FROM knowledge.docs d JOIN state.people p ON p.id = d.author_id "
        "WHERE d.topic = 'graphs' AND p.city = $c",
        {"c": "Paris"},
        'SELECT "d"."title" FROM __f0 AS "d" INNER JOIN __f1 AS "p" ON "p"."id" = "d"."author_id"',
        ["docs.search().where(\"(`topic` = 'graphs')\").select(['id', 'title', 'topic', 'author_id', 'vector'])",
         'SELECT "id", "name", "city", "age", "score" FROM "people" WHERE "city" = :c'],
        id="lancedb-scan-and-parameter"),
    pytest.param(  # never into a VECTOR_SEARCH: the top k would change
        "SELECT v.title FROM VECTOR_SEARCH(knowledge.docs, [1,0,0,0,0,0,0,0], top_k => 5) v "
        "JOIN state.people p ON p.id = v.author_id WHERE v.topic = 'graphs'",
        {},
        'SELECT "v"."title" FROM __f0 AS "v" INNER JOIN __f1 AS "p" ON "p"."id" = "v"."author_id" '
        'WHERE "v"."topic" = \'graphs\'',
        ["docs.search(<vector of 8>, vector_column_name='vector').distance_type('l2').limit(5)"
         ".select(['id', 'title', 'topic', 'author_id', 'vector'])",
         'SELECT "id", "name", "city", "age", "score" FROM "people"'],
        id="not-into-knn"),
    pytest.param(  # SQLite multiplication may overflow into REAL where DuckDB raises: stays
        "SELECT p.name FROM state.people p JOIN graph.Person g ON g.id = p.id WHERE p.age * 2 > 60",
        {},
        'SELECT "p"."name" FROM __f0 AS "p" INNER JOIN __f1 AS "g" ON "g"."id" = "p"."id" WHERE ("p"."age" * 2) > 60',
        ['SELECT "id", "name", "city", "age", "score" FROM "people"',
         "MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`"],
        id="inexact-stays"),
    pytest.param(  # a text parameter compared with an integer column: DuckDB's cast, not SQLite's
        "SELECT p.name FROM state.people p JOIN graph.Person g ON g.id = p.id WHERE p.age = $a",
        {"a": "30"},
        'SELECT "p"."name" FROM __f0 AS "p" INNER JOIN __f1 AS "g" ON "g"."id" = "p"."id" WHERE "p"."age" = $a',
        ['SELECT "id", "name", "city", "age", "score" FROM "people"',
         "MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`"],
        id="type-mismatch-stays"),
    pytest.param(  # RIGHT JOIN pads the left side with NULLs: its WHERE conjunct stays
        "SELECT p.name FROM state.people p RIGHT JOIN graph.Person g ON g.id = p.id WHERE p.age > 30 AND g.age > 20",
        {},
        'SELECT "p"."name" FROM __f0 AS "p" RIGHT JOIN __f1 AS "g" ON "g"."id" = "p"."id" WHERE "p"."age" > 30',
        ['SELECT "id", "name", "city", "age", "score" FROM "people"',
         "MATCH (n:`Person`) WHERE (`n`.`age` > $p0) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`"],
        id="right-join"),
    pytest.param(  # an outer WHERE on a GRAPH_TABLE's columns goes into the match (a float's order
        # comparison written so that NaN is above every number); LIKE stays (Kuzu's differs)
        "SELECT g.bid FROM GRAPH_TABLE(graph MATCH (a:Person)-[k:KNOWS]->(b:Person) COLUMNS (a.id AS aid, "
        "b.id AS bid, k.weight AS w, a.name AS aname)) g WHERE g.aid = 3 AND g.w >= 0.5 AND g.aname LIKE 'A%'",
        {},
        'SELECT "g"."bid" FROM (SELECT "a.id" AS "aid", "b.id" AS "bid", "k.weight" AS "w", "a.name" AS "aname" '
        'FROM __f0) AS "g" WHERE "g"."aname" LIKE \'A%\'',
        ["MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nWHERE ((`a`.`id` = $p0) AND ((`k`.`weight` >= $p1) "
         "OR (`k`.`weight` <> `k`.`weight`)))\nRETURN `a`.`id` AS `a.id`, `b`.`id` AS `b.id`, "
         "`k`.`weight` AS `k.weight`, `a`.`name` AS `a.name`"],
        id="graph-table-outer-where"),
    pytest.param(  # a GRAPH_TABLE on the right of a LEFT JOIN: its ON moves in, the WHERE stays
        "SELECT p.name, g.bid FROM state.people p LEFT JOIN GRAPH_TABLE(graph MATCH (a:Person)-[k:KNOWS]->"
        "(b:Person) COLUMNS (a.id AS aid, b.id AS bid)) g ON g.aid = p.id AND g.bid < 50 WHERE g.bid > 10",
        {},
        'SELECT "p"."name", "g"."bid" FROM __f0 AS "p" LEFT JOIN (SELECT "a.id" AS "aid", "b.id" AS "bid" '
        'FROM __f1) AS "g" ON "g"."aid" = "p"."id" WHERE "g"."bid" > 10',
        ['SELECT "id", "name", "city", "age", "score" FROM "people"',
         "MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nWHERE (`b`.`id` < $p0)\n"
         "RETURN `a`.`id` AS `a.id`, `b`.`id` AS `b.id`"],
        id="graph-table-left-join"),
    pytest.param(  # two properties of one match: integers in any comparison, strings only (in)equal, floats never
        "SELECT g.aid FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) COLUMNS (a.id AS aid, "
        "a.name AS aname, b.name AS bname, a.age AS aage, b.age AS bage, k.since AS since, k.weight AS w)) g "
        "WHERE g.aname <> g.bname AND g.aage < g.bage AND g.aname < g.bname AND g.since > g.w",
        {},
        'SELECT "g"."aid" FROM (SELECT "a.id" AS "aid", "a.name" AS "aname", "b.name" AS "bname", "a.age" AS "aage", "b.age" AS "bage", "k.since" AS "since", "k.weight" AS "w" FROM __f0) AS "g" WHERE ("g"."aname" < "g"."bname") AND ("g"."since" > "g"."w")',
        ['MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nWHERE ((`a`.`name` <> `b`.`name`) AND (`a`.`age` < `b`.`age`))\nRETURN `a`.`id` AS `a.id`, `a`.`name` AS `a.name`, `b`.`name` AS `b.name`, `a`.`age` AS `a.age`, `b`.`age` AS `b.age`, `k`.`since` AS `k.since`, `k`.`weight` AS `k.weight`'],
        id="two-properties"),
]


@pytest.mark.parametrize("sql, params, duckdb, fragments", CASES)
def test_filter_pushdown(fed, sql, params, duckdb, fragments):
    plan = plan_with(fed, sql, (push_filters,), params)
    assert plan.sql == duckdb
    assert texts(plan) == fragments

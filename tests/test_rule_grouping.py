"""Grouping one SQLite source's joined tables (federation/optimizer/grouping.py):
(query, expected plan) pairs, and the queries it must leave as they are."""

import pytest

from planning import plan_unshipped


GROUPED = [
    pytest.param(  # a join of two SQLite tables, each filtered: one SQL query, whose keys reduce the graph's
        "SELECT p.name, o.amount, g.age FROM state.people p JOIN state.orders o ON o.person_id = p.id JOIN graph.Person g ON g.id = p.id WHERE p.city = 'Paris' AND o.amount > 100",
        'SELECT "__g0"."__p_name" AS "name", "__g0"."__o_amount" AS "amount", "g"."age" FROM (SELECT * FROM __f0) AS "__g0" INNER JOIN __f1 AS "g" ON "g"."id" = "__g0"."__p_id"',
        ['SELECT "p"."name" AS "__p_name", "o"."amount" AS "__o_amount", "p"."id" AS "__p_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "o"."person_id" = "p"."id" WHERE ("p"."city" = \'Paris\') AND ("o"."amount" > 100)', 'MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`age` AS `age`'],
        id='direct'),
    pytest.param(  # joined only through a third table: the implied equality joins them in SQLite
        'SELECT d.title, p.name, o.amount FROM knowledge.docs d JOIN state.people p ON p.id = d.author_id JOIN state.orders o ON o.person_id = d.author_id',
        'SELECT "d"."title", "__g0"."__p_name" AS "name", "__g0"."__o_amount" AS "amount" FROM __f0 AS "d" INNER JOIN (SELECT * FROM __f1) AS "__g0" ON ("__g0"."__p_id" = "d"."author_id") AND ("__g0"."__o_person_id" = "d"."author_id")',
        ["docs.search().select(['title', 'author_id'])", 'SELECT "p"."name" AS "__p_name", "o"."amount" AS "__o_amount", "p"."id" AS "__p_id", "o"."person_id" AS "__o_person_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "p"."id" = "o"."person_id"'],
        id='through-third'),
    pytest.param(  # comma joins, GROUP BY and ORDER BY on the grouped tables' columns
        'SELECT p.id, COUNT(*) AS n FROM graph.Person g, state.people p, state.orders o WHERE g.id = p.id AND o.person_id = p.id AND g.age > 30 GROUP BY p.id ORDER BY p.id',
        'SELECT "__g0"."__p_id" AS "id", COUNT(*) AS "n" FROM __f0 AS "g" CROSS JOIN (SELECT * FROM __f1) AS "__g0" WHERE "g"."id" = "__g0"."__p_id" GROUP BY "__g0"."__p_id" ORDER BY "__g0"."__p_id" ASC',
        ['MATCH (n:`Person`) WHERE (`n`.`age` > $p0) RETURN n.`id` AS `id`', 'SELECT "p"."id" AS "__p_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "o"."person_id" = "p"."id"'],
        id='comma'),
    pytest.param(  # USING (id): the join `p.id = o.id`, as ON would write it
        "SELECT p.name, o.amount, g.age FROM state.people p JOIN state.orders o USING (id) JOIN graph.Person g ON g.id = p.id WHERE g.age > 20",
        'SELECT "__g0"."__p_name" AS "name", "__g0"."__o_amount" AS "amount", "g"."age" FROM (SELECT * FROM __f1) AS "__g0" INNER JOIN __f0 AS "g" ON "g"."id" = "__g0"."__p_id"',
        ['MATCH (n:`Person`) WHERE (`n`.`age` > $p0) RETURN n.`id` AS `id`, n.`age` AS `age`', 'SELECT "p"."name" AS "__p_name", "o"."amount" AS "__o_amount", "p"."id" AS "__p_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "p"."id" = "o"."id"'],
        id='using'),
    pytest.param(  # the USING column unqualified: read from its first table (equal on every row)
        "SELECT id, amount, k._to FROM state.people p JOIN state.orders o USING (id) JOIN graph.KNOWS k ON k._from = p.id WHERE id < 100 ORDER BY id, k._to",
        'SELECT "__g0"."__p_id" AS "id", "__g0"."__o_amount" AS "amount", "k"."_to" FROM (SELECT * FROM __f1) AS "__g0" INNER JOIN __f0 AS "k" ON "k"."_from" = "__g0"."__p_id" ORDER BY "id" ASC, "k"."_to" ASC',
        ['MATCH (a:`Person`)-[r:`KNOWS`]->(b:`Person`) RETURN a.`id` AS `_from`, b.`id` AS `_to`', 'SELECT "p"."id" AS "__p_id", "o"."amount" AS "__o_amount" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "p"."id" = "o"."id" WHERE "p"."id" < 100'],
        id='using-unqualified'),
    pytest.param(  # USING (id) twice: the second reads the first's column
        "SELECT id FROM state.people p JOIN state.orders o USING (id) JOIN knowledge.docs d USING (id) ORDER BY id",
        'SELECT "__g0"."__p_id" AS "id" FROM (SELECT * FROM __f1) AS "__g0" INNER JOIN __f0 AS "d" ON "__g0"."__p_id" = "d"."id" ORDER BY "id" ASC',
        ["docs.search().select(['id'])", 'SELECT "p"."id" AS "__p_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "p"."id" = "o"."id"'],
        id='using-twice'),
    pytest.param(  # a LEFT JOIN to a SQLite table from another of that database: with it, in SQLite
        "SELECT p.name, o.amount FROM graph.Person g JOIN state.people p ON p.id = g.id LEFT JOIN state.orders o ON o.person_id = p.id",
        'SELECT "__g0"."__p_name" AS "name", "__g0"."__o_amount" AS "amount" FROM __f0 AS "g" INNER JOIN (SELECT * FROM __f1) AS "__g0" ON "__g0"."__p_id" = "g"."id"',
        ['MATCH (n:`Person`) RETURN n.`id` AS `id`', 'SELECT "p"."name" AS "__p_name", "o"."amount" AS "__o_amount", "p"."id" AS "__p_id" FROM "people" AS "p" LEFT JOIN "orders" AS "o" ON "o"."person_id" = "p"."id"'],
        id='left-join'),
    pytest.param(  # rows without a match (IS NULL after the LEFT JOIN): the WHERE goes with it, after it
        "SELECT p.name FROM graph.Person g JOIN state.people p ON p.id = g.id LEFT JOIN state.orders o ON o.person_id = p.id AND o.amount > 50 WHERE o.id IS NULL AND g.age > 30",
        'SELECT "__g0"."__p_name" AS "name" FROM __f0 AS "g" INNER JOIN (SELECT * FROM __f1) AS "__g0" ON "__g0"."__p_id" = "g"."id"',
        ['MATCH (n:`Person`) WHERE (`n`.`age` > $p0) RETURN n.`id` AS `id`', 'SELECT "p"."name" AS "__p_name", "p"."id" AS "__p_id" FROM "people" AS "p" LEFT JOIN "orders" AS "o" ON ("o"."person_id" = "p"."id") AND ("o"."amount" > 50) WHERE "o"."id" IS NULL'],
        id='left-join-unmatched'),
    pytest.param(  # LEFT JOINs in a chain, one to another source between them (it stays in DuckDB)
        "SELECT p.name, o.amount, d.title, o2.status FROM graph.Person g JOIN state.people p ON p.id = g.id LEFT JOIN knowledge.docs d ON d.author_id = p.id LEFT JOIN state.orders o ON o.person_id = p.id LEFT JOIN state.orders o2 ON o2.id = o.id + 1",
        'SELECT "__g0"."__p_name" AS "name", "__g0"."__o_amount" AS "amount", "d"."title", "__g0"."__o2_status" AS "status" FROM __f0 AS "g" INNER JOIN (SELECT * FROM __f2) AS "__g0" ON "__g0"."__p_id" = "g"."id" LEFT JOIN __f1 AS "d" ON "d"."author_id" = "__g0"."__p_id"',
        ['MATCH (n:`Person`) RETURN n.`id` AS `id`', "docs.search().select(['title', 'author_id'])", 'SELECT "p"."name" AS "__p_name", "o"."amount" AS "__o_amount", "o2"."status" AS "__o2_status", "p"."id" AS "__p_id" FROM "people" AS "p" LEFT JOIN "orders" AS "o" ON "o"."person_id" = "p"."id" LEFT JOIN "orders" AS "o2" ON "o2"."id" = ("o"."id" + 1)'],
        id='left-join-chain'),
    pytest.param(  # the LEFT JOIN's condition names the graph's column, equal to people's key: read as that
        "SELECT g.bid, p.name, COUNT(o.id) AS n FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) WHERE a.id < 20 COLUMNS (b.id AS bid)) g JOIN state.people p ON p.id = g.bid LEFT JOIN state.orders o ON o.person_id = g.bid GROUP BY g.bid, p.name",
        'SELECT "g"."bid", "__g0"."__p_name" AS "name", COUNT("__g0"."__o_id") AS "n" FROM (SELECT "b.id" AS "bid" FROM __f0) AS "g" INNER JOIN (SELECT * FROM __f1) AS "__g0" ON "__g0"."__p_id" = "g"."bid" GROUP BY "g"."bid", "__g0"."__p_name"',
        ['MATCH (`a`:`Person`)-[:`KNOWS`]->(`b`:`Person`)\nWHERE (`a`.`id` < $p0)\nRETURN `b`.`id` AS `b.id`', 'SELECT "p"."name" AS "__p_name", "o"."id" AS "__o_id", "p"."id" AS "__p_id" FROM "people" AS "p" LEFT JOIN "orders" AS "o" ON "o"."person_id" = "p"."id"'],
        id='left-join-through-an-equal-column'),
]

GRAPH_GROUPED = [  # matches of one Kuzu source sharing a node (equal keys of one label): one MATCH
    pytest.param(
        "SELECT x.aid, y.cname FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) WHERE a.id = 3 COLUMNS (a.id AS aid, b.id AS bid)) x JOIN GRAPH_TABLE (graph MATCH (p:Person)-[:WORKS_AT]->(c:Company) COLUMNS (p.id AS pid, c.name AS cname)) y ON y.pid = x.bid",
        'SELECT "__g0"."__x_aid" AS "aid", "__g0"."__y_cname" AS "cname" FROM (SELECT "a.id" AS "__x_aid", "c.name" AS "__y_cname" FROM __f0) AS "__g0"',
        ['MATCH (`a`:`Person`)-[:`KNOWS`]->(`b`:`Person`), (`b`:`Person`)-[:`WORKS_AT`]->(`c`:`Company`)\nWHERE (`a`.`id` = $p0)\nRETURN `a`.`id` AS `a.id`, `c`.`name` AS `c.name`'],
        id='two-matches'),
    pytest.param(  # node and relationship tables: _from and _to are the keys of the ends
        "SELECT a.name, b.name AS bname, k.since FROM graph.Person a JOIN graph.KNOWS k ON k._from = a.id JOIN graph.Person b ON b.id = k._to WHERE a.id < 5",
        'SELECT "__g0"."__a_name" AS "name", "__g0"."__b_name" AS "bname", "__g0"."__k_since" AS "since" FROM (SELECT "a.name" AS "__a_name", "k.since" AS "__k_since", "b.name" AS "__b_name" FROM __f0) AS "__g0"',
        ['MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nWHERE (`a`.`id` < $p0)\nRETURN `a`.`name` AS `a.name`, `k`.`since` AS `k.since`, `b`.`name` AS `b.name`'],
        id='tables'),
    pytest.param(  # one variable name in both: the second is renamed
        "SELECT x.aid, y.bid FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS aid, b.id AS bid)) x JOIN GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS aid, b.id AS bid)) y ON y.aid = x.bid WHERE x.aid = 3",
        'SELECT "__g0"."__x_aid" AS "aid", "__g0"."__y_bid" AS "bid" FROM (SELECT "a.id" AS "__x_aid", "b_2.id" AS "__y_bid" FROM __f0) AS "__g0"',
        ['MATCH (`a`:`Person`)-[:`KNOWS`]->(`b`:`Person`), (`b`:`Person`)-[:`KNOWS`]->(`b_2`:`Person`)\nWHERE (`a`.`id` = $p0)\nRETURN `a`.`id` AS `a.id`, `b_2`.`id` AS `b_2.id`'],
        id='same-names'),
    pytest.param(  # a LEFT JOIN made to the joined tables stays as it is
        "SELECT p.name, o.amount, d.title FROM state.people p JOIN state.orders o ON o.person_id = p.id LEFT JOIN knowledge.docs d ON d.author_id = p.id WHERE p.city = 'Paris'",
        'SELECT "__g0"."__p_name" AS "name", "__g0"."__o_amount" AS "amount", "d"."title" FROM (SELECT * FROM __f0) AS "__g0" LEFT JOIN __f1 AS "d" ON "d"."author_id" = "__g0"."__p_id"',
        ['SELECT "p"."name" AS "__p_name", "o"."amount" AS "__o_amount", "p"."id" AS "__p_id" FROM "people" AS "p" INNER JOIN "orders" AS "o" ON "o"."person_id" = "p"."id" WHERE "p"."city" = \'Paris\'', "docs.search().select(['title', 'author_id'])"],
        id='left-join-after'),
]

GRAPH_LEFT_ALONE = [  # separate Cypher queries, joined in DuckDB
    pytest.param("SELECT x.aid, y.cid FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS aid, b.id AS bid)) x JOIN GRAPH_TABLE (graph MATCH (p:Person)-[:WORKS_AT]->(c:Company) COLUMNS (c.id AS cid)) y ON y.cid = x.bid",
                 id="keys-of-two-labels"),
    pytest.param("SELECT x.aid FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS aid, b.id AS bid)) x JOIN GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS aid, a.age AS age)) y ON y.aid = x.aid AND y.aid = x.bid",
                 id="two-nodes-of-one-match-made-one"),
    pytest.param("SELECT x.aid, y.hops FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS aid, b.id AS bid)) x JOIN GRAPH_TABLE (graph MATCH p = ANY SHORTEST (a:Person)-[:KNOWS]->{1,3}(b:Person) COLUMNS (a.id AS aid, path_length(p) AS hops)) y ON y.aid = x.bid",
                 id="shortest-path"),
    pytest.param("SELECT a.name, k.since FROM graph.Person a LEFT JOIN graph.KNOWS k ON k._from = a.id",
                 id="outer-join"),
    pytest.param("SELECT a.name, w._to FROM graph.Person a JOIN graph.WORKS_AT w ON w._from = a.age",
                 id="not-keys"),
]


@pytest.mark.parametrize("sql, duckdb, fragments", GRAPH_GROUPED)
def test_graph_grouped(fed, sql, duckdb, fragments):
    test_grouped(fed, sql, duckdb, fragments)


@pytest.mark.parametrize("sql", GRAPH_LEFT_ALONE)
def test_graph_left_alone(fed, sql):
    from compare import assert_same
    from test_random_optimizer import _unoptimized

    plan = plan_unshipped(fed, sql)
    assert "__g" not in plan.sql
    assert sum(f.source == "graph" for f in plan.fragments) == 2
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


UNQUALIFIED = [  # columns written without their table: qualified first where one table has them
    pytest.param("SELECT city, amount FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "JOIN state.orders o ON person_id = p.id WHERE status = 'shipped'", id="select-on-where"),
    pytest.param("SELECT city, COUNT(*) AS n FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "JOIN state.orders o ON person_id = p.id GROUP BY city ORDER BY n DESC, city", id="group-order"),
]


def test_a_condition_sqlite_would_compute_differently_stays_outside(fed):
    """Integer division differs in SQLite: that condition stays in DuckDB, over the
    group's columns, and the rest of the group still runs in SQLite."""
    from compare import assert_same
    from test_random_optimizer import _unoptimized

    sql = ("SELECT p.name FROM graph.Person g JOIN state.people p ON p.id = g.id "
           "JOIN state.orders o ON o.person_id = p.id WHERE o.amount / 2 > 3 AND p.city = 'Paris'")
    plan = plan_unshipped(fed, sql)
    assert '("__g0"."__o_amount" / 2) > 3' in plan.sql
    group = next(f.text for f in plan.fragments if f.source == "state")
    assert "JOIN" in group and "'Paris'" in group and "/ 2" not in group
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


@pytest.mark.parametrize("sql", UNQUALIFIED)
def test_unqualified_columns_are_grouped_too(fed, sql):
    from compare import assert_same
    from test_random_optimizer import _unoptimized

    plan = plan_unshipped(fed, sql)
    assert "__g0" in plan.sql
    assert any(f.source == "state" and "JOIN" in f.text for f in plan.fragments)
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered="ORDER BY" in sql)


LEFT_ALONE = [
    pytest.param(  # a LEFT JOIN's condition SQLite would not compute as DuckDB (integer division)
        "SELECT p.name, o.amount FROM graph.Person g JOIN state.people p ON p.id = g.id "
        "LEFT JOIN state.orders o ON o.person_id = p.id / 2", id="outer-join-inexact"),
    pytest.param(  # nothing of people and orders is used outside them: no group, the LEFT JOIN as written
        "SELECT COUNT(*) AS n FROM graph.Person g CROSS JOIN state.people p "
        "LEFT JOIN state.orders o ON o.person_id = p.id", id="outer-join-group-fails"),
    pytest.param(  # a LEFT JOIN's condition on another source's column no SQLite column equals
        "SELECT p.name, o.amount FROM graph.Person g JOIN state.people p ON p.id = g.id "
        "LEFT JOIN state.orders o ON o.person_id = g.age", id="outer-join-on-the-graph"),
    pytest.param("SELECT p.city AS c, COUNT(*) AS n FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "JOIN state.orders o ON o.person_id = p.id GROUP BY c", id="group-by-an-output-name"),
    pytest.param("SELECT p.name FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "JOIN state.orders o ON o.person_id = p.id WHERE o.amount > (SELECT 1)", id="subquery"),
    pytest.param("SELECT p.name, o.amount FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "JOIN state.orders o ON o.id = g.age", id="not-joined-to-each-other"),
    pytest.param(  # equal to a third column of another type family: DuckDB casts, equality does not carry
        "SELECT p.name, o.amount FROM knowledge.docs d JOIN state.people p ON p.id = d.topic "
        "JOIN state.orders o ON o.person_id = d.topic", id="through-another-family"),
    pytest.param("SELECT p.* FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "JOIN state.orders o ON o.person_id = p.id", id="star"),
]


@pytest.mark.parametrize("sql, duckdb, fragments", GROUPED)
def test_grouped(fed, sql, duckdb, fragments):
    plan = plan_unshipped(fed, sql)
    assert plan.sql == duckdb
    assert [f.text for f in plan.fragments] == fragments
    # and the answer is the one without any optimization
    from test_random_optimizer import _unoptimized
    from compare import assert_same
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered="ORDER BY" in sql)


@pytest.mark.parametrize("sql", LEFT_ALONE)
def test_left_alone(fed, sql):
    plan = plan_unshipped(fed, sql)
    assert "__g" not in plan.sql
    assert not any(f.source == "state" and "JOIN" in f.text for f in plan.fragments)

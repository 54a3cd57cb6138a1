"""Grouping one SQLite source's joined tables (federation/optimizer/grouping.py):
(query, expected plan) pairs, and the queries it must leave as they are."""

import pytest


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
]

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
    plan = fed.plan(sql)
    assert '("__g0"."__o_amount" / 2) > 3' in plan.sql
    group = next(f.text for f in plan.fragments if f.source == "state")
    assert "JOIN" in group and "'Paris'" in group and "/ 2" not in group
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


@pytest.mark.parametrize("sql", UNQUALIFIED)
def test_unqualified_columns_are_grouped_too(fed, sql):
    from compare import assert_same
    from test_random_optimizer import _unoptimized

    plan = fed.plan(sql)
    assert "__g0" in plan.sql
    assert any(f.source == "state" and "JOIN" in f.text for f in plan.fragments)
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered="ORDER BY" in sql)


LEFT_ALONE = [
    pytest.param("SELECT p.name, o.amount FROM graph.Person g JOIN state.people p ON p.id = g.id "
                 "LEFT JOIN state.orders o ON o.person_id = p.id", id="outer-join"),
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
    plan = fed.plan(sql)
    assert plan.sql == duckdb
    assert [f.text for f in plan.fragments] == fragments
    # and the answer is the one without any optimization
    from test_random_optimizer import _unoptimized
    from compare import assert_same
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered="ORDER BY" in sql)


@pytest.mark.parametrize("sql", LEFT_ALONE)
def test_left_alone(fed, sql):
    plan = fed.plan(sql)
    assert "__g" not in plan.sql
    assert not any(f.source == "state" and "JOIN" in f.text for f in plan.fragments)

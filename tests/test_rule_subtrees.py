"""Whole-subtree pushdown (federation/optimizer/subtrees.py): (query, expected plan) pairs."""

import pytest

from federation.optimizer.subtrees import push_subtrees
from planning import plan_with, texts

CASES = [
    pytest.param(  # a derived table with GROUP BY over one SQLite source: aggregated in SQLite
        "SELECT g.name, s.total FROM graph.Person g JOIN "
        "(SELECT person_id, SUM(amount) AS total FROM state.orders GROUP BY person_id) s ON s.person_id = g.id",
        'SELECT "g"."name", "s"."total" FROM __f0 AS "g" INNER JOIN (SELECT * FROM __f1) AS "s" '
        'ON "s"."person_id" = "g"."id"',
        ["MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`",
         'SELECT "person_id", SUM("amount") AS "total" FROM "orders" AS "orders" GROUP BY "person_id"'],
        id="derived-aggregate"),
    pytest.param(  # a CTE joining two tables of the same database: one SQL query
        "WITH big AS (SELECT p.id, COUNT(*) AS n FROM state.people p JOIN state.orders o ON o.person_id = p.id "
        "GROUP BY p.id) SELECT g.name, big.n FROM big JOIN graph.Person g ON g.id = big.id",
        'WITH "big" AS (SELECT * FROM __f1) SELECT "g"."name", "big"."n" FROM "big" AS "big" '
        'INNER JOIN __f0 AS "g" ON "g"."id" = "big"."id"',
        ["MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`",
         'SELECT "p"."id", COUNT(*) AS "n" FROM "people" AS "p" INNER JOIN "orders" AS "o" '
         'ON "o"."person_id" = "p"."id" GROUP BY "p"."id"'],
        id="cte-join"),
    pytest.param(  # the whole query: nothing left for DuckDB
        "SELECT p.name, o.amount FROM state.people p JOIN state.orders o ON o.person_id = p.id WHERE o.amount > 10",
        None,
        ['SELECT "p"."name", "o"."amount" FROM "people" AS "p" INNER JOIN "orders" AS "o" '
         'ON "o"."person_id" = "p"."id" WHERE "o"."amount" > 10'],
        id="whole-query"),
    pytest.param(  # integer division differs in SQLite: the subquery stays in DuckDB
        "SELECT g.name FROM graph.Person g JOIN (SELECT person_id FROM state.orders WHERE amount / 2 > 3) s "
        "ON s.person_id = g.id",
        'SELECT "g"."name" FROM __f0 AS "g" INNER JOIN (SELECT "person_id" FROM __f1 AS "orders" '
        'WHERE ("amount" / 2) > 3) AS "s" ON "s"."person_id" = "g"."id"',
        ["MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`",
         'SELECT "id", "person_id", "amount", "status", "note" FROM "orders"'],
        id="inexact-stays"),
    pytest.param(  # a correlated subquery cannot run alone
        "SELECT g.name FROM graph.Person g WHERE EXISTS (SELECT 1 FROM state.orders o WHERE o.person_id = g.id)",
        'SELECT "g"."name" FROM __f0 AS "g" WHERE EXISTS(SELECT 1 FROM __f1 AS "o" WHERE "o"."person_id" = "g"."id")',
        ["MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`",
         'SELECT "id", "person_id", "amount", "status", "note" FROM "orders"'],
        id="correlated"),
]


@pytest.mark.parametrize("sql, duckdb, fragments", CASES)
def test_subtree_pushdown(fed, sql, duckdb, fragments):
    plan = plan_with(fed, sql, (push_subtrees,))
    assert plan.sql == duckdb
    assert texts(plan) == fragments

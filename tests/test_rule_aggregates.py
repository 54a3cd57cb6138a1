"""Aggregate pushdown into Kuzu (federation/optimizer/aggregates.py): (query,
expected plan) pairs, and the queries it must leave to DuckDB."""

import pytest

from compare import assert_same
from federation.optimizer.aggregates import push_aggregates
from federation.optimizer.projection import prune_columns
from planning import plan_unshipped, plan_with, texts
from test_random_optimizer import _unoptimized

GRAPH = "GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) COLUMNS (a.name AS aname, a.age AS age, b.id AS bid, k.weight AS w)) g"

PUSHED = [
    pytest.param(  # one row per group leaves Kuzu; DuckDB sums the counts, takes the min of the mins
        f"SELECT g.aname, COUNT(*) AS n, COUNT(g.age) AS aged, MIN(g.age) AS youngest FROM {GRAPH} GROUP BY g.aname",
        'SELECT "g"."aname", CAST(SUM("g"."__agg0") AS BIGINT) AS "n", CAST(SUM("g"."__agg1") AS BIGINT) AS "aged", MIN("g"."__agg2") AS "youngest" FROM (SELECT "a.name" AS "aname", "__agg0" AS "__agg0", "__agg1" AS "__agg1", "__agg2" AS "__agg2" FROM __f0) AS "g" GROUP BY "g"."aname"',
        ['MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nRETURN `a`.`name` AS `a.name`, count(*) AS `__agg0`, count(`a`.`age`) AS `__agg1`, min(`a`.`age`) AS `__agg2`'],
        id="count-min"),
    pytest.param(  # HAVING and ORDER BY on the aggregates; one partial for the same aggregate twice
        f"SELECT g.bid, COUNT(*) AS n FROM {GRAPH} GROUP BY g.bid HAVING COUNT(*) > 1 ORDER BY n DESC, g.bid",
        'SELECT "g"."bid", CAST(SUM("g"."__agg0") AS BIGINT) AS "n" FROM (SELECT "b.id" AS "bid", "__agg0" AS "__agg0" FROM __f0) AS "g" GROUP BY "g"."bid" HAVING CAST(SUM("g"."__agg0") AS BIGINT) > 1 ORDER BY "n" DESC, "g"."bid" ASC',
        ['MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nRETURN `b`.`id` AS `b.id`, count(*) AS `__agg0`'],
        id="having-order"),
    pytest.param(  # node and relationship tables grouped into one match, then aggregated there
        "SELECT a.name, COUNT(*) AS n FROM graph.Person a JOIN graph.KNOWS k ON k._from = a.id GROUP BY a.name",
        'SELECT "__g0"."__a_name" AS "name", CAST(SUM("__g0"."__agg0") AS BIGINT) AS "n" FROM (SELECT "a.name" AS "__a_name", "__agg0" AS "__agg0" FROM __f0) AS "__g0" GROUP BY "__g0"."__a_name"',
        ['MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`k__to`:`Person`)\nRETURN `a`.`name` AS `a.name`, count(*) AS `__agg0`'],
        id="grouped-tables"),
]

LEFT_TO_DUCKDB = [
    pytest.param(f"SELECT g.bid, SUM(g.w) AS s FROM {GRAPH} GROUP BY g.bid", id="sum"),
    pytest.param(f"SELECT g.bid, MAX(g.w) AS s FROM {GRAPH} GROUP BY g.bid", id="max-of-a-float"),
    pytest.param(f"SELECT g.w, COUNT(*) AS n FROM {GRAPH} GROUP BY g.w", id="float-key"),
    pytest.param(f"SELECT g.bid, COUNT(DISTINCT g.aname) AS n FROM {GRAPH} GROUP BY g.bid", id="distinct"),
    pytest.param(f"SELECT g.bid, COUNT(*) AS n FROM {GRAPH} WHERE g.aname LIKE 'A%' GROUP BY g.bid",
                 id="a-condition-left-outside"),
    pytest.param(f"SELECT g.bid, COUNT(*) AS n FROM {GRAPH} JOIN state.people p ON p.id = g.bid GROUP BY g.bid",
                 id="a-join"),
    pytest.param(f"SELECT COUNT(*) AS n FROM {GRAPH}", id="no-group-by"),
]


@pytest.mark.parametrize("sql, duckdb, fragments", PUSHED)
def test_pushed(fed, sql, duckdb, fragments):
    plan = plan_unshipped(fed, sql)
    assert plan.sql == duckdb
    assert texts(plan) == fragments
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered="ORDER BY" in sql)


@pytest.mark.parametrize("sql", LEFT_TO_DUCKDB)
def test_left_to_duckdb(fed, sql):
    plan = plan_unshipped(fed, sql)
    assert "__agg" not in plan.sql and not any("count(" in t for t in texts(plan))
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


def test_without_the_rule_the_matches_are_returned(fed):
    sql = f"SELECT g.bid, COUNT(*) AS n FROM {GRAPH} GROUP BY g.bid"
    assert "count(*)" not in texts(plan_with(fed, sql, (prune_columns,)))[0]
    assert "count(*)" in texts(plan_with(fed, sql, (prune_columns, push_aggregates)))[0]


def test_explain_shows_the_pushed_aggregate(fed):
    sql = f"SELECT g.aname, COUNT(*) AS n, MIN(g.age) AS youngest FROM {GRAPH} GROUP BY g.aname"
    text = fed.explain(sql, analyze=True, cache=False)
    assert "pushed aggregate: count(*), min(a.age) by a.name (partial: DuckDB combines them)" in text
    assert "count(*) AS `__agg0`" in text

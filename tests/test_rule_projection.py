"""Projection pushdown (federation/optimizer/projection.py): (query, expected plan) pairs."""

import pytest

from federation.optimizer.filters import push_filters
from federation.optimizer.projection import prune_columns
from planning import plan_with, texts

CASES = [
    pytest.param(  # a column only a pushed filter used is not fetched; USING keys are
        "SELECT p.name FROM state.people p JOIN graph.Person g USING (id) WHERE p.age > 30",
        (push_filters, prune_columns),
        ['SELECT "id", "name" FROM "people" WHERE "age" > 30', "MATCH (n:`Person`) RETURN n.`id` AS `id`"],
        id="after-filters"),
    pytest.param(  # the vector column is not fetched unless selected
        "SELECT title FROM VECTOR_SEARCH(knowledge.docs, [1,0,0,0,0,0,0,0], top_k => 3)",
        (prune_columns,),
        ["docs.search(<vector of 8>, vector_column_name='vector').distance_type('l2').limit(3).select(['title'])"],
        id="no-vector"),
    pytest.param(
        "SELECT title, vector FROM VECTOR_SEARCH(knowledge.docs, [1,0,0,0,0,0,0,0], top_k => 3)",
        (prune_columns,),
        ["docs.search(<vector of 8>, vector_column_name='vector').distance_type('l2').limit(3)"
         ".select(['title', 'vector'])"],
        id="vector-when-selected"),
    pytest.param(  # COUNT(*) keeps the rows with the narrowest fetch
        "SELECT COUNT(*) FROM state.orders o JOIN graph.Person g ON g.id = o.person_id",
        (prune_columns,),
        ['SELECT "person_id" FROM "orders"', "MATCH (n:`Person`) RETURN n.`id` AS `id`"],
        id="count-star"),
    pytest.param(
        "SELECT COUNT(*) FROM knowledge.docs d, state.cities c",
        (prune_columns,),
        ["docs.search().select(['id'])", 'SELECT "name" FROM "cities"'],
        id="no-column-used"),
    pytest.param(  # a GRAPH_TABLE returns only the COLUMNS used, its match only their properties
        "SELECT g.bid FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE a.id = 3 "
        "COLUMNS (a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since)) g",
        (prune_columns,),
        ["MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nWHERE (`a`.`id` = $p0)\nRETURN `b`.`id` AS `b.id`"],
        id="graph-columns"),
    pytest.param(  # one column kept for COUNT(*): one row per match
        "SELECT COUNT(*) AS n FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
        "COLUMNS (a.name AS aname, k.since AS since)) g",
        (prune_columns,),
        ["MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nRETURN `a`.`name` AS `a.name`"],
        id="graph-count-star"),
    pytest.param(  # a column used only by a filter moved into the match is not returned
        "SELECT g.aname FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
        "COLUMNS (a.name AS aname, k.since AS since)) g WHERE g.since > 2000",
        (push_filters, prune_columns),
        ["MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nWHERE (`k`.`since` > $p0)\nRETURN `a`.`name` AS `a.name`"],
        id="graph-after-filters"),
    pytest.param(  # SELECT * keeps every COLUMN
        "SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
        "COLUMNS (a.name AS aname, k.since AS since)) g",
        (prune_columns,),
        ["MATCH (`a`:`Person`)-[`k`:`KNOWS`]->(`b`:`Person`)\nRETURN `a`.`name` AS `a.name`, `k`.`since` AS `k.since`"],
        id="graph-star"),
    pytest.param(  # * keeps every column of its table
        "SELECT g.*, p.name FROM graph.Person g JOIN state.people p ON p.id = g.id",
        (prune_columns,),
        ["MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`",
         'SELECT "id", "name" FROM "people"'],
        id="star"),
]


@pytest.mark.parametrize("sql, rules, fragments", CASES)
def test_projection_pushdown(fed, sql, rules, fragments):
    assert texts(plan_with(fed, sql, rules)) == fragments


def test_without_the_rule_every_column_is_fetched(fed):
    plan = plan_with(fed, "SELECT title FROM VECTOR_SEARCH(knowledge.docs, [1,0,0,0,0,0,0,0], top_k => 3)", ())
    assert "'vector'" in texts(plan)[0] and "'_distance'" not in texts(plan)[0]

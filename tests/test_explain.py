"""EXPLAIN ANALYZE: the requests it shows are the ones that ran, and its row counts
are the rows each of them returns when run again."""

import json

import pyarrow.compute as pc
import pytest

from federation.errors import QuerySyntaxError

QUERIES = [
    pytest.param("SELECT p.name, o.amount FROM graph.Person p JOIN state.orders o ON o.person_id = p.id "
                 "WHERE o.status = $s", {"s": "shipped"}, id="semi-join"),
    pytest.param("SELECT g.pid, p.name, v.title FROM GRAPH_TABLE(graph MATCH (a:Person {id: $id})-[:KNOWS]->"
                 "(b:Person) COLUMNS (b.id AS pid)) g JOIN state.people p ON p.id = g.pid "
                 "LEFT JOIN knowledge.docs v ON v.author_id = p.id WHERE p.age > 20", {"id": 3}, id="three-way"),
    pytest.param("SELECT city, COUNT(*) AS n FROM state.people GROUP BY city", {}, id="whole-sqlite"),
    pytest.param("SELECT v.title, v._distance FROM VECTOR_SEARCH(knowledge.docs, [1,0,0,0,0,0,0,0], top_k => 4) v "
                 "JOIN graph.Person g ON g.id = v.author_id", {}, id="knn"),
]


def _rerun(fed, plan, fragments, i, params, results):
    """What fragment ``i`` returns when run again as EXPLAIN says it ran (producers of
    semi-join keys come first in a plan, so their results are in ``results``)."""
    semijoin = plan.semijoin(i)
    entry = fragments[i]
    if semijoin is None:
        assert entry["request"] == plan.fragments[i].text
        return fed.sources[plan.fragments[i].source].execute(plan.fragments[i], params)
    keys = pc.unique(results[semijoin.producer].column(semijoin.producer_column)).drop_null()
    assert entry["semi_join"]["keys"] == len(keys)
    if len(keys) == 0:
        assert entry["request"] is None
        return plan.fragments[i].columns and None
    fragment = semijoin.request(len(keys)) if entry["semi_join"]["reduced"] else plan.fragments[i]
    assert entry["request"] == fragment.text
    return fed.sources[fragment.source].execute(fragment, {**params, "__keys": keys.to_pylist()})


@pytest.mark.parametrize("sql, params", QUERIES)
def test_actual_rows_are_the_rows_each_fragment_returns(fed, sql, params):
    document = json.loads(fed.explain(sql, params, analyze=True, cache=False, format="json"))
    plan = fed.plan(sql, params)
    fragments = document["fragments"]
    assert [f["name"] for f in fragments] == [f"__f{i}" for i in range(len(plan.fragments))]
    results = {}
    for i in range(len(plan.fragments)):
        results[i] = _rerun(fed, plan, fragments, i, params, results)
        assert fragments[i]["actual_rows"] == (results[i].num_rows if results[i] is not None else 0)
        assert fragments[i]["cache_hit"] is False and fragments[i]["ms"] >= 0
        assert fragments[i]["estimated_rows"] == plan.estimate(i)
    total = len(fed.query(sql, params, cache=False))
    assert document["totals"]["rows"] == total
    if plan.sql is not None:
        assert document["duckdb"]["sql"] == plan.sql and document["duckdb"]["rows"] == total
    for key in ("parse_ms", "plan_ms", "execute_ms"):
        assert document["totals"][key] >= 0


def test_text_shows_requests_pushdowns_estimates_and_totals(fed):
    # (few orders: their people are fewer than a quarter of Person, so the keys are pushed)
    sql = ("SELECT p.name, o.amount FROM graph.Person p JOIN state.orders o ON o.person_id = p.id "
           "WHERE o.status = 'shipped' AND o.amount > 10 AND o.id < 100")
    text = fed.explain(sql, analyze=True, cache=False)
    assert "pushed filter: \"status\" = 'shipped' AND \"amount\" > 10 AND \"id\" < 100" in text
    assert "UNWIND $p0 AS `__key` MATCH (n:`Person`) WHERE n.`id` = `__key`" in text  # the reduced request ran
    assert "semi-join: id IN (keys of __f0.person_id)" in text and "keys, reduced" in text
    assert "(est. ~" in text and "rows from the steps above; parse " in text
    plain = fed.explain(sql)
    assert "[est. ~" in plain and "UNWIND" not in plain.split("semi-join")[0]


def test_fql_format_json_and_plan_cache(fed):
    sql = "SELECT name FROM graph.Person WHERE id = $id"
    first = json.loads(fed.query(f"EXPLAIN ANALYZE (format => 'json') {sql}", {"id": 1}).to_arrow()["plan"][0].as_py())
    again = json.loads(fed.query(f"EXPLAIN ANALYZE (format => 'json') {sql}", {"id": 2}).to_arrow()["plan"][0].as_py())
    assert again["totals"]["plan_cache_hit"] is True and again["totals"]["parse_ms"] == 0
    assert first["fragments"][0]["params"] != again["fragments"][0]["params"]
    assert json.loads(fed.query(f"EXPLAIN (format => 'json') {sql}", {"id": 1}).to_arrow()["plan"][0].as_py())[
        "fragments"][0]["actual_rows"] is None
    with pytest.raises(QuerySyntaxError, match="format"):
        fed.query(f"EXPLAIN (format => 'yaml') {sql}", {"id": 1})
    with pytest.raises(QuerySyntaxError, match="Unknown EXPLAIN option"):
        fed.query(f"EXPLAIN (verbose => 'json') {sql}", {"id": 1})


def test_cached_result_is_reported(fed):
    sql = "SELECT COUNT(*) AS n FROM state.people p JOIN graph.Person g ON g.id = p.id"
    fed.query(sql)
    document = json.loads(fed.explain(sql, analyze=True, format="json"))
    assert document["totals"]["result_cache_hit"] is True

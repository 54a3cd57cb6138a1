"""Row estimates and cross-source semi-join reduction (federation/optimizer/estimates.py,
semijoins.py): (query, expected plan) pairs, and the run-time fallbacks."""

import pytest

from federation.optimizer.estimates import estimate_rows, selectivity
from federation.optimizer.filters import push_filters
from federation.optimizer.projection import prune_columns
from federation.optimizer.semijoins import plan_semijoins
from federation.parser import parse
from compare import assert_same
from planning import plan_unshipped, plan_with, texts

RULES = (push_filters, prune_columns, estimate_rows, plan_semijoins)
REDUCED_PEOPLE = 'SELECT "id", "name" FROM "people" WHERE "id" IN (SELECT value FROM JSON_EACH(:__keys))'
REDUCED_PERSON = "UNWIND $p0 AS `__key` MATCH (n:`Person`) WHERE n.`id` = `__key` RETURN n.`id` AS `id`, n.`name` AS `name`"

CASES = [
    pytest.param(  # SQLite's filtered orders are small: their keys filter Kuzu's Person scan
        "SELECT p.name, o.amount FROM graph.Person p JOIN state.orders o ON o.person_id = p.id "
        "WHERE o.status = 'shipped'",
        [None, (0, "person_id", "id", REDUCED_PERSON)], id="sqlite-keys-into-kuzu"),
    pytest.param(  # a graph neighbourhood's keys filter a SQLite table
        "SELECT g.pid, p.name FROM GRAPH_TABLE(graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) "
        "COLUMNS (b.id AS pid)) g JOIN state.people p ON p.id = g.pid",
        [None, (0, "b.id", "id", REDUCED_PEOPLE)], id="graph-keys-into-sqlite"),
    pytest.param(  # the right side of a LEFT JOIN may be reduced by the left's keys
        "SELECT p.name, g.name FROM state.people p LEFT JOIN graph.Person g ON g.id = p.id WHERE p.age = 33",
        [None, (0, "id", "id", REDUCED_PERSON)], id="left-join-right-side"),
    pytest.param(  # ... but never the preserved left side
        "SELECT p.name, g.name FROM graph.Person g LEFT JOIN state.people p ON g.id = p.id AND p.age = 33",
        [None, None], id="left-join-left-side"),
    pytest.param(  # a kNN result's keys filter the table it joins
        "SELECT v.title, p.name FROM VECTOR_SEARCH(knowledge.docs, [1,0,0,0,0,0,0,0], top_k => 3) v "
        "JOIN state.people p ON p.id = v.author_id",
        [None, (0, "author_id", "id", REDUCED_PEOPLE)], id="knn-keys"),
    pytest.param(  # a relationship table read as a table: keys on an end node's key, property filters
        "SELECT k._to, p.name FROM state.people p JOIN graph.KNOWS k ON k._from = p.id WHERE p.age = 33 AND k.since > 2000",
        [None, (0, "id", "_from",
                "UNWIND $p0 AS `__key` MATCH (a:`Person`)-[r:`KNOWS`]->(b:`Person`) WHERE (`r`.`since` > $p1) "
                "AND a.`id` = `__key` RETURN a.`id` AS `_from`, b.`id` AS `_to`")],
        id="kuzu-rel-table"),
    pytest.param(  # a derived table's plain column stands for its leaf's values (DISTINCT only drops rows)
        "SELECT d.pid, p.name, COUNT(o.id) AS n FROM (SELECT DISTINCT c.pid FROM GRAPH_TABLE(graph "
        "MATCH (a:Person {id: 1})-[:KNOWS]->{1,2}(b:Person) COLUMNS (b.id AS pid)) c) d "
        "JOIN state.people p ON p.id = d.pid LEFT JOIN state.orders o ON o.person_id = d.pid GROUP BY d.pid, p.name",
        [None, (0, "b.id", "id", REDUCED_PEOPLE),
         (0, "b.id", "person_id", 'SELECT "id", "person_id" FROM "orders" WHERE "person_id" IN '
                                  '(SELECT value FROM JSON_EACH(:__keys))')],
        id="producer-in-derived-table"),
    pytest.param(  # keys of different type families (text vs integer) are never pushed
        "SELECT p.name FROM state.people p JOIN graph.Person g ON g.name = p.id WHERE p.age = 33",
        [None, None], id="type-families"),
]


@pytest.mark.parametrize("sql, expected", CASES)
def test_semijoin_planning(fed, sql, expected):
    plan = plan_with(fed, sql, RULES)
    got = [(s.producer, s.producer_column, s.column, s.reduced.text) if s else None for s in plan.semijoins]
    assert got == expected


def test_estimates_use_source_statistics(fed, dataset):
    plan = plan_with(fed, "SELECT o.id, g.name FROM state.orders o, graph.Person g, knowledge.docs d "
                          "WHERE o.status = 'shipped' AND g.id = o.person_id AND d.author_id = g.id", RULES)
    orders = fed.query("SELECT COUNT(*) AS n FROM state.orders").to_arrow()["n"][0].as_py()
    people = fed.query("SELECT COUNT(*) AS n FROM graph.Person").to_arrow()["n"][0].as_py()
    docs = fed.query("SELECT COUNT(*) AS n FROM knowledge.docs").to_arrow()["n"][0].as_py()
    assert plan.estimates[0] == pytest.approx(orders * selectivity(parse("SELECT 1 WHERE a = 'x'").query.body.where))
    # Person is reduced on its key by the orders' person_id: at most as many rows
    assert sorted(plan.estimates[1:]) == sorted([min(people, plan.estimates[0]), docs])


def test_a_table_reduced_on_its_key_reduces_the_next(fed):
    """orders -> Person (on Person's key: at most the orders' estimate) -> docs: the
    chain a hand-written pipeline would run, though Person alone is not small."""
    plan = plan_with(fed, "SELECT o.id, g.name FROM state.orders o, graph.Person g, knowledge.docs d "
                          "WHERE o.status = 'shipped' AND g.id = o.person_id AND d.author_id = g.id", RULES)
    kinds = {f.source: i for i, f in enumerate(plan.fragments)}
    person, docs = plan.semijoins[kinds["graph"]], plan.semijoins[kinds["knowledge"]]
    assert (person.producer, person.column) == (kinds["state"], "id")
    assert (docs.producer, docs.column) == (kinds["graph"], "author_id")


@pytest.mark.parametrize("end, other", [("_from", "_to"), ("_to", "_from")])
def test_a_relationship_table_reduced_on_an_end_has_that_ends_degree_per_key(fed, reference, end, other):
    """people -> KNOWS (on an end node's key: each key has the mean degree of that
    end, not one row) -> orders: with the unreduced estimate (every KNOWS row),
    orders would be read whole instead of by the KNOWS keys."""
    sql = (f"SELECT k.{other}, o.amount FROM state.people p JOIN graph.KNOWS k ON k.{end} = p.id "
           f"JOIN state.orders o ON o.person_id = k.{other} WHERE p.age = 33")
    plan = plan_with(fed, sql, RULES)
    people, knows, orders = (next(i for i, f in enumerate(plan.fragments) if name in f.text)
                             for name in ('"people"', "KNOWS", '"orders"'))
    count = {t: fed.query(f"SELECT COUNT(*) FROM {t}").fetchall()[0][0] for t in ("graph.KNOWS", "graph.Person")}
    assert plan.estimates[knows] == pytest.approx(
        plan.estimates[people] * count["graph.KNOWS"] / count["graph.Person"])
    assert [(s.producer, s.column) if s else None for s in plan.semijoins] == [
        (people, end) if i == knows else (knows, "person_id") if i == orders else None
        for i in range(len(plan.fragments))]
    assert_same(fed.query(sql, cache=False).to_arrow(), reference.sql(sql).to_arrow_table(), ordered=False)


@pytest.mark.parametrize("max_keys, reduced", [(10_000, True), (1, False)])
def test_above_max_keys_the_unreduced_fragment_runs(fed, max_keys, reduced):
    import dataclasses

    sql = ("SELECT g.pid, p.name FROM GRAPH_TABLE(graph MATCH (a:Person {id: 1})-[:KNOWS]->(b:Person) "
           "COLUMNS (b.id AS pid)) g JOIN state.people p ON p.id = g.pid")
    plan = plan_unshipped(fed, sql)  # (shipped, the graph's rows would join in SQLite)
    assert plan.semijoins[1] is not None
    plan = dataclasses.replace(plan, semijoins=(None, dataclasses.replace(plan.semijoins[1], max_keys=max_keys)))
    profile = []
    got, _ = fed._executor.run(plan, {}, use_cache=False, profile=profile)
    step = next(s for s in profile if s.name == "__f1")
    assert step.reduced is reduced and step.keys > 1
    assert step.fragment == (plan.semijoins[1].request(step.keys) if reduced else plan.fragments[1])
    expected = fed.query(sql, cache=False).to_arrow()
    order = [("pid", "ascending"), ("name", "ascending")]
    assert got.sort_by(order).equals(expected.sort_by(order))


def test_more_keys_than_a_quarter_of_a_whole_table_read_the_table(fed):
    """Orders of one status are estimated at 1% of the table; here their people are
    more than a quarter of Person (a whole node table, its size known): at run time
    Person is read whole, as looking each key up would cost more."""
    sql = ("SELECT p.name, o.amount FROM graph.Person p JOIN state.orders o ON o.person_id = p.id "
           "WHERE o.status = 'shipped'")
    people = fed.query("SELECT COUNT(*) AS n FROM graph.Person").to_arrow()["n"][0].as_py()
    plan = plan_unshipped(fed, sql)
    consumer = next(i for i, f in enumerate(plan.fragments) if f.source == "graph")
    assert plan.semijoins[consumer].max_keys == people // 4
    profile = []
    got, _ = fed._executor.run(plan, {}, use_cache=False, profile=profile)
    step = next(s for s in profile if s.name == f"__f{consumer}")
    assert step.keys > people // 4 and not step.reduced and step.fragment == plan.fragments[consumer]
    from compare import assert_same
    from test_random_optimizer import _unoptimized
    assert_same(got, _unoptimized(fed, sql), ordered=False)
    # a filtered table's size is a guess: only [planner] max_keys bounds its keys
    filtered = plan_unshipped(fed, sql + " AND p.age > 20")
    assert filtered.semijoins[consumer].max_keys == 10_000


def test_no_keys_means_no_fetch(fed):
    sql = ("SELECT p.name FROM state.orders o JOIN graph.Person p ON p.id = o.person_id "
           "WHERE o.status = 'no such status'")
    profile = []
    table, _ = fed._executor.run(fed.plan(sql), {}, use_cache=False, profile=profile)
    assert table.num_rows == 0
    step = next(s for s in profile if s.name == "__f1")
    assert step.keys == 0 and step.fragment is None
    assert texts(fed.plan(sql))[1].startswith("MATCH (n:`Person`)")


@pytest.mark.parametrize("few_keys", [0, 1_000])
def test_kuzu_takes_few_keys_as_a_list_filter(fed, few_keys):
    """Kuzu's hash join of UNWOUND keys costs a scan of the whole match; for up to
    ``few_keys`` keys the list filter ``IN $keys`` runs instead. Both give the rows."""
    import dataclasses

    sql = ("SELECT p.name, k._to FROM state.people p JOIN graph.KNOWS k ON k._from = p.id "
           "WHERE p.city = 'Paris'")
    plan = fed.plan(sql)
    semijoin = plan.semijoins[1]
    assert semijoin is not None and semijoin.few is not None
    assert "UNWIND" in semijoin.reduced.text and "UNWIND" not in semijoin.few.text
    assert " IN $" in semijoin.few.text
    plan = dataclasses.replace(plan, semijoins=(None, dataclasses.replace(semijoin, few_keys=few_keys)))
    profile = []
    got, _ = fed._executor.run(plan, {}, use_cache=False, profile=profile)
    step = next(s for s in profile if s.name == "__f1")
    assert step.reduced and step.keys > 1
    assert step.fragment == (semijoin.few if few_keys else semijoin.reduced)
    expected = fed.query(sql, cache=False).to_arrow()
    order = [("name", "ascending"), ("_to", "ascending")]
    assert got.sort_by(order).equals(expected.sort_by(order))


CTE = ("WITH s AS (SELECT o.person_id, SUM(o.amount) AS total FROM state.orders o GROUP BY o.person_id) "
       "SELECT g.pid, s.total{extra} FROM GRAPH_TABLE(graph MATCH (a:Person {{id: 1}})-[:KNOWS]->(b:Person) "
       "COLUMNS (b.id AS pid)) g JOIN s ON s.person_id = g.pid")


@pytest.mark.parametrize("extra, reduced", [("", True), (", (SELECT COUNT(*) FROM s) AS groups", False)])
def test_a_cte_run_in_sqlite_is_reduced_only_when_read_once(fed, extra, reduced):
    """The graph's few keys filter the CTE's rows inside its GROUP BY query (SQLite
    does not move a filter into an aggregate subquery); a CTE read twice is not
    reduced: its other read needs every row."""
    from test_random_optimizer import _unoptimized
    from compare import assert_same

    sql = CTE.format(extra=extra)
    plan = fed.plan(sql)
    cte = next(i for i, f in enumerate(plan.fragments) if "GROUP BY" in f.text)
    assert (plan.semijoins[cte] is not None) is reduced
    if reduced:
        text = plan.semijoins[cte].reduced.text
        assert text.index("JSON_EACH") < text.index("GROUP BY") and "__q" not in text
        assert plan.estimates[0] is not None and plan.estimates[0] < 100  # {id: 1} is the primary key
    assert_same(fed.query(sql, cache=False).to_arrow(), _unoptimized(fed, sql), ordered=False)


@pytest.mark.parametrize("tail, inside", [
    (" GROUP BY o.person_id", True),
    ("", True),
    (" GROUP BY o.person_id ORDER BY o.person_id LIMIT 3", False),
    (" GROUP BY o.status", False),
])
def test_the_keys_filter_goes_inside_a_subtree_only_where_it_means_the_same(fed, tail, inside):
    """Filtering a query's output column by keys, written inside its WHERE only when
    that keeps the same rows: a grouped-by or plain column, no LIMIT; and SQLite's
    rows are those of the filter around it either way."""
    import sqlglot

    from federation.sources.sqlite import _keys_filtered

    select = "SELECT o.person_id, COUNT(*) AS n FROM orders o" if "GROUP BY" in tail \
        else "SELECT o.person_id, o.amount AS n FROM orders o"
    if tail == " GROUP BY o.status":
        select = "SELECT MIN(o.person_id) AS person_id, COUNT(*) AS n FROM orders o"
    tree = sqlglot.parse_one(select + tail, read="sqlite")
    filtered = _keys_filtered(tree, ("person_id", "n"), "person_id")
    assert ("__q" not in filtered.sql()) is inside
    source = fed.sources["state"]
    keys = [1, 2, 3, 7, 11]
    fragment = source.compile_query(tree, ("person_id", "n"), (None, None), keys="person_id")
    around = source.compile_query(sqlglot.parse_one(
        f'SELECT * FROM ({select + tail}) AS q WHERE q.person_id IN (1, 2, 3, 7, 11)', read="sqlite"),
        ("person_id", "n"), (None, None))
    got = source.execute(fragment, {"__keys": keys}).to_pylist()
    expected = source.execute(around, {}).to_pylist()
    assert sorted(map(str, got)) == sorted(map(str, expected))


@pytest.mark.parametrize("pattern, degree", [
    ("(p:Person {id: 1})-[:WORKS_AT]->(c:Company)", "out"),  # from the one person: her employers
    ("(p:Person)-[:WORKS_AT]->(c:Company {id: 1})", "in"),  # from the one company: its people
    ("(c:Company {id: 1})<-[:WORKS_AT]-(p:Person)", "in"),  # the same, written leftwards
])
def test_a_match_is_estimated_from_its_most_selective_node_in_the_walked_direction(fed, pattern, degree):
    plan = plan_with(fed, f"SELECT * FROM GRAPH_TABLE (graph MATCH {pattern} COLUMNS (p.id AS pid))", (estimate_rows,))
    count = lambda q: fed.query(q).to_arrow()["n"][0].as_py()  # noqa: E731
    works = count("SELECT COUNT(*) AS n FROM graph.WORKS_AT")
    nodes = count("SELECT COUNT(*) AS n FROM graph.Person" if degree == "out" else
                  "SELECT COUNT(*) AS n FROM graph.Company")
    start = min(nodes * selectivity(parse("SELECT 1 WHERE a = 1").query.body.where), 1.0)  # a key fixed
    assert plan.estimates[0] == pytest.approx(start * works / nodes)

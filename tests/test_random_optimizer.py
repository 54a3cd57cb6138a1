"""Seeded random cross-source queries: optimized plan == unoptimized plan == reference.

The queries join SQLite, Kuzu (tables and GRAPH_TABLE) and LanceDB (scans and
VECTOR_SEARCH) with random, type-mixing predicates in WHERE and ON, outer joins,
derived tables with GROUP BY and ORDER BY ... LIMIT, so that every optimizer rule
(grouping, filters, top-N, subtrees, projection, semi-joins) fires on some of them. The
unoptimized plan fetches whole tables and leaves all work to DuckDB.
"""

from __future__ import annotations

import os
import random

import pytest

import federation
from compare import assert_same
from planning import plan_unshipped
from federation.parser import parse
from test_random_differential import TABLES, Generator, _outcome  # noqa: F401  (the arrow_reference fixture's tables)
from test_random_differential import arrow_reference  # noqa: F401  (fixture)

SEED = int(os.environ.get("FQL_RANDOM_SEED", "3"))
N_QUERIES = int(os.environ.get("FQL_OPTIMIZER_QUERIES", "500"))

PEOPLE = (["id", "age", "score"], ["name", "city"])
PERSON = (["id", "age"], ["name"])
ORDERS = (["id", "person_id", "amount"], ["status", "note"])
DOCS = (["id", "author_id"], ["title", "topic"])
KNOWS = (["_from", "_to", "since", "weight"], [])
GRAPH_REF = ("(SELECT a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since FROM graph.Person a "
             "JOIN graph.KNOWS k ON k._from = a.id JOIN graph.Person b ON b.id = k._to WHERE {where})")
VECTOR = "[0.5, -0.25, 1.0, 0.125, -0.75, 0.0, 0.375, -1.5]"


def pred(rng, alias, columns, simple=False):
    g = Generator(rng, alias, *columns)
    if simple or rng.random() < 0.5:  # mostly pushable comparisons, so the rules fire
        if rng.random() < 0.6 or not columns[1]:
            column = rng.choice(columns[0])
            return f"{alias}.{column} {rng.choice(['<', '<=', '>', '>=', '=', '<>'])} {rng.randint(-5, 300)}"
        column = rng.choice(columns[1])
        return rng.choice([f"{alias}.{column} LIKE '{rng.choice('ABCMPS')}%'", f"{alias}.{column} IS NOT NULL",
                           f"{alias}.{column} IN ('Paris', 'shipped', 'graphs', 'Lima')"])
    return g.predicate()


def queries():
    rng = random.Random(SEED)
    for i in range(N_QUERIES):
        shape = rng.randrange(14)
        join = rng.choice(["JOIN", "LEFT JOIN"])
        if shape == 0:  # SQLite x Kuzu table, filters on both sides
            where = f"{pred(rng, 'p', PEOPLE)} AND {pred(rng, 'g', PERSON)}"
            on = f" AND {pred(rng, 'g', PERSON, True)}" if join == "LEFT JOIN" and rng.random() < 0.5 else ""
            fql = (f"SELECT p.id, p.name, g.age FROM state.people p {join} graph.Person g ON g.id = p.id{on} "
                   f"WHERE {where}")
            yield i, fql, fql
        elif shape == 1:  # three sources: orders (SQLite) x Person (Kuzu) x docs (LanceDB scan)
            fql = (f"SELECT o.id, g.name, d.title FROM state.orders o JOIN graph.Person g ON g.id = o.person_id "
                   f"{join} knowledge.docs d ON d.author_id = g.id WHERE {pred(rng, 'o', ORDERS)} "
                   f"AND {pred(rng, 'd', DOCS, True) if join == 'JOIN' else 'TRUE'}")
            yield i, fql, fql
        elif shape == 2:  # a graph neighbourhood joined with SQLite
            where, outer = pred(rng, "a", PERSON, True), pred(rng, "p", PEOPLE, True)
            if rng.random() < 0.5:  # a filter on the GRAPH_TABLE's columns, outside it: moved into the match
                outer += f" AND {pred(rng, 'g', (['aid', 'bid', 'since'], ['aname']), rng.random() < 0.7)}"
            fql = (f"SELECT g.aid, g.bid, g.since, p.city FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->"
                   f"(b:Person) WHERE {where} COLUMNS (a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since)) g "
                   f"{join} state.people p ON p.id = g.bid WHERE {outer}")
            ref = (f"SELECT g.aid, g.bid, g.since, p.city FROM {GRAPH_REF.format(where=where)} g "
                   f"{join} state.people p ON p.id = g.bid WHERE {outer}")
            yield i, fql, ref
        elif shape == 3:  # a derived table (or CTE) aggregated over one SQLite source
            limit = rng.choice(["", "", f" ORDER BY person_id LIMIT {rng.randint(1, 30)}"])
            inner = (f"SELECT person_id, SUM(amount) AS total, COUNT(*) AS n FROM state.orders o "
                     f"WHERE {pred(rng, 'o', ORDERS)} GROUP BY person_id{limit}")
            form = rng.choice(["derived", "cte", "cte read twice"])
            if form == "derived":
                fql = (f"SELECT g.name, s.total, s.n FROM graph.Person g JOIN ({inner}) s "
                       f"ON s.person_id = g.id WHERE {pred(rng, 'g', PERSON, True)}")
            elif form == "cte":  # read once: the graph's keys may reduce it
                fql = (f"WITH s AS ({inner}) SELECT g.name, s.total, s.n FROM graph.Person g JOIN s "
                       f"ON s.person_id = g.id WHERE {pred(rng, 'g', PERSON, True)}")
            else:  # read twice: one read's keys must not reduce the other's rows
                fql = (f"WITH s AS ({inner}) SELECT g.name, s.total, (SELECT COUNT(*) FROM s) AS groups "
                       f"FROM graph.Person g JOIN s ON s.person_id = g.id WHERE {pred(rng, 'g', PERSON, True)}")
            yield i, fql, fql
        elif shape == 4:  # top-N over one table (ties broken by the key)
            source, alias, columns = rng.choice([("state.people", "p", PEOPLE), ("graph.Person", "p", PERSON),
                                                 ("knowledge.docs", "p", DOCS)])
            order = rng.choice(columns[0] + columns[1])
            direction = rng.choice(["", " DESC", " NULLS FIRST", " DESC NULLS LAST"])
            where = f" WHERE {pred(rng, alias, columns, True)}" if rng.random() < 0.5 else ""
            limit = f"LIMIT {rng.randint(1, 12)} OFFSET {rng.randint(0, 3)}"
            if rng.random() < 0.4:  # no order: which rows is open, how many is not
                fql = f"SELECT COUNT(*) AS n, COUNT(DISTINCT s.id) AS d FROM (SELECT p.id FROM {source} p{where} {limit}) s"
            else:  # DuckDB computes the expression; the source still returns only the top rows
                fql = (f"SELECT p.id, p.{order}, p.id * 2 AS twice FROM {source} p{where} "
                       f"ORDER BY p.{order}{direction}, p.id {limit}")
            yield i, fql, fql
        elif shape == 5:  # kNN (covering the table) joined with SQLite: its keys reduce people
            fql = (f"SELECT v.id, p.name FROM VECTOR_SEARCH(knowledge.docs, {VECTOR}, top_k => 1000) v "
                   f"JOIN state.people p ON p.id = v.author_id WHERE {pred(rng, 'p', PEOPLE)}")
            ref = ("SELECT v.id, p.name FROM knowledge.docs v JOIN state.people p ON p.id = v.author_id "
                   f"WHERE {fql.split(' WHERE ', 1)[1]}")
            yield i, fql, ref
        elif shape == 8:  # a derived table over a graph neighbourhood feeds keys to two SQLite tables
            where = pred(rng, "a", PERSON, True)
            inner = (f"SELECT DISTINCT g.bid FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
                     f"WHERE {where} COLUMNS (a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since)) g")
            ref_inner = f"SELECT DISTINCT g.bid FROM {GRAPH_REF.format(where=where)} g"
            tail = (f" d JOIN state.people p ON p.id = d.bid {join} state.orders o ON o.person_id = d.bid "
                    f"WHERE {pred(rng, 'p', PEOPLE)} GROUP BY d.bid, p.name")
            head = "SELECT d.bid, p.name, COUNT(o.id) AS n, SUM(o.amount) AS total FROM "
            yield i, f"{head}({inner}){tail}", f"{head}({ref_inner}){tail}"
        elif shape == 9:  # two SQLite tables joined inside a cross-source query: grouped, run as one
            where = f"{pred(rng, 'p', PEOPLE)} AND {pred(rng, 'o', ORDERS)}"
            other = rng.choice([("graph.Person g", "g.id", "g.age"), ("knowledge.docs g", "g.author_id", "g.title")])
            link = rng.choice(["p.id", "o.person_id"])  # joined to one, equal to both
            if rng.random() < 0.5:
                amount = rng.choice(["o.amount", "amount"])  # unqualified: only orders has it
                on = rng.choice(["ON o.person_id = p.id", "ON o.person_id = p.id", "USING (id)"])
                fql = (f"SELECT p.name, {amount}, {other[2]} FROM state.people p JOIN state.orders o "
                       f"{on} JOIN {other[0]} ON {other[1]} = {link} WHERE {where}")
            else:  # comma joins, the tables meeting only through the third
                fql = (f"SELECT p.id, p.city, COUNT(*) AS n, SUM(o.amount) AS total FROM {other[0]}, "
                       f"state.orders o, state.people p WHERE {other[1]} = o.person_id AND {other[1]} = p.id "
                       f"AND {where} GROUP BY p.id, p.city ORDER BY p.id")
            yield i, fql, fql
        elif shape == 7:  # a Kuzu relationship table as a plain table: its ends' keys, its properties
            side = rng.choice(["_from", "_to"])
            fql = (f"SELECT k._from, k._to, k.since, p.name FROM graph.KNOWS k {join} state.people p "
                   f"ON p.id = k.{side} WHERE {pred(rng, 'p', PEOPLE, True)} AND {pred(rng, 'k', KNOWS, True)}")
            yield i, fql, fql
        elif shape == 10:  # Kuzu tables and GRAPH_TABLEs joined on node keys: grouped, one Cypher query
            fql, ref = merged_graph_query(rng, join)
            yield i, fql, ref
        elif shape == 11:  # IN (SELECT ...) over another source: made a join, its values reduce the outer table
            fql, ref = in_subquery_query(rng)
            yield i, fql, ref
        elif shape == 12:  # GROUP BY over one match: partial aggregates in Kuzu, combined in DuckDB
            fql, ref = graph_aggregate_query(rng)
            yield i, fql, ref
        elif shape == 13:  # a LEFT JOIN of a SQLite table to another of that database: one SQLite query
            fql = left_join_query(rng)
            yield i, fql, fql
        else:  # WHERE equality between sources, with an IN subquery
            fql = (f"SELECT p.name, g.id FROM state.people p, graph.Person g WHERE g.id = p.id AND "
                   f"{pred(rng, 'p', PEOPLE, True)} AND p.id IN (SELECT o.person_id FROM state.orders o "
                   f"WHERE {pred(rng, 'o', ORDERS)})")
            yield i, fql, fql


def merged_graph_query(rng, join):
    graph = ("GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE {where} "
             "COLUMNS (a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since))")
    columns = (["aid", "bid", "since"], ["aname"])
    form = rng.choice(["tables", "graph tables", "mixed"])
    if form == "tables":  # node and relationship tables: the ends' keys name the nodes
        on = rng.choice(["b.id = k._to", "k._to = b.id"])
        fql = (f"SELECT a.name, b.name AS bname, k.since, p.city FROM graph.Person a JOIN graph.KNOWS k "
               f"ON k._from = a.id JOIN graph.Person b ON {on} {join} state.people p ON p.id = b.id "
               f"WHERE {pred(rng, 'a', PERSON)} AND {pred(rng, 'k', KNOWS, True)}")
        return fql, fql
    first, second = pred(rng, "a", PERSON, True), pred(rng, "a", PERSON, True)
    if form == "graph tables":  # two matches sharing a node
        on = rng.choice(["y.aid = x.bid", "y.bid = x.bid", "x.aid = y.aid"])
        head = "SELECT x.aid, x.aname, y.bid, y.since FROM " if rng.random() < 0.7 else \
            "SELECT COUNT(*) AS n, SUM(y.since) AS total FROM "
        tail = f" y ON {on} WHERE {pred(rng, rng.choice('xy'), columns)}"
        fql = f"{head}{graph.format(where=first)} x JOIN {graph.format(where=second)}{tail}"
        ref = f"{head}{GRAPH_REF.format(where=first)} x JOIN {GRAPH_REF.format(where=second)}{tail}"
        return fql, ref
    tail = (f" x JOIN graph.Person g ON g.id = x.{rng.choice(['aid', 'bid'])} {join} state.people p "
            f"ON p.id = g.id WHERE {pred(rng, 'g', PERSON)}")
    head = "SELECT x.aid, x.bid, g.name, p.city FROM "
    return f"{head}{graph.format(where=first)}{tail}", f"{head}{GRAPH_REF.format(where=first)}{tail}"


def left_join_query(rng):
    other = rng.choice([("graph.Person g", "g.id", "g.age"), ("knowledge.docs g", "g.author_id", "g.title")])
    # on people's key, or on the other source's column equal to it
    on = f"o.person_id = {rng.choice(['p.id', other[1]])}" + (
        f" AND {pred(rng, 'o', ORDERS, True)}" if rng.random() < 0.5 else "")
    where = rng.choice([pred(rng, "p", PEOPLE), f"{pred(rng, 'p', PEOPLE, True)} AND {pred(rng, 'o', ORDERS)}",
                        "o.id IS NULL", f"{pred(rng, 'o', ORDERS, True)} OR o.id IS NULL"])
    if rng.random() < 0.5:
        return (f"SELECT p.name, o.amount, {other[2]} FROM {other[0]} JOIN state.people p ON p.id = {other[1]} "
                f"LEFT JOIN state.orders o ON {on} WHERE {where}")
    return (f"SELECT p.id, COUNT(o.id) AS n, SUM(o.amount) AS total FROM {other[0]} JOIN state.people p "
            f"ON p.id = {other[1]} LEFT JOIN state.orders o ON {on} WHERE {where} GROUP BY p.id ORDER BY p.id")


def in_subquery_query(rng):
    negated = rng.choice(["", "", "", "NOT "])  # NOT IN stays a filter in DuckDB
    form = rng.choice(["graph", "vectors", "sqlite", "or"])
    if form == "graph":
        where = pred(rng, "a", PERSON, True)
        inner = ("SELECT g.bid FROM {} g WHERE " + pred(rng, "g", (["aid", "bid", "since"], ["aname"]), True))
        graph = (f"GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE {where} "
                 "COLUMNS (a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since))")
        head = f"SELECT p.id, p.name, p.city FROM state.people p WHERE {pred(rng, 'p', PEOPLE, True)} AND p.id {negated}IN "
        return f"{head}({inner.format(graph)})", f"{head}({inner.format(GRAPH_REF.format(where=where))})"
    if form == "vectors":
        fql = (f"SELECT g.id, g.name FROM graph.Person g WHERE g.id {negated}IN (SELECT d.author_id FROM "
               f"knowledge.docs d WHERE {pred(rng, 'd', DOCS)}) AND {pred(rng, 'g', PERSON, True)}")
        return fql, fql
    if form == "sqlite":  # unqualified columns inside, and an aggregate over the outer table
        fql = (f"SELECT d.topic, COUNT(*) AS n FROM knowledge.docs d WHERE d.author_id {negated}IN "
               f"(SELECT person_id FROM state.orders WHERE {pred(rng, 'orders', ORDERS, True)}) GROUP BY d.topic "
               f"ORDER BY d.topic")
        return fql, fql
    fql = (f"SELECT p.id FROM state.people p WHERE p.id IN (SELECT o.person_id FROM state.orders o) "
           f"OR {pred(rng, 'p', PEOPLE, True)}")  # under OR: left as it is
    return fql, fql


def graph_aggregate_query(rng):
    aggregates = rng.sample(["COUNT(*) AS n", "COUNT(g.since) AS c", "MIN(g.since) AS lo", "MAX(g.aid) AS hi",
                             "SUM(g.since) AS total", "COUNT(DISTINCT g.aname) AS names"], rng.randint(1, 3))
    having = rng.choice(["", "", " HAVING COUNT(*) > 1", " HAVING MIN(g.since) IS NOT NULL"])
    if rng.random() < 0.3:  # node and relationship tables: grouped into one match first
        key = rng.choice(["a.name", "a.id", "a.age"])
        fql = (f"SELECT {key}, COUNT(*) AS n, MAX(k.since) AS latest FROM graph.Person a JOIN graph.KNOWS k "
               f"ON k._from = a.id WHERE {pred(rng, 'k', KNOWS, True)} GROUP BY {key} ORDER BY {key}")
        return fql, fql
    key = rng.choice(["g.aid", "g.bid", "g.aname", "g.since"])
    where = pred(rng, "a", PERSON, True)
    graph = (f"GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE {where} "
             "COLUMNS (a.id AS aid, a.name AS aname, b.id AS bid, k.since AS since))")
    tail = f" g GROUP BY {key}{having} ORDER BY {key}"
    head = f"SELECT {key}, {', '.join(aggregates)} FROM "
    return f"{head}{graph}{tail}", f"{head}{GRAPH_REF.format(where=where)}{tail}"


CASES = list(queries())


def _unoptimized(fed, fql):
    plan = fed._planner.plan(parse(fql).query, {}, optimize=False)
    assert all("WHERE" not in f.text and "LIMIT" not in f.text for f in plan.fragments if f.kind != "Kuzu")
    return fed._executor.run(plan, {}, use_cache=False)[0]


@pytest.mark.parametrize("index, fql, ref", CASES, ids=[f"q{c[0]}" for c in CASES])
def test_optimized_equals_unoptimized_and_reference(fed, reference, arrow_reference, index, fql, ref):
    outcomes = {}
    for name, run in (("optimized", lambda: fed.query(fql, cache=False).to_arrow()),
                      ("unoptimized", lambda: _unoptimized(fed, fql))):
        try:
            outcomes[name] = run()
        except federation.FederationError as exc:
            outcomes[name] = exc
    optimized, unoptimized = outcomes["optimized"], outcomes["unoptimized"]
    expected = _outcome(reference, ref)
    if isinstance(optimized, Exception) or isinstance(unoptimized, Exception):
        # an error DuckDB raises depends on its plan: either side may meet it first
        assert expected is None or _outcome(arrow_reference, ref) is None, (optimized, unoptimized)
        return
    assert_same(optimized, unoptimized, ordered="ORDER BY" in fql)
    if expected is None:
        expected = _outcome(arrow_reference, ref)
    assert expected is not None, "the engine returned a result where DuckDB raises"
    assert_same(optimized, expected, ordered="ORDER BY" in fql)


def test_the_grouping_rewrite_fires_on_generated_queries(fed):
    """The queries above exercise grouping: most joins of people and orders inside a
    cross-source query become one SQLite query (the rest: SQLite would not compute a
    filter exactly as DuckDB, or a predicate had no pushable form)."""
    grouped = [fql for _, fql, _ in CASES if "state.people p JOIN state.orders o" in fql
               or "state.orders o, state.people p" in fql]
    joined = [fql for fql in grouped
              if any(f.source == "state" and "JOIN" in f.text for f in plan_unshipped(fed, fql).fragments)]
    print(f"grouped into one SQLite query: {len(joined)} of {len(grouped)}")
    assert len(grouped) >= 20 and len(joined) >= len(grouped) // 2, (len(joined), len(grouped))


def test_the_graph_grouping_fires_on_generated_queries(fed):
    """Kuzu tables and GRAPH_TABLEs joined on node keys become one Cypher query in
    most generated queries (the rest: a join condition the generator wrote between
    other columns, or none)."""
    merged = [fql for _, fql, _ in CASES if "graph.KNOWS k ON k._from = a.id" in fql or "x JOIN " in fql]
    one = [fql for fql in merged if sum(f.source == "graph" for f in plan_unshipped(fed, fql).fragments) == 1]
    print(f"one Cypher query: {len(one)} of {len(merged)}")
    assert len(merged) >= 20 and len(one) >= len(merged) * 0.9, (len(one), len(merged))



def test_in_subqueries_become_joins_on_generated_queries(fed):
    """Every generated ``x IN (SELECT ...)`` (not NOT IN, not under OR) becomes a join
    (whether its values then reduce the outer table is the estimates' call:
    tests/test_rule_unnesting.py)."""
    cases = [fql for _, fql, _ in CASES if " IN (SELECT " in fql and "NOT IN" not in fql and " OR " not in fql
             and fql.startswith(("SELECT p.id, p.name, p.city", "SELECT g.id, g.name", "SELECT d.topic"))]
    joined = [fql for fql in cases if "__in0" in plan_unshipped(fed, fql).sql]
    print(f"made a join: {len(joined)} of {len(cases)}")
    assert len(cases) >= 10 and len(joined) == len(cases), (len(joined), len(cases))


def test_graph_aggregates_are_pushed_on_generated_queries(fed):
    """GROUP BYs over one match with only COUNT / MIN / MAX of integers run in Kuzu."""
    cases = [fql for _, fql, _ in CASES if " GROUP BY " in fql and ("GRAPH_TABLE (graph" in fql or
             "graph.Person a JOIN graph.KNOWS k" in fql) and "SUM(" not in fql and "DISTINCT" not in fql
             and "aname" not in fql.split(" FROM ")[0] and "state." not in fql]
    pushed = [fql for fql in cases if "__agg" in plan_unshipped(fed, fql).sql]
    print(f"aggregated in Kuzu: {len(pushed)} of {len(cases)}")
    assert len(cases) >= 10 and len(pushed) >= len(cases) * 0.8, (len(pushed), len(cases))


def test_last_steps_run_in_sqlite_on_generated_queries(fed):
    """Queries over SQLite and a few graph rows run their last step in SQLite (the
    answers are checked above, like every other query's)."""
    shipped = [fql for _, fql, _ in CASES if fed.plan(fql).sql is None and len(fed.plan(fql).fragments) > 1]
    print(f"last step in SQLite: {len(shipped)} of {len(CASES)}")
    assert len(shipped) >= 25, len(shipped)


def test_left_joins_join_their_sqlite_group_on_generated_queries(fed):
    """``... JOIN state.people p LEFT JOIN state.orders o ON o.person_id = p.id``: the
    LEFT JOIN runs in SQLite with people, in most generated queries (the rest: an ON
    condition SQLite would not compute exactly as DuckDB)."""
    cases = [fql for _, fql, _ in CASES if "LEFT JOIN state.orders o ON o.person_id = " in fql
             and "JOIN state.people p ON p.id = g." in fql]
    joined = [fql for fql in cases if any(f.source == "state" and "LEFT JOIN" in f.text
                                          for f in plan_unshipped(fed, fql).fragments)]
    print(f"LEFT JOIN in SQLite: {len(joined)} of {len(cases)}")
    assert len(cases) >= 20 and len(joined) >= len(cases) * 0.8, (len(joined), len(cases))

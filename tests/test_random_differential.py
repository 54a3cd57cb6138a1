"""Seeded random queries, engine vs the single-DuckDB reference.

The generator mixes types on purpose (a string in arithmetic, a number compared
with a text column, decimals a double cannot hold, LIKE patterns with backslashes):
those are the places where SQLite, Kuzu and LanceDB would answer differently from
DuckDB if the engine handed them work they cannot do exactly. Whenever the
reference raises, the engine must raise a FederationError; otherwise the results
must be equal.
"""

from __future__ import annotations

import os
import random

import duckdb
import pytest

import federation
from compare import assert_same

# Fixed for `make test`; set FQL_RANDOM_SEED / FQL_RANDOM_QUERIES to explore further.
SEED = int(os.environ.get("FQL_RANDOM_SEED", "20261128"))
N_QUERIES = int(os.environ.get("FQL_RANDOM_QUERIES", "400"))

NUMBER_COLUMNS = ["id", "age", "score"]
STRING_COLUMNS = ["name", "city"]
NUMBERS = ["0", "1", "7", "30", "45", "-3", "1.5", "0.1", "30.0000000000000001", "99999999999999999999", "2.5e1"]
STRINGS = ["'Paris'", "'O''Brien'", "''", "'Zoë Ward'", "'10'", "'x'"]
PATTERNS = ["'a%'", "'A%'", "'%e%'", "'_o%'", "'%\\%'", "'%'", "'Z%'"]


class Generator:
    def __init__(self, rng: random.Random, alias: str | None = None,
                 numbers: list[str] = NUMBER_COLUMNS, strings: list[str] = STRING_COLUMNS):
        self.rng = rng
        self.alias = alias
        self.numbers = numbers
        self.strings = strings

    def col(self, name: str) -> str:
        return f"{self.alias}.{name}" if self.alias else name

    def number(self, depth: int = 0) -> str:
        r = self.rng.random()
        if r < 0.35:
            return self.col(self.rng.choice(self.numbers))
        if r < 0.6 or depth > 1:
            return self.rng.choice(NUMBERS + ["NULL"])
        if r < 0.75:
            op = self.rng.choice(["+", "-", "*", "/", "%"])
            return f"({self.number(depth + 1)} {op} {self.number(depth + 1)})"
        if r < 0.85:
            return f"COALESCE({self.number(depth + 1)}, {self.number(depth + 1)})"
        if r < 0.92:
            return f"ABS({self.number(depth + 1)})"
        return f"CASE WHEN {self.predicate(depth + 1)} THEN {self.number(depth + 1)} ELSE {self.number(depth + 1)} END"

    def string(self, depth: int = 0) -> str:
        r = self.rng.random()
        if r < 0.45:
            return self.col(self.rng.choice(self.strings))
        if r < 0.75 or depth > 1:
            return self.rng.choice(STRINGS + ["NULL"])
        if r < 0.85:
            return f"({self.string(depth + 1)} || {self.string(depth + 1)})"
        if r < 0.93:
            return f"COALESCE({self.string(depth + 1)}, {self.string(depth + 1)})"
        return self.rng.choice([f"UPPER({self.string(depth + 1)})", f"LOWER({self.string(depth + 1)})"])

    def value(self, depth: int = 0) -> str:
        # mostly well-typed, sometimes deliberately not
        return self.number(depth) if self.rng.random() < 0.5 else self.string(depth)

    def predicate(self, depth: int = 0) -> str:
        r = self.rng.random()
        if depth < 2 and r < 0.2:
            op = self.rng.choice(["AND", "OR"])
            return f"({self.predicate(depth + 1)} {op} {self.predicate(depth + 1)})"
        if depth < 2 and r < 0.27:
            return f"NOT ({self.predicate(depth + 1)})"
        if r < 0.55:
            typed = self.rng.random() < 0.85
            left = self.number(depth + 1)
            right = self.number(depth + 1) if typed else self.string(depth + 1)
            if self.rng.random() < 0.4:
                left, right = self.string(depth + 1), (self.string(depth + 1) if typed else self.number(depth + 1))
            return f"{left} {self.rng.choice(['=', '<>', '<', '<=', '>', '>='])} {right}"
        if r < 0.65:
            return f"{self.value(depth + 1)} IS {self.rng.choice(['', 'NOT '])}NULL"
        if r < 0.75:
            items = ", ".join(self.rng.choice(NUMBERS + ["NULL"]) for _ in range(self.rng.randint(1, 3)))
            return f"{self.number(depth + 1)} {self.rng.choice(['', 'NOT '])}IN ({items})"
        if r < 0.85:
            return f"{self.number(depth + 1)} {self.rng.choice(['', 'NOT '])}BETWEEN {self.number(2)} AND {self.number(2)}"
        return f"{self.string(depth + 1)} {self.rng.choice(['', 'NOT '])}LIKE {self.rng.choice(PATTERNS)}"


def queries():
    rng = random.Random(SEED)
    for i in range(N_QUERIES):
        shape = rng.random()
        if shape < 0.45:
            g = Generator(rng)
            items = ", ".join(f"{g.value()} AS c{k}" for k in range(rng.randint(1, 3)))
            yield i, f"SELECT id, {items} FROM state.people WHERE {g.predicate()} ORDER BY id", True
        elif shape < 0.65:
            g = Generator(rng)
            agg = rng.choice(["COUNT(*)", "SUM(age)", "AVG(score)", "MIN(name)", "MAX(age)", f"SUM({g.number()})"])
            yield (i, f"SELECT city, {agg} AS a FROM state.people WHERE {g.predicate()} "
                      f"GROUP BY city HAVING COUNT(*) > {rng.randint(0, 3)}", False)
        elif shape < 0.78:
            g = Generator(rng, "p")
            yield (i, f"SELECT p.id, o.status FROM state.people p JOIN state.orders o ON o.person_id = p.id "
                      f"WHERE {g.predicate()} ORDER BY o.id", False)
        elif shape < 0.9:
            # a prefilter LanceDB must evaluate as DuckDB would; top_k covers the table
            g = Generator(rng, None, ["id", "author_id"], ["title", "topic"])
            yield (i, f"SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE {g.predicate()}), "
                      "[0.5, -0.25, 1.0, 0.125, -0.75, 0.0, 0.375, -1.5], top_k => 1000) ORDER BY id", True)
        else:
            # the same predicates over the graph copy of people, through Kuzu
            g = Generator(rng, "a")
            predicate = g.predicate().replace("a.city", "a.name").replace("a.score", "a.age")
            yield (i, "SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person) "
                      f"WHERE {predicate} COLUMNS (a.id AS id, a.name AS name)) g ORDER BY id", True)


def reference_sql(fql: str) -> str:
    if "VECTOR_SEARCH" in fql:
        where = fql[fql.index("WHERE ") + 6:fql.index("), [")]
        return f"SELECT id FROM knowledge.docs WHERE {where} ORDER BY id"
    if "GRAPH_TABLE" not in fql:
        return fql
    # GRAPH_TABLE (graph MATCH (a:Person) WHERE <p> COLUMNS (...)) -> a plain query on graph.Person
    where = fql[fql.index("WHERE ") + 6:fql.index(" COLUMNS")]
    return f"SELECT a.id AS id, a.name AS name FROM graph.Person a WHERE {where} ORDER BY id"


CASES = list(queries())
TABLES = ("state.people", "state.orders", "state.cities", "graph.Person")


@pytest.fixture(scope="module")
def arrow_reference(reference):
    """The reference data again, as Arrow scans without statistics.

    Over its own tables DuckDB may skip evaluating an expression that statistics
    prove irrelevant (so `'x' > age` in a dead CASE branch raises nothing); over
    Arrow it evaluates it and raises. Either is DuckDB's answer.
    """
    con = duckdb.connect()
    for name in TABLES:
        schema, table = name.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        arrow = reference.sql(f"SELECT * FROM {name}").to_arrow_table()
        con.register(f"arrow_{table}", arrow)
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM arrow_{table}")
    yield con
    con.close()


def _outcome(con, sql: str):
    """DuckDB's answer: the result table, or None where it raises."""
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error:
        return None


@pytest.mark.parametrize("index, fql, ordered", CASES, ids=[f"q{c[0]}" for c in CASES])
def test_random_query_matches_reference(fed, reference, arrow_reference, index, fql, ordered):
    """The engine's outcome equals DuckDB's over the reference tables, or, where an
    error depends on DuckDB's plan (which statistics and the join order decide), its
    outcome over the same data as Arrow, the way the engine hands DuckDB its data."""
    sql = reference_sql(fql)
    outcomes = [_outcome(reference, sql)]
    try:
        actual = fed.query(fql).to_arrow()
    except federation.ExecutionError:
        outcomes.append(_outcome(arrow_reference, sql))
        assert None in outcomes, "the engine raised where DuckDB returns a result"
        return
    except federation.UnsupportedError:
        # a prefilter LanceDB cannot evaluate exactly is refused, never approximated
        assert "VECTOR_SEARCH" in fql or outcomes[0] is None, "the engine refused a query DuckDB answers"
        return
    except federation.FederationError:
        assert outcomes[0] is None, "the engine refused a query DuckDB answers"
        return
    if outcomes[0] is None:
        outcomes.append(_outcome(arrow_reference, sql))
        assert outcomes[1] is not None, "the engine returned a result where DuckDB raises"
    assert_same(actual, outcomes[-1], ordered=ordered)

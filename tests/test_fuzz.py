"""Fuzzing: generated valid queries and mutated ones never break the engine.

Two properties, checked with hypothesis over the test dataset's real catalog:

* a generated valid query (tests/fqlgen.py) plans, runs and returns what the
  reference DuckDB database returns for the same question;
* any query, valid or mutated (tokens deleted, duplicated, swapped, replaced,
  random characters), plans and runs to a result or a ``FederationError``: never
  another exception type, a crash or a hang. Each parse + plan takes under a
  second (checked on the slowest example, in CPU time of the planning thread, so
  that a loaded machine does not make it flaky; wall time has a looser hang guard).

`make test` runs a bounded, derandomized number of examples; `make fuzz` sets
FQL_FUZZ_SECONDS (default 300) and keeps drawing random examples until the time
is up. The regression tests at the end are the bugs these fuzzers found.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import federation
from compare import assert_same
from fqlgen import Generated, catalog_of, mutations, plan_only_query, queries
from sourceguard import hash_tree

FUZZ_SECONDS = float(os.environ.get("FQL_FUZZ_SECONDS", "0"))
PLAN_SECONDS = 1.0  # the bar: each parse + plan under a second (CPU time)
HANG_SECONDS = 10.0  # wall clock, for a loaded machine
RUN_TIMEOUT = 20.0  # a query that runs longer is cancelled (QueryTimeout, a FederationError)

TIMINGS: list[tuple[float, float, str]] = []  # (cpu, wall, query) of every parse + plan
STATS: Counter = Counter()


def fuzz(examples: int, share: float):
    """Run the decorated body ``examples`` times (derandomized) in `make test`; in
    `make fuzz`, with random examples, until ``share`` of FQL_FUZZ_SECONDS is spent."""

    def decorate(body):
        def run():
            @settings(max_examples=examples if not FUZZ_SECONDS else 200, derandomize=not FUZZ_SECONDS,
                      deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(st.data())
            def search(data):
                body(data)

            if not FUZZ_SECONDS:
                search()
                return
            end = time.monotonic() + FUZZ_SECONDS * share
            while time.monotonic() < end:
                search()

        return run

    return decorate


def plan(fed, text: str, params: dict | None = None):
    """The plan of ``text``, or the FederationError it raises; any other exception fails."""
    cpu, wall = time.thread_time(), time.monotonic()
    try:
        return fed.plan(text, params)
    except federation.FederationError as exc:
        STATS[f"plan: {type(exc).__name__}"] += 1
        return exc
    except Exception as exc:  # noqa: BLE001 - the property under test
        raise AssertionError(f"planning raised {type(exc).__name__}: {exc}\n  query: {text!r}") from exc
    finally:
        TIMINGS.append((time.thread_time() - cpu, time.monotonic() - wall, text))


def run(fed, text: str, params: dict | None = None):
    """The result table of ``text``, or the FederationError it raises."""
    try:
        return fed.query(text, params, timeout=RUN_TIMEOUT).to_arrow()
    except federation.FederationError as exc:
        STATS[f"run: {type(exc).__name__}"] += 1
        return exc
    except Exception as exc:  # noqa: BLE001 - the property under test
        raise AssertionError(f"running raised {type(exc).__name__}: {exc}\n  query: {text!r}") from exc


@pytest.fixture(scope="module")
def catalog(fed):
    return catalog_of(fed)


@pytest.fixture(scope="module")
def arrow_reference(reference):
    """The reference tables as plain Arrow scans: DuckDB over its own tables may skip
    an expression its statistics prove dead, over Arrow it evaluates and may raise.
    Either answer is DuckDB's (see test_random_differential.py)."""
    con = duckdb.connect()
    for schema, table in reference.sql(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'reference'").fetchall():
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        con.register(f"arrow_{schema}_{table}", reference.sql(f'SELECT * FROM "{schema}"."{table}"').to_arrow_table())
        con.execute(f'CREATE VIEW "{schema}"."{table}" AS SELECT * FROM "arrow_{schema}_{table}"')
    yield con
    con.close()


@pytest.fixture(scope="module", autouse=True)
def report(dataset):
    """Fuzzing changes no store (the session guard checks again at the end), and
    says what it did."""
    root = os.path.dirname(dataset.config["sources"]["state"]["path"])
    before = hash_tree(root)
    yield
    assert hash_tree(root) == before, "fuzzing changed a source"
    if FUZZ_SECONDS:
        slowest = max(TIMINGS, default=(0, 0, ""))
        print(f"\nfuzz: {len(TIMINGS)} parse + plan, slowest {slowest[0]:.3f} s CPU / {slowest[1]:.3f} s wall;"
              f" outcomes: {dict(sorted(STATS.items()))}")


def _outcome(con, sql: str, params: dict):
    try:
        return con.sql(sql, params=params or None).to_arrow_table()
    except duckdb.Error:
        return None


# ---------------------------------------------------------------- properties


def test_generated_queries_plan(fed, catalog):
    @fuzz(examples=80, share=0.2)
    def body(data):
        generated: Generated = data.draw(st.one_of(queries(catalog), plan_only_query(catalog)))
        outcome = plan(fed, generated.fql, generated.params)
        # A valid query is planned; EXPLAIN of one too.
        assert not isinstance(outcome, federation.FederationError), f"{outcome!r}\n  query: {generated.fql}"

    body()


def test_generated_queries_match_the_reference(fed, reference, arrow_reference, catalog):
    @fuzz(examples=40, share=0.4)
    def body(data):
        generated: Generated = data.draw(queries(catalog))
        expected = _outcome(reference, generated.reference, generated.params)
        actual = run(fed, generated.fql, generated.params)
        where = f"\n  query: {generated.fql}\n  params: {generated.params}\n  reference: {generated.reference}"
        if isinstance(actual, federation.QueryTimeout):
            return  # a slow, valid query on a loaded machine: not the engine's answer
        if isinstance(actual, federation.FederationError):
            if expected is not None and isinstance(actual, federation.ExecutionError):
                expected = _outcome(arrow_reference, generated.reference, generated.params)
            assert expected is None, f"the engine raised {actual!r} where DuckDB answers{where}"
            return
        if expected is None:
            expected = _outcome(arrow_reference, generated.reference, generated.params)
            assert expected is not None, f"the engine answered where DuckDB raises{where}"
        try:
            assert_same(actual, expected, ordered=generated.ordered)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{where}") from None
        STATS["compared with the reference"] += 1

    body()


def test_mutated_queries_fail_cleanly(fed, catalog):
    @fuzz(examples=150, share=0.4)
    def body(data):
        seed: Generated = data.draw(st.one_of(queries(catalog), plan_only_query(catalog)))
        text = data.draw(mutations(seed.fql))
        params = {k: v for k, v in seed.params.items() if f"${k}" in text}
        outcome = plan(fed, text, params)
        # Run some of those that plan: execution must fail as cleanly.
        if not isinstance(outcome, federation.FederationError) and data.draw(st.integers(0, 3)) == 0:
            STATS["mutated and run"] += 1
            run(fed, text, params)

    body()


def test_each_parse_and_plan_takes_under_a_second():
    """The bar of the issue, on the slowest example of the fuzzers above."""
    assert TIMINGS, "run with the fuzz tests above"
    cpu, _, text = max(TIMINGS)
    assert cpu < PLAN_SECONDS, f"parse + plan took {cpu:.2f} s of CPU: {text!r}"
    _, wall, text = max(TIMINGS, key=lambda t: t[1])
    assert wall < HANG_SECONDS, f"parse + plan took {wall:.2f} s: {text!r}"


# ---------------------------------------------------------------- regressions: what the fuzzers found


def test_an_integer_too_long_for_python_is_a_syntax_error(fed):
    # int() refuses more than 4300 digits: a ValueError escaped from the parser
    with pytest.raises(federation.QuerySyntaxError, match="5000 digits"):
        fed.query("SELECT " + "9" * 5000 + " AS x")
    with pytest.raises(federation.QuerySyntaxError, match="digits"):
        fed.query("SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->{1," + "9" * 5000
                  + "}(b:Person) COLUMNS (a.id)) g")


DEEP = {
    "a chain of OR": lambda n: "SELECT id FROM state.people WHERE " + " OR ".join(f"id = {i}" for i in range(n)),
    "a chain of +": lambda n: "SELECT " + " + ".join(["1"] * n) + " AS x",
    "nested NOT": lambda n: "SELECT " + "NOT " * n + "TRUE AS x",
    "nested subqueries": lambda n: "SELECT " + "(SELECT " * n + "1" + ")" * n + " AS x",
    "nested IN subqueries": lambda n: "SELECT 1 AS x WHERE 1 IN " + "(SELECT 1 WHERE 1 IN " * n + "(1)" + ")" * n,
    "nested CASE": lambda n: "SELECT " + "CASE WHEN TRUE THEN " * n + "1" + " END" * n + " AS x",
    "a GRAPH_TABLE WHERE": lambda n: "SELECT * FROM GRAPH_TABLE (graph MATCH (a:Person) WHERE "
                                     + " OR ".join(f"a.id = {i}" for i in range(n)) + " COLUMNS (a.name)) g",
}


@pytest.mark.parametrize("shape", DEEP)
def test_deep_nesting_is_a_syntax_error_not_a_recursion_error(fed, shape):
    # A chain of 170 ORs exhausted Python's recursion limit in sqlglot's generator;
    # the parser now refuses more than MAX_NESTING levels. The deepest query it
    # accepts runs even when the caller's own stack is 250 frames deep.
    from federation.parser import MAX_NESTING, parse

    def accepted(n):
        try:
            parse(DEEP[shape](n))
            return True
        except federation.QuerySyntaxError:
            return False

    low, high = 1, 400
    assert accepted(low) and not accepted(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if accepted(middle) else (low, middle)

    def from_deep_stack(depth, action):
        return action() if depth == 0 else from_deep_stack(depth - 1, action)

    try:
        from_deep_stack(250, lambda: fed.query(DEEP[shape](low)))
    except federation.FederationError:
        pass  # e.g. an overflow: a clean error, not a RecursionError
    with pytest.raises(federation.QuerySyntaxError, match=f"more than {MAX_NESTING} levels"):
        fed.query(DEEP[shape](3000))


def test_a_lone_surrogate_in_the_query_text_is_a_syntax_error(fed):
    with pytest.raises(federation.QuerySyntaxError, match="U\\+D800") as info:
        fed.query("SELECT id FROM state.people WHERE name = 'x\ud800'")
    assert (info.value.line, info.value.column) == (1, 44)
    str(info.value).encode("utf-8")  # the message itself can be printed


def test_a_quoted_name_with_a_nul_is_a_syntax_error(fed):
    # DuckDB cut the column name at the NUL: `AS "a\0b"` was named 'a'
    with pytest.raises(federation.QuerySyntaxError, match="NUL"):
        fed.query('SELECT 1 AS "a\x00b"')


def test_a_string_literal_with_a_nul_is_answered_by_duckdb(fed):
    # SQLite's SQL text cannot carry a NUL: running whole in SQLite failed
    assert fed.plan("SELECT id FROM state.people WHERE name = 'a\x00b'").sql is not None
    assert fed.query("SELECT id FROM state.people WHERE name = 'a\x00b'").fetchall() == []
    assert fed.query("SELECT 'a\x00b' AS s").fetchall() == [("a\x00b",)]


def test_a_pattern_variable_named_like_a_parameter(fed):
    # the Kuzu source took `$x` inside a backticked name for an unbound parameter
    rows = fed.query('SELECT g.id FROM GRAPH_TABLE (graph MATCH ("$x":Person) WHERE "$x".id = $v'
                     ' COLUMNS ("$x".id AS id)) AS g', {"v": 1}).fetchall()
    assert rows == fed.query("SELECT id FROM graph.Person WHERE id = 1").fetchall()


def test_a_nul_is_never_pushed_into_sqlite_sql_or_a_lancedb_filter(fed):
    # Found by the injection corpus once filters were pushed into scans: a NUL
    # literal rendered into a SQLite scan's SQL cut it short (SourceError), and a
    # plan cached for one string parameter pushed a NUL-holding one into LanceDB
    # (ParameterError); both are now filtered by DuckDB.
    joined = "SELECT p.id FROM state.people p JOIN graph.Person g ON g.id = p.id WHERE p.name = 'a\x00b'"
    assert fed.query(joined).fetchall() == []
    scan = "SELECT id FROM knowledge.docs WHERE title = $t"
    assert fed.query(scan, {"t": "Zoë"}).fetchall() == []
    assert fed.query(scan, {"t": "a\x00b"}).fetchall() == []

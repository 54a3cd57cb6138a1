"""Injection-proof: hostile payloads in every position, against every source.

Each payload travels as a ``$parameter``, as a string literal (quotes doubled, as FQL
writes them) and as a quoted identifier. As a value it must select exactly what a
Python filter over the generated data selects (``=``, ``LIKE`` and ``IN``), in every
place a value can go: a SQLite query run whole in SQLite, a SQLite scan joined in
DuckDB, a GRAPH_TABLE ``WHERE`` and property map (Cypher parameters), a
VECTOR_SEARCH prefilter (a LanceDB filter string built by ``render_filter``) and a
LanceDB scan. As an identifier it must resolve (aliases, CTE and pattern variable
names) or be a clean ``CatalogError`` (tables, columns, labels, properties). The
stores are hashed before and after: nothing may change.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import federation
from datagen import _generate
from sourceguard import hash_tree

DATA = _generate(42)  # the tables every store of the `dataset` fixture was loaded from
PEOPLE = DATA.people.to_pylist()
PERSONS = DATA.person.to_pylist()
DOCS = DATA.docs.to_pylist()
VECTOR = "[0.5, -0.25, 1.0, 0.125, -0.75, 0.0, 0.375, -1.5]"

PAYLOADS = [
    # quotes and statement breaks
    "'", "''", '"', '""', "\\", "\\'", "';", '";', "'; DROP TABLE people; --",
    "x' OR '1'='1", "x' OR 1=1 --", "' OR ''='", "1' UNION SELECT name FROM sqlite_master --",
    "Robert'); DROP TABLE people;--", "'; ATTACH DATABASE '/tmp/evil.db' AS evil; --",
    "'; PRAGMA query_only = OFF; --",
    # comment starts
    "--", "/*", "*/", "-- comment\nx", "/* x */ 'a'", "#", "//",
    # backticks and Cypher
    "`", "``", "`) RETURN 1 //", "}) DETACH DELETE n //", "'}) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n //', "x'}) MATCH (n) DETACH DELETE n RETURN 1 //",
    "` OR 1=1 //", "$p0", "$x", "{name: 'x'}", "]->(n)", "'] RETURN n; CREATE (:Person {id: 0}) //",
    # LanceDB / DataFusion filter syntax
    "x' OR title IS NOT NULL OR 'a'='a", "') OR (1=1", "`title`", "title = title",
    "%' OR '%'='", "\\' OR 1=1 --", "x\\' OR \\'1\\'=\\'1", "' OR `id` > 0 OR '",
    # LIKE metacharacters
    "%", "_", "%%", "%_%", "\\%", "\\_", "[a-z]%", "%\\", "%O'Brien%", "_o%",
    # Unicode quotes, escapes and control characters
    "\u2019 OR \u20181\u2019=\u20191", "\uff07 OR 1=1 --", "\u02bc OR 1=1", "\\u0027 OR 1=1", "\\x27",
    "%27 OR 1=1", "&#39; OR 1=1", "\x00", "a\x00' OR '1'='1", "\r\n", "\t", "\u2028", "\u202e'",
    "\ufeff'", "\U0001d54f' OR '1'='1", "Zoë", "Zoe\u0308 Ward",
    # placeholder syntax of the engines
    ":name", ":p0", "?", "?1", "$1", "@x",
    # values that exist: they must match exactly, quotes and all
    "O'Brien", "Siobhán O'Brien", 'Bobby "Tables" Drop', "Émile D'Angelo", "anna lee",
    "O'Brien's take on python #18",
    # long ones
    "'" * 500, "x" * 5000,
]
# titles with LIKE's metacharacters and a backslash (C:\tmp\a_b 50%)
PAYLOADS += sorted({d["title"] for d in DOCS if "\\" in d["title"]})[:3]


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@functools.cache
def like_regex(pattern: str) -> re.Pattern:
    """SQL LIKE as FQL defines it: % and _, case-sensitive, no escape character."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.DOTALL)


def like(value: str | None, pattern: str) -> bool:
    return value is not None and like_regex(pattern).fullmatch(value) is not None


# ---------------------------------------------------------------- positions


@dataclass(frozen=True)
class Position:
    """One place a value can stand: the query for it, and which ids it must return."""

    name: str
    query: str  # {k} numbers the payload, {v} is the value: `$xk` or a literal
    rows: list[dict]
    column: str
    test: str  # "=", "LIKE" or "IN"
    check: Callable[[object], None] | None = None  # asserts the plan puts the value where meant

    def expected(self, payload: str) -> list[int]:
        def keep(row):
            value = row[self.column]
            if self.test == "LIKE":
                return like(value, payload)
            return value == payload  # IN (payload, 'nobody'): 'nobody' matches no row

        return sorted(r["id"] for r in self.rows if keep(r))


def _runs_whole_in_sqlite(plan):
    assert plan.sql is None, "meant to run whole in SQLite"


def _pushed_to_kuzu(plan):
    assert all("WHERE" in f.text or "{" in f.text for f in plan.fragments), "meant to be filtered in Cypher"


def _in_lance_filter(plan):
    assert all(".where(" in f.text for f in plan.fragments), "meant to be a LanceDB prefilter"


PERSON_IDS = {p["id"] for p in PERSONS}
JOINED = [r for r in PEOPLE if r["id"] in PERSON_IDS]

# Each query selects `{k} AS k` first: payloads are sent in batches, one UNION ALL
# operand per payload, so that the corpus costs few queries (and plans).
POSITIONS = []
for test, condition in (("=", "{col} = {{v}}"), ("LIKE", "{col} LIKE {{v}}"), ("IN", "{col} IN ({{v}}, 'nobody')")):
    POSITIONS += [
        Position(f"sqlite whole query {test}",
                 "SELECT {{k}} AS k, id FROM state.people WHERE " + condition.format(col="name"),
                 PEOPLE, "name", test, _runs_whole_in_sqlite),
        Position(f"sqlite scan + duckdb join {test}",
                 "SELECT {{k}} AS k, p.id FROM state.people p JOIN graph.Person g ON g.id = p.id WHERE "
                 + condition.format(col="p.name"),
                 JOINED, "name", test),
        Position(f"graph_table where {test}",
                 "SELECT {{k}} AS k, g.id FROM GRAPH_TABLE (graph MATCH (p:Person) WHERE "
                 + condition.format(col="p.name") + " COLUMNS (p.id AS id)) AS g",
                 PERSONS, "name", test, _pushed_to_kuzu if test != "LIKE" else None),
        Position(f"vector_search prefilter {test}",
                 "SELECT {{k}} AS k, id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE "
                 + condition.format(col="title") + f"), {VECTOR}, top_k => 1000)",
                 DOCS, "title", test, _in_lance_filter),
        Position(f"lancedb scan {test}",
                 "SELECT {{k}} AS k, id FROM knowledge.docs WHERE " + condition.format(col="title"),
                 DOCS, "title", test),
    ]
POSITIONS.append(Position(
    "graph_table property map =",
    "SELECT {k} AS k, g.id FROM GRAPH_TABLE (graph MATCH (p:Person {{name: {v}}}) COLUMNS (p.id AS id)) AS g",
    PERSONS, "name", "=", _pushed_to_kuzu))
POSITIONS = [dataclasses.replace(p, query=p.query.replace("{{k}}", "{k}").replace("{{v}}", "{v}"))
             if "{{k}}" in p.query else p for p in POSITIONS]

# The one refusal a value may meet: LanceDB filters are text, and cannot carry a NUL.
REFUSED = {("vector_search prefilter", "\x00"): federation.ParameterError}
BATCH = 25


def refusal(position: Position, payload: str):
    for (where, char), error in REFUSED.items():
        if position.name.startswith(where) and char in payload:
            return error
    return None


@pytest.fixture(scope="module")
def unchanged(dataset):
    """The stores, hashed before this module's queries and compared after them."""
    root = Path(dataset.config["sources"]["state"]["path"]).parent
    before = hash_tree(root)
    yield
    assert hash_tree(root) == before, "a payload changed a source"


def test_the_corpus_is_large_and_hostile():
    assert len(set(PAYLOADS)) == len(PAYLOADS) >= 50


def batch_query(position: Position, form: str, payloads: list[str]) -> tuple[str, dict]:
    operands, params = [], {}
    for k, payload in enumerate(payloads):
        if form == "parameter":
            params[f"x{k}"] = payload
        operands.append(position.query.format(k=k, v=f"$x{k}" if form == "parameter" else literal(payload)))
    return " UNION ALL ".join(operands), params


def misbehaviour(fed, position: Position, form: str, payloads: list[str], check: bool = False) -> list[str]:
    """What went wrong for these payloads (sent in one query), one line each."""
    query, params = batch_query(position, form, payloads)
    if check and position.check is not None:
        position.check(fed.plan(query, params))
    try:
        rows = fed.query(query, params).fetchall()
    except federation.FederationError as exc:
        if len(payloads) > 1:  # find which payload it was
            return [line for p in payloads for line in misbehaviour(fed, position, form, [p], check)]
        if isinstance(exc, refusal(position, payloads[0]) or ()):
            return []
        return [f"{payloads[0]!r}: {type(exc).__name__}: {str(exc)[:300]}"]
    failures = []
    for k, payload in enumerate(payloads):
        got = sorted(i for key, i in rows if key == k)
        if refusal(position, payload) is not None:
            failures.append(f"{payload!r}: returned rows where {refusal(position, payload).__name__} was expected")
        elif got != position.expected(payload):
            failures.append(f"{payload!r}: ids {got[:10]} but the reference filter selects "
                            f"{position.expected(payload)[:10]}")
    return failures


@pytest.mark.parametrize("form", ["parameter", "literal"])
@pytest.mark.parametrize("position", POSITIONS, ids=[p.name for p in POSITIONS])
def test_payload_as_a_value(fed, unchanged, position, form):
    # A NUL cannot be written in SQLite's SQL text: such a literal is computed by DuckDB.
    alone = [p for p in PAYLOADS if refusal(position, p) or (form == "literal" and "\x00" in p)]
    batched = [p for p in PAYLOADS if p not in alone]
    failures = []
    for start in range(0, len(batched), BATCH):
        failures += misbehaviour(fed, position, form, batched[start:start + BATCH], check=start == 0)
    for payload in alone:
        failures += misbehaviour(fed, position, form, [payload])
    assert not failures, f"{len(failures)} payloads misbehaved:\n" + "\n".join(failures)


# ---------------------------------------------------------------- identifiers

# {i} is the payload as a quoted identifier; each query must resolve it (and return
# `expected`) or, for names the catalog must know, raise CatalogError.
P1, P2 = sorted(PERSON_IDS)[:2]  # ids that are Kuzu Person nodes too
RESOLVING = [
    ("column alias, sqlite whole query", "SELECT id AS {i} FROM state.people WHERE id = 1", [(1,)]),
    ("column alias, duckdb join", "SELECT p.id AS {i} FROM state.people p JOIN graph.Person g ON g.id = p.id "
                                  f"WHERE p.id = {P1}", [(P1,)]),
    ("table alias", "SELECT {i}.id FROM state.people AS {i} WHERE {i}.id = 3", [(3,)]),
    ("cte name", "WITH {i} AS (SELECT id FROM state.people) SELECT COUNT(*) FROM {i}", [(200,)]),
    ("subquery alias and column", "SELECT t.{i} FROM (SELECT id AS {i} FROM state.people WHERE id = 4) AS t",
     [(4,)]),
    ("graph variable", "SELECT g.id FROM GRAPH_TABLE (graph MATCH ({i}:Person) WHERE {i}.id = " + str(P1)
                       + " COLUMNS ({i}.id AS id)) AS g", [(P1,)]),
    ("graph column and table alias", "SELECT {i}.{i} FROM GRAPH_TABLE (graph MATCH (p:Person {{id: " + str(P2)
                                     + "}}) COLUMNS (p.id AS {i})) AS {i}", [(P2,)]),
    ("vector_search alias", f"SELECT {{i}}.id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE id = 7),"
                            f" {VECTOR}) AS {{i}}", [(7,)]),
]
UNKNOWN = [
    ("table", "SELECT * FROM state.{i}"),
    ("unqualified table", "SELECT * FROM {i}"),
    ("source", "SELECT * FROM {i}.people"),
    ("column, sqlite", "SELECT {i} FROM state.people"),
    ("column, qualified", "SELECT p.{i} FROM state.people p"),
    ("column, lancedb", "SELECT {i} FROM knowledge.docs"),
    ("column, kuzu table", "SELECT {i} FROM graph.Person"),
    ("prefilter column", f"SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE {{i}} = 1), {VECTOR})"),
    ("node label", "SELECT * FROM GRAPH_TABLE (graph MATCH (p:{i}) COLUMNS (p.id)) g"),
    ("edge label", "SELECT * FROM GRAPH_TABLE (graph MATCH (p:Person)-[:{i}]->(q) COLUMNS (p.id)) g"),
    ("property", "SELECT * FROM GRAPH_TABLE (graph MATCH (p:Person) COLUMNS (p.{i})) g"),
    ("property map key", "SELECT * FROM GRAPH_TABLE (graph MATCH (p:Person {{{i}: 1}}) COLUMNS (p.id)) g"),
    ("vector column", f"SELECT id FROM VECTOR_SEARCH(knowledge.docs, {VECTOR}, column => {{s}})"),
]
@pytest.mark.parametrize("what, query, expected", RESOLVING, ids=[r[0] for r in RESOLVING])
def test_payload_as_a_name_that_resolves(fed, unchanged, what, query, expected):
    failures = []
    for payload in PAYLOADS:
        text = query.format(i=identifier(payload))
        try:
            result = fed.query(text)
        except federation.QuerySyntaxError as exc:
            if "\x00" not in payload:  # the one name no engine can hold
                failures.append(f"{payload!r}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        except federation.FederationError as exc:
            failures.append(f"{payload!r}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        if result.fetchall() != expected:
            failures.append(f"{payload!r}: {result.fetchall()[:3]} instead of {expected}")
        elif what.startswith("column alias") and result.columns != [payload]:
            failures.append(f"{payload!r}: the column is named {result.columns}")
    assert not failures, f"{len(failures)} payloads misbehaved:\n" + "\n".join(failures)


@pytest.mark.parametrize("what, query", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_payload_as_a_name_the_catalog_does_not_know(fed, unchanged, what, query):
    failures = []
    for payload in PAYLOADS:
        text = query.format(i=identifier(payload), s=literal(payload))
        try:
            fed.query(text)
        except federation.CatalogError:
            continue
        except federation.QuerySyntaxError as exc:
            if "\x00" not in payload or what == "vector column":
                failures.append(f"{payload!r}: {type(exc).__name__}: {str(exc)[:300]}")
        except federation.UnsupportedError as exc:
            if what == "vector column":  # checked against the catalog as well, with its own message
                continue
            failures.append(f"{payload!r}: {type(exc).__name__}: {str(exc)[:300]}")
        except federation.FederationError as exc:
            failures.append(f"{payload!r}: {type(exc).__name__}: {str(exc)[:300]}")
        else:
            failures.append(f"{payload!r}: resolved")
    assert not failures, f"{len(failures)} payloads misbehaved:\n" + "\n".join(failures)

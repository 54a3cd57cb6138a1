"""Hypothesis strategies for valid FQL over the test dataset, and a query mutator.

``queries(catalog)`` draws a ``Generated``: an FQL query built from the real catalog
(tables, columns and their types; the Person/Company/KNOWS/WORKS_AT graph; the docs
vectors), its parameters, and the same question as plain SQL for the reference DuckDB
database of ``datagen`` (GRAPH_TABLE patterns become joins over the rel tables, a
VECTOR_SEARCH whose top_k covers the table becomes its prefilter). Expressions are
typed by family (numbers, strings, booleans), so that a valid query stays valid.

``mutations(text)`` draws a corrupted version of a query: tokens deleted, duplicated,
swapped or replaced, random characters inserted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa
from hypothesis import strategies as st

VECTOR = "[0.5, -0.25, 1.0, 0.125, -0.75, 0.0, 0.375, -1.5]"


@dataclass(frozen=True)
class Table:
    source: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, family): "number" or "string"

    def of(self, family: str) -> list[str]:
        return [c for c, f in self.columns if f == family]


@dataclass
class Generated:
    fql: str
    reference: str | None  # None: no reference translation (plan and run only)
    params: dict = field(default_factory=dict)
    ordered: bool = False


def catalog_of(fed) -> dict[str, Table]:
    """The dataset's tables as the engine's catalog describes them, by `source.table`."""
    tables = {}
    for source in fed.sources.values():
        for info in source.tables().values():
            columns = []
            for column in info.columns:
                if column.type is None or pa.types.is_fixed_size_list(column.type):
                    continue
                family = ("number" if pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                          else "string" if pa.types.is_string(column.type) else None)
                if family:
                    columns.append((column.name, family))
            tables[f"{source.name}.{info.name}"] = Table(source.name, info.name, tuple(columns))
    return tables


# ---------------------------------------------------------------- expressions

STRINGS = ["'Paris'", "'O''Brien'", "''", "'Zoë Ward'", "'graphs'", "'active'", "'a'", "'%'", "'Müller GmbH'"]
PATTERNS = ["'%a%'", "'A%'", "'%e'", "'_o%'", "'%\\%'", "'%'", "'O''%'", "'%#2_'"]
NUMBERS = ["0", "1", "2", "7", "30", "45", "-3", "1.5", "0.25", "100", "2.5e1", "1000"]


class Expressions:
    """Typed expression text over some columns; literals may become $parameters."""

    def __init__(self, draw, columns: dict[str, list[str]], params: dict, *, rich: bool = True):
        self.draw = draw
        self.columns = columns  # family -> qualified column texts
        self.params = params
        self.rich = rich  # functions and arithmetic; off where a source must evaluate it

    def _param(self, text: str, value) -> str:
        if self.draw(st.integers(0, 4)) == 0:
            name = f"p{len(self.params)}"
            self.params[name] = value
            return f"${name}"
        return text

    def number(self, depth: int = 0) -> str:
        choice = self.draw(st.integers(0, 9 if self.rich and depth < 2 else 4))
        if choice <= 2 and self.columns.get("number"):
            return self.draw(st.sampled_from(self.columns["number"]))
        if choice <= 4:
            text = self.draw(st.sampled_from(NUMBERS))
            value = float(text) if ("." in text or "e" in text) else int(text)
            return self._param(text, value) if "." not in text and "e" not in text else text
        if choice <= 6:
            op = self.draw(st.sampled_from(["+", "-", "*", "/", "%"]))
            return f"({self.number(depth + 1)} {op} {self.number(depth + 1)})"
        if choice == 7:
            return f"ABS({self.number(depth + 1)})"
        if choice == 8:
            return f"COALESCE({self.number(depth + 1)}, {self.number(depth + 1)})"
        return f"ROUND({self.number(depth + 1)}, {self.draw(st.integers(0, 2))})"

    def string(self, depth: int = 0) -> str:
        choice = self.draw(st.integers(0, 9 if self.rich and depth < 2 else 4))
        if choice <= 2 and self.columns.get("string"):
            return self.draw(st.sampled_from(self.columns["string"]))
        if choice <= 4:
            text = self.draw(st.sampled_from(STRINGS))
            return self._param(text, text[1:-1].replace("''", "'"))
        if choice == 5:
            return f"({self.string(depth + 1)} || {self.string(depth + 1)})"
        if choice == 6:
            return f"{self.draw(st.sampled_from(['LOWER', 'UPPER', 'TRIM']))}({self.string(depth + 1)})"
        if choice == 7:
            return f"SUBSTR({self.string(depth + 1)}, {self.draw(st.integers(1, 3))}, {self.draw(st.integers(0, 4))})"
        if choice == 8:
            return f"REPLACE({self.string(depth + 1)}, 'a', 'o')"
        return f"COALESCE({self.string(depth + 1)}, {self.string(depth + 1)})"

    def value(self, family: str, depth: int = 0) -> str:
        return self.number(depth) if family == "number" else self.string(depth)

    def predicate(self, depth: int = 0) -> str:
        families = [f for f in ("number", "string") if self.columns.get(f)] or ["number"]
        family = self.draw(st.sampled_from(families))
        choice = self.draw(st.integers(0, 9 if depth < 2 else 6))
        if choice <= 2:
            op = self.draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
            return f"{self.value(family, depth + 1)} {op} {self.value(family, depth + 1)}"
        if choice == 3:
            return f"{self.value(family, depth + 1)} IS {self.draw(st.sampled_from(['', 'NOT ']))}NULL"
        if choice == 4:
            items = ", ".join(self.value(family, 2) for _ in range(self.draw(st.integers(1, 3))))
            return f"{self.value(family, depth + 1)} {self.draw(st.sampled_from(['', 'NOT ']))}IN ({items})"
        if choice == 5:
            return (f"{self.value(family, depth + 1)} {self.draw(st.sampled_from(['', 'NOT ']))}BETWEEN "
                    f"{self.value(family, 2)} AND {self.value(family, 2)}")
        if choice == 6:
            if not self.columns.get("string"):
                return f"{self.number(depth + 1)} IS NOT NULL"
            pattern = self.draw(st.sampled_from(PATTERNS))
            return f"{self.string(depth + 1)} {self.draw(st.sampled_from(['', 'NOT ']))}LIKE {pattern}"
        if choice == 7:
            return f"NOT ({self.predicate(depth + 1)})"
        op = self.draw(st.sampled_from(["AND", "OR"]))
        return f"({self.predicate(depth + 1)} {op} {self.predicate(depth + 1)})"


# ---------------------------------------------------------------- queries


def _columns(table: Table, alias: str) -> dict[str, list[str]]:
    return {family: [f"{alias}.{c}" for c in table.of(family)] for family in ("number", "string")}


@st.composite
def table_query(draw, catalog: dict[str, Table]) -> Generated:
    """One table (any source): a filtered projection, or a grouped aggregate."""
    name = draw(st.sampled_from(sorted(catalog)))
    table = catalog[name]
    params: dict = {}
    e = Expressions(draw, _columns(table, "t"), params)
    where = f" WHERE {e.predicate()}" if draw(st.booleans()) else ""
    if draw(st.integers(0, 2)) == 0 and table.columns:
        key = draw(st.sampled_from([f"t.{c}" for c, _ in table.columns]))
        agg = draw(st.sampled_from(["COUNT(*)", f"COUNT({key})", "MIN({n})", "MAX({n})", "SUM({n})", "AVG({n})"]))
        agg = agg.format(n=e.number(1)) if "{n}" in agg else agg  # draw no unused $parameter
        having = f" HAVING COUNT(*) > {draw(st.integers(0, 3))}" if draw(st.booleans()) else ""
        text = f"SELECT {key} AS g, {agg} AS a FROM {name} AS t{where} GROUP BY {key}{having}"
        return Generated(text, text, params)
    items = []
    for i in range(draw(st.integers(1, 3))):
        family = draw(st.sampled_from(["number", "string"]))
        items.append(f"{e.value(family)} AS c{i}")
    distinct = "DISTINCT " if draw(st.integers(0, 4)) == 0 else ""
    text = f"SELECT {distinct}{', '.join(items)} FROM {name} AS t{where}"
    if draw(st.integers(0, 3)) == 0:  # a LIMIT is only deterministic over a total order
        order = ", ".join(f"{i + 1} NULLS FIRST" for i in range(len(items)))
        text += f" ORDER BY {order} LIMIT {draw(st.integers(0, 20))}"
    return Generated(text, text, params)


JOINABLE = [  # number columns that hold the same ids, for equi-joins across sources
    ("state.people", "id", "graph.Person", "id"),
    ("state.people", "id", "state.orders", "person_id"),
    ("state.people", "id", "knowledge.docs", "author_id"),
    ("graph.Person", "id", "knowledge.docs", "author_id"),
    ("state.people", "city", "state.cities", "name"),
    ("graph.KNOWS", "_from", "state.people", "id"),
    ("graph.WORKS_AT", "_to", "graph.Company", "id"),
    ("state.orders", "person_id", "graph.Person", "id"),
]


@st.composite
def join_query(draw, catalog: dict[str, Table]) -> Generated:
    left, lcol, right, rcol = draw(st.sampled_from(JOINABLE))
    kind = draw(st.sampled_from(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]))
    params: dict = {}
    columns = _columns(catalog[left], "l")
    for family, names in _columns(catalog[right], "r").items():
        columns[family] = columns.get(family, []) + names
    e = Expressions(draw, columns, params)
    items = ", ".join(f"{e.value(draw(st.sampled_from(['number', 'string'])))} AS c{i}"
                      for i in range(draw(st.integers(1, 3))))
    where = f" WHERE {e.predicate()}" if draw(st.booleans()) else ""
    text = f"SELECT {items} FROM {left} AS l {kind} {right} AS r ON l.{lcol} = r.{rcol}{where}"
    return Generated(text, text, params)


# GRAPH_TABLE patterns: (FQL pattern, reference FROM clause, variables -> table)
PATTERNS_GRAPH = [
    ("(a:Person)", "graph.Person AS a", {"a": "graph.Person"}),
    ("(a:Person)-[k:KNOWS]->(b:Person)",
     "graph.Person AS a JOIN graph.KNOWS AS k ON k._from = a.id JOIN graph.Person AS b ON b.id = k._to",
     {"a": "graph.Person", "k": "graph.KNOWS", "b": "graph.Person"}),
    ("(a:Person)<-[k:KNOWS]-(b:Person)",
     "graph.Person AS a JOIN graph.KNOWS AS k ON k._to = a.id JOIN graph.Person AS b ON b.id = k._from",
     {"a": "graph.Person", "k": "graph.KNOWS", "b": "graph.Person"}),
    ("(a:Person)-[k:KNOWS]-(b:Person)",
     "graph.Person AS a JOIN graph.KNOWS AS k ON k._from = a.id OR k._to = a.id "
     "JOIN graph.Person AS b ON b.id = CASE WHEN k._from = a.id THEN k._to ELSE k._from END",
     {"a": "graph.Person", "k": "graph.KNOWS", "b": "graph.Person"}),
    ("(a:Person)-[w:WORKS_AT]->(c:Company)",
     "graph.Person AS a JOIN graph.WORKS_AT AS w ON w._from = a.id JOIN graph.Company AS c ON c.id = w._to",
     {"a": "graph.Person", "w": "graph.WORKS_AT", "c": "graph.Company"}),
    ("(a:Person)-[k:KNOWS]->(b:Person)-[w:WORKS_AT]->(c:Company)",
     "graph.Person AS a JOIN graph.KNOWS AS k ON k._from = a.id JOIN graph.Person AS b ON b.id = k._to "
     "JOIN graph.WORKS_AT AS w ON w._from = b.id JOIN graph.Company AS c ON c.id = w._to",
     {"a": "graph.Person", "k": "graph.KNOWS", "b": "graph.Person", "w": "graph.WORKS_AT", "c": "graph.Company"}),
]


@st.composite
def graph_query(draw, catalog: dict[str, Table]) -> Generated:
    pattern, joins, variables = draw(st.sampled_from(PATTERNS_GRAPH))
    params: dict = {}
    columns: dict[str, list[str]] = {"number": [], "string": []}
    for var, table in variables.items():
        for family, names in _columns(catalog[table], var).items():
            columns[family] += [n for n in names if not n.endswith(("._from", "._to"))]
    e = Expressions(draw, columns, params)
    conditions = [e.predicate() for _ in range(draw(st.integers(0, 2)))]
    node_props = ""
    if draw(st.integers(0, 3)) == 0:
        prop, value = draw(st.sampled_from([("name", "'O''Brien'"), ("name", "'Zoë Ward'"), ("id", "7"),
                                            ("age", "30"), ("name", "$who")]))
        if value == "$who":
            params["who"] = "Ana Smith"
        node_props = f" {{{prop}: {value}}}"
        conditions.append(f"a.{prop} = {value}")
        pattern = pattern.replace("(a:Person)", f"(a:Person{node_props})", 1)
    items = [f"{e.value(draw(st.sampled_from(['number', 'string'])))} AS c{i}" for i in range(draw(st.integers(1, 3)))]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    fql_where = f" WHERE {' AND '.join(conditions[:len(conditions) - (1 if node_props else 0)])}" \
        if len(conditions) > (1 if node_props else 0) else ""
    fql = (f"SELECT * FROM GRAPH_TABLE (graph MATCH {pattern}{fql_where} COLUMNS ({', '.join(items)})) AS g")
    reference = f"SELECT * FROM (SELECT {', '.join(items)} FROM {joins}{where}) AS g"
    return Generated(fql, reference, params)


PREFILTER_COLUMNS = {"number": ["id", "author_id"], "string": ["title", "topic"]}


@st.composite
def vector_query(draw, catalog: dict[str, Table]) -> Generated:
    """A search whose top_k covers the table: the answer is exactly the prefilter."""
    params: dict = {}
    e = Expressions(draw, PREFILTER_COLUMNS, params, rich=False)
    prefilter = e.predicate()
    outer = Expressions(draw, {f: [f"v.{c}" for c in cs] for f, cs in PREFILTER_COLUMNS.items()}, params)
    items = ", ".join(f"{outer.value(draw(st.sampled_from(['number', 'string'])))} AS c{i}"
                      for i in range(draw(st.integers(1, 2))))
    metric = draw(st.sampled_from(["l2", "cosine", "dot"]))
    fql = (f"SELECT {items} FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE {prefilter}), {VECTOR},"
           f" top_k => 1000, metric => '{metric}') AS v")
    reference = f"SELECT {items} FROM (SELECT * FROM knowledge.docs WHERE {prefilter}) AS v"
    return Generated(fql, reference, params)


@st.composite
def compound_query(draw, catalog: dict[str, Table]) -> Generated:
    """Set operations, IN (subquery), EXISTS and WITH over table queries."""
    choice = draw(st.integers(0, 2))
    params: dict = {}
    name = draw(st.sampled_from(["state.people", "graph.Person", "state.orders"]))
    other = draw(st.sampled_from(["state.people", "graph.Person", "knowledge.docs"]))
    key = {"state.people": "id", "graph.Person": "id", "state.orders": "person_id", "knowledge.docs": "author_id"}
    e = Expressions(draw, _columns(catalog[name], "t"), params)
    inner = Expressions(draw, _columns(catalog[other], "u"), params)
    if choice == 0:
        op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]))
        text = (f"SELECT t.{key[name]} AS k FROM {name} AS t WHERE {e.predicate()} {op} "
                f"SELECT u.{key[other]} FROM {other} AS u WHERE {inner.predicate()}")
    elif choice == 1:
        negated = draw(st.sampled_from(["", "NOT "]))
        text = (f"SELECT t.{key[name]} AS k FROM {name} AS t WHERE t.{key[name]} {negated}IN "
                f"(SELECT u.{key[other]} FROM {other} AS u WHERE {inner.predicate()})")
    else:
        text = (f"WITH w AS (SELECT t.{key[name]} AS k FROM {name} AS t WHERE {e.predicate()}) "
                f"SELECT w.k, COUNT(*) AS n FROM w GROUP BY w.k")
    return Generated(text, text, params)


def queries(catalog: dict[str, Table]) -> st.SearchStrategy[Generated]:
    return st.one_of(table_query(catalog), join_query(catalog), graph_query(catalog),
                     vector_query(catalog), compound_query(catalog))


@st.composite
def plan_only_query(draw, catalog: dict[str, Table]) -> Generated:
    """Shapes without a reference translation: quantified and shortest paths, explain."""
    hops = draw(st.sampled_from(["{1,2}", "{2}", "{0,1}", "*1..2", "{1,}"]))
    shortest = draw(st.sampled_from(["", "p = ANY SHORTEST "]))
    if shortest and not (hops.startswith("{1") or hops.startswith("*1")):
        hops = "{1,3}"
    columns = "b.name, path_length(p) AS hops" if shortest else "b.name"
    edge = f"-[:KNOWS{hops}]->" if hops.startswith("*") else f"-[:KNOWS]->{hops}"
    text = (f"SELECT * FROM GRAPH_TABLE (graph MATCH {shortest}(a:Person {{id: {draw(st.integers(1, 200))}}})"
            f"{edge}(b:Person) COLUMNS ({columns})) AS g")
    if draw(st.booleans()):
        text = "EXPLAIN " + text
    return Generated(text, None)


# ---------------------------------------------------------------- mutations

TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$\w+|\w+|<>|<=|>=|->|<-|=>|\.\.|::|\|\||\S")
VOCABULARY = ["SELECT", "FROM", "WHERE", "(", ")", ",", "'", '"', "$", "*", "JOIN", "ON", "UNION", "GRAPH_TABLE",
              "MATCH", "COLUMNS", "VECTOR_SEARCH", "-[", "]->", "{", "}", "..", "=>", "NULL", "NOT", "IN", "LIKE",
              "CASE", "END", "::", "[", "]", "--", "/*", ";", "EXPLAIN", "WITH", "AS", "ORDER BY", "LIMIT",
              "999999999999999999999999", "1e999", "-", "ANY SHORTEST", "path_length", "\x00", "\u2028", "é"]


@st.composite
def mutations(draw, text: str) -> str:
    tokens = TOKEN.findall(text)
    for _ in range(draw(st.integers(1, 4))):
        if not tokens:
            tokens = [draw(st.sampled_from(VOCABULARY))]
        i = draw(st.integers(0, len(tokens) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert", "bytes", "truncate"]))
        if kind == "delete":
            del tokens[i]
        elif kind == "duplicate":
            tokens.insert(i, tokens[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif kind == "replace":
            tokens[i] = draw(st.sampled_from(VOCABULARY))
        elif kind == "insert":
            tokens.insert(i, draw(st.sampled_from(VOCABULARY)))
        elif kind == "bytes":
            tokens.insert(i, draw(st.text(min_size=1, max_size=4)))
        else:
            tokens = tokens[:i]
    return " ".join(tokens)

"""Plan nodes: what the planner decides and the executor runs.

A ``Plan`` is a set of fragments, one native request per source access (SQL for
SQLite, Cypher for Kuzu, a search or scan for LanceDB), plus the DuckDB SQL that
joins, filters and aggregates their Arrow results. Nodes are small frozen dataclasses
with ``pretty()``, so optimizer rules (plan -> plan) can compare and replace them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

import pyarrow as pa
from sqlglot import exp

from . import ast
from .catalog import TableInfo


KEYS = "__keys"  # the native parameter a semi-join binds its keys to (every source, the executor)


SHIPPED = "__rows"  # prefix of the parameters that bind another fragment's rows (JSON)


@dataclass(frozen=True)
class ParamRef:
    """A user ``$parameter`` whose value is bound when the plan runs."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


def bind_value(value: object, params: Mapping[str, object]) -> object:
    return params[value.name] if isinstance(value, ParamRef) else value


def _show(value: object) -> str:
    if isinstance(value, ParamRef) and value.name == KEYS:
        return "<semi-join keys>"
    if isinstance(value, ParamRef) and value.name.startswith(SHIPPED):
        return "<rows of a fragment above>"
    if isinstance(value, ParamRef):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Fragment:
    """One request to one source; its result is one Arrow table."""

    source: str
    text: str  # the exact native request (SQL / Cypher / LanceDB call) as it is sent
    columns: tuple[str, ...]
    params: tuple[tuple[str, object], ...] = ()  # native parameter -> constant or ParamRef
    types: tuple[pa.DataType | None, ...] = field(default=(), compare=False)

    kind = "fragment"

    def bind(self, params: Mapping[str, object]) -> dict[str, object]:
        return {name: bind_value(value, params) for name, value in self.params}

    def user_params(self) -> frozenset[str]:
        return frozenset(v.name for _, v in self.params if isinstance(v, ParamRef))

    def pretty(self) -> str:
        lines = [f"{self.kind} {self.source}: " + self.text.replace("\n", "\n    ")]
        if self.params:
            lines.append("  params: " + ", ".join(f"{k}={_show(v)}" for k, v in self.params))
        return "\n".join(lines)


@dataclass(frozen=True)
class SqlFragment(Fragment):
    """SQL for a SQLite source; ``params`` bind ``:name`` placeholders.

    ``whole_query``: a query of arbitrary cost (joins, aggregates), run where it can
    be interrupted; a plain scan is bounded by the table and runs where it is fastest.
    """

    whole_query: bool = False
    # (table, columns): the columns whose stored values SQLite computes with or that
    # the driver could convert by itself, checked against their declared types
    # before the fragment runs (see SqliteSource.check_columns).
    reads: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)
    # (parameter, fragment index): the rows of that fragment, bound as one JSON array
    shipped: tuple[tuple[str, int], ...] = ()

    kind = "SQLite"


@dataclass(frozen=True)
class CypherFragment(Fragment):
    """One Cypher statement for a Kuzu source; every value is a ``$parameter``."""

    kind = "Kuzu"


@dataclass(frozen=True)
class VectorQuery:
    column: str
    query: object  # ParamRef | tuple of floats | str (embedded by the source's embedder)
    top_k: int
    metric: str


@dataclass(frozen=True)
class LanceFragment(Fragment):
    """A LanceDB scan, or a kNN search when ``vector`` is set.

    LanceDB filters are SQL text without parameter binding, so the filter is kept as
    an expression and rendered with escaped literals only when the values are known.
    """

    table: str = ""
    where: ast.Expr | None = None
    vector: VectorQuery | None = None
    limit: int | None = None
    keys_column: str | None = None  # semi-join: ``column IN (<keys>)`` added when the keys are known
    column_types: tuple[tuple[str, pa.DataType], ...] = field(default=(), compare=False)

    kind = "LanceDB"


# ---------------------------------------------------------------- logical plan
# What the binder hands the optimizer: the DuckDB query as a sqlglot tree whose
# leaves are placeholders (``__leafN``), and one ``Access`` per leaf saying what to
# fetch from its source. Optimizer rules (federation/optimizer) are pure functions
# Draft -> Draft; ``Planner.compile`` turns the final Draft into a ``Plan``.


@dataclass(frozen=True)
class Pushed:
    """A filter a source evaluates: canonical column names, unqualified."""

    expr: ast.Expr
    sql: exp.Expression  # the same condition as sqlglot, for sources that speak SQL

    def __str__(self) -> str:
        return self.sql.sql(dialect="duckdb")


@dataclass(frozen=True)
class Reduce:
    """Semi-join reduction: fetch only the rows whose ``column`` is among the values
    of ``producer_column`` in the result of access ``producer``."""

    producer: int
    producer_column: str  # a column of the producer's fragment ("": its first column)
    column: str  # a column of this access's table (a scan) or a graph output name
    required: bool = False  # the query asked for it (a prefilter IN subquery): no fallback
    rows: float | None = None  # the consumer's rows unreduced, when known exactly (a whole table)


@dataclass(frozen=True)
class Access:
    """One leaf: a table scan, a GRAPH_TABLE match or a VECTOR_SEARCH."""

    id: int
    source: str
    kind: str  # "scan" | "graph" | "search" | "query"
    table: TableInfo | None = None
    columns: tuple[str, ...] = ()
    required: frozenset[str] = frozenset()  # fetched whatever the tree uses (*, USING)
    filters: tuple[Pushed, ...] = ()
    order: tuple[tuple[str, bool, bool], ...] = ()  # (column, descending, nulls first)
    limit: int | None = None
    graph: object | None = None  # sources.kuzu.GraphRequest
    vector: VectorQuery | None = None
    prefilter: ast.Expr | None = None
    query: exp.Expression | None = None  # "query": a subtree for one SQLite source; "derived": DuckDB SQL
    output: tuple[tuple[str, pa.DataType], ...] = ()
    estimate: float | None = None
    reduce: Reduce | None = None
    # "query": which output column carries which leaf's column, (leaf id, column) -> name,
    # so that the query's rows take part in semi-joins the binder tagged on its leaves
    provides: tuple[tuple[tuple[int, str], str], ...] = ()
    # "query" run as the last step: the accesses whose rows it reads (optimizer/shipping.py)
    inputs: tuple[int, ...] = ()

    @property
    def placeholder(self) -> str:
        return f"__leaf{self.id}"


@dataclass(frozen=True)
class Draft:
    tree: exp.Expression
    accesses: tuple[Access, ...]

    def access(self, leaf_id: int) -> Access:
        return next(a for a in self.accesses if a.id == leaf_id)

    def replace(self, *accesses: Access, tree: exp.Expression | None = None) -> "Draft":
        by_id = {a.id: a for a in accesses}
        return Draft(tree if tree is not None else self.tree,
                     tuple(by_id.get(a.id, a) for a in self.accesses))


@dataclass(frozen=True)
class SemiJoin:
    """At run time: the keys of fragment ``producer``'s ``producer_column`` are bound
    into ``reduced`` (this fragment with ``column IN (keys)``); above ``max_keys``
    distinct keys the unreduced fragment runs instead."""

    producer: int
    producer_column: str
    column: str
    reduced: Fragment
    max_keys: int | None  # None: required, whatever the number of keys
    few: Fragment | None = None  # runs instead of ``reduced`` for up to ``few_keys`` keys
    few_keys: int = 0

    def request(self, keys: int) -> Fragment:
        """The reduced fragment that runs for this many keys."""
        return self.few if self.few is not None and keys <= self.few_keys else self.reduced


@dataclass(frozen=True)
class DerivedFragment(Fragment):
    """DuckDB SQL over other fragments (``inputs``), run before the fragments that
    need its result: the subquery of a prefilter ``column IN (SELECT ...)``."""

    inputs: tuple[int, ...] = ()

    kind = "DuckDB"

    def pretty(self) -> str:
        return "DuckDB, first: " + self.text.replace("\n", "\n    ")


@dataclass(frozen=True)
class Plan:
    """Fragments plus the DuckDB SQL over them (``None`` when one fragment is the answer).

    ``estimates``, ``semijoins`` and ``notes`` run parallel to ``fragments``: the
    planner's row estimate, the run-time semi-join reduction (if any) and what was
    pushed into the fragment, for EXPLAIN.
    """

    fragments: tuple[Fragment, ...]
    sql: str | None
    sql_params: tuple[str, ...] = ()
    # When a single fragment is the whole answer: the names and types DuckDB would give.
    output: tuple[tuple[str, pa.DataType], ...] | None = field(default=None, compare=False)
    params: frozenset[str] = frozenset()
    estimates: tuple[float | None, ...] = field(default=(), compare=False)
    semijoins: tuple[SemiJoin | None, ...] = ()
    notes: tuple[tuple[str, ...], ...] = field(default=(), compare=False)

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(f.source for f in self.fragments if not isinstance(f, DerivedFragment))

    def dependencies(self, index: int) -> frozenset[int]:
        """The fragments that must finish before fragment ``index`` can run."""
        fragment = self.fragments[index]
        semijoin = self.semijoin(index)
        found = set(fragment.inputs) if isinstance(fragment, DerivedFragment) else set()
        found |= {i for _, i in getattr(fragment, "shipped", ())}
        if semijoin is not None:
            found.add(semijoin.producer)
        return frozenset(found)

    def semijoin(self, index: int) -> SemiJoin | None:
        return self.semijoins[index] if index < len(self.semijoins) else None

    def estimate(self, index: int) -> float | None:
        return self.estimates[index] if index < len(self.estimates) else None

    def pretty(self, steps: Mapping[str, object] | None = None) -> str:
        """The plan tree; with ``steps`` (name -> executor Step), what each step did."""
        steps = steps or {}

        def actual(name: str, estimate: float | None = None) -> str:
            step = steps.get(name)
            if step is None:
                return f"   [est. ~{_rows(estimate)} rows]" if estimate is not None else ""
            hit = ", cache hit" if step.cache_hit else ""
            est = f" (est. ~{_rows(estimate)})" if estimate is not None else ""
            return f"   [{step.rows} rows{est}, {step.seconds * 1000:.1f} ms{hit}]"

        lines = []
        if self.sql is None and len(self.fragments) > 1:
            lines.append(f"Result: the last step runs in SQLite ({fragment_name(len(self.fragments) - 1)}), "
                         "over the rows of the fragments above it")
        elif self.sql is None:
            lines.append("Result: the whole query runs in one source")
        else:
            lines.append("DuckDB: " + self.sql.replace("\n", "\n  ") + actual("DuckDB"))
            if self.sql_params:
                lines.append("  params: " + ", ".join(f"${p}" for p in self.sql_params))
        for i, fragment in enumerate(self.fragments):
            last = i == len(self.fragments) - 1
            branch, rest = ("└─ ", "   ") if last else ("├─ ", "│  ")
            name = fragment_name(i)
            step = steps.get(name)
            semijoin = self.semijoin(i)
            shown = fragment
            if semijoin is not None and step is not None and getattr(step, "reduced", False):
                shown = getattr(step, "fragment", None) or semijoin.request(step.keys or 0)
            body = shown.pretty().split("\n")
            head = f"{name} " if self.sql is not None or len(self.fragments) > 1 else ""
            lines.append(branch + head + body[0] + actual(name, self.estimate(i)))
            lines.extend(rest + "  " + line for line in body[1:])
            notes = list(self.notes[i]) if i < len(self.notes) else []
            if semijoin is not None:
                keys = f"keys of {fragment_name(semijoin.producer)}" + (
                    f".{semijoin.producer_column}" if semijoin.producer_column else "")
                text = f"semi-join: {semijoin.column} IN ({keys})" + (
                    f", unless more than {semijoin.max_keys} keys" if semijoin.max_keys is not None else "")
                if step is not None:
                    text += (f" -> {step.keys} keys, reduced" if getattr(step, "reduced", False)
                             else f" -> {step.keys} keys, not reduced")
                notes.append(text)
            lines.extend(rest + "  " + note for note in notes)
        return "\n".join(lines)


    def to_json(self, steps: Mapping[str, object] | None = None, totals: Mapping[str, object] | None = None) -> str:
        """The plan (and, with ``steps``, what each step did) as JSON, for tools."""
        steps = steps or {}
        fragments = []
        for i, fragment in enumerate(self.fragments):
            name = fragment_name(i)
            step = steps.get(name)
            semijoin = self.semijoin(i)
            ran = getattr(step, "fragment", None) if step is not None else fragment
            entry = {
                "name": name,
                "source": fragment.source,
                "kind": fragment.kind,
                "request": ran.text if ran is not None else None,
                "params": ({k: _json_value(v) for k, v in step.bound} if step is not None
                           else {k: _json_value(v) for k, v in fragment.params}),
                "columns": list(fragment.columns),
                "pushed": list(self.notes[i]) if i < len(self.notes) else [],
                "estimated_rows": self.estimate(i),
                "actual_rows": step.rows if step is not None else None,
                "ms": round(step.seconds * 1000, 3) if step is not None else None,
                "cache_hit": step.cache_hit if step is not None else None,
                "semi_join": None,
            }
            if semijoin is not None:
                entry["semi_join"] = {
                    "producer": fragment_name(semijoin.producer),
                    "producer_column": semijoin.producer_column,
                    "column": semijoin.column,
                    "max_keys": semijoin.max_keys,
                    "reduced_request": semijoin.reduced.text,
                    "few_keys": semijoin.few_keys,
                    "few_request": semijoin.few.text if semijoin.few is not None else None,
                    "keys": getattr(step, "keys", None) if step is not None else None,
                    "reduced": getattr(step, "reduced", None) if step is not None else None,
                }
            fragments.append(entry)
        duck = steps.get("DuckDB")
        document = {
            "duckdb": None if self.sql is None else {
                "sql": self.sql,
                "params": list(self.sql_params),
                "rows": duck.rows if duck is not None else None,
                "ms": round(duck.seconds * 1000, 3) if duck is not None else None,
            },
            "fragments": fragments,
            "totals": dict(totals) if totals is not None else None,
        }
        return json.dumps(document, indent=2, default=str)


def _json_value(value: object) -> object:
    if isinstance(value, ParamRef):
        return str(value)
    if isinstance(value, list) and len(value) > 20:
        return value[:20] + [f"... {len(value)} values in all"]
    if isinstance(value, (str, int, float, bool, type(None), list)):
        return value
    return repr(value)


def _rows(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:.2g}"


def fragment_name(index: int) -> str:
    return f"__f{index}"

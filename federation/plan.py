"""Plan nodes: what the planner decides and the executor runs.

A ``Plan`` is a set of fragments, one native request per source access (SQL for
SQLite, Cypher for Kuzu, a search or scan for LanceDB), plus the DuckDB SQL that
joins, filters and aggregates their Arrow results. Nodes are small frozen dataclasses
with ``pretty()``, so optimizer rules (plan -> plan) can compare and replace them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pyarrow as pa

from . import ast


@dataclass(frozen=True)
class ParamRef:
    """A user ``$parameter`` whose value is bound when the plan runs."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


def bind_value(value: object, params: Mapping[str, object]) -> object:
    return params[value.name] if isinstance(value, ParamRef) else value


def _show(value: object) -> str:
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
    column_types: tuple[tuple[str, pa.DataType], ...] = field(default=(), compare=False)

    kind = "LanceDB"


@dataclass(frozen=True)
class Plan:
    """Fragments plus the DuckDB SQL over them (``None`` when one fragment is the answer)."""

    fragments: tuple[Fragment, ...]
    sql: str | None
    sql_params: tuple[str, ...] = ()
    # When a single fragment is the whole answer: the names and types DuckDB would give.
    output: tuple[tuple[str, pa.DataType], ...] | None = field(default=None, compare=False)
    params: frozenset[str] = frozenset()

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(f.source for f in self.fragments)

    def pretty(self, steps: Mapping[str, object] | None = None) -> str:
        """The plan tree; with ``steps`` (name -> executor Step), what each step did."""
        steps = steps or {}

        def actual(name: str) -> str:
            step = steps.get(name)
            if step is None:
                return ""
            hit = ", cache hit" if step.cache_hit else ""
            return f"   [{step.rows} rows, {step.seconds * 1000:.1f} ms{hit}]"

        lines = []
        if self.sql is None:
            lines.append("Result: the whole query runs in one source")
        else:
            lines.append("DuckDB: " + self.sql.replace("\n", "\n  ") + actual("DuckDB"))
            if self.sql_params:
                lines.append("  params: " + ", ".join(f"${p}" for p in self.sql_params))
        for i, fragment in enumerate(self.fragments):
            last = i == len(self.fragments) - 1
            branch, rest = ("└─ ", "   ") if last else ("├─ ", "│  ")
            body = fragment.pretty().split("\n")
            head = f"{fragment_name(i)} " if self.sql is not None else ""
            lines.append(branch + head + body[0] + actual(fragment_name(i)))
            lines.extend(rest + "  " + line for line in body[1:])
        return "\n".join(lines)


def fragment_name(index: int) -> str:
    return f"__f{index}"

"""The FQL abstract syntax tree: small frozen dataclasses, built by ``parser``.

Every node that a user wrote carries ``pos`` (line, column), excluded from equality,
so two queries that differ only in layout compare (and cache) as equal.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field, fields
from typing import Iterator, Union

Pos = tuple[int, int]


def _pos() -> Pos:
    return field(default=(0, 0), compare=False, repr=False)  # type: ignore[return-value]


class Node:
    """Shared behaviour: walk the children of any node."""

    # Nodes are immutable: a copy is the node itself (plans copy sqlglot trees whose
    # annotations refer to AST nodes; copying those would cost more than the plan).
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def children(self) -> list["Node"]:
        found: list[Node] = []
        for name in _field_names(type(self)):
            _nodes_in(getattr(self, name), found)
        return found

    def walk(self) -> Iterator["Node"]:
        """This node and all nodes below it, depth first (without recursion)."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            children = node.children()
            children.reverse()
            stack.extend(children)

    def parameters(self) -> set[str]:
        """The names of the ``$parameters`` used at or below this node (a new set; the
        walk is done once per node: nodes never change)."""
        found = self.__dict__.get("_parameters")
        if found is None:
            found = frozenset(node.name for node in self.walk() if isinstance(node, Param))
            object.__setattr__(self, "_parameters", found)
        return set(found)


# Annotations of fields that never hold a node: walks and rewrites skip them.
_SCALAR_FIELDS = {"Pos", "str", "str | None", "bool", "int", "tuple[str, ...]", "tuple[int, ...]"}


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold nodes (or tuples of them)."""
    return tuple(f.name for f in fields(cls) if f.type not in _SCALAR_FIELDS)


def _nodes_in(value: object, found: list[Node]) -> None:
    if isinstance(value, Node):
        found.append(value)
    elif isinstance(value, tuple):
        for item in value:
            _nodes_in(item, found)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Literal(Node):
    value: object  # int | float | Decimal | str | bool | None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Param(Node):
    name: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class Column(Node):
    name: str
    table: str | None = None
    pos: Pos = _pos()

    def __str__(self) -> str:
        return f"{self.table}.{self.name}" if self.table else self.name


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "NOT"
    operand: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / % || = <> < <= > >= AND OR
    left: "Expr"
    right: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class IsNull(Node):
    operand: "Expr"
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class InList(Node):
    operand: "Expr"
    items: tuple["Expr", ...]
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class InQuery(Node):
    operand: "Expr"
    query: "Query"
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class Between(Node):
    operand: "Expr"
    low: "Expr"
    high: "Expr"
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class Like(Node):
    operand: "Expr"
    pattern: "Expr"
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class Exists(Node):
    query: "Query"
    pos: Pos = _pos()


@dataclass(frozen=True)
class ScalarSubquery(Node):
    query: "Query"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Function(Node):
    name: str  # upper-cased
    args: tuple["Expr", ...] = ()
    distinct: bool = False
    star: bool = False  # COUNT(*)
    pos: Pos = _pos()


@dataclass(frozen=True)
class Case(Node):
    operand: "Expr | None"
    whens: tuple[tuple["Expr", "Expr"], ...]
    default: "Expr | None" = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class TypeName(Node):
    name: str  # upper-cased
    args: tuple[int, ...] = ()
    array_depth: int = 0
    pos: Pos = _pos()


@dataclass(frozen=True)
class Cast(Node):
    operand: "Expr"
    to: TypeName
    pos: Pos = _pos()


@dataclass(frozen=True)
class Array(Node):
    items: tuple["Expr", ...]
    pos: Pos = _pos()


Expr = Union[
    Literal, Param, Column, Unary, Binary, IsNull, InList, InQuery, Between, Like,
    Exists, ScalarSubquery, Function, Case, Cast, Array,
]

# ---------------------------------------------------------------- FROM items


@dataclass(frozen=True)
class Alias(Node):
    name: str
    columns: tuple[str, ...] = ()
    pos: Pos = _pos()


@dataclass(frozen=True)
class TableRef(Node):
    """``source.table`` or an unqualified name (a CTE or a table of one source)."""

    name: str
    source: str | None = None
    alias: Alias | None = None
    pos: Pos = _pos()

    def __str__(self) -> str:
        return f"{self.source}.{self.name}" if self.source else self.name


@dataclass(frozen=True)
class SubqueryRef(Node):
    query: "Query"
    alias: Alias | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class NodePattern(Node):
    var: str | None
    label: str | None
    properties: tuple[tuple[str, "Expr"], ...] = ()
    pos: Pos = _pos()


@dataclass(frozen=True)
class EdgePattern(Node):
    var: str | None
    label: str | None
    direction: str  # "right" (->), "left" (<-) or "any" (-)
    min_hops: int = 1
    max_hops: int = 1
    quantified: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class PathPattern(Node):
    nodes: tuple[NodePattern, ...]
    edges: tuple[EdgePattern, ...]  # edges[i] joins nodes[i] and nodes[i + 1]
    path_var: str | None = None
    shortest: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class GraphColumn(Node):
    expr: "Expr"
    name: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class GraphTable(Node):
    source: str
    patterns: tuple[PathPattern, ...]
    where: "Expr | None"
    columns: tuple[GraphColumn, ...]
    alias: Alias | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class VectorSearch(Node):
    table: TableRef
    prefilter: "Expr | None"
    query: "Expr"
    options: tuple[tuple[str, "Expr"], ...] = ()
    alias: Alias | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Join(Node):
    kind: str  # INNER LEFT RIGHT FULL CROSS
    left: "FromItem"
    right: "FromItem"
    on: "Expr | None" = None
    using: tuple[str, ...] = ()
    pos: Pos = _pos()


FromItem = Union[TableRef, SubqueryRef, GraphTable, VectorSearch, Join]

# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class Star(Node):
    table: str | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class SelectItem(Node):
    expr: "Expr | Star"
    alias: str | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Select(Node):
    items: tuple[SelectItem, ...]
    from_: tuple[FromItem, ...] = ()
    where: "Expr | None" = None
    group_by: tuple["Expr", ...] = ()
    having: "Expr | None" = None
    distinct: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class SetOp(Node):
    op: str  # UNION INTERSECT EXCEPT
    all: bool
    left: "QueryBody"
    right: "QueryBody"
    pos: Pos = _pos()


@dataclass(frozen=True)
class OrderItem(Node):
    expr: "Expr"
    descending: bool = False
    nulls: str | None = None  # "FIRST" | "LAST" | None (DuckDB's default: last)
    pos: Pos = _pos()


@dataclass(frozen=True)
class CTE(Node):
    name: str
    query: "Query"
    columns: tuple[str, ...] = ()
    pos: Pos = _pos()


@dataclass(frozen=True)
class Query(Node):
    body: "QueryBody"
    ctes: tuple[CTE, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit: "Expr | None" = None
    offset: "Expr | None" = None
    pos: Pos = _pos()


QueryBody = Union[Select, SetOp, Query]

# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class QueryStatement(Node):
    query: Query
    pos: Pos = _pos()


@dataclass(frozen=True)
class Explain(Node):
    query: Query
    analyze: bool = False  # EXPLAIN ANALYZE: run it and report what each step did
    format: str = "text"  # EXPLAIN (format => 'json'): for tools
    pos: Pos = _pos()


@dataclass(frozen=True)
class ShowSources(Node):
    pos: Pos = _pos()


@dataclass(frozen=True)
class ShowTables(Node):
    source: str | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Describe(Node):
    table: TableRef
    pos: Pos = _pos()


Statement = Union[QueryStatement, Explain, ShowSources, ShowTables, Describe]


def rewrite(node, replace):
    """``node`` with each node below it (itself included) for which ``replace`` returns
    a node swapped for that one, top-down: a replaced node is not searched further.
    Tuples are followed at any depth (CASE keeps ``(when, then)`` pairs); a node
    nothing below changed in is returned as it is."""
    if isinstance(node, Node):
        found = replace(node)
        if found is not None:
            return found
        changes = {}
        for name in _field_names(type(node)):
            value = getattr(node, name)
            new = rewrite(value, replace)
            if new is not value:
                changes[name] = new
        return dataclasses.replace(node, **changes) if changes else node
    if isinstance(node, tuple):
        items = tuple(rewrite(v, replace) for v in node)
        return node if all(a is b for a, b in zip(items, node)) else items
    return node


def map_columns(expr: "Expr", change) -> "Expr":
    """``expr`` with every column reference replaced by ``change(column)``."""
    return rewrite(expr, lambda node: change(node) if isinstance(node, Column) else None)


AGGREGATES = {"COUNT", "SUM", "AVG", "MIN", "MAX"}  # FQL's aggregate functions


def output_names(query: "Query") -> list[str] | None:
    """The column names a SELECT query gives its rows: each item's alias, or the name
    of a plain column; None for a set operation, ``*``, or a name DuckDB makes up."""
    if not isinstance(query.body, Select):
        return None
    names = []
    for item in query.body.items:
        if item.alias:
            names.append(item.alias)
        elif isinstance(item.expr, Column):
            names.append(item.expr.name)
        else:
            return None
    return names


def conjuncts(expr: "Expr | None") -> list["Expr"]:
    """The AND-ed parts of a condition (none for no condition)."""
    if expr is None:
        return []
    if isinstance(expr, Binary) and expr.op == "AND":
        return conjuncts(expr.left) + conjuncts(expr.right)
    return [expr]


def and_all(exprs: list["Expr"]) -> "Expr | None":
    """The conjunction of ``exprs`` (None for none): the inverse of ``conjuncts``."""
    result = None
    for e in exprs:
        result = e if result is None else Binary("AND", result, e)
    return result

"""Row estimates: source statistics (row counts, cached per data version) times
simple selectivities of the filters each access carries. They only choose the
order of work (which side of a join runs first); results never depend on them."""

from __future__ import annotations

import math
from dataclasses import replace

from .. import ast
from ..plan import Access, Draft
from .context import Context

# Selectivity of one condition, in the spirit of System R's defaults.
EQUALS = 0.01
RANGE = 0.3
LIKE = 0.1
IS_NULL = 0.05
OTHER = 0.5
MAX_HOPS = 4  # a quantified edge *1..30 is estimated as if it stopped here


def estimate_rows(draft: Draft, context: Context) -> Draft:
    return draft.replace(*(replace(a, estimate=_estimate(a, context)) for a in draft.accesses))


def _estimate(access: Access, context: Context) -> float | None:
    if access.kind == "search":
        return float(access.vector.top_k)
    if access.kind == "query":
        return access.estimate  # the subtree rule's, from its tables and filters
    if access.kind not in ("scan", "graph"):
        return None
    source = context.source(access.source)
    if access.kind == "scan":
        count = source.row_count(access.table)
        if count is None:
            return None
        rows = filtered_rows(count, access.table, [f.expr for f in access.filters])
        return min(rows, access.limit) if access.limit is not None else rows
    return graph_rows(access.graph, source, context)


def filtered_rows(count: float, table, conditions) -> float:
    """Rows of ``table`` (``count`` in all) that ``conditions`` keep: at most one when
    one of them fixes its primary key."""
    rows = count * math.prod(selectivity(c) for c in conditions)
    return min(rows, 1.0) if fixes_key(table, conditions) else rows


def fixes_key(table, conditions, properties=()) -> bool:
    """Whether a condition ``key = value`` (or a pattern's property map) fixes the
    primary key of ``table``, so that at most one row matches."""
    key = table.option("primary_key") if table is not None else None
    if key is None:
        return False
    if any(name.lower() == key.lower() for name in properties):
        return True
    for c in conditions:
        if isinstance(c, ast.Binary) and c.op == "=":
            sides = (c.left, c.right)
            if any(isinstance(x, ast.Column) and x.name.lower() == key.lower() for x in sides) \
                    and any(isinstance(x, (ast.Literal, ast.Param)) for x in sides):
                return True
    return False


def selectivity(expr: ast.Expr) -> float:
    if isinstance(expr, ast.Binary) and expr.op == "AND":
        return selectivity(expr.left) * selectivity(expr.right)
    if isinstance(expr, ast.Binary) and expr.op == "OR":
        return min(1.0, selectivity(expr.left) + selectivity(expr.right))
    if isinstance(expr, ast.Unary) and expr.op == "NOT":
        return 1.0 - selectivity(expr.operand)
    if isinstance(expr, ast.Binary) and expr.op == "=":
        return EQUALS
    if isinstance(expr, ast.Binary) and expr.op == "<>":
        return 1.0 - EQUALS
    if isinstance(expr, (ast.Binary, ast.Between)):
        return RANGE if not getattr(expr, "negated", False) else 1.0 - RANGE
    if isinstance(expr, ast.InList):
        inside = min(1.0, EQUALS * len(expr.items))
        return 1.0 - inside if expr.negated else inside
    if isinstance(expr, ast.Like):
        return 1.0 - LIKE if expr.negated else LIKE
    if isinstance(expr, ast.IsNull):
        return 1.0 - IS_NULL if expr.negated else IS_NULL
    return OTHER


def graph_rows(request, source, context: Context) -> float | None:
    """Matches of a GRAPH_TABLE pattern: walked from its most selective node, that
    node's rows times each edge's mean degree in the direction it is walked
    (relationships per node of the label it leaves from)."""
    tables = context.catalog.tables(source)
    conditions: dict[str, list[ast.Expr]] = {}
    for conjunct in ast.conjuncts(request.where):
        names = {c.table for c in conjunct.walk() if isinstance(c, ast.Column)}
        if len(names) == 1:
            conditions.setdefault(names.pop(), []).append(conjunct)
    total = 1.0
    for pattern in request.patterns:
        starts = []
        for node in pattern.nodes:
            count = _count(node.label, "node", tables, source)
            if count is None:
                return None
            sel = EQUALS ** len(node.properties)
            sel *= math.prod(selectivity(c) for c in conditions.get(node.var, []))
            rows = count * sel
            if fixes_key(tables.get(node.label) if node.label else None, conditions.get(node.var, []),
                         [name for name, _ in node.properties]):
                rows = min(rows, 1.0)
            starts.append(rows)
        first = min(range(len(starts)), key=starts.__getitem__)
        rows = starts[first]
        for i in range(first, len(pattern.edges)):  # rightwards: from nodes[i] to nodes[i + 1]
            rows *= _fanout(pattern.edges[i], pattern.nodes[i].label, True, tables, source)
        for i in range(first - 1, -1, -1):  # leftwards: from nodes[i + 1] to nodes[i]
            rows *= _fanout(pattern.edges[i], pattern.nodes[i + 1].label, False, tables, source)
        total *= rows
    return total


def _fanout(edge, label, rightwards: bool, tables, source) -> float:
    """Relationships of ``edge`` per node of ``label`` it is walked from (``rightwards``:
    from the pattern's left node), summed over the hops of a quantified edge."""
    if edge.direction == "any":
        degree = _degree(edge, label, True, tables, source) + _degree(edge, label, False, tables, source)
    else:
        degree = _degree(edge, label, (edge.direction == "right") == rightwards, tables, source)
    if degree is None:
        return 10.0
    if not edge.quantified:
        return max(degree, 1e-3)
    hops = range(edge.min_hops, min(edge.max_hops, MAX_HOPS) + 1)
    return max(sum(degree ** h for h in hops), 1e-3)


def _degree(edge, label, outgoing: bool, tables, source) -> float | None:
    """Mean out- (or in-) degree: the type's relationships over the nodes of the
    labels on that side of it (a type between several pairs of labels is taken as
    spread evenly over them; one between one pair is exact)."""
    rels = _count(edge.label, "rel", tables, source)
    if rels is None:
        return None
    info = tables.get(edge.label) if edge.label is not None else None
    ends = info.option("ends") if info is not None else None
    if not ends:  # any type: every relationship over every node
        nodes = _count(None, "node", tables, source)
        return rels / max(nodes or 1.0, 1.0)
    side = {(src if outgoing else dst) for src, dst, *_ in ends}
    if label is not None and label.lower() not in {name.lower() for name in side}:
        return 0.0
    return end_degree(info, outgoing, tables, source)


def end_degree(table, outgoing: bool, tables, source) -> float | None:
    """Mean out- (or in-) degree of relationship table ``table``: its relationships
    over the nodes of the labels it leaves from (arrives at); None if a count is
    unknown or it names no end labels."""
    ends = table.option("ends") or ()
    rels = source.row_count(table)
    counts = [_count(name, "node", tables, source) for name in {end[0] if outgoing else end[1] for end in ends}]
    if rels is None or not counts or any(c is None for c in counts):
        return None
    return rels / max(sum(counts), 1.0)


def _count(label, kind, tables, source) -> float | None:
    if label is not None:
        info = tables.get(label)
        return source.row_count(info) if info is not None else None
    counts = [source.row_count(t) for t in tables.values() if t.kind == kind]
    return None if any(c is None for c in counts) else float(sum(counts))

"""Filter pushdown: a WHERE or ON conjunct over the columns of one table moves into
that table's scan (SQLite WHERE, Kuzu Cypher WHERE, LanceDB ``where``) when the
source evaluates it exactly as DuckDB would; the source decides (``can_filter``).

Not moved: conjuncts on the NULL-supplying side of an outer join (except the ON of
that join itself), conjuncts with subqueries or aggregates, and anything over a
VECTOR_SEARCH result: filtering before the kNN would change which rows are the top
k. (The prefilter inside VECTOR_SEARCH is the way to filter before the search.)
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from .. import ast
from ..plan import Access, Draft, Pushed
from .context import Context
from .tree import and_all, conjuncts, find_all, from_leaves, leaf_id, null_supplying


def push_filters(draft: Draft, context: Context) -> Draft:
    trees = [draft.tree] + [a.query for a in draft.accesses if a.kind == "derived"]
    if not any("push" in node.meta for tree in trees for node in find_all(tree, exp.Condition)):
        return draft
    accesses = {a.id: a for a in draft.accesses}
    tree = _push_in(draft.tree.copy(), accesses, context)
    for access in [a for a in draft.accesses if a.kind == "derived"]:  # a prefilter's subquery
        accesses[access.id] = replace(access, query=_push_in(access.query.copy(), accesses, context))
    return Draft(tree, tuple(accesses[a.id] for a in draft.accesses))


def _push_in(tree: exp.Expression, accesses: dict[int, Access], context: Context) -> exp.Expression:
    for select in list(find_all(tree, exp.Select)):
        leaves = {leaf for leaf, _ in from_leaves(select)}
        nulls = null_supplying(select)
        where = select.args.get("where")
        if where is not None:
            kept = [part for part in conjuncts(where.this)
                    if not _take(part, lambda leaf: leaf in leaves and leaf not in nulls, accesses, context)]
            rest = and_all(kept)
            select.set("where", exp.Where(this=rest) if rest is not None else None)
        for join in select.args.get("joins") or []:
            on = join.args.get("on")
            if on is None:
                continue
            side, target = (join.side or "").upper(), leaf_id(join.this)
            if side == "":  # inner: either side, unless a later outer join pads it with NULLs
                allowed = lambda leaf: leaf in leaves and leaf not in nulls  # noqa: E731
            elif side == "LEFT":  # the ON of a LEFT JOIN may pre-filter its right side
                allowed = lambda leaf: leaf == target  # noqa: E731
            else:
                continue
            kept = [part for part in conjuncts(on) if not _take(part, allowed, accesses, context)]
            join.set("on", and_all(kept) if kept else exp.Boolean(this=True))
    return tree


def _take(part: exp.Expression, allowed, accesses: dict[int, Access], context: Context) -> bool:
    tag = part.meta.get("push")
    if tag is None:
        return False
    leaf, expr = tag
    access = accesses.get(leaf)
    sql = part.transform(  # a copy
        lambda n: exp.column(n.name, quoted=True) if isinstance(n, exp.Column) else n)
    if access is not None and access.kind == "graph" and allowed(leaf):
        return _take_into_match(expr, sql, access, accesses, context)
    if access is None or access.kind != "scan" or not allowed(leaf):
        return False
    if not context.source(access.source).can_filter(access.table, expr, context.params):
        return False
    accesses[leaf] = replace(access, filters=access.filters + (Pushed(expr, sql),))
    return True


def _take_into_match(expr, sql, access: Access, accesses: dict[int, Access], context: Context) -> bool:
    """A conjunct over a GRAPH_TABLE's columns (its outputs, ``var.prop``) goes into the
    match's WHERE, when Kuzu evaluates it exactly: a filter on the rows the match returns."""
    request = access.graph
    outputs = {o.name: o for o in request.outputs}
    columns = [c for c in expr.walk() if isinstance(c, ast.Column)]
    if any(c.name not in outputs or outputs[c.name].prop is None for c in columns):
        return False  # a path's length, or not an output
    condition = ast.map_columns(expr, lambda c: ast.Column(outputs[c.name].prop, outputs[c.name].var, pos=c.pos))
    types = {(o.var, o.prop): o.type for o in request.outputs if o.prop is not None}
    condition = context.source(access.source).match_filter(condition, lambda c: types.get((c.table, c.name)),
                                                           context.params)
    if condition is None:
        return False
    where = condition if request.where is None else ast.Binary("AND", request.where, condition)
    accesses[access.id] = replace(access, graph=replace(request, where=where),
                                  filters=access.filters + (Pushed(expr, sql),))
    return True

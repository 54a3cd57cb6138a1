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

from ..plan import Access, Draft, Pushed
from .context import Context
from .tree import and_all, conjuncts, from_leaves, leaf_id, null_supplying


def push_filters(draft: Draft, context: Context) -> Draft:
    trees = [draft.tree] + [a.query for a in draft.accesses if a.kind == "derived"]
    if not any("push" in node.meta for tree in trees for node in tree.find_all(exp.Condition)):
        return draft
    accesses = {a.id: a for a in draft.accesses}
    tree = _push_in(draft.tree.copy(), accesses, context)
    for access in [a for a in draft.accesses if a.kind == "derived"]:  # a prefilter's subquery
        accesses[access.id] = replace(access, query=_push_in(access.query.copy(), accesses, context))
    return Draft(tree, tuple(accesses[a.id] for a in draft.accesses))


def _push_in(tree: exp.Expression, accesses: dict[int, Access], context: Context) -> exp.Expression:
    for select in list(tree.find_all(exp.Select)):
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
    if access is None or access.kind != "scan" or not allowed(leaf):
        return False
    if not context.source(access.source).can_filter(access.table, expr, context.params):
        return False
    sql = part.transform(  # a copy
        lambda n: exp.column(n.name, quoted=True) if isinstance(n, exp.Column) else n)
    accesses[leaf] = replace(access, filters=access.filters + (Pushed(expr, sql),))
    return True

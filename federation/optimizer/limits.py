"""Top-N pushdown: ``SELECT ... FROM one_table [ORDER BY its columns] LIMIT n`` with
no remaining WHERE, grouping, DISTINCT or aggregate fetches only the first
``n + offset`` rows from the source, in the same order. DuckDB still sorts and
limits them; the source only stops early. The source decides whether it orders
exactly as DuckDB does (``can_order``)."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from .. import ast
from ..plan import Draft
from .context import Context
from .tree import find_all, from_leaves



def push_limits(draft: Draft, context: Context) -> Draft:
    changed = []
    for select in find_all(draft.tree, exp.Select):
        found = _top_n(select, draft, context)
        if found is not None:
            changed.append(found)
    return draft.replace(*changed) if changed else draft


def _top_n(select: exp.Select, draft: Draft, context: Context):
    limit = select.args.get("limit")
    if limit is None or select.args.get("joins") or select.args.get("where") is not None:
        return None
    if select.args.get("group") or select.args.get("having") or select.args.get("distinct"):
        return None
    leaves = from_leaves(select)
    if len(leaves) != 1:
        return None
    leaf = leaves[0][0]
    access = draft.access(leaf)
    if access.kind != "scan" or access.limit is not None:
        return None
    if any(isinstance(n, (exp.Count, exp.AggFunc, exp.Window, exp.Subquery))
           or (isinstance(n, exp.Anonymous) and str(n.this).upper() in ast.AGGREGATES)
           for item in select.expressions for n in item.walk()):
        return None
    n = _integer(limit.expression)
    offset = select.args.get("offset")
    skip = _integer(offset.expression) if offset is not None else 0
    if n is None or skip is None:
        return None
    order = []
    for item in (select.args.get("order").expressions if select.args.get("order") else []):
        tag = item.this.meta.get("leaf") if isinstance(item.this, exp.Column) else None
        if tag is None or tag[0] != leaf:
            return None
        order.append((tag[1], bool(item.args.get("desc")), bool(item.args.get("nulls_first"))))
    if not context.source(access.source).can_order(access.table, tuple(order)):
        return None
    return replace(access, order=tuple(order), limit=n + skip)


def _integer(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Literal) and node.is_int:
        return int(node.this)
    return None

"""Whole-subtree pushdown: a query, a derived table or a CTE whose tables all live
in one SQLite database, and which SQLite evaluates exactly as DuckDB does (joins,
GROUP BY and aggregates included), becomes one SQL query for that database.

The source decides exactness (``runs_exactly``: a type-family check of the whole
subtree); DuckDB names and types the result, as its own evaluation would.
"""

from __future__ import annotations

import math

import pyarrow as pa
from sqlglot import exp

from ..plan import Access, Draft
from .context import Context
from .estimates import filtered_rows
from .tree import conjuncts, find_all, leaf_id, rename_leaves


def push_subtrees(draft: Draft, context: Context) -> Draft:
    if context.describe is None or not draft.accesses:
        return draft
    whole = _subtree(draft.tree, draft, context)
    if whole is not None:  # the whole query: nothing is left for DuckDB
        access, _ = whole
        tree = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(access.placeholder)))
        tree.meta["whole"] = access.id
        return Draft(tree, (access,))
    if not _targets(draft.tree):
        return draft
    # leaves a prefilter's subquery also reads stay as they are
    shared = {leaf_id(t) for a in draft.accesses if a.kind == "derived" for t in find_all(a.query, exp.Table)}
    tree = draft.tree.copy()
    accesses = list(draft.accesses)
    targets = _targets(tree)
    done: set[int] = set()
    next_id = max(a.id for a in accesses) + 1
    for node in targets:  # outermost first: a pushed subtree takes its inner ones along
        if any(id(p) in done for p in _ancestors(node)):
            continue
        found = _subtree(node.this, Draft(node.this, draft.accesses), context, next_id)
        if found is None or found[1] & shared:
            continue
        access, used = found
        next_id += 1
        done.add(id(node))
        node.set("this", exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(access.placeholder))))
        node.meta["query"] = access.id  # a FROM item semi-joins may reduce (see semijoins.py)
        accesses = [a for a in accesses if a.id not in used] + [access]
    return Draft(tree, tuple(accesses))


def _targets(tree: exp.Expression) -> list[exp.Expression]:
    """The CTEs and FROM-item subqueries of ``tree`` that the binder made from FQL
    queries, outermost first."""
    return [node for node in find_all(tree, exp.Subquery, exp.CTE)
            if isinstance(node.this, exp.Query) and "fql" in node.this.meta
            and (isinstance(node, exp.CTE) or isinstance(node.parent, (exp.From, exp.Join)))]


def _subtree(root: exp.Expression, draft: Draft, context: Context, new_id: int | None = None):
    """The access that runs ``root`` whole in one SQLite source, and the leaves it replaces."""
    query, frame = root.meta.get("fql"), root.meta.get("frame")
    if query is None or frame is None or frame.correlated:
        return None
    found: dict[int, Access] = {}  # by leaf, in the order the tables are met
    ctes = None
    for table in find_all(root, exp.Table):  # stops at the first table it cannot take
        leaf = leaf_id(table)
        if leaf is None:
            if ctes is None:
                ctes = {cte.alias_or_name for cte in find_all(root, exp.CTE)}
            if table.name in ctes:
                continue
            return None  # a CTE of an outer query
        access = found.get(leaf) or draft.access(leaf)
        if access.kind != "scan" or any(a.source != access.source for a in found.values()):
            return None
        found[leaf] = access
    if not found or any("leaf_id" in node.meta for node in find_all(root, exp.Subquery)):
        return None  # nothing to run, or a GRAPH_TABLE
    accesses = list(found.values())
    source = context.source(accesses[0].source)
    if source.kind != "sqlite" or not source.runs_exactly(query, [a.table for a in accesses], context.params):
        return None
    schemas = [(a.placeholder, pa.schema([(c.name, c.type) for c in a.table.columns])) for a in accesses]
    output = context.describe(root.sql(dialect="duckdb"), schemas, context.params)
    sql_tree = rename_leaves(root, {a.placeholder: a.table.name for a in accesses}, real=True)
    ident = new_id if new_id is not None else max(a.id for a in draft.accesses) + 1
    columns = tuple(n for n, _ in output)
    access = Access(ident, source.name, "query", columns=columns, query=sql_tree, output=tuple(output),
                    estimate=_estimate(root, accesses, source), provides=_provides(root, columns))
    return access, set(found)


def _estimate(root: exp.Expression, accesses, source) -> float | None:
    """Rows of a subtree: each table's rows after the subtree's filters on it,
    multiplied, divided by every table's size but the largest's (System R's estimate
    of joins on keys: a key matches one row of the table it is the key of)."""
    where = root.args.get("where") if isinstance(root, exp.Select) else None
    filters: dict[int, list] = {}
    for part in conjuncts(where.this if where is not None else None):
        tag = part.meta.get("push")
        if tag is not None:
            filters.setdefault(tag[0], []).append(tag[1])
    rows, sizes = [], []
    for access in accesses:
        count = source.row_count(access.table)
        if count is None:
            return None
        sizes.append(max(count, 1))
        rows.append(filtered_rows(count, access.table, filters.get(access.id, [])))
    estimate = max(math.prod(rows) / math.prod(sorted(sizes)[:-1]), 1.0)
    limit = root.args.get("limit") if isinstance(root, exp.Select) else None
    if limit is not None and isinstance(limit.expression, exp.Literal) and limit.expression.is_int:
        estimate = min(estimate, int(limit.expression.this))
    return estimate


def _provides(root: exp.Expression, columns: tuple[str, ...]) -> tuple[tuple[tuple[int, str], str], ...]:
    """The subtree's output columns that are a leaf's column as it is (not computed)."""
    if not isinstance(root, exp.Select):
        return ()
    found = []
    for item, name in zip(root.expressions, columns):
        inner = item.unalias()
        origin = inner.meta.get("origin") if isinstance(inner, exp.Column) else None
        if origin is not None:  # (the binder's Leaf, its column, type)
            found.append(((origin[0].id, origin[1]), name))
    return tuple(found)


def _ancestors(node: exp.Expression):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent

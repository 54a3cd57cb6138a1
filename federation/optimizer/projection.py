"""Projection pushdown: each scan or search fetches only the columns the DuckDB SQL
still refers to (after filters moved into sources), plus those it must keep (``*``,
USING). A vector column is fetched only when the query selects it. A GRAPH_TABLE
returns only the COLUMNS its query uses (all of them under a ``*``), and its match
only the properties those need."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from ..plan import Draft
from ..sources.lancedb import DISTANCE
from .context import Context
from .tree import find_all, leaf_refs


def prune_columns(draft: Draft, context: Context) -> Draft:
    draft = _prune_graph_columns(draft)
    refs = leaf_refs(draft.tree)
    for access in draft.accesses:
        if access.kind == "derived":  # a prefilter's subquery reads leaves too
            for leaf, columns in leaf_refs(access.query).items():
                refs.setdefault(leaf, set()).update(columns)
    changed = []
    for access in draft.accesses:
        if access.kind not in ("scan", "search"):
            continue
        wanted = refs.get(access.id, set()) | access.required
        chosen = tuple(c for c in universe(access) if c in wanted)
        # COUNT(*) and friends use no column: the narrowest fetch that keeps the rows
        changed.append(replace(access, columns=chosen or (access.table.column_names[0],)))
    return draft.replace(*changed)


def universe(access) -> tuple[str, ...]:
    """Every column an access can return (what it fetches without this rule)."""
    names = tuple(access.table.column_names)
    return names + (DISTANCE,) if access.kind == "search" else names


def _prune_graph_columns(draft: Draft) -> Draft:
    """Each GRAPH_TABLE's COLUMNS that its SELECT does not use, removed, and the
    properties its match returns cut to those the rest use."""
    graphs = {a.id: a for a in draft.accesses if a.kind == "graph"}
    if not graphs or not any(_prunable(node, graphs) for node in find_all(draft.tree, exp.Subquery)):
        return draft
    tree = draft.tree.copy()  # the rule rewrites its own copy
    changed = []
    for node in list(find_all(tree, exp.Subquery)):
        found = _target(node, graphs)
        if found is None:
            continue
        access, select = found
        node.this.set("expressions", _used(node, select))
        wanted = {c.name for c in find_all(node.this, exp.Column)}
        outputs = tuple(o for o in access.graph.outputs if o.name in wanted) or access.graph.outputs[:1]
        if outputs != access.graph.outputs:
            changed.append(replace(access, graph=replace(access.graph, outputs=outputs),
                                   columns=tuple(o.name for o in outputs)))
    return Draft(tree, tuple(next((c for c in changed if c.id == a.id), a) for a in draft.accesses))


def _target(node: exp.Subquery, graphs):
    """A GRAPH_TABLE's access and the SELECT reading it, unless that SELECT may use
    every column (``*``, USING)."""
    access = graphs.get(node.meta.get("leaf_id"))
    select = node.parent.parent if isinstance(node.parent, (exp.From, exp.Join)) else None
    if access is None or not isinstance(node.this, exp.Select) or not isinstance(select, exp.Select):
        return None
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star) for e in select.expressions) \
            or any(j.args.get("using") for j in select.args.get("joins") or []):
        return None
    return access, select


def _used(node: exp.Subquery, select: exp.Select) -> list:
    """The GRAPH_TABLE's COLUMNS its SELECT uses (the first, if none: one row a match)."""
    alias = node.alias.lower()
    used = {c.name.lower() for c in find_all(select, exp.Column)
            if c.table.lower() == alias or not c.table}  # unqualified: perhaps its (kept, to be safe)
    return [e for e in node.this.expressions if e.alias_or_name.lower() in used] or node.this.expressions[:1]


def _prunable(node: exp.Subquery, graphs) -> bool:
    """Whether a GRAPH_TABLE has COLUMNS its SELECT does not use, or its match returns
    properties no column needs."""
    found = _target(node, graphs)
    if found is None:
        return False
    access, select = found
    if len(_used(node, select)) < len(node.this.expressions):
        return True
    wanted = {c.name for c in find_all(node.this, exp.Column)}
    return any(o.name not in wanted for o in access.graph.outputs)

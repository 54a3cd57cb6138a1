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
from .tree import leaf_refs


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
    if not graphs:
        return draft
    tree = draft.tree.copy()
    changed = []
    for node in list(tree.find_all(exp.Subquery)):
        access = graphs.get(node.meta.get("leaf_id"))
        wrapper = node.this
        select = node.parent.parent if isinstance(node.parent, (exp.From, exp.Join)) else None
        if access is None or not isinstance(wrapper, exp.Select) or not isinstance(select, exp.Select):
            continue
        if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star) for e in select.expressions) \
                or any(j.args.get("using") for j in select.args.get("joins") or []):
            continue  # every column is used
        alias = node.alias.lower()
        used = {c.name.lower() for c in select.find_all(exp.Column)
                if c.table.lower() == alias or not c.table}  # unqualified: perhaps its (kept, to be safe)
        keep = [e for e in wrapper.expressions if e.alias_or_name.lower() in used] or wrapper.expressions[:1]
        wrapper.set("expressions", keep)
        wanted = {c.name for c in wrapper.find_all(exp.Column)}
        outputs = tuple(o for o in access.graph.outputs if o.name in wanted) or access.graph.outputs[:1]
        if outputs != access.graph.outputs:
            changed.append(replace(access, graph=replace(access.graph, outputs=outputs),
                                   columns=tuple(o.name for o in outputs)))
    return Draft(tree, tuple(next((c for c in changed if c.id == a.id), a) for a in draft.accesses))

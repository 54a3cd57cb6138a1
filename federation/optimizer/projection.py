"""Projection pushdown: each scan or search fetches only the columns the DuckDB SQL
still refers to (after filters moved into sources), plus those it must keep (``*``,
USING). A vector column is fetched only when the query selects it."""

from __future__ import annotations

from dataclasses import replace

from ..plan import Draft
from ..sources.lancedb import DISTANCE
from .context import Context
from .tree import leaf_refs


def prune_columns(draft: Draft, context: Context) -> Draft:
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

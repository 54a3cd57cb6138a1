"""Helpers rules share for reading the sqlglot tree of a Draft."""

from __future__ import annotations

import re
from typing import Iterator

from sqlglot import exp

_LEAF = re.compile(r"__leaf(\d+)$")


def leaf_id(node: exp.Expression | None) -> int | None:
    """The access id of a ``__leafN`` table node (or of a GRAPH_TABLE), else None."""
    if node is not None and "leaf_id" in node.meta:
        return node.meta["leaf_id"]
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        match = _LEAF.match(node.this.name)
        if match:
            return int(match.group(1))
    return None


def find_all(tree: exp.Expression, *types: type) -> Iterator[exp.Expression]:
    """The nodes of ``tree`` (itself included) that are of one of ``types``, in the
    order of sqlglot's ``tree.find_all(*types)`` (breadth first), about twice as fast:
    planning a query walks its trees some 150 times."""
    queue = [tree]
    for node in queue:  # grows as it goes: a list iterates by index
        if isinstance(node, types):
            yield node
        for value in node.args.values():
            if type(value) is list:
                queue.extend(v for v in value if isinstance(v, exp.Expression))
            elif isinstance(value, exp.Expression):
                queue.append(value)


def rename_leaves(tree: exp.Expression, names: dict[str, str], real: bool = False) -> exp.Expression:
    """A copy of ``tree`` with the tables named in ``names`` renamed (``real``: quoted,
    as a source's own table names are; fragment names need no quotes). Nothing else
    holds the copy: its SQL can be generated with ``copy=False``."""
    copy = tree.copy()
    for table in [t for t in find_all(copy, exp.Table) if t.name in names]:
        table.set("this", exp.to_identifier(names[table.name], quoted=real))
    return copy


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed parts of a condition, parentheses removed."""
    if node is None:
        return []
    if isinstance(node, exp.Paren):
        return conjuncts(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def from_leaves(select: exp.Select) -> list[tuple[int, exp.Join | None]]:
    """Leaves (tables, searches, GRAPH_TABLEs) directly in a SELECT's FROM, each with its
    join (None for the first)."""
    found = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None and leaf_id(from_.this) is not None:
        found.append((leaf_id(from_.this), None))
    for join in select.args.get("joins") or []:
        if leaf_id(join.this) is not None:
            found.append((leaf_id(join.this), join))
    return found


def null_supplying(select: exp.Select) -> set[int]:
    """Leaves of this FROM clause whose rows an outer join may replace with NULLs."""
    items: list[tuple[int | None, str]] = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None:
        items.append((leaf_id(from_.this), ""))
    for join in select.args.get("joins") or []:
        items.append((leaf_id(join.this), (join.side or "").upper()))
    result: set[int] = set()
    for i, (leaf, side) in enumerate(items):
        later = {s for _, s in items[i + 1:]}
        if side in ("LEFT", "FULL") or later & {"RIGHT", "FULL"}:
            if leaf is not None:
                result.add(leaf)
    return result


def leaf_refs(tree: exp.Expression) -> dict[int, set[str]]:
    """Columns of each leaf the tree still refers to (tagged by the binder)."""
    refs: dict[int, set[str]] = {}
    for node in find_all(tree, exp.Column):
        tag = node.meta.get("leaf")
        if tag is not None:
            refs.setdefault(tag[0], set()).add(tag[1])
    return refs


_ATOMIC = (exp.Column, exp.Literal, exp.Placeholder, exp.Null, exp.Boolean, exp.Paren, exp.Anonymous,
           exp.Count, exp.Subquery, exp.Case, exp.Cast, exp.Array)


def paren(node: exp.Expression) -> exp.Expression:
    """``node`` in parentheses unless it is atomic (the binder writes every operand so)."""
    return node if isinstance(node, _ATOMIC) else exp.Paren(this=node)


def and_all(parts: list[exp.Expression]) -> exp.Expression | None:
    result = None
    for part in parts:
        result = part if result is None else exp.And(this=paren(result), expression=paren(part))
    return result

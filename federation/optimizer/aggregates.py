"""Aggregate pushdown into Kuzu: a GROUP BY over one GRAPH_TABLE is computed in its
Cypher query, so that one row per group leaves Kuzu instead of one per match.

    SELECT g.team, COUNT(*) AS n, MAX(g.since) FROM GRAPH_TABLE (...) g GROUP BY g.team

runs in Kuzu as ``MATCH ... RETURN b.team, count(*) AS __agg0, max(k.since) AS __agg1``
(Cypher groups by the items that are not aggregates), and DuckDB combines those
partial results as it would rows: COUNT becomes the SUM of the counts, MIN and MAX
stay what they are. Combining makes the answer DuckDB's even if Kuzu split a group.

Only where Kuzu computes each part exactly as DuckDB: the SELECT reads the
GRAPH_TABLE alone (no join, and no condition left outside the match), groups by
columns that are integer or string properties (equal in both, NULL a group of its
own in both), and its aggregates are COUNT(*), COUNT(x) and MIN / MAX of an integer
property, none DISTINCT. Anything else is aggregated in DuckDB from the matches.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
from sqlglot import exp

from .. import ast
from ..catalog import key_family
from ..plan import Draft
from .context import Context
from .tree import find_all


def push_aggregates(draft: Draft, context: Context) -> Draft:
    graphs = {a.id: a for a in draft.accesses if a.kind == "graph"}
    if not graphs or not any(_pushable(s, graphs) for s in find_all(draft.tree, exp.Select) if s.args.get("group")):
        return draft
    tree = draft.tree.copy()  # the rule rewrites its own copy
    changed = {}
    for select in list(find_all(tree, exp.Select)):
        found = _pushable(select, graphs)
        if found is not None:
            access = _push(select, *found)
            changed[access.id] = access
    if not changed:
        return draft
    return Draft(tree, tuple(changed.get(a.id, a) for a in draft.accesses))


def _pushable(select: exp.Select, graphs):
    """The GRAPH_TABLE subquery, its access, its plain columns (alias -> output) and
    the aggregate nodes, when this SELECT's GROUP BY can run in Kuzu; else None."""
    group = select.args.get("group")
    from_ = select.args.get("from_") or select.args.get("from")
    if group is None or not group.expressions or from_ is None or select.args.get("joins"):
        return None
    if any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets", "totals", "all")):
        return None
    if select.args.get("where") is not None or select.args.get("distinct") is not None:
        return None
    node = from_.this
    access = graphs.get(node.meta.get("leaf_id")) if isinstance(node, exp.Subquery) else None
    wrapper = node.this if access is not None else None
    if not isinstance(wrapper, exp.Select) or wrapper.args.get("where") is not None:
        return None  # a condition DuckDB applies to the matches first
    if any(s is not select and s is not wrapper for s in find_all(select, exp.Select)) \
            or any(find_all(select, exp.Window)):
        return None
    outputs = {o.name: o for o in access.graph.outputs}
    plain = {}  # the GRAPH_TABLE's column -> the property it is
    for item in wrapper.expressions:
        inner = item.unalias()
        output = outputs.get(inner.name) if isinstance(inner, exp.Column) else None
        if output is not None and output.prop is not None and output.aggregate is None:
            plain[item.alias_or_name] = output
    alias = node.alias

    def column(expr):
        if isinstance(expr, exp.Column) and expr.table == alias and not isinstance(expr.this, exp.Star):
            return plain.get(expr.name)
        return None

    for key in group.expressions:
        output = column(key)
        if output is None or key_family(output.type) is None:
            return None
    aggregates = []
    for node_ in find_all(select, exp.Count, exp.Anonymous):
        if isinstance(node_, exp.Anonymous) and node_.name.upper() not in ast.AGGREGATES:
            continue
        if node_.find_ancestor(exp.Subquery) is node:
            continue  # inside the GRAPH_TABLE's own columns
        name = "COUNT" if isinstance(node_, exp.Count) else node_.name.upper()
        if isinstance(node_, exp.Count):
            argument = node_.this
        else:
            argument = node_.expressions[0] if len(node_.expressions) == 1 else None
        if name == "COUNT" and isinstance(argument, exp.Star):
            aggregates.append((node_, "count", None))
            continue
        output = column(argument)
        if output is None or name not in ("COUNT", "MIN", "MAX"):
            return None  # a DISTINCT, an expression, SUM or AVG
        if name != "COUNT" and not pa.types.is_integer(output.type):
            return None
        aggregates.append((node_, name.lower(), output))
    if not aggregates:
        return None
    keys = [column(k) for k in group.expressions]
    return node, access, keys, aggregates


def _push(select: exp.Select, node: exp.Subquery, access, keys, aggregates):
    """Rewrite ``select`` to combine the partial aggregates; the access that returns them."""
    wrapper = node.this
    taken = {o.name for o in access.graph.outputs}
    outputs = list(dict.fromkeys(keys))  # the group's properties, once each
    partial = {}  # (function, argument) -> its output
    for call, function, argument in aggregates:
        key = (function, argument.name if argument is not None else None)
        if key not in partial:
            name = f"__agg{len(partial)}"
            while name in taken:
                name += "_"
            type_ = pa.int64() if function == "count" else argument.type
            base = argument if argument is not None else replace(keys[0], var=None, prop=None)
            partial[key] = replace(base, name=name, type=type_, path_var=None, aggregate=function)
        column = exp.column(partial[key].name, table=node.alias, quoted=True)
        if function == "count":  # the sum of the counts, typed as COUNT is
            combined = exp.Cast(this=exp.Anonymous(this="SUM", expressions=[column]), to=exp.DataType.build("BIGINT"))
        else:
            combined = exp.Anonymous(this=function.upper(), expressions=[column])
        call.replace(combined)
    names = {o.name for o in keys}
    items = [i for i in wrapper.expressions if isinstance(i.unalias(), exp.Column) and i.unalias().name in names]
    items += [exp.alias_(exp.column(o.name, quoted=True), o.name, quoted=True) for o in partial.values()]
    wrapper.set("expressions", items)
    outputs += list(partial.values())
    graph = replace(access.graph, outputs=tuple(outputs))
    return replace(access, graph=graph, columns=tuple(o.name for o in outputs))


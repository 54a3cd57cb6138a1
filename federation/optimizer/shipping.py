"""The last step of a query run in SQLite, over the few rows of a graph fragment.

    SELECT g.peer_id, a.name, COUNT(*) AS events
    FROM GRAPH_TABLE (graph MATCH (x:Agent {id: $agent})-[:COLLABORATES_WITH]->(b:Agent)
                      COLUMNS (b.id AS peer_id)) g
    JOIN state.agents a ON a.id = g.peer_id JOIN state.audit_log l ON l.agent_id = g.peer_id
    GROUP BY g.peer_id, a.name

Once the graph's few rows are known, the rest is a SQLite query: the expert's
pipeline binds them into one SQL statement and never starts DuckDB, whose fixed cost
(3-5 ms a query on this machine) is most of such a query's time. Here the Kuzu
fragment runs first, and the query (its joins, GROUP BY and all) runs in SQLite
with the graph's rows bound as one JSON array and read back with ``json_each``:

    ... FROM (SELECT json_extract(value, '$[0]') AS "b.id" FROM json_each(:__rows0)) ...

Only when that cannot change the answer or cost much: every other table is in one
SQLite database, the query is one SQLite computes exactly as DuckDB (the whole-
subtree check, with the graph's columns typed), the shipped columns are integers or
strings (JSON carries them exactly), and each shipped fragment is estimated at most
``Context.ship_rows`` rows (2,000; 0 turns this off). The rows keep their multiplicity: no key needs to be unique.
"""

from __future__ import annotations

import pyarrow as pa
import sqlglot
from sqlglot import exp

from .. import ast
from ..catalog import ColumnInfo, TableInfo, key_family
from ..plan import SHIPPED, Access, Draft
from ..sources.sqlite import shipped_rows
from .context import Context
from .grouping import column_type
from .tree import find_all, leaf_id


def ship_to_sqlite(draft: Draft, context: Context) -> Draft:
    root = draft.tree
    if context.describe is None or context.ship_rows <= 0 or "whole" in root.meta or "fql" not in root.meta:
        return draft
    frame = root.meta.get("frame")
    if frame is None or frame.correlated or any(a.kind == "derived" for a in draft.accesses):
        return draft
    accesses = {a.id: a for a in draft.accesses}
    ctes = {c.alias_or_name for c in find_all(root, exp.CTE)}
    used: dict[int, list[exp.Table]] = {}
    for table in find_all(root, exp.Table):
        leaf = leaf_id(table)
        if leaf is None:
            if table.name in ctes and not table.args.get("db"):
                continue
            return draft
        used.setdefault(leaf, []).append(table)
    if set(used) != set(accesses):
        return draft
    local = [a for a in draft.accesses if context.source(a.source).kind == "sqlite" and a.kind in ("scan", "query")]
    foreign = [a for a in draft.accesses if a not in local]
    if not local or not foreign or len({a.source for a in local}) != 1:
        return draft
    source = context.source(local[0].source)
    if any(a.order or a.limit is not None for a in local):
        return draft  # a top-N scan: its ORDER BY ... NULLS is SQLite text sqlglot may not keep
    shipped: dict[str, TableInfo] = {}  # alias -> the shipped rows' typed columns
    foreign_ids = {a.id for a in foreign}
    for access in foreign:
        found = _shippable(access, used[access.id], root, context)
        if found is None:
            return draft
        if access.reduce is not None and access.reduce.producer not in foreign_ids:
            return draft  # its keys come from a table that is now part of the SQLite query
        alias, info = found
        if alias in shipped:
            return draft
        shipped[alias] = info
    tables = list(context.catalog.tables(source).values())
    if not source.runs_exactly(root.meta["fql"], tables, context.params, shipped):
        return draft
    schemas = []
    for access in draft.accesses:
        columns = _typed_columns(access)
        if columns is None:
            return draft
        schemas.append((access.placeholder, pa.schema(columns)))
    output = context.describe(root.sql(dialect="duckdb"), schemas, context.params)
    tree = root.copy()
    for table in list(find_all(tree, exp.Table)):
        leaf = leaf_id(table)
        if leaf is None:
            continue
        access = accesses[leaf]
        alias = table.alias or access.placeholder
        if access in local:
            table.replace(exp.Subquery(this=_local_query(access, source),
                                       alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True))))
        else:
            table.replace(shipped_rows(f"{SHIPPED}{access.id}", access.columns, alias))
    ident = max(accesses) + 1
    columns = tuple(n for n, _ in output)
    final = Access(ident, source.name, "query", columns=columns, query=tree, output=tuple(output),
                   inputs=tuple(a.id for a in foreign))
    whole = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(final.placeholder)))
    whole.meta["whole"] = final.id
    return Draft(whole, (*foreign, final))


def _shippable(access: Access, tables: list[exp.Table], root, context: Context):
    """(alias, typed columns) of a Kuzu access whose rows may be shipped, else None."""
    if access.estimate is None or access.estimate > context.ship_rows or context.source(access.source).kind != "kuzu":
        return None
    if len(tables) != 1:
        return None
    columns = _typed_columns(access)
    # integers and strings: JSON carries them exactly (a UINT64 beyond INT64 it would not)
    if columns is None or not all(key_family(t) is not None and t != pa.uint64() for _, t in columns):
        return None
    table = tables[0]
    if access.kind == "scan" and access.table.kind in ("node", "rel"):
        alias = (table.alias or access.table.name).lower()
        return alias, TableInfo(access.source, alias, "table", access.table.columns)
    if access.kind != "graph":
        return None
    # the GRAPH_TABLE's wrapper: plain outputs only (an expression or a condition on
    # them would be computed by SQLite, unchecked)
    wrapper = table.find_ancestor(exp.Select)
    node = wrapper.parent if wrapper is not None else None
    if not isinstance(node, exp.Subquery) or node.meta.get("leaf_id") != access.id:
        return None
    if any(v for k, v in wrapper.args.items() if k not in ("expressions", "from_", "from")):
        return None  # a WHERE, DISTINCT, ...
    types = dict(columns)
    if not all(isinstance(i.unalias(), exp.Column) and i.unalias().name in types for i in wrapper.expressions):
        return None
    # typed as the query wrote it: every COLUMNS entry (conditions on those now in the
    # match are still in the query the exactness check reads)
    alias = node.alias.lower()
    graph = next((g for g in root.meta["fql"].walk() if isinstance(g, ast.GraphTable)
                  and g.alias is not None and g.alias.name.lower() == alias), None)
    if graph is None:
        return None
    typed = tuple(ColumnInfo(c.name, column_type(graph, c.name, context.catalog)) for c in graph.columns)
    return alias, TableInfo(access.source, alias, "table", typed)


def _typed_columns(access: Access) -> list[tuple[str, pa.DataType]] | None:
    if access.kind == "graph":
        pairs = [(o.name, o.type) for o in access.graph.outputs]
    elif access.kind == "query":
        pairs = list(access.output)
    elif access.kind == "scan":
        pairs = [(c, access.table.require_column(c).type) for c in access.columns]
    else:
        return None
    return None if any(t is None for _, t in pairs) else pairs


def _local_query(access: Access, source) -> exp.Expression:
    """A SQLite access as a query of its own: a scan with its pushed filters and
    limit, or a subtree already run whole in SQLite."""
    if access.kind == "query":
        return access.query.copy()
    fragment = source.compile_scan(access.table, access.columns, filters=access.filters, order=access.order,
                                   limit=access.limit)
    return sqlglot.parse_one(fragment.text, read="sqlite")

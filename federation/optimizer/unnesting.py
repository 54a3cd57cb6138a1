"""``WHERE x IN (SELECT k FROM ...)`` made a join, so that it can filter like one.

A semi-join written as an uncorrelated ``IN`` subquery is, in a WHERE, the same as
an inner join with the subquery's distinct values:

    SELECT ... FROM state.tasks t WHERE t.id IN (SELECT g.id FROM GRAPH_TABLE (...) g)
    SELECT ... FROM state.tasks t JOIN (SELECT DISTINCT __s.id AS __k FROM (SELECT g.id
        FROM GRAPH_TABLE (...) g) AS __s) AS __in0 ON t.id = __in0.__k

(a row of ``t`` is kept once when its ``id`` equals one of the values, and a NULL on
either side keeps nothing, in both). Written as a join, it takes part in semi-join
reduction: the subquery runs first and ``tasks`` fetches only the rows with those
keys, instead of the whole table filtered in DuckDB. This rewrite runs before
binding, on the FQL tree, for top-level WHERE conjuncts only (not under OR or NOT,
not ``NOT IN``), in a SELECT without a bare ``*`` (the joined table would add a
column), and only when the subquery cannot refer to the outer query.
"""

from __future__ import annotations

import dataclasses

from .. import ast
from ..catalog import find_name
from .grouping import columns_of

PREFIX = "__in"  # aliases of the derived tables this rewrite makes


def unnest_in(query: ast.Query, catalog) -> ast.Query:
    """``query`` with each qualifying ``x IN (SELECT ...)`` made an inner join."""
    if not any(isinstance(node, ast.InQuery) for node in query.walk()):
        return query  # a walk is cheaper than rebuilding the query unchanged
    counter = iter(range(1_000_000))
    return _query(query, catalog, counter)


def _query(query: ast.Query, catalog, counter) -> ast.Query:
    def visit(node):
        if isinstance(node, ast.Query):
            return _query(node, catalog, counter)
        if isinstance(node, ast.Select):  # its subqueries first
            changes = {f.name: ast.rewrite(getattr(node, f.name), visit) for f in dataclasses.fields(node)}
            return _select(dataclasses.replace(node, **changes), catalog, counter)
        return None

    return dataclasses.replace(query, ctes=ast.rewrite(query.ctes, visit), body=ast.rewrite(query.body, visit))


def _select(select: ast.Select, catalog, counter) -> ast.Select:
    if not select.from_ or select.where is None:
        return select
    if any(isinstance(i.expr, ast.Star) and i.expr.table is None for i in select.items):
        return select
    keep, joins = [], []
    for part in ast.conjuncts(select.where):
        if isinstance(part, ast.InQuery) and not part.negated and _uncorrelated(part.query, catalog):
            name = f"{PREFIX}{next(counter)}"
            derived = _distinct_values(part.query, name)
            if derived is not None:
                joins.append((derived, ast.Binary("=", part.operand, ast.Column("__k", name, pos=part.pos),
                                                  pos=part.pos)))
                continue
        keep.append(part)
    if not joins:
        return select
    taken = _aliases(select)
    if any(j[0].alias.name.lower() in taken for j in joins):
        return select
    joined = select.from_[0]
    for item in select.from_[1:]:  # a comma list, as the cross joins it means
        joined = ast.Join("CROSS", joined, item)
    for derived, on in joins:
        joined = ast.Join("INNER", joined, derived, on)
    return dataclasses.replace(select, from_=(joined,), where=ast.and_all(keep))


def _distinct_values(query: ast.Query, name: str) -> ast.SubqueryRef | None:
    """``(SELECT DISTINCT __s.<its column> AS __k FROM (<query>) AS __s) AS <name>``."""
    body = query.body
    if not isinstance(body, ast.Select) or len(body.items) != 1 or isinstance(body.items[0].expr, ast.Star):
        return None
    names = ast.output_names(query)
    if names is not None:
        column = names[0]
    else:  # an expression: named here
        column = "__v"
        query = dataclasses.replace(query, body=dataclasses.replace(body, items=(dataclasses.replace(body.items[0], alias=column),)))
    values = ast.Select((ast.SelectItem(ast.Column(column, "__s"), alias="__k"),),
                        (ast.SubqueryRef(query, ast.Alias("__s")),), distinct=True)
    return ast.SubqueryRef(ast.Query(values), ast.Alias(name), pos=query.pos)


def _aliases(select: ast.Select) -> set[str]:
    found = set()

    def visit(item):
        if isinstance(item, ast.Join):
            visit(item.left)
            visit(item.right)
            return
        alias = getattr(item, "alias", None)
        if alias is not None:
            found.add(alias.name.lower())
        elif isinstance(item, ast.TableRef):
            found.add(item.name.lower())

    for item in select.from_:
        visit(item)
    return found


def _uncorrelated(query: ast.Query, catalog) -> bool:
    """True when no column of ``query`` can be the outer query's: each qualified one
    names a table the subquery itself defines, and each unqualified one is a column
    of the one table of a one-table subquery (nothing else is checked: None)."""
    defined: set[str] = {c.name.lower() for c in query.ctes}
    columns: list[ast.Column] = []
    selects: list[ast.Select] = []

    def visit(node) -> None:
        if isinstance(node, (ast.GraphTable, ast.VectorSearch)):
            # their expressions name pattern variables or the searched table only
            if node.alias is not None:
                defined.add(node.alias.name.lower())
            elif isinstance(node, ast.VectorSearch):
                defined.add(node.table.name.lower())
            return
        if isinstance(node, ast.TableRef):
            defined.add((node.alias.name if node.alias is not None else node.name).lower())
            return
        if isinstance(node, ast.SubqueryRef) and node.alias is not None:
            defined.add(node.alias.name.lower())
        if isinstance(node, ast.CTE):
            defined.add(node.name.lower())
        if isinstance(node, ast.Select):
            selects.append(node)
        if isinstance(node, ast.Column):
            columns.append(node)
            return
        if isinstance(node, ast.Node):
            for f in dataclasses.fields(node):
                visit(getattr(node, f.name))
        elif isinstance(node, tuple):
            for value in node:
                visit(value)

    visit(query)
    unqualified = [c for c in columns if c.table is None]
    if any(c.table.lower() not in defined for c in columns if c.table is not None):
        return False
    if not unqualified:
        return True
    if len(selects) != 1 or len(selects[0].from_) != 1 or isinstance(selects[0].from_[0], ast.Join):
        return False
    names = columns_of(selects[0].from_[0], catalog)
    if names is None:
        return False
    outputs = {i.alias.lower() for i in selects[0].items if i.alias}
    return all(find_name(c.name, names, key=lambda n: n) is not None or c.name.lower() in outputs
               for c in unqualified)


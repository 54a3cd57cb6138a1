"""Joins of one SQLite source's tables, grouped so that they run there as one query.

``FROM a JOIN s ON s.agent_id = a.id JOIN c ON c._from = a.id`` with ``a`` and ``s``
in one SQLite database and ``c`` elsewhere: the binder would make ``a`` and ``s`` two
scans joined in DuckDB. Inner joins commute, so this rewrite (before binding, on
the FQL tree) regroups them into a derived table

    (SELECT a.id AS __a_id, ... FROM state.agents a JOIN state.agent_state s
     ON s.agent_id = a.id WHERE a.team = $team AND s.status = 'blocked') AS __g0

which ``push_subtrees`` then runs whole in SQLite (its index joins, and only the
joined rows leave it), and whose key columns take part in semi-joins like a table's.

Only where the rewrite cannot change the answer: a SELECT whose FROM is inner and
cross joins only (no USING), every column written ``alias.column`` or named by
exactly one table of the FROM (it is qualified first), no ``*`` and no subquery in
its expressions, and joins that SQLite computes exactly as DuckDB does
(``Source.runs_exactly``). Tables are grouped along the equalities and other
conditions between them; each group gets the conditions on its tables alone that
SQLite computes exactly, and the others stay outside, referring to the group's
columns.
"""

from __future__ import annotations

import dataclasses
import pyarrow as pa

from .. import ast
from ..catalog import find_name

PREFIX = "__g"  # aliases of the derived tables this rewrite makes


def group_joins(query: ast.Query, catalog, params) -> ast.Query:
    """``query`` with each group of two or more joined tables of one SQLite source
    made one derived table (unchanged where nothing qualifies)."""
    counter = iter(range(1_000_000))
    return _query(query, _Context(catalog, params, counter))


@dataclasses.dataclass
class _Context:
    catalog: object
    params: object
    counter: object


# ---------------------------------------------------------------- walking the tree


def _rebuild(node, context: _Context):
    """``node`` with every Query inside it rewritten (bottom-up)."""
    return ast.rewrite(node, lambda n: _query(n, context) if isinstance(n, ast.Query) else None)


def _query(query: ast.Query, context: _Context) -> ast.Query:
    query = dataclasses.replace(query, ctes=_rebuild(query.ctes, context))
    body = query.body
    if isinstance(body, ast.Select):
        body = _rebuild(body, context)  # inner queries first
        grouped = _group(body, query.order_by, context)
        if grouped is not None:
            body, rename = grouped
            order_by = tuple(dataclasses.replace(item, expr=_rename(item.expr, rename)) for item in query.order_by)
            return dataclasses.replace(query, body=body, order_by=order_by)
        return dataclasses.replace(query, body=body)
    return dataclasses.replace(query, body=_rebuild(body, context))


# ---------------------------------------------------------------- one SELECT


@dataclasses.dataclass
class _Relation:
    item: ast.Node  # a FROM item that is not a join
    alias: str  # lower-cased
    source: str | None = None  # a SQLite source's name, for a table of one


def _group(select: ast.Select, order_by, context: _Context):
    """The SELECT with its groups made derived tables, and the column renames; None
    when nothing is grouped."""
    relations: list[_Relation] = []
    conditions: list[ast.Expr] = []  # ON conditions (inner joins: the same as WHERE)
    for item in select.from_:
        if not _flatten(item, relations, conditions):
            return None
    if len(relations) < 2:
        return None
    if not _plain(select, order_by, relations):
        select = _qualified_columns(select, relations, context.catalog)
        if select is None:
            return None
        relations, conditions = [], []
        for item in select.from_:
            _flatten(item, relations, conditions)
        if not _plain(select, order_by, relations):
            return None
    for relation in relations:
        relation.source = _sqlite_source(relation.item, context.catalog)
    where = ast.conjuncts(select.where)
    parts = [(c, _aliases(c)) for c in [*conditions, *where]]
    given = len(parts)
    parts += [(c, _aliases(c)) for c in _implied(parts, relations, context.catalog)]
    groups = _components(relations, parts)
    if not groups:
        return None
    aliases = {r.alias for r in relations}
    rename: dict[tuple[str, str], ast.Column] = {}
    group_of: dict[str, str] = {}  # member alias -> its derived table's alias
    first: dict[str, ast.SubqueryRef] = {}  # first member's alias -> the derived table
    inside: set[int] = set()  # parts the derived tables took
    for members in groups:
        name = _fresh(aliases, context.counter)
        source = context.catalog.source(members[0].source)
        tables = [context.catalog.table(m.item.source, m.item.name) for m in members]

        def exact(used: set[int]):
            found = _derived(select, order_by, members, parts, given, name, used)
            ok = found[0] is not None and source.runs_exactly(found[0].query, tables, context.params)
            return found if ok else None

        names = {m.alias for m in members}
        taken = {i for i, (_, refs) in enumerate(parts) if refs and refs <= names}
        found = exact(taken)
        if found is None:
            # the joins alone, then each condition on one table that SQLite computes
            # exactly; the others stay outside, over the group's columns
            joins = {i for i in taken if len(parts[i][1]) >= 2}
            if exact(joins) is None:
                continue
            for i in sorted(taken - joins):
                if exact(joins | {i}) is not None:
                    joins.add(i)
            taken, found = joins, exact(joins)
        derived, columns = found
        used = taken
        rename.update(columns)
        first[members[0].alias] = derived
        group_of.update({m.alias: name for m in members})
        inside |= used
    if not first:
        return None
    order = []
    for r in relations:
        if r.alias not in group_of:
            order.append((r.alias, r.item))
        elif r.alias in first:
            order.append((group_of[r.alias], first[r.alias]))
    from_on = {id(c) for c in conditions}
    pending = [(c, frozenset(group_of.get(a, a) for a in refs)) for i, (c, refs) in enumerate(parts[:given])
               if i not in inside]
    joined, available = None, set()
    for alias, item in order:
        available.add(alias)
        if joined is None:
            joined = item
            continue
        here = [c for c, refs in pending if id(c) in from_on and refs <= available]
        pending = [(c, refs) for c, refs in pending if not any(c is h for h in here)]
        on = ast.and_all([_rename(c, rename) for c in here])
        joined = ast.Join("INNER" if on is not None else "CROSS", joined, item, on)
    by_alias = {r.alias: r for r in relations}

    def item(i: ast.SelectItem) -> ast.SelectItem:
        alias = i.alias
        if alias is None and isinstance(i.expr, ast.Column) and i.expr.table.lower() in group_of:
            # the output keeps the name DuckDB gave it: the column's, as the catalog spells it
            alias = _catalog_name(by_alias[i.expr.table.lower()], i.expr.name, context.catalog)
        return dataclasses.replace(i, expr=_rename(i.expr, rename), alias=alias)

    new = dataclasses.replace(
        select,
        items=tuple(item(i) for i in select.items),
        from_=(joined,),
        where=ast.and_all([_rename(c, rename) for c, _ in pending]),
        group_by=tuple(_rename(g, rename) for g in select.group_by),
        having=_rename(select.having, rename),
    )
    return new, rename


def _flatten(item, relations: list[_Relation], conditions: list[ast.Expr]) -> bool:
    if isinstance(item, ast.Join):
        if item.kind not in ("INNER", "CROSS") or item.using:
            return False
        if not (_flatten(item.left, relations, conditions) and _flatten(item.right, relations, conditions)):
            return False
        conditions.extend(ast.conjuncts(item.on))
        return True
    alias = _alias(item)
    if alias is None or any(r.alias == alias for r in relations):
        return False
    relations.append(_Relation(item, alias))
    return True


def _alias(item) -> str | None:
    if isinstance(item, ast.TableRef):
        if item.alias is not None and item.alias.columns:
            return None
        return (item.alias.name if item.alias is not None else item.name).lower()
    alias = getattr(item, "alias", None)
    return alias.name.lower() if alias is not None else None


def _plain(select: ast.Select, order_by, relations) -> bool:
    """Every column of this SELECT written ``alias.column`` with a known alias, no
    ``*``, no subquery in an expression; ORDER BY may also name output columns."""
    aliases = {r.alias for r in relations}
    outputs = {i.alias.lower() for i in select.items if i.alias}
    outputs |= {i.expr.name.lower() for i in select.items if not i.alias and isinstance(i.expr, ast.Column)}
    exprs = [i.expr for i in select.items] + list(select.group_by)
    exprs += [e for e in (select.where, select.having) if e is not None]
    exprs += [c for item in select.from_ for c in _join_conditions(item)]
    for expr in exprs:
        if not _qualified(expr, aliases):
            return False
    for item in order_by:
        for node in item.expr.walk():
            if isinstance(node, (ast.Star, ast.InQuery, ast.Exists, ast.ScalarSubquery)):
                return False
            if isinstance(node, ast.Column):
                if node.table is None and node.name.lower() not in outputs:
                    return False
                if node.table is not None and node.table.lower() not in aliases:
                    return False
    return True


def _qualified_columns(select: ast.Select, relations, catalog) -> ast.Select | None:
    """The SELECT with each unqualified column written ``alias.column``, when exactly
    one table of its FROM has that column (the binder's rule: exact name, else one
    case-insensitive match); None when a table's columns are unknown or a name is
    not found (a SELECT alias, an outer query's column: left to the binder)."""
    columns = {}
    for relation in relations:
        names = _columns_of(relation.item, catalog)
        if names is None:
            return None
        columns[relation.alias] = names
    missing = False

    def qualify(column: ast.Column) -> ast.Column:
        nonlocal missing
        if column.table is not None:
            return column
        owners = [alias for alias, names in columns.items()
                  if find_name(column.name, names, key=lambda n: n) is not None]
        if len(owners) != 1:
            missing = True
            return column
        return dataclasses.replace(column, table=owners[0])

    def fix(expr):
        if expr is None:
            return None
        if any(isinstance(n, (ast.InQuery, ast.Exists, ast.ScalarSubquery)) for n in expr.walk()):
            return expr  # the subquery's own columns are not this FROM's: _plain refuses it
        return ast.map_columns(expr, qualify)

    def fix_from(item):
        if isinstance(item, ast.Join):
            return dataclasses.replace(item, left=fix_from(item.left), right=fix_from(item.right), on=fix(item.on))
        return item

    new = dataclasses.replace(
        select,
        items=tuple(dataclasses.replace(i, expr=fix(i.expr)) if not isinstance(i.expr, ast.Star) else i
                    for i in select.items),
        from_=tuple(fix_from(item) for item in select.from_),
        where=fix(select.where), group_by=tuple(fix(g) for g in select.group_by), having=fix(select.having))
    return None if missing else new


def _columns_of(item, catalog) -> list[str] | None:
    """The column names a FROM item offers, or None if they are not known here."""
    alias = getattr(item, "alias", None)
    if alias is not None and alias.columns:
        return None  # not grouped anyway (see _alias)
    try:
        if isinstance(item, ast.TableRef):
            return list(catalog.table(item.source, item.name).column_names) if item.source is not None else None
        if isinstance(item, ast.GraphTable):
            return [c.name for c in item.columns]
        if isinstance(item, ast.VectorSearch):
            if item.table.source is None:
                return None
            return [*catalog.table(item.table.source, item.table.name).column_names, "_distance"]
    except Exception:  # noqa: BLE001 - the binder reports unknown names
        return None
    if isinstance(item, ast.SubqueryRef) and isinstance(item.query.body, ast.Select):
        names = []
        for i in item.query.body.items:
            if i.alias:
                names.append(i.alias)
            elif isinstance(i.expr, ast.Column):
                names.append(i.expr.name)
            else:
                return None  # a `*`, or a name DuckDB makes up
        return names
    return None


def _join_conditions(item) -> list[ast.Expr]:
    if isinstance(item, ast.Join):
        return _join_conditions(item.left) + _join_conditions(item.right) + ([item.on] if item.on else [])
    return []


def _qualified(expr, aliases: set[str]) -> bool:
    for node in expr.walk():
        if isinstance(node, (ast.Star, ast.InQuery, ast.Exists, ast.ScalarSubquery)):
            return False
        if isinstance(node, ast.Column) and (node.table is None or node.table.lower() not in aliases):
            return False
    return True


def _aliases(expr) -> frozenset[str]:
    return frozenset(n.table.lower() for n in expr.walk() if isinstance(n, ast.Column))


def _implied(parts, relations, catalog) -> list[ast.Expr]:
    """``a.x = s.y`` for two tables of one SQLite source whose columns are each equal
    to a third column (so both can be grouped although only ``v`` joins them).

    Only when every column of those equalities is known to be an integer, or every
    one a string: DuckDB casts across families (``'007' = 7`` holds, and so does
    ``'7' = 7``, but not ``'007' = '7'``) and compares integers with a DOUBLE in
    double precision, so equality would not carry over."""
    by_alias = {r.alias: r for r in relations}
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    written: dict[tuple[str, str], ast.Column] = {}

    def find(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for expr, _ in parts:
        if isinstance(expr, ast.Binary) and expr.op == "=" and isinstance(expr.left, ast.Column) \
                and isinstance(expr.right, ast.Column):
            keys = []
            for column in (expr.left, expr.right):
                key = (column.table.lower(), column.name.lower())
                written.setdefault(key, column)
                keys.append(key)
            parent[find(keys[0])] = find(keys[1])
    classes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in written:
        classes.setdefault(find(key), []).append(key)
    implied = []
    for members in classes.values():
        types = {k: _column_type(by_alias[k[0]].item, k[1], catalog) for k in members}
        families = {_family(t) for t in types.values()}
        if len(families) != 1 or None in families:
            continue
        tables = [k for k in members if by_alias[k[0]].source is not None]
        for i, first in enumerate(tables):
            for second in tables[i + 1:]:
                if first[0] == second[0] or by_alias[first[0]].source != by_alias[second[0]].source:
                    continue
                if any({first[0], second[0]} == set(_aliases(e)) for e, _ in parts):
                    continue  # already joined directly
                if types[first] != types[second]:
                    continue
                implied.append(ast.Binary("=", written[first], written[second]))
    return implied


def _family(type_) -> str | None:
    if type_ is None:
        return None
    if pa.types.is_integer(type_):
        return "integer"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    return None


def _column_type(item, column: str, catalog):
    """The type of ``column`` of a FROM item, when the catalog tells it (tables,
    searches, a GRAPH_TABLE's plain ``var.prop`` columns), else None."""
    try:
        if isinstance(item, ast.TableRef) and item.source is not None:
            found = catalog.table(item.source, item.name).column(column)
            return found.type if found is not None else None
        if isinstance(item, ast.VectorSearch) and item.table.source is not None:
            found = catalog.table(item.table.source, item.table.name).column(column)
            return found.type if found is not None else None
        if isinstance(item, ast.GraphTable):
            output = next((c for c in item.columns if c.name.lower() == column.lower()), None)
            if output is None or not isinstance(output.expr, ast.Column) or output.expr.name == "__path__":
                return None
            labels = {v.var: (v.label, v.quantified if isinstance(v, ast.EdgePattern) else False)
                      for p in item.patterns for v in (*p.nodes, *p.edges) if v.var}
            label, quantified = labels.get(output.expr.table, (None, True))
            if label is None or quantified:
                return None
            found = catalog.table(item.source, label).column(output.expr.name)
            return found.type if found is not None else None
    except Exception:  # noqa: BLE001 - unknown names are the binder's to report
        return None
    return None


def _catalog_name(relation, column: str, catalog) -> str:
    """``column`` of a SQLite member as the catalog spells it."""
    found = catalog.table(relation.item.source, relation.item.name).column(column)
    return found.name if found is not None else column


def _sqlite_source(item, catalog) -> str | None:
    if not isinstance(item, ast.TableRef) or item.source is None:
        return None
    try:
        source = catalog.source(item.source)
        if source.kind != "sqlite":
            return None
        info = catalog.table(item.source, item.name)
    except Exception:  # noqa: BLE001 - the binder reports unknown names
        return None
    return source.name if info.kind in ("table", "view") else None


def _components(relations: list[_Relation], parts) -> list[list[_Relation]]:
    """Tables of one SQLite source connected by conditions on them alone, two or more."""
    by_alias = {r.alias: r for r in relations}
    parent = {r.alias: r.alias for r in relations}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for _, refs in parts:
        if len(refs) < 2:
            continue
        sources = {by_alias[a].source for a in refs}
        if len(sources) == 1 and None not in sources:
            first, *rest = sorted(refs)
            for other in rest:
                parent[find(other)] = find(first)
    groups: dict[str, list[_Relation]] = {}
    for r in relations:
        if r.source is not None:
            groups.setdefault(find(r.alias), []).append(r)
    return [g for g in groups.values() if len(g) >= 2]


def _fresh(aliases: set[str], counter) -> str:
    while True:
        name = f"{PREFIX}{next(counter)}"
        if name not in aliases:
            aliases.add(name)
            return name


def _derived(select, order_by, members, parts, given, name, used: set[int]):
    """The derived table of ``members`` that takes the ``parts`` numbered ``used``,
    and the outer name of each member column used outside it. Parts from ``given`` on
    are implied equalities: the derived table may use them, the outer query has no
    need of them."""
    names = {m.alias for m in members}
    outside: list[ast.Node] = [i.expr for i in select.items] + list(select.group_by)
    outside += [e for e in (select.having,) if e is not None]
    outside += [c for i, (c, _) in enumerate(parts[:given]) if i not in used]
    outside += [item.expr for item in order_by]
    columns: dict[tuple[str, str], ast.Column] = {}  # (alias, column) lower-cased -> as written
    for expr in outside:
        for node in expr.walk():
            if isinstance(node, ast.Column) and node.table is not None and node.table.lower() in names:
                columns.setdefault((node.table.lower(), node.name.lower()), node)
    outputs = {key: f"__{key[0]}_{key[1]}" for key in columns}
    if not columns or len(set(outputs.values())) != len(outputs):
        return None, {}
    items = tuple(ast.SelectItem(ast.Column(c.name, c.table), alias=outputs[key]) for key, c in columns.items())
    joined, available = None, set()
    pending = [(c, refs) for i, (c, refs) in enumerate(parts) if i in used]
    for m in members:
        available.add(m.alias)
        if joined is None:
            joined = m.item
            continue
        here = [c for c, refs in pending if len(refs) >= 2 and refs <= available]
        pending = [(c, refs) for c, refs in pending if not any(c is h for h in here)]
        joined = ast.Join("INNER" if here else "CROSS", joined, m.item, ast.and_all(here))
    body = ast.Select(items, (joined,), ast.and_all([c for c, _ in pending]))
    ref = ast.SubqueryRef(ast.Query(body), ast.Alias(name))
    return ref, {key: ast.Column(out, name) for key, out in outputs.items()}


def _rename(expr, rename: dict[tuple[str, str], ast.Column]):
    if expr is None or not rename:
        return expr

    def change(column: ast.Column) -> ast.Column:
        if column.table is None:
            return column
        new = rename.get((column.table.lower(), column.name.lower()))
        return dataclasses.replace(new, pos=column.pos) if new is not None else column

    return ast.map_columns(expr, change)

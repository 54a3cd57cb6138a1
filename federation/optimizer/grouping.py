"""Joins of one source's tables, grouped so that they run there as one query: one
SQLite database's tables as a derived table (below), and one Kuzu graph's tables and
GRAPH_TABLEs that share a node as one GRAPH_TABLE (``_graph_groups``).

``FROM a JOIN s ON s.agent_id = a.id JOIN c ON c._from = a.id`` with ``a`` and ``s``
in one SQLite database and ``c`` elsewhere: the binder would make ``a`` and ``s`` two
scans joined in DuckDB. Inner joins commute, so this rewrite (before binding, on
the FQL tree) regroups them into a derived table

    (SELECT a.id AS __a_id, ... FROM state.agents a JOIN state.agent_state s
     ON s.agent_id = a.id WHERE a.team = $team AND s.status = 'blocked') AS __g0

which ``push_subtrees`` then runs whole in SQLite (its index joins, and only the
joined rows leave it), and whose key columns take part in semi-joins like a table's.

Only where the rewrite cannot change the answer: the inner and cross joins of a
SELECT's FROM (``USING (k)`` read as ``a.k = b.k`` where both are of one integer or
string type, ``_using``), and the LEFT JOINs made to them whose right side is one
table of a SQLite source and whose condition reads it and one table of that source's
group (``_absorb``; the other LEFT JOINs stay as written, after the inner joins, their
right sides never grouped), every column written ``alias.column`` or named by
exactly one table of the FROM (it is qualified first), no ``*`` and no subquery in
its expressions, and joins that SQLite computes exactly as DuckDB does
(``Source.runs_exactly``). Tables are grouped along the equalities and other
conditions between them; each group gets the conditions on its tables alone that
SQLite computes exactly, and the others stay outside, referring to the group's
columns.
"""

from __future__ import annotations

import dataclasses

from .. import ast
from ..catalog import find_name, key_family

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
    outer: bool = False  # on the right of a LEFT JOIN: grouped only as ``left_join`` says
    left_join: ast.Join | None = None  # the LEFT JOIN that brings it into its SQLite group


def _group(select: ast.Select, order_by, context: _Context):
    """The SELECT with its groups made derived tables, and the column renames; None
    when nothing is grouped."""
    found = _relations(select, context.catalog)
    if found is None:
        return None
    relations, conditions, trailing, using = found
    if len(relations) < 2:
        return None
    if not _plain(select, order_by, relations):
        select = _qualified_columns(select, relations, context.catalog, using)
        if select is None:
            return None
        relations, conditions, trailing, using = _relations(select, context.catalog)
        if not _plain(select, order_by, relations):
            return None
    for relation in relations:
        if not relation.outer:
            relation.source = _sqlite_source(relation.item, context.catalog)
    written, refused = select, set()  # refused: LEFT JOIN tables whose group failed
    while True:
        absorbed = _absorb(relations, trailing, [*conditions, *ast.conjuncts(written.where)], context, refused)
        if sum(not r.outer or r.left_join is not None for r in relations) < 2:
            return None
        select = written
        if absorbed:  # their LEFT JOINs go into the groups: what is outside them is the FROM without
            base = trailing[0].left
            for join in trailing:
                if id(join) not in absorbed:
                    base = dataclasses.replace(join, left=base)
            select = dataclasses.replace(select, from_=(base,))
        where = ast.conjuncts(select.where)
        parts = [(c, _aliases(c)) for c in [*conditions, *where]]
        given = len(parts)
        parts += [(c, _aliases(c)) for c in _implied(parts, relations, context.catalog)]
        aliases = {r.alias for r in relations}
        found = _sqlite_groups(select, order_by, relations, parts, given, aliases, context)
        found += _graph_groups(select, order_by, relations, parts, given, aliases, context)
        grouped = {m.alias for group in found for m in group.members}
        failed = {r.alias for r in relations if r.left_join is not None and r.alias not in grouped}
        if not failed:
            break
        # a group with a LEFT JOIN failed: the LEFT JOIN stays outside, and the other
        # groups are made again with its condition's columns among those they return
        refused |= failed
        for relation in relations:
            if relation.outer:
                relation.source, relation.left_join = None, None
    rename: dict[tuple[str, str], ast.Column] = {}
    group_of: dict[str, str] = {}  # member alias -> its group's alias
    first: dict[str, ast.Node] = {}  # first member's alias -> the group's FROM item
    inside: set[int] = set()  # parts the groups took
    output_name = {}  # member alias -> the name DuckDB gives its column `alias.c`
    for group in found:
        rename.update(group.columns)
        first[group.members[0].alias] = group.item
        group_of.update({m.alias: group.item.alias.name for m in group.members})
        inside |= group.used
        output_name.update({m.alias: group.output_name for m in group.members})
    if not first:
        return None
    order = []
    for r in relations:
        if r.outer:
            continue
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
    for join in trailing:  # LEFT JOINs to the inner joins, as they were (but those now in a group)
        if id(join) in absorbed and _alias(join.right) in group_of:
            continue
        joined = dataclasses.replace(join, left=joined, on=_rename(join.on, rename))
    by_alias = {r.alias: r for r in relations}

    def item(i: ast.SelectItem) -> ast.SelectItem:
        alias = i.alias
        if alias is None and isinstance(i.expr, ast.Column) and i.expr.table.lower() in group_of:
            # the output keeps the name DuckDB gave it: the column's, as its table spells it
            member = i.expr.table.lower()
            alias = output_name[member](by_alias[member], i.expr.name)
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


@dataclasses.dataclass
class _Group:
    members: list[_Relation]  # in FROM order
    item: ast.Node  # the FROM item that replaces them (aliased)
    columns: dict[tuple[str, str], ast.Column]  # (member alias, column) -> its name outside
    used: set[int]  # the parts it takes
    output_name: object  # (member, column) -> the name DuckDB gives `member.column`


def _sqlite_groups(select, order_by, relations, parts, given, aliases, context) -> list[_Group]:
    """Each group of joined tables of one SQLite source as one derived table."""
    found = []
    for members in _components(relations, parts):
        name = _fresh(aliases, context.counter)
        source = context.catalog.source(members[0].source)
        tables = [context.catalog.table(m.item.source, m.item.name) for m in members]

        def exact(used: set[int]):
            found = _derived(select, order_by, members, parts, given, name, used)
            ok = found[0] is not None and source.runs_exactly(found[0].query, tables, context.params)
            return found if ok else None

        names = {m.alias for m in members}
        taken = {i for i, (_, refs) in enumerate(parts) if refs and refs <= names}
        result = exact(taken)
        if result is None:
            # the joins alone, then each condition on one table that SQLite computes
            # exactly; the others stay outside, over the group's columns
            joins = {i for i in taken if len(parts[i][1]) >= 2}
            if exact(joins) is None:
                continue
            for i in sorted(taken - joins):
                if exact(joins | {i}) is not None:
                    joins.add(i)
            taken, result = joins, exact(joins)
        derived, columns = result
        found.append(_Group(members, derived, columns, taken,
                            lambda member, column: _catalog_name(member, column, context.catalog)))
    return found


# ---------------------------------------------------------------- one Kuzu source's matches


@dataclasses.dataclass
class _Match:
    """A FROM item over one Kuzu source, as the parts of a GRAPH_TABLE."""
    source: str  # as the catalog spells it
    patterns: tuple[ast.PathPattern, ...]
    where: ast.Expr | None
    columns: dict[str, ast.GraphColumn]  # lower-cased name -> the column
    keys: dict[str, tuple[str, str]]  # lower-cased name -> (node variable, label) whose primary key it is
    variables: list[str]  # node, edge and path variables, in order of appearance
    made_up: frozenset[str] = frozenset()  # variables the query did not write


def _graph_groups(select, order_by, relations, parts, given, aliases, context) -> list[_Group]:
    """GRAPH_TABLEs and tables of one Kuzu source joined on node keys, as one GRAPH_TABLE.

    ``GRAPH_TABLE (g MATCH (a:Person)-[:KNOWS]->(b:Person) COLUMNS (b.id AS bid)) x JOIN
    GRAPH_TABLE (g MATCH (c:Person)-[:WORKS_AT]->(o:Company) COLUMNS (c.id AS cid, ...)) y
    ON y.cid = x.bid``: the two matches share a node, the same node because a key
    identifies it in its label, so they are one MATCH with ``c`` written ``b``. A node
    table is the match ``(n:Label)``, a relationship table ``(s:From)-[r:Type]->(d:To)``
    with ``_from`` and ``_to`` the keys of ``s`` and ``d``. Kuzu matches walks (an edge
    may repeat across patterns), as separate GRAPH_TABLEs do, so the rows are the same."""
    matches = {}
    for relation in relations:
        match = None if relation.outer else _as_match(relation.item, context.catalog)
        if match is not None:
            matches[relation.alias] = match
    if len(matches) < 2:
        return []
    same: dict[tuple[str, str], tuple[str, str]] = {}  # (alias, variable) -> one it is the same node as
    joined: dict[str, str] = {alias: alias for alias in matches}
    joins: dict[int, tuple[str, str]] = {}  # part -> the aliases it joins

    def find(parent, key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for i, (expr, _) in enumerate(parts[:given]):
        if not (isinstance(expr, ast.Binary) and expr.op == "=" and isinstance(expr.left, ast.Column)
                and isinstance(expr.right, ast.Column)):
            continue
        ends = []
        for column in (expr.left, expr.right):
            match = matches.get(column.table.lower())
            key = match.keys.get(column.name.lower()) if match is not None else None
            if key is None:
                break
            ends.append((column.table.lower(), match, key))
        else:
            (left, first, (var1, label1)), (right, second, (var2, label2)) = ends
            if left != right and first.source == second.source and label1 == label2:
                same[find(same, (right, var2))] = find(same, (left, var1))
                joined[find(joined, right)] = find(joined, left)
                joins[i] = (left, right)
    components: dict[str, list[_Relation]] = {}
    for relation in relations:
        if relation.alias in matches:
            components.setdefault(find(joined, relation.alias), []).append(relation)
    found = []
    for members in components.values():
        if len(members) < 2:
            continue
        group = _merged(members, matches, same, find, joins, select, order_by, parts, given, aliases, context)
        if group is not None:
            found.append(group)
    return found


def _merged(members, matches, same, find, joins, select, order_by, parts, given, aliases, context):
    names = {m.alias for m in members}
    used = {i for i, pair in joins.items() if set(pair) <= names}
    # a variable of each member for every node they share; two of one member's
    # variables made one would change that member's own match: left as it is
    classes: dict[tuple[str, str], set[str]] = {}
    for member in members:
        for var in matches[member.alias].variables:
            owners = classes.setdefault(find(same, (member.alias, var)), set())
            if member.alias in owners:
                return None
            owners.add(member.alias)
    rename: dict[tuple[str, str], str] = {}  # (alias, variable) -> its name in the one match
    named: dict[tuple[str, str], str] = {}  # a shared node -> its name
    taken: set[str] = set()
    order = [(m.alias, v) for m in members for v in matches[m.alias].variables]
    # names the query wrote first: a relationship table's ends are named after it
    order.sort(key=lambda key: key[1] in matches[key[0]].made_up)
    for alias, var in order:
        root = find(same, (alias, var))
        if root not in named:
            candidate, n = var, 1
            while candidate.lower() in taken:
                n += 1
                candidate = f"{var}_{n}"
            taken.add(candidate.lower())
            named[root] = candidate
        rename[(alias, var)] = named[root]
    columns = _used_outside(select, order_by, names, parts, given, used)
    outputs = {key: f"__{key[0]}_{key[1]}" for key in columns}
    if len(set(outputs.values())) != len(outputs):
        return None
    if not columns:  # COUNT(*): one column, for one row per match
        member = members[0]
        first = next(iter(matches[member.alias].columns.values()))
        key = (member.alias, first.name.lower())
        outputs = {key: f"__{key[0]}_{key[1]}"}
    patterns, conditions, graph_columns = [], [], []
    for member in members:
        match = matches[member.alias]
        var = {v: rename[(member.alias, v)] for v in match.variables}
        patterns += [_rename_pattern(p, var) for p in match.patterns]
        if match.where is not None:
            conditions.append(_rename_variables(match.where, var))
        for (alias, column), out in outputs.items():
            if alias != member.alias:
                continue
            written = match.columns.get(column)
            if written is None:
                return None  # not a column of that table: the binder says so, on the query as written
            graph_columns.append(ast.GraphColumn(_rename_variables(written.expr, var), out, pos=written.pos))
    # a node table's lone `(a:Label)` says nothing another pattern with `a` does not
    elsewhere = lambda p, v: any(v in {n.var for n in q.nodes} for q in patterns if q is not p)  # noqa: E731
    patterns = [p for p in patterns if not (len(p.nodes) == 1 and not p.nodes[0].properties and not p.path_var
                                            and elsewhere(p, p.nodes[0].var))]
    name = _fresh(aliases, context.counter)
    item = ast.GraphTable(matches[members[0].alias].source, tuple(patterns), ast.and_all(conditions),
                          tuple(graph_columns), ast.Alias(name), pos=members[0].item.pos)
    renamed = {key: ast.Column(out, name) for key, out in outputs.items() if key in columns}
    return _Group(members, item, renamed, used,
                  lambda member, column: matches[member.alias].columns[column.lower()].name)


def _rename_variables(expr, var: dict[str, str]):
    return ast.map_columns(expr, lambda c: dataclasses.replace(c, table=var[c.table]) if c.table in var else c)


def _rename_pattern(pattern: ast.PathPattern, var: dict[str, str]) -> ast.PathPattern:
    return dataclasses.replace(
        pattern,
        path_var=var.get(pattern.path_var, pattern.path_var),
        nodes=tuple(dataclasses.replace(n, var=var.get(n.var, n.var)) for n in pattern.nodes),
        edges=tuple(dataclasses.replace(e, var=var.get(e.var, e.var)) for e in pattern.edges),
    )


def _as_match(item, catalog) -> _Match | None:
    """A GRAPH_TABLE, node table or relationship table of a Kuzu source as a match,
    or None (another source, a shortest path, or names the binder will reject)."""
    try:
        if isinstance(item, ast.GraphTable):
            source = catalog.source(item.source)
            return _graph_match(item, source, catalog.tables(source)) if source.kind == "kuzu" else None
        if isinstance(item, ast.TableRef):
            info = catalog.table(item.source, item.name)
            source = catalog.source(info.source)
            return _table_match(_alias(item), info, source.name) if source.kind == "kuzu" else None
    except Exception:  # noqa: BLE001 - unknown names are the binder's to report
        return None
    return None


def _graph_match(item: ast.GraphTable, source, tables) -> _Match | None:
    if any(p.shortest for p in item.patterns):
        return None  # one shortest path per pair: not a join of walks
    labels: dict[str, set[str]] = {}
    variables, edges = [], set()
    for pattern in item.patterns:
        for var in [pattern.path_var] + [n.var for n in pattern.nodes] + [e.var for e in pattern.edges]:
            if var is not None and var not in variables:
                variables.append(var)
        for node in pattern.nodes:
            if node.var is not None:
                labels.setdefault(node.var, set())
                if node.label is not None:
                    found = find_name(node.label, tables.values(), key=lambda t: t.name)
                    if found is None or found.kind != "node":
                        return None
                    labels[node.var].add(found.name)
        edges |= {e.var for e in pattern.edges if e.var is not None}
    if edges & set(labels) or len({v.lower() for v in variables}) != len(variables):
        return None
    columns, keys = {}, {}
    for column in item.columns:
        if column.name.lower() in columns:
            return None
        columns[column.name.lower()] = column
        expr = column.expr
        if isinstance(expr, ast.Column) and len(labels.get(expr.table, ())) == 1:
            label = next(iter(labels[expr.table]))
            key = _key(tables[label])
            if key is not None and key.lower() == expr.name.lower():
                keys[column.name.lower()] = (expr.table, label)
    return _Match(source.name, item.patterns, item.where, columns, keys, variables)


def _table_match(alias: str, info, source: str) -> _Match | None:
    if info.kind == "node":
        pattern = ast.PathPattern((ast.NodePattern(alias, info.name),), ())
        columns = {c.name.lower(): ast.GraphColumn(ast.Column(c.name, alias), c.name) for c in info.columns}
        key = _key(info)
        keys = {key.lower(): (alias, info.name)} if key is not None else {}
        return _Match(source, (pattern,), None, columns, keys, [alias])
    ends = info.option("ends") or ()
    if info.kind != "rel" or len(ends) != 1:
        return None  # a type between several pairs of labels: one match each
    src_node, dst_node, src_key, dst_key = ends[0]
    src, dst = f"{alias}__from", f"{alias}__to"
    pattern = ast.PathPattern((ast.NodePattern(src, src_node), ast.NodePattern(dst, dst_node)),
                              (ast.EdgePattern(alias, info.name, "right"),))
    columns = {c.name.lower(): ast.GraphColumn(ast.Column(c.name, alias), c.name) for c in info.columns}
    columns["_from"] = ast.GraphColumn(ast.Column(src_key, src), "_from")
    columns["_to"] = ast.GraphColumn(ast.Column(dst_key, dst), "_to")
    return _Match(source, (pattern,), None, columns, {"_from": (src, src_node), "_to": (dst, dst_node)},
                  [src, alias, dst], frozenset({src, dst}))


def _key(table) -> str | None:
    """A node table's primary key, when it is an integer or a string (exact equality
    in DuckDB as in Kuzu)."""
    key = table.option("primary_key")
    column = table.column(key) if key is not None else None
    return column.name if column is not None and key_family(column.type) is not None else None


def _relations(select: ast.Select, catalog):
    """The FROM's tables, the ON conditions of its inner joins (a ``USING`` written as
    one), the LEFT JOINs made to them (outermost last), and the table each ``USING``
    column is read from; None when it is not of that shape.

    ``a JOIN b ON .. LEFT JOIN c ON ..``: ``a`` and ``b`` may be grouped, ``c`` only
    with the table its condition reads (``_absorb``), and a WHERE condition on ``a``
    and ``b`` alone may move into their group: a LEFT JOIN keeps each row of its left
    side by itself."""
    relations: list[_Relation] = []
    conditions: list[ast.Expr] = []
    using: dict[str, str] = {}  # a USING column (lower-cased) -> the alias it is read from
    items, trailing = select.from_, []
    if len(items) == 1:
        item = items[0]
        while isinstance(item, ast.Join) and item.kind == "LEFT" and not item.using:
            trailing.append(item)
            item = item.left
        items = (item,)
    for item in items:
        if not _flatten(item, relations, conditions, catalog, using):
            return None
    for join in reversed(trailing):
        if not _leaves(join.right, relations):
            return None
    return relations, conditions, trailing[::-1], using


def _leaves(item, relations: list[_Relation]) -> bool:
    """The tables of a LEFT JOIN's right side, as relations not to group."""
    if isinstance(item, ast.Join):
        return item.kind != "CROSS" and not item.using and _leaves(item.left, relations) \
            and _leaves(item.right, relations)
    alias = _alias(item)
    if alias is None or any(r.alias == alias for r in relations):
        return False
    relations.append(_Relation(item, alias, outer=True))
    return True


def _flatten(item, relations: list[_Relation], conditions: list[ast.Expr], catalog, using) -> bool:
    if isinstance(item, ast.Join):
        if item.kind not in ("INNER", "CROSS") or (item.using and isinstance(item.right, ast.Join)):
            return False
        if not (_flatten(item.left, relations, conditions, catalog, using)
                and _flatten(item.right, relations, conditions, catalog, using)):
            return False
        conditions.extend(ast.conjuncts(item.on))
        return all(_using(name, relations, conditions, catalog, using) for name in item.using)
    alias = _alias(item)
    if alias is None or any(r.alias == alias for r in relations):
        return False
    relations.append(_Relation(item, alias))
    return True


def _using(name: str, relations: list[_Relation], conditions: list[ast.Expr], catalog, using) -> bool:
    """``JOIN b USING (k)`` (``b`` the last of ``relations``) as the condition
    ``a.k = b.k``, ``a`` the one table before it with a column ``k`` (or the table an
    earlier ``USING (k)`` reads it from); False where that is not exact: no such single
    table, or columns not of one integer or string type (DuckDB would cast them)."""
    right, before = relations[-1], relations[:-1]

    def column(relation: _Relation) -> str | None:
        names = columns_of(relation.item, catalog)
        return find_name(name, names, key=lambda n: n) if names is not None else None

    left = next((r for r in before if r.alias == using.get(name.lower())), None)
    if left is None:
        owners = [r for r in before if column(r) is not None]
        if len(owners) != 1:
            return False
        left = owners[0]
    left_name, right_name = column(left), column(right)
    if left_name is None or right_name is None:
        return False
    kind = column_type(left.item, left_name, catalog)
    if kind is None or key_family(kind) is None or kind != column_type(right.item, right_name, catalog):
        return False
    conditions.append(ast.Binary("=", ast.Column(left_name, left.alias), ast.Column(right_name, right.alias)))
    using.setdefault(name.lower(), left.alias)
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


def _qualified_columns(select: ast.Select, relations, catalog, using: dict[str, str]) -> ast.Select | None:
    """The SELECT with each unqualified column written ``alias.column``, when exactly
    one table of its FROM has that column (the binder's rule: exact name, else one
    case-insensitive match); None when a table's columns are unknown or a name is
    not found (a SELECT alias, an outer query's column: left to the binder)."""
    columns = {}
    for relation in relations:
        names = columns_of(relation.item, catalog)
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
        if len(owners) > 1 and column.name.lower() in using:  # a USING column: equal on every row
            owners = [using[column.name.lower()]]
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


def columns_of(item, catalog) -> list[str] | None:
    """The column names a FROM item offers, or None if they are not known here
    (before binding: also used by unnesting.py)."""
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
    if isinstance(item, ast.SubqueryRef):
        return ast.output_names(item.query)
    return None


def _join_conditions(item, outer: bool = False) -> list[ast.Expr]:
    """The ON conditions in a FROM item (``outer``: of its outer joins only)."""
    if isinstance(item, ast.Join):
        own = [item.on] if item.on is not None and (not outer or item.kind not in ("INNER", "CROSS")) else []
        return _join_conditions(item.left, outer) + _join_conditions(item.right, outer) + own
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
    classes, written = _equality_classes([expr for expr, _ in parts])
    implied = []
    for members in classes:
        types = {k: column_type(by_alias[k[0]].item, k[1], catalog) for k in members}
        families = {key_family(t) for t in types.values()}
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


def column_type(item, column: str, catalog):
    """The type of ``column`` of a FROM item, when the catalog tells it (tables,
    searches, a GRAPH_TABLE's plain ``var.prop`` columns), else None (also used by
    shipping.py)."""
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


def _absorb(relations: list[_Relation], trailing: list[ast.Join], conditions, context: _Context,
            refused: set[str]) -> set[int]:
    """The LEFT JOINs (their ids) that join a table of a SQLite source on conditions
    over it and one other table of that source, which then join in that table's group.

    ``g JOIN a ON .. LEFT JOIN b ON b.x = a.y`` is ``g JOIN (a LEFT JOIN b ON b.x = a.y)``:
    the LEFT JOIN keeps each row of its left side by itself, and its condition reads
    nothing of ``g``. So ``a LEFT JOIN b`` may run in SQLite as one query, and a WHERE
    condition on ``a`` and ``b`` alone with it (after the LEFT JOIN, as before).

    A column of another source in the condition is first replaced by an equal column
    of that source's tables (``conditions``: the inner joins' and the WHERE's; see
    ``_equal_columns``): ``g JOIN a ON a.id = g.x LEFT JOIN b ON b.a_id = g.x`` reads
    ``b.a_id = a.id``, which holds on every row of the left side that is kept."""
    by_item = {id(r.item): r for r in relations}
    by_alias = {r.alias: r for r in relations}
    equal = _equal_columns(conditions, relations, context.catalog)
    absorbed = set()
    for join in trailing:  # innermost first: a later one may hang on an earlier one
        relation = by_item.get(id(join.right))
        if relation is None or relation.alias in refused:
            continue
        source = _sqlite_source(relation.item, context.catalog)
        if source is None or join.on is None:
            continue

        def grouped(r: _Relation) -> bool:  # a table of this source that may be in a group
            return r.source == source and (not r.outer or r.left_join is not None)

        def local(column: ast.Column) -> ast.Column:
            owner = by_alias.get((column.table or "").lower())
            if owner is None or owner is relation or grouped(owner):
                return column
            for other, written in equal.get((column.table.lower(), column.name.lower()), ()):
                if grouped(by_alias[other]):
                    return dataclasses.replace(written, pos=column.pos)
            return column

        rewritten = dataclasses.replace(join, on=ast.map_columns(join.on, local))
        others = _aliases(rewritten.on) - {relation.alias}
        if len(others) != 1:
            continue
        other = by_alias.get(next(iter(others)))
        if other is None or not grouped(other):
            continue
        # its condition computed by SQLite exactly as by DuckDB (else the group would fail whole)
        columns = tuple(ast.SelectItem(c) for c in rewritten.on.walk() if isinstance(c, ast.Column))
        probe = ast.Query(ast.Select(columns, (ast.Join("LEFT", other.item, relation.item, rewritten.on),), None))
        tables = [context.catalog.table(r.item.source, r.item.name) for r in (other, relation)]
        if not context.catalog.source(other.source).runs_exactly(probe, tables, context.params):
            continue
        absorbed.add(id(join))
        relation.source, relation.left_join = source, rewritten
    return absorbed


def _equality_classes(conditions) -> tuple[list[list[tuple[str, str]]], dict[tuple[str, str], ast.Column]]:
    """The classes of columns ``(alias, column)`` (lower-cased) that the equalities
    ``column = column`` among ``conditions`` make equal, and each column as written."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    written: dict[tuple[str, str], ast.Column] = {}

    def find(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for expr in conditions:
        if isinstance(expr, ast.Binary) and expr.op == "=" and isinstance(expr.left, ast.Column) \
                and isinstance(expr.right, ast.Column):
            keys = [(c.table.lower(), c.name.lower()) for c in (expr.left, expr.right)]
            for key, column in zip(keys, (expr.left, expr.right)):
                written.setdefault(key, column)
            parent[find(keys[0])] = find(keys[1])
    classes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in written:
        classes.setdefault(find(key), []).append(key)
    return list(classes.values()), written


def _equal_columns(conditions, relations, catalog) -> dict[tuple[str, str], list]:
    """For each column of the equalities ``conditions`` hold between columns of the
    inner tables, the other columns of its class as (alias, column as written):
    only where every column of the class is known to be of one type, an integer or a
    string one (where DuckDB would cast, equality does not carry over; see
    ``_implied``)."""
    by_alias = {r.alias: r for r in relations}
    inner = [e for e in conditions  # not a LEFT JOIN's right side: NULL where it has no row
             if all(a in by_alias and not by_alias[a].outer for a in _aliases(e))]
    classes, written = _equality_classes(inner)
    equal: dict[tuple[str, str], list] = {}
    for members in classes:
        types = {k: column_type(by_alias[k[0]].item, k[1], catalog) for k in members}
        if len(set(types.values())) != 1 or key_family(next(iter(types.values()))) is None:
            continue
        for key in members:
            equal[key] = [(k[0], written[k]) for k in members if k != key]
    return equal


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
        if len(refs) < 2 or any(by_alias[a].left_join is not None for a in refs):
            continue  # a table a LEFT JOIN brings joins the group of the table its condition names
        sources = {by_alias[a].source for a in refs}
        if len(sources) == 1 and None not in sources:
            first, *rest = sorted(refs)
            for other in rest:
                parent[find(other)] = find(first)
    for r in relations:
        if r.left_join is not None:
            for other in _aliases(r.left_join.on) - {r.alias}:
                parent[find(r.alias)] = find(other)
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
    columns = _used_outside(select, order_by, {m.alias for m in members}, parts, given, used)
    outputs = {key: f"__{key[0]}_{key[1]}" for key in columns}
    if not columns or len(set(outputs.values())) != len(outputs):
        return None, {}
    items = tuple(ast.SelectItem(ast.Column(c.name, c.table), alias=outputs[key]) for key, c in columns.items())
    joined, available = None, set()
    pending = [(c, refs) for i, (c, refs) in enumerate(parts) if i in used]
    for m in members:  # the inner joins first, then the LEFT JOINs (see _relations)
        available.add(m.alias)
        if m.left_join is not None:  # conditions on its table go to the WHERE, after it
            joined = ast.Join("LEFT", joined, m.item, m.left_join.on)
            continue
        if joined is None:
            joined = m.item
            continue
        here = [c for c, refs in pending if len(refs) >= 2 and refs <= available]
        pending = [(c, refs) for c, refs in pending if not any(c is h for h in here)]
        joined = ast.Join("INNER" if here else "CROSS", joined, m.item, ast.and_all(here))
    body = ast.Select(items, (joined,), ast.and_all([c for c, _ in pending]))
    ref = ast.SubqueryRef(ast.Query(body), ast.Alias(name))
    return ref, {key: ast.Column(out, name) for key, out in outputs.items()}


def _used_outside(select, order_by, names: set[str], parts, given, used: set[int]) -> dict:
    """The columns of the tables ``names`` that the query uses outside their group,
    ``(alias, column)`` lower-cased -> the column as written."""
    outside: list[ast.Node] = [i.expr for i in select.items] + list(select.group_by)
    outside += [e for e in (select.having,) if e is not None]
    outside += [c for i, (c, _) in enumerate(parts[:given]) if i not in used]
    outside += [item.expr for item in order_by]
    outside += [c for item in select.from_ for c in _join_conditions(item, outer=True)]
    columns: dict[tuple[str, str], ast.Column] = {}
    for expr in outside:
        for node in expr.walk():
            if isinstance(node, ast.Column) and node.table is not None and node.table.lower() in names:
                columns.setdefault((node.table.lower(), node.name.lower()), node)
    return columns


def _rename(expr, rename: dict[tuple[str, str], ast.Column]):
    if expr is None or not rename:
        return expr

    def change(column: ast.Column) -> ast.Column:
        if column.table is None:
            return column
        new = rename.get((column.table.lower(), column.name.lower()))
        return dataclasses.replace(new, pos=column.pos) if new is not None else column

    return ast.map_columns(expr, change)

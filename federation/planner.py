"""Stage 2: AST -> Plan, bound against the catalog.

One pass over the query resolves every table and column (with did-you-mean errors),
records which columns of each table occurrence are used, and builds the DuckDB SQL
as a sqlglot tree in which each table occurrence, GRAPH_TABLE and VECTOR_SEARCH is a
leaf. Each leaf then becomes one fragment for its source: a scan of the used columns,
a Cypher MATCH, or a LanceDB search. A query whose tables all live in one SQLite
database, and whose operations SQLite evaluates exactly as DuckDB does, is sent to
SQLite whole.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Callable, Mapping

import pyarrow as pa
from sqlglot import exp

from . import ast
from .catalog import TableInfo, find_name
from .errors import CatalogError, ParameterError, UnsupportedError, did_you_mean
from .optimizer.tree import find_all, leaf_id, rename_leaves
from .optimizer.tree import paren as _paren
from . import optimizer
from .optimizer.context import DEFAULT_MAX_KEYS, DEFAULT_SHIP_ROWS, Context
from .optimizer.grouping import group_joins
from .optimizer.semijoins import key_bound
from .optimizer.unnesting import unnest_in
from .plan import (SHIPPED, Access, DerivedFragment, Draft, Fragment, ParamRef, Plan, Reduce, SemiJoin,
                   VectorQuery, fragment_name)
from .sources.base import Source
from .sources.kuzu import GraphOutput, GraphRequest
from .sources.lancedb import DISTANCE, METRICS

# Functions FQL documents (docs/language.md), with their argument counts.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "COUNT": (1, 1), "SUM": (1, 1), "AVG": (1, 1), "MIN": (1, 1), "MAX": (1, 1),
    "LOWER": (1, 1), "UPPER": (1, 1), "LENGTH": (1, 1), "SUBSTR": (2, 3), "SUBSTRING": (2, 3),
    "COALESCE": (1, 99), "ABS": (1, 1), "ROUND": (1, 2), "NULLIF": (2, 2), "TRIM": (1, 1),
    "REPLACE": (3, 3),
}
TYPES = {
    "INTEGER": "INTEGER", "INT": "INTEGER", "BIGINT": "BIGINT", "SMALLINT": "SMALLINT",
    "DOUBLE": "DOUBLE", "FLOAT": "DOUBLE", "REAL": "DOUBLE", "DECIMAL": "DECIMAL", "NUMERIC": "DECIMAL",
    "VARCHAR": "VARCHAR", "TEXT": "VARCHAR", "STRING": "VARCHAR", "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
    "DATE": "DATE", "TIMESTAMP": "TIMESTAMP",
}
_COMPARISONS = {"=": exp.EQ, "<>": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
_ARITHMETIC = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod, "||": exp.DPipe}

Describe = Callable[[str, list[tuple[str, pa.Schema]], Mapping[str, object]], list[tuple[str, pa.DataType]]]


# ---------------------------------------------------------------- leaves


@dataclass(eq=False)
class Leaf:
    """One table occurrence (or table function) in the query."""

    id: int
    source: Source
    table: TableInfo | None = None
    used: set[str] = field(default_factory=set)
    all_columns: bool = False
    graph: ast.GraphTable | None = None
    graph_outputs: dict[tuple, GraphOutput] = field(default_factory=dict)
    graph_where: ast.Expr | None = None
    vector: VectorQuery | None = None
    prefilter: ast.Expr | None = None
    required: set[str] = field(default_factory=set)  # fetched whatever the tree uses (USING)
    keys: tuple[str, exp.Expression] | None = None  # prefilter `column IN (SELECT ...)`: column, subquery

    @property
    def placeholder(self) -> str:
        return f"__leaf{self.id}"

    def columns(self) -> tuple[str, ...]:
        if self.graph is not None:
            return tuple(o.name for o in self.graph_outputs.values())
        names = list(self.table.column_names)
        if self.vector is not None:
            names.append(DISTANCE)
        chosen = tuple(n for n in names if self.all_columns or n in self.used)
        if chosen:
            return chosen
        # COUNT(*) and friends use no column; fetch the narrowest one to keep the rows.
        return (self.table.column_names[0],)


@dataclass
class Relation:
    """A name visible in a FROM scope and the columns it offers."""

    alias: str
    columns: list[str]
    open: bool = False  # some column names are only known to DuckDB: do not reject unknowns
    leaf: Leaf | None = None
    # column -> (leaf, the fragment column holding it, its type): where a join key comes from
    origins: dict[str, tuple[Leaf, str, pa.DataType | None]] = field(default_factory=dict)
    graph: bool = False  # a GRAPH_TABLE: its origins are its match's own rows (filters may move in)

    def origin(self, name: str) -> tuple[Leaf, str, pa.DataType | None] | None:
        if name in self.origins:
            return self.origins[name]
        leaf = self.leaf
        if leaf is None or leaf.table is None:
            return None
        if name == DISTANCE and leaf.vector is not None:
            return leaf, name, pa.float64()
        info = leaf.table.column(name)
        return (leaf, info.name, info.type) if info is not None else None

    def resolve(self, name: str) -> str | None:
        return find_name(name, self.columns, key=lambda c: c)


class Frame:
    """One query (or subquery); ``correlated`` when it uses a column of an outer query."""

    def __init__(self):
        self.correlated = False

    def __deepcopy__(self, memo):  # a fact about the query, shared by every copy of its tree
        return self


class Tag(tuple):
    """An annotation on a sqlglot node (``meta``): immutable, so copies share it."""

    def __deepcopy__(self, memo):
        return self


@dataclass
class Scope:
    parent: "Scope | None" = None
    relations: list[Relation] = field(default_factory=list)
    ctes: dict[str, tuple[list[str], bool]] = field(default_factory=dict)
    select_aliases: set[str] = field(default_factory=set)
    using: set[str] = field(default_factory=set)
    frame: Frame | None = None
    cte_trees: dict[str, exp.CTE] = field(default_factory=dict)

    def __post_init__(self):
        if self.frame is None:
            self.frame = self.parent.frame if self.parent is not None else Frame()

    def cte(self, name: str):
        scope = self
        while scope is not None:
            found = find_name(name, scope.ctes, key=lambda c: c)
            if found is not None:
                return found, scope.ctes[found]
            scope = scope.parent
        return None

    def cte_tree(self, name: str) -> exp.CTE | None:
        scope = self
        while scope is not None:
            if name.lower() in scope.cte_trees:
                return scope.cte_trees[name.lower()]
            scope = scope.parent
        return None


# ---------------------------------------------------------------- planner


class Planner:
    def __init__(self, catalog, describe: Describe, *, max_keys: int = DEFAULT_MAX_KEYS,
                 ship_rows: int = DEFAULT_SHIP_ROWS):
        self.catalog = catalog
        self.describe = describe
        self.max_keys = max_keys
        self.ship_rows = ship_rows

    def plan(self, query: ast.Query, params: Mapping[str, object], *, unbound_ok: bool = False,
             optimize: bool = True, catalog=None) -> Plan:
        """Plan ``query``. With ``unbound_ok`` (EXPLAIN without values), a missing
        parameter is planned for as a value of unknown type: nothing that depends on
        its type runs in a source. Without ``optimize``, every access fetches whole
        tables and DuckDB does all the work (the reference the optimizer is tested against)."""
        if unbound_ok:
            used = query.parameters()
            params = {**{name: UNBOUND for name in used}, **params}
        check_parameters(query, params)
        catalog = catalog or self.catalog.snapshot()
        if optimize:  # before binding: they rewrite the FQL (see optimizer/unnesting.py, grouping.py)
            query = group_joins(unnest_in(query, catalog), catalog, params)
        draft = self.bind(query, params, catalog)
        context = Context(catalog, params, self.describe, self.max_keys, self.ship_rows)
        draft = optimizer.optimize(draft, context, optimizer.RULES if optimize else optimizer.BASELINE)
        return compile_plan(draft, context)

    def bind(self, query: ast.Query, params: Mapping[str, object], catalog=None) -> Draft:
        """Resolve every name and build the Draft the optimizer rules rewrite."""
        build = _Build(catalog or self.catalog.snapshot(), params)
        tree = build.query(query, Scope())
        accesses = [_access(leaf) for leaf in build.leaves]
        next_id = max((leaf.id for leaf in build.leaves), default=0) + 1000
        for i, leaf in enumerate(build.leaves):
            if leaf.keys is not None:  # a prefilter IN (SELECT ...): that query runs first
                column, subquery = leaf.keys
                derived = Access(next_id, "DuckDB", "derived", query=subquery)
                next_id += 1
                accesses.append(derived)
                accesses[i] = replace(accesses[i], reduce=Reduce(derived.id, "", column, required=True))
        return Draft(tree, tuple(accesses))


def _access(leaf: Leaf) -> Access:
    if leaf.graph is not None:
        request = GraphRequest(leaf.graph.patterns, leaf.graph_where, tuple(leaf.graph_outputs.values()))
        return Access(leaf.id, leaf.source.name, "graph", graph=request, columns=leaf.columns())
    universe = tuple(leaf.table.column_names) + ((DISTANCE,) if leaf.vector is not None else ())
    required = frozenset(universe) if leaf.all_columns else frozenset(leaf.required)
    kind = "search" if leaf.vector is not None else "scan"
    return Access(leaf.id, leaf.source.name, kind, leaf.table, columns=universe, required=required,
                  vector=leaf.vector, prefilter=leaf.prefilter)


def compile_plan(draft: Draft, context: Context) -> Plan:
    """Each access becomes one fragment (its source writes the native request);
    the tree becomes DuckDB SQL over them."""
    params = frozenset(context.params)
    if "whole" in draft.tree.meta:
        final = next(a for a in draft.accesses if a.id == draft.tree.meta["whole"])
        source = context.source(final.source)
        types = tuple(t for _, t in final.output)
        if not final.inputs:
            return Plan((source.compile_query(final.query, final.columns, types),), None, (), final.output, params)
        # the last step in SQLite, over the rows of the accesses it reads (shipping.py)
        fragments, estimates, semijoins, notes, index, _ = _compile_accesses(
            [a for a in draft.accesses if a is not final], context)
        shipped = [(f"{SHIPPED}{i}", index[i]) for i in final.inputs]
        fragments.append(source.compile_shipped(final.query, final.columns, types, shipped))
        estimates.append(None)
        semijoins.append(None)
        notes.append(("the query's last step, run here over "
                      + ", ".join(f"the rows of {fragment_name(j)}" for _, j in shipped),))
        return Plan(tuple(fragments), None, (), final.output, params, tuple(estimates), tuple(semijoins),
                    tuple(notes))
    fragments, estimates, semijoins, notes, index, names = _compile_accesses(draft.accesses, context)
    sql = rename_leaves(draft.tree, names).sql(dialect="duckdb", copy=False)
    sql_params = tuple(sorted({p.name for p in find_all(draft.tree, exp.Placeholder)}))
    return Plan(tuple(fragments), sql, sql_params, None, params,
                tuple(estimates), tuple(semijoins), tuple(notes))


def _compile_accesses(accesses, context: Context):
    """Each access's fragment (producers of semi-join keys before their consumers; the
    same request twice once), with the lists parallel to them, the fragment index of
    each access id, and the fragment name of each placeholder."""
    fragments: list[Fragment] = []
    estimates: list[float | None] = []
    semijoins: list[SemiJoin | None] = []
    notes: list[tuple[str, ...]] = []
    index: dict[int, int] = {}  # access id -> fragment index
    names: dict[str, str] = {}
    pending = list(accesses)
    while pending:  # producers of semi-join keys before their consumers
        ready = [a for a in pending if (a.reduce is None or a.reduce.producer in index)
                 and all(leaf in index for leaf in _leaves_of(a))]
        if not ready:
            raise AssertionError("semi-joins form a cycle")
        for access in ready:
            pending.remove(access)
            if access.kind == "derived":
                fragment, semijoin = _derived(access, index), None
            else:
                source = context.source(access.source)
                fragment = _compile(source, access, keys=access.reduce is not None and access.reduce.required)
                semijoin = None
                if access.reduce is not None:
                    reduced = _compile(source, access, keys=True)
                    few_keys = source.few_keys(access)
                    few = _compile(source, access, keys=True, few=True) if few_keys else None
                    semijoin = SemiJoin(index[access.reduce.producer], access.reduce.producer_column,
                                        access.reduce.column, reduced, key_bound(context.max_keys, access.reduce),
                                        few, few_keys)
            key = (fragment, semijoin)
            existing = next((i for i, f in enumerate(fragments) if (f, semijoins[i]) == key), None)
            if existing is None:  # the same request twice runs once
                existing = len(fragments)
                fragments.append(fragment)
                estimates.append(access.estimate)
                semijoins.append(semijoin)
                notes.append(_notes(access))
            index[access.id] = existing
            names[access.placeholder] = fragment_name(existing)
    return fragments, estimates, semijoins, notes, index, names


def _leaves_of(access: Access) -> set[int]:
    """The accesses a derived access reads."""
    if access.kind != "derived":
        return set()
    return {i for t in find_all(access.query, exp.Table) if (i := leaf_id(t)) is not None}


def _derived(access: Access, index: dict[int, int]) -> DerivedFragment:
    leaves = _leaves_of(access)
    names = {f"__leaf{i}": fragment_name(index[i]) for i in leaves}
    sql = rename_leaves(access.query, names).sql(dialect="duckdb", copy=False)
    params = tuple(sorted({p.name for p in find_all(access.query, exp.Placeholder)}))
    return DerivedFragment("DuckDB", sql, (), tuple((p, ParamRef(p)) for p in params),
                           inputs=tuple(sorted(index[i] for i in leaves)))


def _compile(source: Source, access: Access, keys: bool, few: bool = False) -> Fragment:
    """The access's fragment; ``keys``: reduced by its semi-join's keys (``few``: the
    source's form for few keys, see ``Source.few_keys``)."""
    column = access.reduce.column if keys and access.reduce is not None else None
    more = {"few": True} if few else {}
    if access.kind == "graph":
        return source.compile_match(access.graph, keys=column, **more)
    if access.kind == "search":
        return source.compile_search(access.table, access.columns, access.vector, access.prefilter, keys=column)
    if access.kind == "query":
        return source.compile_query(access.query, access.columns, tuple(t for _, t in access.output), keys=column)
    return source.compile_scan(access.table, access.columns, filters=access.filters, order=access.order,
                               limit=access.limit, keys=column, **more)


def _notes(access: Access) -> tuple[str, ...]:
    notes = []
    if access.filters:
        notes.append("pushed filter: " + " AND ".join(str(f) for f in access.filters))
    if access.limit is not None:
        order = ", ".join(f"{c}{' DESC' if d else ''}" for c, d, _ in access.order)
        notes.append(f"pushed top-n: {access.limit} rows" + (f" by {order}" if order else ""))
    if access.kind == "graph" and any(o.aggregate for o in access.graph.outputs):
        keys = ", ".join(o.name for o in access.graph.outputs if o.aggregate is None)
        calls = ", ".join(f"{o.aggregate}({o.var + '.' + o.prop if o.prop else '*'})"
                          for o in access.graph.outputs if o.aggregate)
        notes.append(f"pushed aggregate: {calls} by {keys} (partial: DuckDB combines them)")
    return tuple(notes)


def check_parameters(query: ast.Node, params: Mapping[str, object]) -> None:
    used = query.parameters()
    missing = sorted(used - set(params))
    if missing:
        raise ParameterError(
            "No value for " + ", ".join(f"${m}" for m in missing)
            + "; pass it in the parameters, e.g. fed.query(sql, {" + ", ".join(f"{m!r}: ..." for m in missing) + "})"
        )
    unused = sorted(set(params) - used)
    if unused:
        raise ParameterError(
            "Parameter " + ", ".join(f"${u}" for u in unused) + " is not used by the query"
            + (did_you_mean(unused[0], used) if used else "")
        )
    for name in used:
        value = params[name]
        if value is UNBOUND:
            continue
        if not isinstance(value, _PARAM_TYPES) and not _is_vector(value):
            raise ParameterError(
                f"Parameter ${name} has a value of type {type(value).__name__}; use None, bool, int, float,"
                " Decimal, str, bytes, date/datetime, or a list of numbers"
            )


class _Unbound:
    """A parameter EXPLAIN was not given a value for."""

    def __repr__(self) -> str:
        return "<unbound>"


UNBOUND = _Unbound()


def _is_vector(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return type(value).__name__ == "ndarray"


_PARAM_TYPES = (type(None), bool, int, float, Decimal, str, bytes, dt.date, dt.datetime, dt.time)


# ---------------------------------------------------------------- the pass


class _Build:
    """Walks one query: resolves names, collects leaves, builds the sqlglot tree."""

    def __init__(self, catalog, params: Mapping[str, object]):
        self.catalog = catalog
        self.params = params
        self.leaves: list[Leaf] = []
        self.sql_params: set[str] = set()
        self._ids = itertools.count()
        self._refs: list | None = None  # column references of the condition being translated

    # ------------------------------------------------------------ queries
    def query(self, query: ast.Query, outer: Scope) -> exp.Expression:
        scope = Scope(parent=outer, frame=Frame())
        ctes = []
        for cte in query.ctes:
            tree = self.query(cte.query, scope)
            columns, open_ = self._output_columns(cte.query, scope)
            if cte.columns:
                columns, open_ = list(cte.columns), False
            scope.ctes[cte.name] = (columns, open_)
            alias = exp.TableAlias(this=_ident(cte.name), columns=[_ident(c) for c in cte.columns] or None)
            ctes.append(exp.CTE(this=tree, alias=alias))
            scope.cte_trees[cte.name.lower()] = ctes[-1]
        body_scope = Scope(parent=scope)
        body = self.body(query.body, body_scope)
        if query.order_by or query.limit is not None or query.offset is not None:
            target = body
            if isinstance(body, exp.Subquery):  # (SELECT ... ORDER BY ...) ORDER BY ...
                target = exp.select(exp.Star()).from_(body, copy=False)
            order_scope = body_scope if isinstance(query.body, ast.Select) else Scope(parent=scope)
            if not isinstance(query.body, ast.Select):
                order_scope.relations.append(Relation("", *self._output_columns(query.body, scope)))
            if query.order_by:
                target.set("order", exp.Order(expressions=[self.order_item(o, order_scope) for o in query.order_by]))
            if query.limit is not None:
                target.set("limit", exp.Limit(expression=self.expr(query.limit, order_scope)))
            if query.offset is not None:
                target.set("offset", exp.Offset(expression=self.expr(query.offset, order_scope)))
            body = target
        if ctes:
            if isinstance(body, exp.Subquery):
                body = exp.select(exp.Star()).from_(body, copy=False)
            body.set("with_", exp.With(expressions=ctes))
        body.meta["fql"] = query
        body.meta["frame"] = scope.frame
        return body

    def body(self, body, scope: Scope) -> exp.Expression:
        if isinstance(body, ast.Select):
            return self.select(body, scope)
        if isinstance(body, ast.SetOp):
            left = self._operand(body.left, scope.parent, right=False)
            right = self._operand(body.right, scope.parent, right=True)
            kind = {"UNION": exp.Union, "INTERSECT": exp.Intersect, "EXCEPT": exp.Except}[body.op]
            return kind(this=left, expression=right, distinct=not body.all)
        # a parenthesised query used as a whole query body
        return exp.Subquery(this=self.query(body, scope.parent))

    def _operand(self, operand, scope: Scope, *, right: bool) -> exp.Expression:
        """A set operation's operand, in parentheses wherever grouping matters.

        The parser gives an operand the user parenthesised as an ``ast.Query``, and
        ``a UNION b INTERSECT c`` (INTERSECT binds tighter) a set operation on the
        right; both keep their parentheses. A set operation on the left groups the
        same way without them, and SQLite (which accepts no parenthesised operands)
        runs only queries of that left-deep shape.
        """
        if isinstance(operand, ast.Query):
            tree = self.query(operand, scope)
            simple = isinstance(operand.body, ast.Select) and not (
                operand.order_by or operand.limit is not None or operand.offset is not None or operand.ctes
            )
            return tree if simple else exp.Subquery(this=tree)
        tree = self.body(operand, Scope(parent=scope))
        return exp.Subquery(this=tree) if right and isinstance(operand, ast.SetOp) else tree

    def select(self, select: ast.Select, scope: Scope) -> exp.Expression:
        tree = exp.Select()
        if select.from_:
            first, *rest = select.from_
            tree = tree.from_(self.from_item(first, scope, tree), copy=False)
            for item in rest:
                joins = tree.args.get("joins") or []
                tree.set("joins", joins + [exp.Join(this=self.from_item(item, scope, tree))])
        scope.select_aliases = {i.alias for i in select.items if i.alias}
        items = []
        for item in select.items:
            if isinstance(item.expr, ast.Star):
                items.append(self.star(item.expr, scope))
                continue
            value = self.expr(item.expr, scope)
            items.append(exp.Alias(this=value, alias=_ident(item.alias)) if item.alias else value)
        tree.set("expressions", items)
        if select.distinct:
            tree.set("distinct", exp.Distinct())
        if select.where is not None:
            tree.set("where", exp.Where(this=self.condition(select.where, scope)))
        if select.group_by:
            tree.set("group", exp.Group(expressions=[self.expr(g, scope) for g in select.group_by]))
        if select.having is not None:
            tree.set("having", exp.Having(this=self.expr(select.having, scope)))
        return tree

    def star(self, star: ast.Star, scope: Scope) -> exp.Expression:
        if star.table is None:
            if not scope.relations:
                raise CatalogError(f"SELECT * needs a FROM clause (line {star.pos[0]}, column {star.pos[1]})")
            for relation in scope.relations:
                if relation.leaf is not None:
                    relation.leaf.all_columns = True
            return exp.Star()
        relation, _ = self._relation(star.table, scope, star.pos)
        if relation.leaf is not None:
            relation.leaf.all_columns = True
        return exp.Column(this=exp.Star(), table=_ident(relation.alias))

    def order_item(self, item: ast.OrderItem, scope: Scope) -> exp.Expression:
        value = self.expr(item.expr, scope)
        # DuckDB's default puts NULLs last in both directions; say so, for every dialect.
        nulls_first = item.nulls == "FIRST"
        return exp.Ordered(this=value, desc=item.descending, nulls_first=nulls_first)

    # ------------------------------------------------------------ FROM
    def from_item(self, item, scope: Scope, select: exp.Select) -> exp.Expression:
        if isinstance(item, ast.Join):
            left = self.from_item(item.left, scope, select)
            if isinstance(item.right, ast.Join):
                raise UnsupportedError(
                    f"A parenthesised join on the right of JOIN is not supported (line {item.pos[0]});"
                    " write the joins left to right"
                )
            # register the right side before translating ON, which may use both sides
            right = self.from_item(item.right, scope, select)
            join = exp.Join(this=right)
            if item.kind == "CROSS":
                join.set("kind", "CROSS")
            elif item.kind in ("LEFT", "RIGHT", "FULL"):
                join.set("side", item.kind)
            else:
                join.set("kind", "INNER")
            if item.on is not None:
                join.set("on", self.condition(item.on, scope))
            if item.using:
                for name in item.using:
                    self._check_using(name, scope, item.pos)
                scope.using.update(n.lower() for n in item.using)
                join.set("using", [_ident(n) for n in item.using])
            joins = select.args.get("joins") or []
            select.set("joins", joins + [join])
            return left
        if isinstance(item, ast.TableRef):
            return self.table_ref(item, scope)
        if isinstance(item, ast.SubqueryRef):
            tree = self.query(item.query, scope.parent or scope)
            columns, open_ = self._output_columns(item.query, scope.parent or scope)
            alias = item.alias.name if item.alias else f"__subquery{next(self._ids)}"
            if item.alias and item.alias.columns:
                columns, open_ = list(item.alias.columns), False
            origins = _derived_origins(tree, columns) if not open_ else {}
            self._add_relation(scope, Relation(alias, columns, open_, origins=origins), item.pos)
            return exp.Subquery(this=tree, alias=_table_alias(alias, item.alias))
        if isinstance(item, ast.GraphTable):
            return self.graph_table(item, scope)
        if isinstance(item, ast.VectorSearch):
            return self.vector_search(item, scope)
        raise UnsupportedError(f"Unsupported FROM item {type(item).__name__}")

    def _check_using(self, name: str, scope: Scope, pos) -> None:
        owners = [r for r in scope.relations if r.resolve(name) or r.open]
        if len(owners) < 2:
            raise CatalogError(f"USING ({name}): both sides of the join need a column {name!r} (line {pos[0]})")
        for relation in owners:
            resolved = relation.resolve(name)
            if relation.leaf is not None and resolved:
                relation.leaf.used.add(resolved)
                relation.leaf.required.add(resolved)

    def _add_relation(self, scope: Scope, relation: Relation, pos) -> None:
        if any(r.alias.lower() == relation.alias.lower() for r in scope.relations):
            raise CatalogError(
                f"The name {relation.alias!r} is used twice in one FROM clause (line {pos[0]}, column {pos[1]});"
                " give one of them an alias"
            )
        scope.relations.append(relation)

    def table_ref(self, ref: ast.TableRef, scope: Scope) -> exp.Expression:
        alias_name = ref.alias.name if ref.alias else ref.name
        if ref.source is None:
            found = scope.cte(ref.name)
            if found is not None:
                cte_name, (columns, open_) = found
                if ref.alias and ref.alias.columns:
                    columns, open_ = list(ref.alias.columns), False
                tree = scope.cte_tree(cte_name)  # None while a recursive CTE refers to itself
                origins = _derived_origins(tree.this, list(columns)) if tree is not None and not open_ else {}
                self._add_relation(scope, Relation(alias_name, list(columns), open_, origins=origins), ref.pos)
                return exp.Table(this=_ident(cte_name), alias=_table_alias(alias_name, ref.alias))
        table = self._table(ref)
        leaf = self._leaf(table)
        columns = list(table.column_names)
        if ref.alias and ref.alias.columns:
            if len(ref.alias.columns) > len(columns):
                raise CatalogError(
                    f"{ref} has {len(columns)} columns but its alias names {len(ref.alias.columns)}"
                    f" (line {ref.pos[0]})"
                )
            leaf.all_columns = True  # aliases are positional: keep every column in place
            columns = list(ref.alias.columns) + columns[len(ref.alias.columns):]
        relation = Relation(alias_name, columns, leaf=leaf if not (ref.alias and ref.alias.columns) else None)
        self._add_relation(scope, relation, ref.pos)
        return exp.Table(this=_ident(leaf.placeholder), alias=_table_alias(alias_name, ref.alias))

    def _table(self, ref: ast.TableRef) -> TableInfo:
        try:
            return self.catalog.table(ref.source, ref.name)
        except CatalogError as exc:
            raise CatalogError(f"{exc} (line {ref.pos[0]}, column {ref.pos[1]})") from None

    def _leaf(self, table: TableInfo, **extra) -> Leaf:
        leaf = Leaf(next(self._ids), self.catalog.source(table.source), table, **extra)
        self.leaves.append(leaf)
        return leaf

    # ------------------------------------------------------------ GRAPH_TABLE
    def graph_table(self, item: ast.GraphTable, scope: Scope) -> exp.Expression:
        source = self.catalog.source(item.source)
        if source.kind != "kuzu":
            raise UnsupportedError(
                f"GRAPH_TABLE needs a graph (Kuzu) source; {source.name!r} is a {source.kind} source"
                f" (line {item.pos[0]}, column {item.pos[1]})"
            )
        binder = _GraphBinder(source, self.catalog.tables(source), item)
        leaf = Leaf(next(self._ids), source, graph=item)
        self.leaves.append(leaf)

        pushed, kept, conditions = [], [], []
        for conjunct in ast.conjuncts(item.where):
            # as the filters rule does for an outer WHERE: Kuzu decides, and writes it
            condition = source.match_filter(conjunct, binder.property_type, self.params)
            (pushed if condition is not None else kept).append(conjunct)
            if condition is not None:
                conditions.append(condition)
        leaf.graph_where = ast.and_all(conditions)
        for conjunct in pushed:
            binder.validate(conjunct)

        def column_hook(column: ast.Column) -> exp.Expression:
            output = binder.output(column)
            leaf.graph_outputs.setdefault(output.key, output.value)
            return exp.column(leaf.graph_outputs[output.key].name, quoted=True)

        expressions = []
        graph_scope = Scope()
        for column in item.columns:
            value = self.expr(column.expr, graph_scope, column_hook=column_hook, graph=binder)
            expressions.append(exp.Alias(this=value, alias=_ident(column.name)))
        wrapper = exp.select(*expressions, copy=False).from_(exp.Table(this=_ident(leaf.placeholder)), copy=False)
        residual = ast.and_all(kept)
        if residual is not None:
            wrapper = wrapper.where(self.expr(residual, graph_scope, column_hook=column_hook, graph=binder), copy=False)
        if not leaf.graph_outputs:  # e.g. COLUMNS (1 AS one): still one row per match
            first = next(v for p in item.patterns for v in p.nodes if v.var)
            output = binder.output(ast.Column(binder.key_property(first.var), first.var))
            leaf.graph_outputs[output.key] = output.value
        names = [c.name for c in item.columns]
        if len({n.lower() for n in names}) != len(names):
            raise CatalogError(f"GRAPH_TABLE COLUMNS has duplicate names: {', '.join(names)} (line {item.pos[0]})")
        alias = item.alias.name if item.alias else f"__graph{leaf.id}"
        if item.alias and item.alias.columns:
            names = list(item.alias.columns) + names[len(item.alias.columns):]
        origins = {}
        for name, column in zip(names, item.columns):
            if isinstance(column.expr, ast.Column) and column.expr.name != "__path__":
                output = leaf.graph_outputs[binder.output(column.expr).key]
                origins[name] = (leaf, output.name, output.type)
        self._add_relation(scope, Relation(alias, names, origins=origins, graph=True), item.pos)
        node = exp.Subquery(this=wrapper, alias=_table_alias(alias, item.alias))
        node.meta["leaf_id"] = leaf.id
        return node

    # ------------------------------------------------------------ VECTOR_SEARCH
    def vector_search(self, item: ast.VectorSearch, scope: Scope) -> exp.Expression:
        table = self._table(item.table)
        source = self.catalog.source(table.source)
        if source.kind != "lancedb":
            raise UnsupportedError(
                f"VECTOR_SEARCH needs a LanceDB table; {table.source}.{table.name} is in a {source.kind} source"
                f" (line {item.pos[0]}, column {item.pos[1]})"
            )
        options = dict(item.options)
        unknown = sorted(set(options) - {"top_k", "metric", "column"})
        if unknown:
            raise UnsupportedError(
                f"Unknown VECTOR_SEARCH option {unknown[0]!r}." + did_you_mean(unknown[0], ["top_k", "metric", "column"])
                + " Options: top_k => n, metric => 'l2'|'cosine'|'dot', column => 'name'"
            )
        top_k = self._constant(options.get("top_k"), "top_k", 10)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise ParameterError(f"VECTOR_SEARCH top_k must be a positive integer, not {top_k!r}")
        metric = self._constant(options.get("metric"), "metric", "l2")
        if not isinstance(metric, str) or metric.lower() not in METRICS:
            raise ParameterError(
                f"VECTOR_SEARCH metric must be one of {', '.join(map(repr, METRICS))}, not {metric!r}"
            )
        requested = self._constant(options.get("column"), "column", None)
        if requested is not None and not isinstance(requested, str):
            raise ParameterError("VECTOR_SEARCH column must be a column name string")
        column = source.vector_column(table, requested)
        query = self._vector_query(item.query)
        static, dynamic = [], []
        for conjunct in ast.conjuncts(item.prefilter):
            if isinstance(conjunct, ast.InQuery):
                dynamic.append(conjunct)
            else:
                static.append(conjunct)
        prefilter_expr = ast.and_all(static)
        keys = [self._prefilter_keys(c, table, scope) for c in dynamic]
        if len(keys) > 1:
            raise UnsupportedError(
                f"A VECTOR_SEARCH prefilter may hold one `column IN (SELECT ...)` (line {dynamic[1].pos[0]});"
                " combine the subqueries with INTERSECT"
            )
        if prefilter_expr is not None:
            for node in prefilter_expr.walk():
                if isinstance(node, (ast.Exists, ast.InQuery, ast.ScalarSubquery)):
                    raise UnsupportedError(
                        "A VECTOR_SEARCH prefilter can use a subquery only as a top-level"
                        f" `column IN (SELECT ...)` condition, AND-ed with the rest (line {node.pos[0]},"
                        f" column {node.pos[1]})"
                    )
            for node in prefilter_expr.walk():
                if isinstance(node, ast.Column):
                    if node.table is not None and node.table.lower() != table.name.lower():
                        raise CatalogError(
                            f"The VECTOR_SEARCH prefilter can only use columns of {table.source}.{table.name};"
                            f" {node} is not one (line {node.pos[0]}, column {node.pos[1]})"
                        )
                    table.require_column(node.name, where=f" (line {node.pos[0]}, column {node.pos[1]})")
            prefilter = _canonical_columns(prefilter_expr, table)
        else:
            prefilter = None
        vq = VectorQuery(column.name, query, top_k, metric.lower())
        leaf = self._leaf(table, vector=vq, prefilter=prefilter)
        leaf.keys = keys[0] if keys else None
        alias = item.alias.name if item.alias else table.name
        columns = list(table.column_names) + [DISTANCE]
        self._add_relation(scope, Relation(alias, columns, leaf=leaf), item.pos)
        return exp.Table(this=_ident(leaf.placeholder), alias=_table_alias(alias, item.alias))

    def _prefilter_keys(self, node: ast.InQuery, table: TableInfo, scope: Scope) -> tuple[str, exp.Expression]:
        """``column IN (SELECT ...)`` in a prefilter: the column, and the subquery as a
        DuckDB query (with the CTEs it uses) that runs before the search."""
        if node.negated:
            raise UnsupportedError(
                f"NOT IN (SELECT ...) is not supported in a VECTOR_SEARCH prefilter (line {node.pos[0]});"
                " a NULL among the values would empty the search. Filter the result instead"
            )
        if not isinstance(node.operand, ast.Column):
            raise UnsupportedError(f"The prefilter needs `column IN (SELECT ...)` (line {node.pos[0]})")
        column = table.require_column(node.operand.name, where=f" (line {node.pos[0]}, column {node.pos[1]})")
        frame = Frame()
        tree = self.query(node.query, Scope(parent=scope, frame=frame))
        if frame.correlated or tree.meta["frame"].correlated:
            raise UnsupportedError(
                f"The prefilter subquery cannot refer to the outer query (line {node.pos[0]}); it runs first"
            )
        columns, open_ = self._output_columns(node.query, scope)
        if not open_ and len(columns) != 1:
            raise CatalogError(f"The prefilter subquery must return one column, not {len(columns)} (line {node.pos[0]})")
        # the CTEs it names (and the ones those name), in their order of definition
        needed: dict[str, exp.CTE] = {}
        pending = [t.name.lower() for t in find_all(tree, exp.Table)]
        while pending:
            name = pending.pop()
            if name in needed:
                continue
            for outer in _chain(scope):
                if name in outer.cte_trees:
                    needed[name] = outer.cte_trees[name]
                    pending.extend(t.name.lower() for t in find_all(outer.cte_trees[name], exp.Table))
                    break
        if needed:
            order = [c for s in reversed(list(_chain(scope))) for c in s.cte_trees.values() if c in needed.values()]
            tree = exp.select(exp.Star()).from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=_ident("__keys"))))
            tree.set("with_", exp.With(expressions=[c.copy() for c in order]))
        return column.name, tree

    def _constant(self, expr: ast.Expr | None, what: str, default):
        if expr is None:
            return default
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.Param):
            value = self.params[expr.name]
            if value is UNBOUND:
                raise ParameterError(f"VECTOR_SEARCH {what} => ${expr.name} needs a value even to plan the query")
            return value
        raise UnsupportedError(f"VECTOR_SEARCH {what} must be a literal or a $parameter")

    def _vector_query(self, expr: ast.Expr):
        if isinstance(expr, ast.Param):
            return ParamRef(expr.name)
        if isinstance(expr, ast.Literal) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Array):
            values = []
            for item in expr.items:
                if not (isinstance(item, ast.Literal) and isinstance(item.value, (int, float, Decimal))
                        and not isinstance(item.value, bool)):
                    raise UnsupportedError("A VECTOR_SEARCH query array must hold number literals only")
                values.append(float(item.value))
            return tuple(values)
        raise UnsupportedError(
            "The VECTOR_SEARCH query must be a $parameter, an array literal [..] or a 'string' to embed"
            f" (line {expr.pos[0]}, column {expr.pos[1]})"
        )

    # ------------------------------------------------------------ output columns
    def _output_columns(self, body, scope: Scope) -> tuple[list[str], bool]:
        """Column names a query produces, and whether some are known only to DuckDB."""
        if isinstance(body, ast.Query):
            if body.ctes:
                return [], True
            return self._output_columns(body.body, scope)
        if isinstance(body, ast.SetOp):
            return self._output_columns(body.left, scope)
        names: list[str] = []
        open_ = False
        probe = Scope(parent=scope)
        for item in body.items:
            if item.alias:
                names.append(item.alias)
            elif isinstance(item.expr, ast.Column):
                names.append(item.expr.name)
            elif isinstance(item.expr, ast.Star):
                expanded = self._star_columns(body, item.expr, probe)
                if expanded is None:
                    open_ = True
                else:
                    names.extend(expanded)
            else:
                open_ = True
        return names, open_

    def _star_columns(self, body: ast.Select, star: ast.Star, scope: Scope) -> list[str] | None:
        names: list[str] = []
        for item in _from_leaves(body.from_):
            alias = getattr(item, "alias", None)
            if isinstance(item, ast.TableRef):
                label = alias.name if alias else item.name
                if star.table and star.table.lower() != label.lower():
                    continue
                if item.source is None and scope.cte(item.name):
                    columns, open_ = scope.cte(item.name)[1]
                    if open_:
                        return None
                    names.extend(columns)
                    continue
                try:
                    names.extend(self.catalog.table(item.source, item.name).column_names)
                except CatalogError:
                    return None
            elif isinstance(item, ast.VectorSearch):
                label = alias.name if alias else item.table.name
                if star.table and star.table.lower() != label.lower():
                    continue
                names.extend(self.catalog.table(item.table.source, item.table.name).column_names + (DISTANCE,))
            elif isinstance(item, ast.GraphTable):
                if star.table and (not alias or star.table.lower() != alias.name.lower()):
                    continue
                names.extend(c.name for c in item.columns)
            else:
                return None
        return names

    # ------------------------------------------------------------ expressions
    def _relation(self, name: str, scope: Scope, pos) -> tuple[Relation, Scope]:
        search = scope
        while search is not None:
            for relation in search.relations:
                if relation.alias.lower() == name.lower():
                    return relation, search
            search = search.parent
        visible = [r.alias for s in _chain(scope) for r in s.relations]
        raise CatalogError(
            f"Unknown table or alias {name!r} (line {pos[0]}, column {pos[1]})." + did_you_mean(name, visible)
            + (f" In scope: {', '.join(visible)}" if visible else "")
        )

    def _found(self, column: ast.Column, scope: Scope, found: Scope, relation: Relation | None,
               resolved: str | None) -> None:
        """Record where a column reference resolved: correlation, and the references
        of the condition being translated (see ``condition``)."""
        walk = scope
        while walk is not None and walk is not found:
            if walk.frame is not found.frame:
                walk.frame.correlated = True
            walk = walk.parent
        if self._refs is not None:
            local = found is scope and relation is not None and resolved is not None
            self._refs.append((column, relation if local else None, resolved))

    def column(self, column: ast.Column, scope: Scope) -> exp.Expression:
        if column.table is not None:
            relation, found = self._relation(column.table, scope, column.pos)
            resolved = relation.resolve(column.name)
            if resolved is None and not relation.open:
                raise CatalogError(
                    f"{relation.alias!r} has no column {column.name!r} (line {column.pos[0]}, column {column.pos[1]})."
                    + did_you_mean(column.name, relation.columns)
                    + f" Its columns: {', '.join(relation.columns)}"
                )
            self._found(column, scope, found, relation, resolved)
            node = exp.Column(this=_ident(resolved or column.name), table=_ident(relation.alias))
            if relation.leaf is not None and resolved is not None:
                relation.leaf.used.add(resolved)
                node.meta["leaf"] = Tag((relation.leaf.id, resolved))
            origin = relation.origin(resolved) if resolved is not None else None
            if origin is not None:
                node.meta["origin"] = Tag(origin)
            return node
        search = scope
        while search is not None:
            owners = [(r, r.resolve(column.name)) for r in search.relations]
            owners = [(r, name) for r, name in owners if name is not None]
            if len(owners) > 1 and column.name.lower() not in search.using:
                raise CatalogError(
                    f"Column {column.name!r} is ambiguous (line {column.pos[0]}, column {column.pos[1]}); write one of: "
                    + ", ".join(f"{r.alias}.{name}" for r, name in owners)
                )
            if owners:
                for relation, name in owners:
                    if relation.leaf is not None:
                        relation.leaf.used.add(name)
                node = exp.Column(this=_ident(owners[0][1]))
                if len(owners) == 1:
                    relation, name = owners[0]
                    self._found(column, scope, search, relation, name)
                    if relation.leaf is not None:
                        node.meta["leaf"] = Tag((relation.leaf.id, name))
                    if (origin := relation.origin(name)) is not None:
                        node.meta["origin"] = Tag(origin)
                else:  # a USING column: each side's copy is fetched (``required``)
                    self._found(column, scope, search, None, None)
                return node
            if find_name(column.name, search.select_aliases, key=lambda a: a):
                self._found(column, scope, search, None, None)
                return exp.Column(this=_ident(column.name))
            if any(r.open for r in search.relations):
                self._found(column, scope, search, None, None)
                return exp.Column(this=_ident(column.name))
            search = search.parent
        visible = [c for s in _chain(scope) for r in s.relations for c in r.columns]
        visible += [a for s in _chain(scope) for a in s.select_aliases]
        raise CatalogError(
            f"Unknown column {column.name!r} (line {column.pos[0]}, column {column.pos[1]})."
            + did_you_mean(column.name, visible)
        )

    def condition(self, expr: ast.Expr, scope: Scope) -> exp.Expression:
        """A WHERE or ON condition, translated conjunct by conjunct.

        Each conjunct over the columns of one table of this FROM clause is tagged
        ``meta["push"] = (leaf id, the conjunct with canonical column names)``: a
        filter pushdown candidate. A conjunct ``a.x = b.y`` between two leaves is
        tagged ``meta["equi"]``: a candidate for semi-join reduction.
        """
        result = None
        for conjunct in ast.conjuncts(expr):
            outer, self._refs = self._refs, []
            try:
                node = self.expr(conjunct, scope)
                refs = self._refs
            finally:
                self._refs = outer
            if outer is not None:
                outer.extend(refs)
            self._tag(node, conjunct, refs)
            result = node if result is None else exp.And(this=_paren(result), expression=_paren(node))
        return result

    def _tag(self, node: exp.Expression, conjunct: ast.Expr, refs) -> None:
        if not refs or any(relation is None for _, relation, _ in refs):
            return
        if any(isinstance(n, (ast.Exists, ast.InQuery, ast.ScalarSubquery, ast.Array))
               or (isinstance(n, ast.Function) and (n.name in ast.AGGREGATES or n.name == "PATH_LENGTH"))
               for n in conjunct.walk()):
            return
        names = {id(column): resolved for column, _, resolved in refs}
        leaves = {id(relation.leaf) if relation.leaf is not None and relation.leaf.table is not None else None
                  for _, relation, _ in refs}
        if len(leaves) == 1 and None not in leaves:
            leaf = refs[0][1].leaf
            node.meta["push"] = Tag((leaf.id, ast.map_columns(conjunct, lambda c: ast.Column(names[id(c)], None, pos=c.pos))))
        relations = {id(relation) for _, relation, _ in refs}
        graph = refs[0][1]
        if len(relations) == 1 and graph.graph and all(graph.origin(resolved) for _, _, resolved in refs):
            # over one GRAPH_TABLE's columns: the match's outputs (``var.prop``), for its WHERE
            leaf = graph.origin(refs[0][2])[0]
            outputs = {id(column): graph.origin(resolved)[1] for column, _, resolved in refs}
            node.meta["push"] = Tag((leaf.id, ast.map_columns(conjunct, lambda c: ast.Column(outputs[id(c)], None, pos=c.pos))))
        if isinstance(conjunct, ast.Binary) and conjunct.op == "=" and len(refs) == 2 \
                and isinstance(conjunct.left, ast.Column) and isinstance(conjunct.right, ast.Column):
            sides = [relation.origin(resolved) for _, relation, resolved in refs]
            if all(sides) and sides[0][0] is not sides[1][0]:
                node.meta["equi"] = Tag((leaf.id, column, type_) for leaf, column, type_ in sides)

    def expr(self, node: ast.Expr, scope: Scope, *, column_hook=None, graph=None) -> exp.Expression:
        def r(child):
            return self.expr(child, scope, column_hook=column_hook, graph=graph)

        def p(child):
            return _paren(r(child))

        if isinstance(node, ast.Literal):
            return literal(node.value)
        if isinstance(node, ast.Param):
            self.sql_params.add(node.name)
            return exp.Placeholder(this=node.name)
        if isinstance(node, ast.Column):
            return column_hook(node) if column_hook else self.column(node, scope)
        if isinstance(node, ast.Unary):
            return exp.Not(this=p(node.operand)) if node.op == "NOT" else exp.Neg(this=p(node.operand))
        if isinstance(node, ast.Binary):
            if node.op == "AND":
                return exp.And(this=p(node.left), expression=p(node.right))
            if node.op == "OR":
                return exp.Or(this=p(node.left), expression=p(node.right))
            kind = _COMPARISONS.get(node.op) or _ARITHMETIC[node.op]
            return kind(this=p(node.left), expression=p(node.right))
        if isinstance(node, ast.IsNull):
            test = exp.Is(this=p(node.operand), expression=exp.Null())
            return exp.Not(this=_paren(test)) if node.negated else test
        if isinstance(node, ast.InList):
            test = exp.In(this=p(node.operand), expressions=[r(i) for i in node.items])
            return exp.Not(this=_paren(test)) if node.negated else test
        if isinstance(node, ast.InQuery):
            self._no_subquery_in_graph(graph, node)
            test = exp.In(this=p(node.operand), query=exp.Subquery(this=self.query(node.query, scope)))
            return exp.Not(this=_paren(test)) if node.negated else test
        if isinstance(node, ast.Between):
            test = exp.Between(this=p(node.operand), low=p(node.low), high=p(node.high))
            return exp.Not(this=_paren(test)) if node.negated else test
        if isinstance(node, ast.Like):
            test = exp.Like(this=p(node.operand), expression=p(node.pattern))
            return exp.Not(this=_paren(test)) if node.negated else test
        if isinstance(node, ast.Exists):
            self._no_subquery_in_graph(graph, node)
            return exp.Exists(this=self.query(node.query, scope))
        if isinstance(node, ast.ScalarSubquery):
            self._no_subquery_in_graph(graph, node)
            return exp.Subquery(this=self.query(node.query, scope))
        if isinstance(node, ast.Function):
            return self.function(node, r, graph)
        if isinstance(node, ast.Case):
            ifs = [exp.If(this=r(c), true=r(v)) for c, v in node.whens]
            return exp.Case(
                this=r(node.operand) if node.operand is not None else None,
                ifs=ifs,
                default=r(node.default) if node.default is not None else None,
            )
        if isinstance(node, ast.Cast):
            return exp.Cast(this=r(node.operand), to=_data_type(node.to))
        if isinstance(node, ast.Array):
            return exp.Array(expressions=[r(i) for i in node.items])
        raise UnsupportedError(f"Unsupported expression {type(node).__name__}")

    def _no_subquery_in_graph(self, graph, node) -> None:
        if graph is not None:
            raise UnsupportedError(
                f"Subqueries are not supported inside GRAPH_TABLE (line {node.pos[0]}, column {node.pos[1]});"
                " filter the GRAPH_TABLE result in the outer query instead"
            )

    def function(self, node: ast.Function, r, graph) -> exp.Expression:
        name = node.name
        if name == "PATH_LENGTH":
            if graph is None:
                raise UnsupportedError(f"path_length() is only valid inside GRAPH_TABLE COLUMNS (line {node.pos[0]})")
            return graph_path_length(node, graph, r)
        if name not in FUNCTIONS:
            raise UnsupportedError(
                f"Unknown function {name}() (line {node.pos[0]}, column {node.pos[1]})."
                + did_you_mean(name, FUNCTIONS) + f" Functions: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.star:
            if name != "COUNT":
                raise UnsupportedError(f"Only COUNT accepts * (line {node.pos[0]}, column {node.pos[1]})")
            return exp.Count(this=exp.Star())
        low, high = FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise UnsupportedError(
                f"{name}() takes {expected} arguments, not {len(node.args)} (line {node.pos[0]}, column {node.pos[1]})"
            )
        if node.distinct and name not in ast.AGGREGATES:
            raise UnsupportedError(f"DISTINCT is only valid in aggregate functions, not {name}()")
        args = [r(a) for a in node.args]
        if name == "COUNT":
            return exp.Count(this=exp.Distinct(expressions=args) if node.distinct else args[0])
        if node.distinct:
            return exp.Anonymous(this=name, expressions=[exp.Distinct(expressions=args)])
        return exp.Anonymous(this="SUBSTR" if name == "SUBSTRING" else name, expressions=args)


def graph_path_length(node: ast.Function, graph: "_GraphBinder", r) -> exp.Expression:
    if len(node.args) != 1 or not isinstance(node.args[0], ast.Column) or node.args[0].table is not None:
        raise UnsupportedError(f"path_length() takes one path variable (line {node.pos[0]}, column {node.pos[1]})")
    return r(ast.Column("__path__", node.args[0].name, pos=node.args[0].pos))


# ---------------------------------------------------------------- GRAPH_TABLE binding


@dataclass(frozen=True)
class _Keyed:
    key: tuple
    value: GraphOutput


class _GraphBinder:
    """Knows the variables of one GRAPH_TABLE and the properties each may have."""

    def __init__(self, source: Source, tables: Mapping[str, TableInfo], item: ast.GraphTable):
        self.source = source
        self.item = item
        self.nodes = {n: t for n, t in tables.items() if t.kind == "node"}
        self.rels = {n: t for n, t in tables.items() if t.kind == "rel"}
        self.vars: dict[str, tuple[str, list[TableInfo], bool]] = {}  # var -> (kind, tables, quantified)
        self.paths: set[str] = set()
        for pattern in item.patterns:
            if pattern.path_var:
                self.paths.add(pattern.path_var)
            if pattern.shortest and sum(e.quantified for e in pattern.edges) != 1:
                raise UnsupportedError(
                    f"ANY SHORTEST needs exactly one quantified edge in its pattern (line {pattern.pos[0]})"
                )
            if pattern.shortest and any(e.quantified and e.min_hops != 1 for e in pattern.edges):
                raise UnsupportedError(
                    f"ANY SHORTEST paths start at one hop: write the quantifier as {{1,n}} (line {pattern.pos[0]});"
                    " filter on path_length(p) to require longer paths"
                )
            for node in pattern.nodes:
                self._declare(node.var, "node", node.label, False, node.pos)
                for key, value in node.properties:
                    owners = self._tables("node", node.label, node.pos)
                    if not any(t.column(key) for t in owners):
                        raise CatalogError(
                            f"Node {node.label or '(any label)'} has no property {key!r} (line {node.pos[0]})."
                            + did_you_mean(key, {c.name for t in owners for c in t.columns})
                        )
                    if not isinstance(value, (ast.Literal, ast.Param)):
                        raise UnsupportedError(f"Property map values must be literals or $parameters (line {node.pos[0]})")
            for edge in pattern.edges:
                self._declare(edge.var, "rel", edge.label, edge.quantified, edge.pos)

    def _tables(self, kind: str, label: str | None, pos) -> list[TableInfo]:
        pool = self.nodes if kind == "node" else self.rels
        if label is None:
            return list(pool.values())
        found = find_name(label, pool.values(), key=lambda t: t.name)
        if found is None:
            what = "node label" if kind == "node" else "relationship type"
            raise CatalogError(
                f"Graph {self.source.name!r} has no {what} {label!r} (line {pos[0]}, column {pos[1]})."
                + did_you_mean(label, pool) + f" Known: {', '.join(sorted(pool)) or 'none'}"
            )
        return [found]

    def _declare(self, var, kind, label, quantified, pos) -> None:
        tables = self._tables(kind, label, pos)
        if var is None:
            return
        if var in self.vars:
            old_kind, old_tables, _ = self.vars[var]
            if old_kind != kind:
                raise CatalogError(f"Variable {var!r} is used as both a node and an edge (line {pos[0]})")
            if label is not None:
                self.vars[var] = (kind, tables, quantified)
            return
        self.vars[var] = (kind, tables, quantified)

    def key_property(self, var: str) -> str:
        kind, tables, _ = self.vars[var]
        return tables[0].option("primary_key") or tables[0].columns[0].name

    def _property(self, column: ast.Column) -> tuple[str, pa.DataType | None]:
        var = column.table
        if var is None:
            raise CatalogError(
                f"Inside GRAPH_TABLE, qualify {column.name!r} with a pattern variable, e.g. v.{column.name}"
                f" (line {column.pos[0]}, column {column.pos[1]})"
            )
        if var not in self.vars:
            known = sorted(self.vars) + sorted(self.paths)
            raise CatalogError(
                f"Unknown pattern variable {var!r} (line {column.pos[0]}, column {column.pos[1]})."
                + did_you_mean(var, known) + f" Variables: {', '.join(known) or 'none'}"
            )
        kind, tables, quantified = self.vars[var]
        if quantified:
            raise UnsupportedError(
                f"{var!r} is a quantified edge (a list of edges); its properties cannot be selected"
                f" (line {column.pos[0]}, column {column.pos[1]})"
            )
        found = [c for t in tables if (c := t.column(column.name)) is not None and c.name not in ("_from", "_to")]
        if not found:
            props = sorted({c.name for t in tables for c in t.columns if c.name not in ("_from", "_to")})
            raise CatalogError(
                f"{var!r} has no property {column.name!r} (line {column.pos[0]}, column {column.pos[1]})."
                + did_you_mean(column.name, props) + f" Properties: {', '.join(props)}"
            )
        types = {c.type for c in found}
        return found[0].name, (found[0].type if len(types) == 1 else None)

    def output(self, column: ast.Column) -> _Keyed:
        if column.name == "__path__":
            if column.table not in self.paths:
                raise CatalogError(
                    f"Unknown path variable {column.table!r}; name a path with `p = (a)-[...]->(b)`"
                    f" (line {column.pos[0]}, column {column.pos[1]})"
                )
            key = ("path", column.table)
            return _Keyed(key, GraphOutput(f"path_length({column.table})", path_var=column.table, type=pa.int64()))
        prop, type_ = self._property(column)
        key = (column.table, prop)
        # named `var.prop` (a quoted identifier): unique, and readable in EXPLAIN
        return _Keyed(key, GraphOutput(f"{column.table}.{prop}", var=column.table, prop=prop, type=type_))

    def validate(self, expr: ast.Expr) -> None:
        for node in expr.walk():
            if isinstance(node, ast.Column):
                self._property(node)

    def property_type(self, column: ast.Column) -> pa.DataType | None:
        """The type of ``var.prop`` when the variable has one label and is not quantified."""
        if column.table is None or column.table not in self.vars:
            return None
        kind, tables, quantified = self.vars[column.table]
        if quantified or len(tables) != 1:
            return None
        info = tables[0].column(column.name)
        return info.type if info is not None else None


# ---------------------------------------------------------------- helpers


def literal(value: object) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, Decimal):
        # keep the user's spelling: 2. and 2.0 are DECIMAL(1,0) and DECIMAL(2,1) in DuckDB
        text = str(abs(value))
        text = text if "." in text or "E" in text else text + "."
        node = exp.Literal.number(text)
        return exp.Neg(this=node) if value < 0 else node
    if isinstance(value, int):
        node = exp.Literal.number(str(abs(value)))
        return exp.Neg(this=node) if value < 0 else node
    if isinstance(value, float):
        # Written with an exponent, as the user did (1e3): DuckDB reads that as DOUBLE,
        # where 1000.0 would be a DECIMAL.
        text = repr(abs(value))
        node = exp.Literal.number(text if "e" in text or "inf" in text or "nan" in text else text + "e0")
        return exp.Neg(this=node) if value < 0 else node
    return exp.Literal.string(str(value))


def _data_type(type_name: ast.TypeName) -> exp.DataType:
    base = TYPES.get(type_name.name)
    if base is None:
        raise UnsupportedError(
            f"Unknown type {type_name.name} (line {type_name.pos[0]}, column {type_name.pos[1]})."
            + did_you_mean(type_name.name, TYPES) + f" Types: {', '.join(sorted(set(TYPES.values())))}"
        )
    text = base
    if type_name.args:
        if base != "DECIMAL":
            raise UnsupportedError(f"Type {base} takes no arguments (line {type_name.pos[0]})")
        text += "(" + ", ".join(map(str, type_name.args)) + ")"
    text += "[]" * type_name.array_depth
    return exp.DataType.build(text, dialect="duckdb")


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _table_alias(name: str, alias: ast.Alias | None) -> exp.TableAlias:
    columns = [_ident(c) for c in alias.columns] if alias and alias.columns else None
    return exp.TableAlias(this=_ident(name), columns=columns)


def _canonical_columns(expr: ast.Expr, table: TableInfo) -> ast.Expr:
    """The prefilter with column names spelled as the table spells them."""
    return ast.map_columns(expr, lambda c: ast.Column(table.require_column(c.name).name, None, pos=c.pos))



def _derived_origins(tree: exp.Expression, columns: list[str]) -> dict:
    """Where the plain columns of a derived table come from: an output that is a
    column of a leaf holds a subset of that leaf's values (WHERE, DISTINCT, JOIN and
    LIMIT only drop rows), so the leaf's values may stand in for it as semi-join keys."""
    if not isinstance(tree, exp.Select) or len(tree.expressions) != len(columns):
        return {}
    origins = {}
    for name, item in zip(columns, tree.expressions):
        value = item.unalias()
        if isinstance(value, exp.Column) and "origin" in value.meta:
            origins[name] = value.meta["origin"]
    return origins


def _chain(scope: Scope):
    while scope is not None:
        yield scope
        scope = scope.parent


def _from_leaves(items):
    for item in items:
        if isinstance(item, ast.Join):
            yield from _from_leaves((item.left, item.right))
        else:
            yield item

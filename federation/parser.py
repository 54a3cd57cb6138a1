"""Stage 1: FQL text -> AST.

The Lark grammar (``grammar/fql.lark``) is compiled once, LALR(1) with the contextual
lexer; a ``Transformer`` turns the parse tree into the frozen dataclasses of
``federation.ast``. Lark's exceptions become ``QuerySyntaxError`` with the line,
column, a caret under the offending token and what would have been accepted there.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .errors import FederationError, QuerySyntaxError, did_you_mean, point_at

_GRAMMAR_DIRS = (
    Path(__file__).parent / "grammar",  # installed wheel: force-included package data
    Path(__file__).parent.parent / "grammar",  # source checkout / editable install
)


def grammar_path() -> Path:
    for folder in _GRAMMAR_DIRS:
        candidate = folder / "fql.lark"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("fql.lark not found; the federation package is incomplete")


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


# How deep a query may nest (expressions in expressions, subqueries in subqueries),
# counted in parse-tree levels. Every later stage (the AST transformer, the planner,
# sqlglot's SQL generator) recurses once or more per level, and Python's recursion
# limit of 1000 frames is reached at about 165 levels (a chain of 160 ORs); real
# queries nest fewer than 20.
MAX_NESTING = 100


def parse(text: str) -> ast.Statement:
    """Parse one FQL statement."""
    if not text.strip():
        raise QuerySyntaxError("Empty query", line=1, column=1)
    _check_unicode(text)
    try:
        tree = _lark().parse(text)
        _check_nesting(text, tree)
        return _ToAst().transform(tree)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except VisitError as exc:  # a transformer rule rejected a well-formed tree
        err = exc.orig_exc
        if isinstance(err, QuerySyntaxError) and not err.context:
            raise QuerySyntaxError(err.reason, line=err.line, column=err.column,
                                   context=point_at(text, err.line, err.column)) from None
        if isinstance(err, FederationError):
            raise err from None
        raise


def parse_query(text: str) -> ast.Query:
    statement = parse(text)
    if not isinstance(statement, ast.QueryStatement):
        raise QuerySyntaxError("Expected a SELECT query", line=1, column=1)
    return statement.query


def _check_unicode(text: str) -> None:
    """Refuse text no engine can receive: a lone surrogate is not valid UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        column = exc.start - (text.rfind("\n", 0, exc.start) + 1) + 1
        shown = text.encode("utf-8", "replace").decode("utf-8")  # one '?' per surrogate: columns stay
        raise QuerySyntaxError(
            f"The query contains U+{ord(text[exc.start]):04X}, a lone surrogate that is not a Unicode"
            " character; remove it or pass the text as a $parameter of valid Unicode",
            line=line, column=column, context=point_at(shown, line, column)) from None


def _check_nesting(text: str, tree: Tree) -> None:
    """QuerySyntaxError where the parse tree is deeper than MAX_NESTING (checked
    without recursion, before anything recurses over it)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            line, column = _pos(node.meta)
            raise QuerySyntaxError(
                f"The query nests more than {MAX_NESTING} levels deep here; simplify it (a long chain"
                " of OR comparisons with one column can be written as `column IN (...)`)",
                line=line, column=column, context=point_at(text, line, column))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _int(token: Token) -> int:
    """An integer token's value; Python refuses to convert more than 4300 digits."""
    if len(token) > 1000:
        raise QuerySyntaxError(f"The number {token[:10]}... has {len(token)} digits; numbers have at most 1000",
                               line=token.line, column=token.column)
    return int(token)


# ---------------------------------------------------------------- errors

_FRIENDLY = {
    "$END": "end of query",
    "NAME": "a name",
    "QUOTED_NAME": 'a "quoted name"',
    "STRING": "a 'string'",
    "INT": "an integer",
    "DECIMAL": "a number",
    "PARAM": "a $parameter",
    "COMPARE": "a comparison",
    "EQ": "'='",
}


def _describe_terminal(name: str) -> str:
    if name in _FRIENDLY:
        return _FRIENDLY[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name
    value = pattern.value
    if pattern.type == "str":
        return repr(value.upper() if value.isalpha() or "_" in value else value)
    return name


def _expected(names: set[str]) -> str:
    described = sorted({_describe_terminal(n) for n in names if not n.startswith("__IGNORE")})
    if len(described) > 12:
        described = described[:12] + ["..."]
    return ", ".join(described)


def _syntax_error(text: str, exc: UnexpectedInput) -> QuerySyntaxError:
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        message = "Unexpected end of query"
        expected = getattr(exc, "expected", None) or getattr(exc, "accepts", None)
        if expected:
            message += f"; expected {_expected(set(expected))}"
        return QuerySyntaxError(message, line=line, column=column, context=point_at(text, line, column))
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedToken):
        message = f"Unexpected {exc.token.value!r}"
        accepts = set(exc.accepts or exc.expected or ())
        if accepts:
            message += f"; expected {_expected(accepts)}"
        if exc.token.type == "NAME":
            keywords = [d.strip("'") for d in map(_describe_terminal, accepts) if d.startswith("'")]
            hint = did_you_mean(exc.token.value.upper(), keywords)
            message += ("." + hint) if hint else ""
    elif isinstance(exc, UnexpectedCharacters) and text[exc.pos_in_stream] in "'\"":
        quote = text[exc.pos_in_stream]
        what = "string" if quote == "'" else "quoted name"
        message = f"Unterminated {what}: the {quote} here is never closed"
    elif isinstance(exc, UnexpectedCharacters):
        message = f"Unexpected character {text[exc.pos_in_stream]!r}"
        if exc.allowed:
            message += f"; expected {_expected(set(exc.allowed))}"
    else:  # pragma: no cover - Lark has no other UnexpectedInput kinds for LALR
        message = str(exc)
    return QuerySyntaxError(message, line=line, column=column, context=point_at(text, line, column))


# ---------------------------------------------------------------- tree -> AST


def _pos(meta) -> ast.Pos:
    return (getattr(meta, "line", 0), getattr(meta, "column", 0))


def _unquote_ident(token: Token) -> str:
    if token.type == "QUOTED_NAME":
        name = token.value[1:-1].replace('""', '"')
        if "\x00" in name:  # SQLite and DuckDB end a name at a NUL
            raise QuerySyntaxError("A quoted name cannot contain a NUL character",
                                   line=token.line, column=token.column)
        return name
    return token.value


def _fail(message: str, meta) -> QuerySyntaxError:
    line, column = _pos(meta)
    return QuerySyntaxError(message, line=line, column=column)


@v_args(meta=True)
class _ToAst(Transformer):
    # ------------------------------------------------------------ statements
    def start(self, meta, children):
        return children[0]

    def query_stmt(self, meta, children):
        return ast.QueryStatement(children[0], pos=_pos(meta))

    def explain_stmt(self, meta, children):
        analyze = any(isinstance(c, Token) and c.type == "ANALYZE" for c in children)
        options = next((c for c in children if isinstance(c, tuple)), ())
        fmt = "text"
        for name, value in options:
            if name.lower() != "format":
                raise _fail(f"Unknown EXPLAIN option {name!r}; the one option is format => 'text' | 'json'", meta)
            if not (isinstance(value, ast.Literal) and isinstance(value.value, str)
                    and value.value.lower() in ("text", "json")):
                raise _fail("EXPLAIN format must be 'text' or 'json'", meta)
            fmt = value.value.lower()
        return ast.Explain(children[-1], analyze=analyze, format=fmt, pos=_pos(meta))

    def explain_options(self, meta, children):
        return tuple(children)

    def show_sources(self, meta, children):
        return ast.ShowSources(pos=_pos(meta))

    def show_tables(self, meta, children):
        return ast.ShowTables(children[0] if children else None, pos=_pos(meta))

    def describe(self, meta, children):
        return ast.Describe(children[-1], pos=_pos(meta))

    # ------------------------------------------------------------ queries
    def query(self, meta, children):
        ctes: tuple = ()
        order: tuple = ()
        limit = offset = None
        body = None
        for child in children:
            if isinstance(child, _Ctes):
                ctes = child.items
            elif isinstance(child, _OrderBy):
                order = child.items
            elif isinstance(child, _Limit):
                limit, offset = child.limit, child.offset
            else:
                body = child
        return ast.Query(body, ctes=ctes, order_by=order, limit=limit, offset=offset, pos=_pos(meta))

    def paren_query(self, meta, children):
        return children[0]

    def with_clause(self, meta, children):
        return _Ctes(tuple(children))

    def cte(self, meta, children):
        name, rest = children[0], children[1:]
        columns: tuple[str, ...] = ()
        if isinstance(rest[0], _Idents):
            columns, rest = rest[0].items, rest[1:]
        return ast.CTE(name, rest[0], columns, pos=_pos(meta))

    def set_op(self, meta, children):
        left, op_token, *rest = children
        quantifier = None
        if len(rest) == 2:
            quantifier, right = rest
        else:
            (right,) = rest
        return ast.SetOp(op_token.upper(), quantifier == "ALL", left, right, pos=_pos(meta))

    def set_quantifier(self, meta, children):
        return children[0].upper()

    def select_core(self, meta, children):
        distinct = False
        items: tuple = ()
        from_: tuple = ()
        where = having = None
        group: tuple = ()
        for child in children:
            if isinstance(child, Token) and child.type == "DISTINCT":
                distinct = True
            elif isinstance(child, _SelectList):
                items = child.items
            elif isinstance(child, _From):
                from_ = child.items
            elif isinstance(child, _Where):
                where = child.expr
            elif isinstance(child, _GroupBy):
                group = child.items
            elif isinstance(child, _Having):
                having = child.expr
        return ast.Select(items, from_, where, group, having, distinct, pos=_pos(meta))

    def select_list(self, meta, children):
        return _SelectList(tuple(children))

    def select_expr(self, meta, children):
        alias = children[1] if len(children) > 1 else None
        return ast.SelectItem(children[0], alias, pos=_pos(meta))

    def select_star(self, meta, children):
        return ast.SelectItem(ast.Star(pos=_pos(meta)), pos=_pos(meta))

    def select_table_star(self, meta, children):
        return ast.SelectItem(ast.Star(children[0], pos=_pos(meta)), pos=_pos(meta))

    def from_clause(self, meta, children):
        return _From(tuple(children))

    def where_clause(self, meta, children):
        return _Where(children[0])

    def group_by(self, meta, children):
        return _GroupBy(tuple(children))

    def having(self, meta, children):
        return _Having(children[0])

    def order_by(self, meta, children):
        return _OrderBy(tuple(children))

    def order_item(self, meta, children):
        expr, descending, nulls = children[0], False, None
        for child in children[1:]:
            if isinstance(child, _Direction):
                descending = child.descending
            else:
                nulls = child
        return ast.OrderItem(expr, descending, nulls, pos=_pos(meta))

    def direction(self, meta, children):
        return _Direction(children[0].upper() == "DESC")

    def nulls_order(self, meta, children):
        return children[0].upper()

    def limit_clause(self, meta, children):
        return _Limit(children[0], children[1] if len(children) > 1 else None)

    def offset_only(self, meta, children):
        return _Limit(None, children[0])

    # ------------------------------------------------------------ FROM
    def join(self, meta, children):
        left = children[0]
        kind = "INNER"
        if isinstance(children[1], str) and len(children) == 4:
            kind = children[1]
        right, condition = children[-2], children[-1]
        on, using = (condition.expr, ()) if isinstance(condition, _Where) else (None, condition.items)
        return ast.Join(kind, left, right, on, using, pos=_pos(meta))

    def cross_join(self, meta, children):
        return ast.Join("CROSS", children[0], children[1], pos=_pos(meta))

    def join_kind(self, meta, children):
        return children[0].upper()

    def join_on(self, meta, children):
        return _Where(children[0])

    def join_using(self, meta, children):
        return children[0]

    def base_table(self, meta, children):
        table: ast.TableRef = children[0]
        alias = children[1] if len(children) > 1 else None
        return ast.TableRef(table.name, table.source, alias, pos=table.pos)

    def subquery_table(self, meta, children):
        return ast.SubqueryRef(children[0], children[1] if len(children) > 1 else None, pos=_pos(meta))

    def table_ref(self, meta, children):
        item = children[0]
        if len(children) > 1:
            object.__setattr__(item, "alias", children[1])  # still being built, not yet shared
        return item

    def paren_from(self, meta, children):
        return children[0]

    def alias(self, meta, children):
        columns = children[1].items if len(children) > 1 else ()
        return ast.Alias(children[0], columns, pos=_pos(meta))

    def column_aliases(self, meta, children):
        return children[0]

    def table_name(self, meta, children):
        if len(children) == 2:
            return ast.TableRef(children[1], children[0], pos=_pos(meta))
        return ast.TableRef(children[0], pos=_pos(meta))

    def ident_list(self, meta, children):
        return _Idents(tuple(children))

    def ident(self, meta, children):
        return _unquote_ident(children[0])

    # ------------------------------------------------------------ GRAPH_TABLE
    def graph_table(self, meta, children):
        source, *rest = children
        patterns = tuple(c for c in rest if isinstance(c, ast.PathPattern))
        where = next((c.expr for c in rest if isinstance(c, _Where)), None)
        columns = tuple(c for c in rest if isinstance(c, ast.GraphColumn))
        return ast.GraphTable(source, patterns, where, columns, pos=_pos(meta))

    def graph_where(self, meta, children):
        return _Where(children[0])

    def graph_column(self, meta, children):
        expr = children[0]
        if len(children) > 1:
            name = children[1]
        elif isinstance(expr, ast.Column):
            name = expr.name
        else:
            raise _fail("A computed GRAPH_TABLE column needs a name: write `<expr> AS name`", meta)
        return ast.GraphColumn(expr, name, pos=_pos(meta))

    def path_pattern(self, meta, children):
        path_var = None
        shortest = False
        nodes, edges = [], []
        for child in children:
            if isinstance(child, str) and not isinstance(child, Token):
                path_var = child
            elif isinstance(child, _Shortest):
                shortest = True
            elif isinstance(child, ast.NodePattern):
                nodes.append(child)
            elif isinstance(child, ast.EdgePattern):
                edges.append(child)
        return ast.PathPattern(tuple(nodes), tuple(edges), path_var, shortest, pos=_pos(meta))

    def shortest(self, meta, children):
        return _Shortest()

    def node_pattern(self, meta, children):
        var = label = None
        props: tuple = ()
        for child in children:
            if isinstance(child, _Label):
                label = child.name
            elif isinstance(child, _Props):
                props = child.items
            else:
                var = child
        return ast.NodePattern(var, label, props, pos=_pos(meta))

    def label(self, meta, children):
        return _Label(children[0])

    def property_map(self, meta, children):
        return _Props(tuple(children))

    def property_entry(self, meta, children):
        return (children[0], children[1])

    def _edge(self, meta, children, direction):
        body: _EdgeBody = next(c for c in children if isinstance(c, _EdgeBody))
        quantifier = next((c for c in children if isinstance(c, _Hops)), None)
        hops = body.hops
        if quantifier is not None:
            if hops is not None:
                raise _fail("Write either a quantifier {m,n} or *m..n, not both", meta)
            hops = quantifier
        if hops is None:
            return ast.EdgePattern(body.var, body.label, direction, pos=_pos(meta))
        if hops.low > hops.high:
            raise _fail(f"Quantifier lower bound {hops.low} exceeds upper bound {hops.high}", meta)
        return ast.EdgePattern(body.var, body.label, direction, hops.low, hops.high, True, pos=_pos(meta))

    def edge_right(self, meta, children):
        return self._edge(meta, children, "right")

    def edge_left(self, meta, children):
        return self._edge(meta, children, "left")

    def edge_any(self, meta, children):
        return self._edge(meta, children, "any")

    def edge_body(self, meta, children):
        var = label = hops = None
        for child in children:
            if isinstance(child, _Label):
                label = child.name
            elif isinstance(child, _Hops):
                hops = child
            else:
                var = child
        return _EdgeBody(var, label, hops)

    def var_length(self, meta, children):
        # Cypher's `*m..n` alias: `*` alone and an open upper bound mean Kuzu's default.
        low = high = None
        seen_range = False
        for token in children[1:]:
            if token.type == "RANGE":
                seen_range = True
            elif seen_range:
                high = _int(token)
            else:
                low = _int(token)
        if not seen_range:
            return _Hops(1, _DEFAULT_MAX_HOPS) if low is None else _Hops(low, low)
        return _Hops(1 if low is None else low, _DEFAULT_MAX_HOPS if high is None else high)

    def exact_quantifier(self, meta, children):
        return _Hops(_int(children[0]), _int(children[0]))

    def range_quantifier(self, meta, children):
        high = _int(children[1]) if len(children) > 1 else _DEFAULT_MAX_HOPS
        return _Hops(_int(children[0]), high)

    # ------------------------------------------------------------ VECTOR_SEARCH
    def vector_search(self, meta, children):
        source, query, *named = children
        table, prefilter = source
        options = tuple(named)
        seen = set()
        for name, _ in options:
            if name in seen:
                raise _fail(f"VECTOR_SEARCH option {name!r} given twice", meta)
            seen.add(name)
        return ast.VectorSearch(table, prefilter, query, options, pos=_pos(meta))

    def vector_table(self, meta, children):
        return (children[0], None)

    def vector_subquery(self, meta, children):
        query: ast.Query = children[0]
        body = query.body
        ok = (
            isinstance(body, ast.Select)
            and not query.ctes and not query.order_by and query.limit is None and query.offset is None
            and len(body.from_) == 1 and isinstance(body.from_[0], ast.TableRef)
            and len(body.items) == 1 and isinstance(body.items[0].expr, ast.Star)
            and body.items[0].expr.table is None
            and not body.group_by and body.having is None and not body.distinct
        )
        if not ok:
            raise _fail(
                "VECTOR_SEARCH takes a table or `(SELECT * FROM <one vector table> WHERE <prefilter>)`",
                meta,
            )
        table = body.from_[0]
        if table.alias is not None:
            raise _fail("The VECTOR_SEARCH prefilter subquery cannot alias its table", meta)
        return (table, body.where)

    def named_argument(self, meta, children):
        return (children[0].lower(), children[1])

    # ------------------------------------------------------------ expressions
    def or_(self, meta, c):
        return ast.Binary("OR", c[0], c[1], pos=_pos(meta))

    def and_(self, meta, c):
        return ast.Binary("AND", c[0], c[1], pos=_pos(meta))

    def not_(self, meta, c):
        return ast.Unary("NOT", c[0], pos=_pos(meta))

    def compare(self, meta, c):
        op = {"==": "=", "!=": "<>"}.get(c[1].value, c[1].value)
        return ast.Binary(op, c[0], c[2], pos=_pos(meta))

    def is_null(self, meta, c):
        return ast.IsNull(c[0], negated=len(c) > 1, pos=_pos(meta))

    def in_list(self, meta, c):
        negated = len(c) == 3
        return ast.InList(c[0], c[-1].items, negated, pos=_pos(meta))

    def in_query(self, meta, c):
        return ast.InQuery(c[0], c[-1], len(c) == 3, pos=_pos(meta))

    def between(self, meta, c):
        negated = len(c) == 4
        return ast.Between(c[0], c[-2], c[-1], negated, pos=_pos(meta))

    def like(self, meta, c):
        return ast.Like(c[0], c[-1], len(c) == 3, pos=_pos(meta))

    def exists(self, meta, c):
        return ast.Exists(c[0], pos=_pos(meta))

    def concat(self, meta, c):
        return ast.Binary("||", c[0], c[1], pos=_pos(meta))

    def arith(self, meta, c):
        return ast.Binary(c[1].value, c[0], c[2], pos=_pos(meta))

    def negate(self, meta, c):
        operand = c[1]
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float, Decimal)) \
                and not isinstance(operand.value, bool):
            return ast.Literal(-operand.value, pos=_pos(meta))
        return ast.Unary("-", operand, pos=_pos(meta))

    def plus(self, meta, c):
        return c[1]

    def cast_op(self, meta, c):
        return ast.Cast(c[0], c[1], pos=_pos(meta))

    def cast(self, meta, c):
        return ast.Cast(c[0], c[1], pos=_pos(meta))

    def scalar_subquery(self, meta, c):
        return ast.ScalarSubquery(c[0], pos=_pos(meta))

    def array(self, meta, c):
        return ast.Array(c[0].items if c else (), pos=_pos(meta))

    def expr_list(self, meta, c):
        return _Exprs(tuple(c))

    def column_ref(self, meta, c):
        if len(c) == 2:
            return ast.Column(c[1], c[0], pos=_pos(meta))
        return ast.Column(c[0], pos=_pos(meta))

    def param(self, meta, c):
        return ast.Param(c[0].value[1:], pos=_pos(meta))

    def function_call(self, meta, c):
        name = c[0].upper()
        if len(c) == 1:
            return ast.Function(name, pos=_pos(meta))
        args = c[1]
        if args == "*":
            return ast.Function(name, star=True, pos=_pos(meta))
        return ast.Function(name, args.items, args.distinct, pos=_pos(meta))

    def star_arg(self, meta, c):
        return "*"

    def args(self, meta, c):
        distinct = isinstance(c[0], Token) and c[0].type == "DISTINCT"
        return _Args(tuple(c[1:] if distinct else c), distinct)

    def case_expr(self, meta, c):
        operand = None
        whens = []
        default = None
        items = list(c)
        if items and not isinstance(items[0], _When):
            operand = items.pop(0)
        for item in items:
            if isinstance(item, _When):
                whens.append((item.cond, item.result))
            else:
                default = item
        return ast.Case(operand, tuple(whens), default, pos=_pos(meta))

    def when_clause(self, meta, c):
        return _When(c[0], c[1])

    def type_name(self, meta, c):
        name = c[0].upper()
        ints = tuple(_int(t) for t in c[1:] if isinstance(t, Token) and t.type == "INT")
        depth = sum(1 for t in c[1:] if isinstance(t, Token) and t.type == "ARRAY_SUFFIX")
        return ast.TypeName(name, ints, depth, pos=_pos(meta))

    def int_lit(self, meta, c):
        return ast.Literal(_int(c[0]), pos=_pos(meta))

    def decimal_lit(self, meta, c):
        text = c[0].value
        value = float(text) if "e" in text.lower() else Decimal(text)
        return ast.Literal(value, pos=_pos(meta))

    def string_lit(self, meta, c):
        return ast.Literal(c[0].value[1:-1].replace("''", "'"), pos=_pos(meta))

    def true_lit(self, meta, c):
        return ast.Literal(True, pos=_pos(meta))

    def false_lit(self, meta, c):
        return ast.Literal(False, pos=_pos(meta))

    def null_lit(self, meta, c):
        return ast.Literal(None, pos=_pos(meta))


_DEFAULT_MAX_HOPS = 30  # Kuzu's own default upper bound for `*`


# Small carriers used only while transforming.
class _Carrier:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


class _Ctes(_Carrier): ...
class _OrderBy(_Carrier): ...
class _SelectList(_Carrier): ...
class _From(_Carrier): ...
class _GroupBy(_Carrier): ...
class _Idents(_Carrier): ...
class _Props(_Carrier): ...
class _Exprs(_Carrier): ...


class _Args:
    def __init__(self, items, distinct):
        self.items, self.distinct = items, distinct


class _Where:
    def __init__(self, expr):
        self.expr = expr


class _Having:
    def __init__(self, expr):
        self.expr = expr


class _Limit:
    def __init__(self, limit, offset):
        self.limit, self.offset = limit, offset


class _Direction:
    def __init__(self, descending):
        self.descending = descending


class _Label:
    def __init__(self, name):
        self.name = name


class _Shortest: ...


class _EdgeBody:
    def __init__(self, var, label, hops):
        self.var, self.label, self.hops = var, label, hops


class _Hops:
    def __init__(self, low, high):
        self.low, self.high = low, high


class _When:
    def __init__(self, cond, result):
        self.cond, self.result = cond, result


__all__ = ["parse", "parse_query", "grammar_path", "Tree"]

"""Stage 1: FQL text -> AST.

The Lark grammar (``grammar/fql.lark``) is compiled once, LALR(1) with the contextual
lexer; the parser calls a ``Transformer``'s methods as it reduces each rule, so the
frozen dataclasses of ``federation.ast`` are built with no parse tree in between.
Lark's exceptions become ``QuerySyntaxError`` with the line,
column, a caret under the offending token and what would have been accepted there.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast
from .errors import QuerySyntaxError, did_you_mean, point_at

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
        maybe_placeholders=False,
        transformer=_ToAst(),  # the AST is built while parsing: no parse tree
        cache=True,
    )


# How deep a query may nest (expressions in expressions, subqueries in subqueries),
# counted in AST levels. Every later stage (the planner, sqlglot's SQL generator)
# recurses once or more per level, and Python's recursion limit of 1000 frames is
# reached at about 165 levels (a chain of 160 ORs); real queries nest fewer than 20.
MAX_NESTING = 100


def parse(text: str) -> ast.Statement:
    """Parse one FQL statement."""
    if not text.strip():
        raise QuerySyntaxError("Empty query", line=1, column=1)
    _check_unicode(text)
    try:
        statement = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except QuerySyntaxError as err:  # a rule rejected what it was given
        if err.context:
            raise
        raise QuerySyntaxError(err.reason, line=err.line, column=err.column,
                               context=point_at(text, err.line, err.column)) from None
    _check_nesting(text, statement)
    return statement


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


def _check_nesting(text: str, statement: ast.Node) -> None:
    """QuerySyntaxError where the AST is deeper than MAX_NESTING (checked without
    recursion, before anything recurses over it)."""
    stack = [(statement, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            line, column = node.pos
            raise QuerySyntaxError(
                f"The query nests more than {MAX_NESTING} levels deep here; simplify it (a long chain"
                " of OR comparisons with one column can be written as `column IN (...)`)",
                line=line, column=column, context=point_at(text, line, column))
        stack.extend((child, depth + 1) for child in node.children())


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


# ---------------------------------------------------------------- tokens -> AST
#
# The parser calls _ToAst's methods as it reduces each rule (no parse tree is built):
# each gets the rule's children, tokens and the values its sub-rules returned. A node's
# position is its first child's: a token's own, or the position of the value it
# stands for. Rules that begin with a keyword or bracket name that token in the
# grammar, so they receive it (Lark's position tracking cost 40% of the parse).


class _Name(str):
    """An identifier's text, with where it was written."""

    pos: ast.Pos


def _at(child) -> ast.Pos:
    """Where a child of a rule starts."""
    if isinstance(child, Token):
        return (child.line, child.column)
    return getattr(child, "pos", (0, 0))


def _unquote_ident(token: Token) -> _Name:
    if token.type == "QUOTED_NAME":
        text = token.value[1:-1].replace('""', '"')
        if "\x00" in text:  # SQLite and DuckDB end a name at a NUL
            raise QuerySyntaxError("A quoted name cannot contain a NUL character",
                                   line=token.line, column=token.column)
    else:
        text = token.value
    name = _Name(text)
    name.pos = (token.line, token.column)
    return name


def _str(name):
    """A name as a plain ``str`` for the AST (None stays None)."""
    return None if name is None else str(name)


def _fail(message: str, pos: ast.Pos) -> QuerySyntaxError:
    return QuerySyntaxError(message, line=pos[0], column=pos[1])


def _kind(child, kind: str) -> bool:
    return isinstance(child, Token) and child.type == kind


class _ToAst(Transformer):
    # ------------------------------------------------------------ statements
    def start(self, c):
        return c[0]

    def query_stmt(self, c):
        return ast.QueryStatement(c[0], pos=_at(c[0]))

    def explain_stmt(self, c):
        pos = _at(c[0])
        analyze = any(_kind(x, "ANALYZE") for x in c)
        options = next((x for x in c if isinstance(x, tuple)), ())
        fmt = "text"
        for name, value in options:
            if name.lower() != "format":
                raise _fail(f"Unknown EXPLAIN option {name!r}; the one option is format => 'text' | 'json'", pos)
            if not (isinstance(value, ast.Literal) and isinstance(value.value, str)
                    and value.value.lower() in ("text", "json")):
                raise _fail("EXPLAIN format must be 'text' or 'json'", pos)
            fmt = value.value.lower()
        return ast.Explain(c[-1], analyze=analyze, format=fmt, pos=pos)

    def explain_options(self, c):
        return tuple(c)

    def show_sources(self, c):
        return ast.ShowSources(pos=_at(c[0]))

    def show_tables(self, c):
        return ast.ShowTables(_str(c[1]) if len(c) > 1 else None, pos=_at(c[0]))

    def describe(self, c):
        return ast.Describe(c[-1], pos=_at(c[0]))

    # ------------------------------------------------------------ queries
    def query(self, c):
        ctes: tuple = ()
        order: tuple = ()
        limit = offset = None
        body = None
        for child in c:
            if isinstance(child, _Ctes):
                ctes = child.items
            elif isinstance(child, _OrderBy):
                order = child.items
            elif isinstance(child, _Limit):
                limit, offset = child.limit, child.offset
            else:
                body = child
        return ast.Query(body, ctes=ctes, order_by=order, limit=limit, offset=offset, pos=_at(c[0]))

    def paren_query(self, c):
        return c[0]

    def with_clause(self, c):
        ctes = _Ctes(tuple(c[1:]))
        ctes.pos = _at(c[0])
        return ctes

    def cte(self, c):
        name, rest = c[0], c[1:]
        columns: tuple[str, ...] = ()
        if isinstance(rest[0], _Idents):
            columns, rest = rest[0].items, rest[1:]
        return ast.CTE(str(name), rest[0], columns, pos=name.pos)

    def set_op(self, c):
        left, op_token, *rest = c
        quantifier = None
        if len(rest) == 2:
            quantifier, right = rest
        else:
            (right,) = rest
        return ast.SetOp(op_token.upper(), quantifier == "ALL", left, right, pos=_at(left))

    def set_quantifier(self, c):
        return c[0].upper()

    def select_core(self, c):
        distinct = False
        items: tuple = ()
        from_: tuple = ()
        where = having = None
        group: tuple = ()
        for child in c[1:]:
            if _kind(child, "DISTINCT"):
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
        return ast.Select(items, from_, where, group, having, distinct, pos=_at(c[0]))

    def select_list(self, c):
        return _SelectList(tuple(c))

    def select_expr(self, c):
        alias = str(c[1]) if len(c) > 1 else None
        return ast.SelectItem(c[0], alias, pos=_at(c[0]))

    def select_star(self, c):
        pos = _at(c[0])
        return ast.SelectItem(ast.Star(pos=pos), pos=pos)

    def select_table_star(self, c):
        pos = _at(c[0])
        return ast.SelectItem(ast.Star(str(c[0]), pos=pos), pos=pos)

    def from_clause(self, c):
        return _From(tuple(c))

    def where_clause(self, c):
        return _Where(c[0])

    def group_by(self, c):
        return _GroupBy(tuple(c))

    def having(self, c):
        return _Having(c[0])

    def order_by(self, c):
        return _OrderBy(tuple(c))

    def order_item(self, c):
        expr, descending, nulls = c[0], False, None
        for child in c[1:]:
            if isinstance(child, _Direction):
                descending = child.descending
            else:
                nulls = child
        return ast.OrderItem(expr, descending, nulls, pos=_at(expr))

    def direction(self, c):
        return _Direction(c[0].upper() == "DESC")

    def nulls_order(self, c):
        return c[0].upper()

    def limit_clause(self, c):
        return _Limit(c[0], c[1] if len(c) > 1 else None)

    def offset_only(self, c):
        return _Limit(None, c[0])

    # ------------------------------------------------------------ FROM
    def join(self, c):
        left = c[0]
        kind = "INNER"
        if isinstance(c[1], str) and len(c) == 4:
            kind = c[1]
        right, condition = c[-2], c[-1]
        on, using = (condition.expr, ()) if isinstance(condition, _Where) else (None, condition.items)
        return ast.Join(kind, left, right, on, using, pos=_at(left))

    def cross_join(self, c):
        return ast.Join("CROSS", c[0], c[1], pos=_at(c[0]))

    def join_kind(self, c):
        return c[0].upper()

    def join_on(self, c):
        return _Where(c[0])

    def join_using(self, c):
        return c[0]

    def base_table(self, c):
        table: ast.TableRef = c[0]
        alias = c[1] if len(c) > 1 else None
        return ast.TableRef(table.name, table.source, alias, pos=table.pos)

    def subquery_table(self, c):
        return ast.SubqueryRef(c[1], c[2] if len(c) > 2 else None, pos=_at(c[0]))

    def table_ref(self, c):
        item = c[0]
        if len(c) > 1:
            object.__setattr__(item, "alias", c[1])  # still being built, not yet shared
        return item

    def paren_from(self, c):
        return c[0]

    def alias(self, c):
        columns = c[1].items if len(c) > 1 else ()
        return ast.Alias(str(c[0]), columns, pos=c[0].pos)

    def column_aliases(self, c):
        return c[0]

    def table_name(self, c):
        if len(c) == 2:
            return ast.TableRef(str(c[1]), str(c[0]), pos=c[0].pos)
        return ast.TableRef(str(c[0]), pos=c[0].pos)

    def ident_list(self, c):
        return _Idents(tuple(map(str, c)))

    def ident(self, c):
        return _unquote_ident(c[0])

    # ------------------------------------------------------------ GRAPH_TABLE
    def graph_table(self, c):
        _, source, *rest = c
        patterns = tuple(x for x in rest if isinstance(x, ast.PathPattern))
        where = next((x.expr for x in rest if isinstance(x, _Where)), None)
        columns = tuple(x for x in rest if isinstance(x, ast.GraphColumn))
        return ast.GraphTable(str(source), patterns, where, columns, pos=_at(c[0]))

    def graph_where(self, c):
        return _Where(c[0])

    def graph_column(self, c):
        expr = c[0]
        if len(c) > 1:
            name = str(c[1])
        elif isinstance(expr, ast.Column):
            name = expr.name
        else:
            raise _fail("A computed GRAPH_TABLE column needs a name: write `<expr> AS name`", _at(expr))
        return ast.GraphColumn(expr, name, pos=_at(expr))

    def path_pattern(self, c):
        path_var = None
        shortest = False
        nodes, edges = [], []
        for child in c:
            if isinstance(child, _Name):
                path_var = str(child)
            elif isinstance(child, _Shortest):
                shortest = True
            elif isinstance(child, ast.NodePattern):
                nodes.append(child)
            elif isinstance(child, ast.EdgePattern):
                edges.append(child)
        return ast.PathPattern(tuple(nodes), tuple(edges), path_var, shortest, pos=_at(c[0]))

    def shortest(self, c):
        shortest = _Shortest()
        shortest.pos = _at(c[0])
        return shortest

    def node_pattern(self, c):
        var = label = None
        props: tuple = ()
        for child in c[1:]:
            if isinstance(child, _Label):
                label = child.name
            elif isinstance(child, _Props):
                props = child.items
            else:
                var = str(child)
        return ast.NodePattern(var, label, props, pos=_at(c[0]))

    def label(self, c):
        return _Label(str(c[0]))

    def property_map(self, c):
        return _Props(tuple(c))

    def property_entry(self, c):
        return (str(c[0]), c[1])

    def _edge(self, c, direction):
        pos = _at(c[0])
        body: _EdgeBody = next(x for x in c if isinstance(x, _EdgeBody))
        quantifier = next((x for x in c if isinstance(x, _Hops)), None)
        hops = body.hops
        if quantifier is not None:
            if hops is not None:
                raise _fail("Write either a quantifier {m,n} or *m..n, not both", pos)
            hops = quantifier
        if hops is None:
            return ast.EdgePattern(body.var, body.label, direction, pos=pos)
        if hops.low > hops.high:
            raise _fail(f"Quantifier lower bound {hops.low} exceeds upper bound {hops.high}", pos)
        return ast.EdgePattern(body.var, body.label, direction, hops.low, hops.high, True, pos=pos)

    def edge_right(self, c):
        return self._edge(c, "right")

    def edge_left(self, c):
        return self._edge(c, "left")

    def edge_any(self, c):
        return self._edge(c, "any")

    def edge_body(self, c):
        var = label = hops = None
        for child in c:
            if isinstance(child, _Label):
                label = child.name
            elif isinstance(child, _Hops):
                hops = child
            else:
                var = str(child)
        return _EdgeBody(var, label, hops)

    def var_length(self, c):
        # Cypher's `*m..n` alias: `*` alone and an open upper bound mean Kuzu's default.
        low = high = None
        seen_range = False
        for token in c[1:]:
            if token.type == "RANGE":
                seen_range = True
            elif seen_range:
                high = _int(token)
            else:
                low = _int(token)
        if not seen_range:
            return _Hops(1, _DEFAULT_MAX_HOPS) if low is None else _Hops(low, low)
        return _Hops(1 if low is None else low, _DEFAULT_MAX_HOPS if high is None else high)

    def exact_quantifier(self, c):
        return _Hops(_int(c[0]), _int(c[0]))

    def range_quantifier(self, c):
        high = _int(c[1]) if len(c) > 1 else _DEFAULT_MAX_HOPS
        return _Hops(_int(c[0]), high)

    # ------------------------------------------------------------ VECTOR_SEARCH
    def vector_search(self, c):
        pos = _at(c[0])
        _, source, query, *named = c
        table, prefilter = source
        options = tuple(named)
        seen = set()
        for name, _ in options:
            if name in seen:
                raise _fail(f"VECTOR_SEARCH option {name!r} given twice", pos)
            seen.add(name)
        return ast.VectorSearch(table, prefilter, query, options, pos=pos)

    def vector_table(self, c):
        return (c[0], None)

    def vector_subquery(self, c):
        query: ast.Query = c[1]
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
                _at(c[0]),
            )
        table = body.from_[0]
        if table.alias is not None:
            raise _fail("The VECTOR_SEARCH prefilter subquery cannot alias its table", _at(c[0]))
        return (table, body.where)

    def named_argument(self, c):
        return (c[0].lower(), c[1])

    # ------------------------------------------------------------ expressions
    def or_(self, c):
        return ast.Binary("OR", c[0], c[1], pos=_at(c[0]))

    def and_(self, c):
        return ast.Binary("AND", c[0], c[1], pos=_at(c[0]))

    def not_(self, c):
        return ast.Unary("NOT", c[1], pos=_at(c[0]))

    def compare(self, c):
        op = {"==": "=", "!=": "<>"}.get(c[1].value, c[1].value)
        return ast.Binary(op, c[0], c[2], pos=_at(c[0]))

    def is_null(self, c):
        return ast.IsNull(c[0], negated=len(c) > 1, pos=_at(c[0]))

    def in_list(self, c):
        return ast.InList(c[0], c[-1].items, len(c) == 3, pos=_at(c[0]))

    def in_query(self, c):
        return ast.InQuery(c[0], c[-1], len(c) == 3, pos=_at(c[0]))

    def between(self, c):
        return ast.Between(c[0], c[-2], c[-1], len(c) == 4, pos=_at(c[0]))

    def like(self, c):
        return ast.Like(c[0], c[-1], len(c) == 3, pos=_at(c[0]))

    def exists(self, c):
        return ast.Exists(c[1], pos=_at(c[0]))

    def concat(self, c):
        return ast.Binary("||", c[0], c[1], pos=_at(c[0]))

    def arith(self, c):
        return ast.Binary(c[1].value, c[0], c[2], pos=_at(c[0]))

    def negate(self, c):
        operand = c[1]
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float, Decimal)) \
                and not isinstance(operand.value, bool):
            return ast.Literal(-operand.value, pos=_at(c[0]))
        return ast.Unary("-", operand, pos=_at(c[0]))

    def plus(self, c):
        return c[1]

    def cast_op(self, c):
        return ast.Cast(c[0], c[1], pos=_at(c[0]))

    def cast(self, c):
        return ast.Cast(c[1], c[2], pos=_at(c[0]))

    def scalar_subquery(self, c):
        return ast.ScalarSubquery(c[1], pos=_at(c[0]))

    def array(self, c):
        return ast.Array(c[1].items if len(c) > 1 else (), pos=_at(c[0]))

    def expr_list(self, c):
        return _Exprs(tuple(c))

    def column_ref(self, c):
        if len(c) == 2:
            return ast.Column(str(c[1]), str(c[0]), pos=c[0].pos)
        return ast.Column(str(c[0]), pos=c[0].pos)

    def param(self, c):
        return ast.Param(c[0].value[1:], pos=_at(c[0]))

    def function_call(self, c):
        name = c[0].upper()
        pos = c[0].pos
        if len(c) == 1:
            return ast.Function(name, pos=pos)
        args = c[1]
        if args == "*":
            return ast.Function(name, star=True, pos=pos)
        return ast.Function(name, args.items, args.distinct, pos=pos)

    def star_arg(self, c):
        return "*"

    def args(self, c):
        distinct = _kind(c[0], "DISTINCT")
        return _Args(tuple(c[1:] if distinct else c), distinct)

    def case_expr(self, c):
        operand = None
        whens = []
        default = None
        items = list(c[1:])
        if items and not isinstance(items[0], _When):
            operand = items.pop(0)
        for item in items:
            if isinstance(item, _When):
                whens.append((item.cond, item.result))
            else:
                default = item
        return ast.Case(operand, tuple(whens), default, pos=_at(c[0]))

    def when_clause(self, c):
        return _When(c[0], c[1])

    def type_name(self, c):
        name = c[0].upper()
        ints = tuple(_int(t) for t in c[1:] if _kind(t, "INT"))
        depth = sum(1 for t in c[1:] if _kind(t, "ARRAY_SUFFIX"))
        return ast.TypeName(name, ints, depth, pos=c[0].pos)

    def int_lit(self, c):
        return ast.Literal(_int(c[0]), pos=_at(c[0]))

    def decimal_lit(self, c):
        text = c[0].value
        value = float(text) if "e" in text.lower() else Decimal(text)
        return ast.Literal(value, pos=_at(c[0]))

    def string_lit(self, c):
        return ast.Literal(c[0].value[1:-1].replace("''", "'"), pos=_at(c[0]))

    def true_lit(self, c):
        return ast.Literal(True, pos=_at(c[0]))

    def false_lit(self, c):
        return ast.Literal(False, pos=_at(c[0]))

    def null_lit(self, c):
        return ast.Literal(None, pos=_at(c[0]))


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


__all__ = ["parse", "parse_query", "grammar_path"]

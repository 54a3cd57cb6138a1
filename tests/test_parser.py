"""Parser tests: every construct parses to the expected AST; bad input fails clearly."""

from decimal import Decimal

import pytest

from federation import QuerySyntaxError
from federation import ast
from federation.parser import parse, parse_query


def select(text: str) -> ast.Select:
    body = parse_query(text).body
    assert isinstance(body, ast.Select)
    return body


def expr(text: str) -> ast.Expr:
    return select(f"SELECT {text}").items[0].expr


# ---------------------------------------------------------------- statements


def test_statements():
    assert isinstance(parse("SELECT 1"), ast.QueryStatement)
    assert isinstance(parse("EXPLAIN SELECT 1"), ast.Explain)
    assert parse("SHOW SOURCES") == ast.ShowSources()
    assert parse("show tables") == ast.ShowTables()
    assert parse("SHOW TABLES FROM state") == ast.ShowTables("state")
    assert parse("DESCRIBE state.agents") == ast.Describe(ast.TableRef("agents", "state"))
    assert parse("DESC agents;") == ast.Describe(ast.TableRef("agents"))


def test_layout_case_and_comments_do_not_matter():
    a = parse("SELECT a FROM s.t WHERE a = 1")
    b = parse("select  A\n-- a comment\nfrom s.t /* block\ncomment */ where a=1 ;")
    # identifiers keep their spelling (resolved case-insensitively later), keywords do not matter
    assert a == parse("SeLeCt a FrOm s.t wHeRe a = 1;")
    assert isinstance(b, ast.QueryStatement)


def test_select_clauses():
    q = parse_query(
        "WITH x AS (SELECT 1 AS a), y(b) AS (SELECT 2) "
        "SELECT DISTINCT t.a, b AS bee, t.* FROM s.t AS t(a, c) "
        "WHERE a > 1 GROUP BY t.a, b HAVING COUNT(*) > 1 "
        "ORDER BY t.a DESC NULLS FIRST, b ASC, 3 NULLS LAST LIMIT 10 OFFSET 5"
    )
    assert [c.name for c in q.ctes] == ["x", "y"] and q.ctes[1].columns == ("b",)
    body = q.body
    assert body.distinct
    assert body.items[1].alias == "bee"
    assert body.items[2].expr == ast.Star("t")
    assert body.from_[0].alias == ast.Alias("t", ("a", "c"))
    assert len(body.group_by) == 2 and body.having is not None
    assert q.order_by[0] == ast.OrderItem(ast.Column("a", "t"), True, "FIRST")
    assert q.order_by[1] == ast.OrderItem(ast.Column("b"), False, None)
    assert q.order_by[2].nulls == "LAST"
    assert q.limit == ast.Literal(10) and q.offset == ast.Literal(5)


def test_alias_without_as_and_quoted_identifiers():
    s = select('SELECT a b, "weird ""name""" FROM s."my table" t')
    assert s.items[0].alias == "b"
    assert s.items[1].expr == ast.Column('weird "name"')
    assert s.from_[0] == ast.TableRef("my table", "s", ast.Alias("t"))


def test_joins():
    s = select(
        "SELECT * FROM a JOIN b ON a.x = b.x LEFT JOIN c USING (y, z) RIGHT OUTER JOIN d ON TRUE "
        "FULL JOIN e ON FALSE CROSS JOIN f INNER JOIN g ON 1 = 1, h"
    )
    first, second = s.from_
    assert second == ast.TableRef("h")
    kinds = []
    node = first
    while isinstance(node, ast.Join):
        kinds.append(node.kind)
        node = node.left
    assert kinds == ["INNER", "CROSS", "FULL", "RIGHT", "LEFT", "INNER"]
    assert first.left.left.left.left.using == ("y", "z")


def test_set_operations_precedence():
    q = parse_query("SELECT 1 UNION ALL SELECT 2 INTERSECT SELECT 3 EXCEPT SELECT 4")
    top = q.body
    assert top.op == "EXCEPT" and not top.all
    assert top.left.op == "UNION" and top.left.all
    assert top.left.right.op == "INTERSECT"  # INTERSECT binds tighter


def test_parenthesised_set_operands():
    q = parse_query("(SELECT 1 ORDER BY 1 LIMIT 1) UNION (SELECT 2)")
    assert isinstance(q.body, ast.SetOp)
    assert q.body.left.limit == ast.Literal(1)


def test_subqueries():
    s = select(
        "SELECT (SELECT 1) AS one FROM (SELECT 1 AS a) AS sub "
        "WHERE a IN (SELECT 1) AND EXISTS (SELECT 1) AND a NOT IN (SELECT 2)"
    )
    assert isinstance(s.items[0].expr, ast.ScalarSubquery)
    assert isinstance(s.from_[0], ast.SubqueryRef)
    conjuncts = [s.where.left.left, s.where.left.right, s.where.right]
    assert isinstance(conjuncts[0], ast.InQuery) and not conjuncts[0].negated
    assert isinstance(conjuncts[1], ast.Exists)
    assert conjuncts[2].negated


# ---------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", ast.Literal(1)),
        ("-2", ast.Literal(-2)),
        ("1.50", ast.Literal(Decimal("1.50"))),
        (".5", ast.Literal(Decimal("0.5"))),
        ("1e3", ast.Literal(1000.0)),
        ("'it''s'", ast.Literal("it's")),
        ("TRUE", ast.Literal(True)),
        ("false", ast.Literal(False)),
        ("NULL", ast.Literal(None)),
        ("$name", ast.Param("name")),
        ("[1, 2.5]", ast.Array((ast.Literal(1), ast.Literal(Decimal("2.5"))))),
        ("t.c", ast.Column("c", "t")),
    ],
)
def test_atoms(text, expected):
    assert expr(text) == expected


def test_operator_precedence():
    # 1 + 2 * 3 || 'x' = 'y' OR NOT a AND b
    e = expr("1 + 2 * 3 || 'x' = 'y' OR NOT a AND b")
    assert e.op == "OR"
    comparison = e.left
    assert comparison.op == "="
    concat = comparison.left
    assert concat.op == "||"
    assert concat.left == ast.Binary("+", ast.Literal(1), ast.Binary("*", ast.Literal(2), ast.Literal(3)))
    assert e.right == ast.Binary("AND", ast.Unary("NOT", ast.Column("a")), ast.Column("b"))


def test_predicates():
    assert expr("a IS NULL") == ast.IsNull(ast.Column("a"))
    assert expr("a IS NOT NULL") == ast.IsNull(ast.Column("a"), True)
    assert expr("a NOT IN (1, 2)") == ast.InList(ast.Column("a"), (ast.Literal(1), ast.Literal(2)), True)
    assert expr("a BETWEEN 1 AND 2") == ast.Between(ast.Column("a"), ast.Literal(1), ast.Literal(2))
    assert expr("a NOT BETWEEN 1 AND 2 AND b").op == "AND"
    assert expr("a NOT LIKE 'x%'") == ast.Like(ast.Column("a"), ast.Literal("x%"), True)
    assert expr("a != 1").op == "<>" and expr("a == 1").op == "="
    for op in ("<", "<=", ">", ">=", "<>"):
        assert expr(f"a {op} 1").op == op


def test_case_cast_functions():
    assert expr("CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END") == ast.Case(
        None, ((ast.Column("a"), ast.Literal(1)), (ast.Column("b"), ast.Literal(2))), ast.Literal(3)
    )
    assert expr("CASE a WHEN 1 THEN 'x' END").operand == ast.Column("a")
    assert expr("CAST(a AS DECIMAL(10, 2))") == ast.Cast(ast.Column("a"), ast.TypeName("DECIMAL", (10, 2)))
    assert expr("a::int") == ast.Cast(ast.Column("a"), ast.TypeName("INT"))
    assert expr("count(*)") == ast.Function("COUNT", star=True)
    assert expr("COUNT(DISTINCT a)") == ast.Function("COUNT", (ast.Column("a"),), distinct=True)
    assert expr("coalesce(a, b, 1)").args[2] == ast.Literal(1)


def test_reserved_words_need_quotes_but_others_do_not():
    s = select("SELECT name, path, metric, columns, match, source, tables FROM t")
    assert [i.expr.name for i in s.items] == ["name", "path", "metric", "columns", "match", "source", "tables"]
    assert select('SELECT "from" FROM t').items[0].expr == ast.Column("from")


# ---------------------------------------------------------------- GRAPH_TABLE


def test_graph_table():
    s = select(
        "SELECT * FROM GRAPH_TABLE (graph MATCH (a:Agent {name: 'x', id: $id})-[c:COLLABORATES_WITH]->{1,2}(b:Agent), "
        "(b)<-[:ASSIGNED_TO]-(t:Task), p = ANY SHORTEST (a)-[e:KNOWS*1..4]-(z) "
        "WHERE a.name = 'coordinator-1' COLUMNS (b.id AS peer_id, b.name, path_length(p) AS hops)) AS g"
    )
    g = s.from_[0]
    assert isinstance(g, ast.GraphTable) and g.source == "graph" and g.alias == ast.Alias("g")
    first, second, third = g.patterns
    assert first.nodes[0] == ast.NodePattern(
        "a", "Agent", (("name", ast.Literal("x")), ("id", ast.Param("id")))
    )
    assert first.edges[0] == ast.EdgePattern("c", "COLLABORATES_WITH", "right", 1, 2, True)
    assert second.edges[0] == ast.EdgePattern(None, "ASSIGNED_TO", "left")
    assert third.path_var == "p" and third.shortest
    assert third.edges[0] == ast.EdgePattern("e", "KNOWS", "any", 1, 4, True)
    assert [c.name for c in g.columns] == ["peer_id", "name", "hops"]


@pytest.mark.parametrize(
    "edge, low, high",
    [("-[e:K]->{3}", 3, 3), ("-[e:K]->{2,5}", 2, 5), ("-[e:K*2]->", 2, 2), ("-[e:K*1..3]->", 1, 3),
     ("-[e:K*..3]->", 1, 3), ("-[e:K*]->", 1, 30), ("-[e:K]->{2,}", 2, 30)],
)
def test_quantifiers(edge, low, high):
    s = select(f"SELECT * FROM GRAPH_TABLE (g MATCH (a){edge}(b) COLUMNS (a.id))")
    e = s.from_[0].patterns[0].edges[0]
    assert (e.min_hops, e.max_hops, e.quantified) == (low, high, True)


def test_graph_column_needs_name():
    with pytest.raises(QuerySyntaxError, match="needs a name"):
        parse("SELECT * FROM GRAPH_TABLE (g MATCH (a) COLUMNS (a.x + 1))")


# ---------------------------------------------------------------- VECTOR_SEARCH


def test_vector_search():
    s = select(
        "SELECT * FROM VECTOR_SEARCH((SELECT * FROM knowledge.facts WHERE topic = 'db'), $q, "
        "top_k => 5, metric => 'cosine') AS f"
    )
    v = s.from_[0]
    assert v.table == ast.TableRef("facts", "knowledge")
    assert v.prefilter == ast.Binary("=", ast.Column("topic"), ast.Literal("db"))
    assert v.query == ast.Param("q")
    assert dict(v.options) == {"top_k": ast.Literal(5), "metric": ast.Literal("cosine")}
    plain = select("SELECT * FROM VECTOR_SEARCH(knowledge.facts, [0.1, 0.2]) v").from_[0]
    assert plain.prefilter is None and isinstance(plain.query, ast.Array)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM VECTOR_SEARCH((SELECT id FROM k.f), $q)",
        "SELECT * FROM VECTOR_SEARCH((SELECT * FROM k.f JOIN k.g ON TRUE), $q)",
        "SELECT * FROM VECTOR_SEARCH((SELECT * FROM k.f ORDER BY id), $q)",
    ],
)
def test_vector_search_subquery_shape(text):
    with pytest.raises(QuerySyntaxError, match="VECTOR_SEARCH takes a table"):
        parse(text)


def test_vector_search_duplicate_option():
    with pytest.raises(QuerySyntaxError, match="given twice"):
        parse("SELECT * FROM VECTOR_SEARCH(k.f, $q, top_k => 1, top_k => 2)")


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, line, column, fragment",
    [
        ("SELECT FROM t", 1, 8, "Unexpected 'FROM'"),
        ("SELECT a\nFROM t\nWHERE a = = 1", 3, 11, "Unexpected '='"),
        ("SELECT a FROM t WHERE", 1, 22, "Unexpected end of query"),
        ("SELEC a FROM t", 1, 1, "Did you mean 'SELECT'?"),
        ("SELECT 'abc", 1, 8, "Unterminated string"),
        ('SELECT "abc', 1, 8, "Unterminated quoted name"),
        ("SELECT a FROM t; SELECT b", 1, 18, "expected end of query"),
        ("SELECT a FROM t LIMIT", 1, 22, "Unexpected end of query"),
        ("SELECT * FROM GRAPH_TABLE (g MATCH (a)-[e]->{3,1}(b) COLUMNS (a.x))", 1, 39, "exceeds upper bound"),
        ("SELECT #", 1, 8, "Unexpected character '#'"),
        ("   ", 1, 1, "Empty query"),
    ],
)
def test_syntax_errors(text, line, column, fragment):
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    err = info.value
    assert fragment in str(err)
    assert (err.line, err.column) == (line, column)
    if err.context:
        source_line, caret = err.context.split("\n")
        assert source_line.endswith(text.splitlines()[line - 1])
        assert caret.index("^") - source_line.index("|") - 2 == column - 1


def test_syntax_error_lists_what_was_expected():
    with pytest.raises(QuerySyntaxError) as info:
        parse("SELECT a FROM t ORDER a")
    assert "expected 'BY'" in str(info.value)


def test_explain_analyze():
    assert parse("EXPLAIN ANALYZE SELECT 1").analyze
    assert not parse("EXPLAIN SELECT 1").analyze
    assert parse_query("SELECT analyze FROM t").body.items[0].expr == ast.Column("analyze")


def _nodes_without_position(statement: ast.Node) -> list[ast.Node]:
    return [node for node in statement.walk() if getattr(node, "pos", (1, 1))[0] < 1]


def test_every_node_of_the_documented_queries_knows_where_it_was_written():
    # positions come from tokens while parsing (no parse tree): a rule whose first
    # child carries none would leave (0, 0), and its errors would point nowhere
    from test_docs import DOC_EXAMPLES, PLANNER_EXAMPLES, README_EXAMPLES

    parsed = 0
    for example in DOC_EXAMPLES + README_EXAMPLES + PLANNER_EXAMPLES:
        try:
            statement = parse(example.query)
        except QuerySyntaxError:
            continue  # an example of a syntax error
        parsed += 1
        assert _nodes_without_position(statement) == [], example.id
    assert parsed > 100


@pytest.mark.parametrize("text, kind, starts", [
    ("SELECT 1 AS x", ast.Select, "SELECT 1"),
    ("WITH c AS (SELECT 1 AS x) SELECT x FROM c", ast.Query, "WITH c"),
    ("SELECT NOT TRUE AS x", ast.Unary, "NOT TRUE"),
    ("SELECT CASE WHEN TRUE THEN 1 END AS x", ast.Case, "CASE WHEN"),
    ("SELECT CAST(1 AS BIGINT) AS x", ast.Cast, "CAST(1"),
    ("SELECT 1 AS x WHERE EXISTS (SELECT 1)", ast.Exists, "EXISTS ("),
    ("SELECT (SELECT 1) AS x", ast.ScalarSubquery, "(SELECT 1)"),
    ("SELECT [1, 2] AS x", ast.Array, "[1, 2]"),
    ("SELECT -x AS y FROM t", ast.Unary, "-x"),
    ("SELECT t.x FROM s.t", ast.Column, "t.x"),
    ("SELECT * FROM (SELECT 1 AS x) AS q", ast.SubqueryRef, "(SELECT 1 AS x) AS q"),
    ("SELECT * FROM s.t AS u", ast.Alias, "u"),
    ("SELECT * FROM GRAPH_TABLE (g MATCH (a)<-[e]-(b) COLUMNS (a.x)) AS m", ast.GraphTable, "GRAPH_TABLE"),
    ("SELECT * FROM GRAPH_TABLE (g MATCH (a)<-[e]-(b) COLUMNS (a.x)) AS m", ast.EdgePattern, "<-[e]"),
    ("SELECT * FROM GRAPH_TABLE (g MATCH (a)<-[e]-(b) COLUMNS (a.x)) AS m", ast.NodePattern, "(a)"),
    ("SELECT * FROM GRAPH_TABLE (g MATCH ANY SHORTEST (a)-[e]->{1,3}(b) COLUMNS (a.x)) AS m",
     ast.PathPattern, "ANY SHORTEST"),
    ("SELECT * FROM VECTOR_SEARCH(k.f, [1.0], top_k => 3) AS v", ast.VectorSearch, "VECTOR_SEARCH"),
    ("EXPLAIN ANALYZE SELECT 1 AS x", ast.Explain, "EXPLAIN"),
    ("DESC s.t", ast.Describe, "DESC"),
    ("SHOW TABLES FROM s", ast.ShowTables, "SHOW"),
])
def test_a_node_starts_where_its_first_token_was_written(text, kind, starts):
    node = next(n for n in parse(text).walk() if isinstance(n, kind))
    line, column = node.pos
    assert text.splitlines()[line - 1][column - 1:].startswith(starts)


def _every_node(value) -> list[ast.Node]:
    """All nodes in ``value``, following every field (the walk skips scalar ones)."""
    import dataclasses

    if isinstance(value, ast.Node):
        found = [value]
        for f in dataclasses.fields(value):
            found += _every_node(getattr(value, f.name))
        return found
    if isinstance(value, tuple):
        return [n for item in value for n in _every_node(item)]
    return []


def test_the_walk_skips_only_fields_that_hold_no_nodes():
    from test_docs import DOC_EXAMPLES, PLANNER_EXAMPLES, README_EXAMPLES

    for example in DOC_EXAMPLES + README_EXAMPLES + PLANNER_EXAMPLES:
        try:
            statement = parse(example.query)
        except QuerySyntaxError:
            continue
        assert [id(n) for n in statement.walk()] == [id(n) for n in _every_node(statement)], example.id

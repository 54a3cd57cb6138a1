"""federation.optimizer.tree.find_all: sqlglot's find_all, in the same order."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from federation.optimizer.tree import find_all

SQL = [
    "SELECT 1",
    "SELECT a.x, b.y, COUNT(*) FROM t AS a JOIN u AS b ON a.id = b.id AND a.z > 3 "
    "LEFT JOIN (SELECT k, SUM(v) AS s FROM w WHERE k IN (1, 2, 3) GROUP BY k) AS c ON c.k = a.id "
    "WHERE a.q = 'x' OR (b.r < 5 AND b.s LIKE 'a%') GROUP BY a.x, b.y ORDER BY 3 DESC LIMIT 10",
    "WITH p AS (SELECT * FROM s.t WHERE x = :p0), q AS (SELECT y FROM p) "
    "SELECT CASE WHEN y > 1 THEN 'a' ELSE NULL END AS c, ROW_NUMBER() OVER (PARTITION BY y ORDER BY y) "
    "FROM q WHERE EXISTS (SELECT 1 FROM r WHERE r.y = q.y) UNION ALL SELECT 1, 2",
    "SELECT * FROM a, b CROSS JOIN c WHERE a.x IN (SELECT value FROM json_each(:keys)) AND CAST(b.y AS TEXT) = 'z'",
]
TYPES = [(exp.Column,), (exp.Table,), (exp.Select,), (exp.Subquery, exp.CTE), (exp.Placeholder,),
         (exp.Condition,), (exp.Expression,)]


@pytest.mark.parametrize("sql", SQL)
@pytest.mark.parametrize("types", TYPES, ids=lambda t: "+".join(c.__name__ for c in t))
def test_find_all_finds_what_sqlglot_finds_in_the_same_order(sql, types):
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert [id(n) for n in find_all(tree, *types)] == [id(n) for n in tree.find_all(*types)]

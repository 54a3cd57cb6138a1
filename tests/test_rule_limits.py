"""Top-N pushdown (federation/optimizer/limits.py): (query, expected plan) pairs."""

import pytest

from federation.optimizer.filters import push_filters
from federation.optimizer.limits import push_limits
from planning import plan_with, texts

CASES = [
    pytest.param(  # ORDER BY ... LIMIT n OFFSET m: the first n + m rows, in DuckDB's NULL order
        "SELECT people.name FROM state.people, graph.Company ORDER BY age LIMIT 1",
        (push_limits,), None, id="joined-not-pushed"),
    pytest.param(
        "SELECT name FROM state.people WHERE city = 'Paris' ORDER BY age DESC NULLS FIRST LIMIT 3 OFFSET 2",
        (push_filters, push_limits),
        'SELECT "id", "name", "city", "age", "score" FROM "people" WHERE "city" = \'Paris\' '
        'ORDER BY "age" DESC NULLS FIRST LIMIT 5',
        id="sqlite-top-n"),
    pytest.param(  # Kuzu orders NULLs its own way: only a plain LIMIT goes there
        "SELECT name, age FROM graph.Person ORDER BY age DESC LIMIT 5", (push_limits,),
        "MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`", id="kuzu-ordered"),
    pytest.param(
        "SELECT name FROM graph.Person LIMIT 5", (push_limits,),
        "MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age` LIMIT 5", id="kuzu-limit"),
    pytest.param(
        "SELECT title FROM knowledge.docs LIMIT 4", (push_limits,),
        "docs.search().select(['id', 'title', 'topic', 'author_id', 'vector']).limit(4)", id="lancedb-limit"),
    pytest.param(  # a WHERE left for DuckDB means the first n rows are not the answer
        "SELECT name FROM state.people WHERE age * 2 > 50 ORDER BY age LIMIT 3", (push_filters, push_limits),
        'SELECT "id", "name", "city", "age", "score" FROM "people"', id="residual-where"),
    pytest.param(
        "SELECT city, COUNT(*) FROM graph.Person g, state.people GROUP BY city LIMIT 3", (push_limits,),
        None, id="aggregate"),
    pytest.param(  # ordered by an expression: not a column the source can order by
        "SELECT name FROM graph.Person ORDER BY age + 1 LIMIT 2", (push_limits,),
        "MATCH (n:`Person`) RETURN n.`id` AS `id`, n.`name` AS `name`, n.`age` AS `age`", id="expression-order"),
]


@pytest.mark.parametrize("sql, rules, first", CASES)
def test_limit_pushdown(fed, sql, rules, first):
    plan = plan_with(fed, sql, rules)
    if first is None:
        assert not any("LIMIT" in t or ".limit(" in t for t in texts(plan) if "search(<" not in t)
    else:
        assert texts(plan)[0] == first

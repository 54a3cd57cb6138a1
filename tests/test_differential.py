"""Differential tests: each FQL query must return what an equivalent DuckDB query returns.

The dataset (tests/datagen.py) is written to SQLite, Kuzu and LanceDB and, with
identical values, to one DuckDB database whose schemas mirror the sources
(`state.people`, `graph.KNOWS(_from, _to, since, weight)`, `knowledge.docs`).
FQL promises DuckDB semantics, so the reference is plain DuckDB SQL over that
database: GRAPH_TABLE becomes explicit self-joins (walk semantics) or a
recursive CTE (shortest paths), VECTOR_SEARCH becomes an exact distance in
DOUBLE, ORDER BY and LIMIT.

Many cases sit on a known difference between a store and DuckDB (SQLite's
ASCII-only UPPER, case-insensitive LIKE, integer division, NULLS FIRST default,
truncating CAST; LanceDB filters without parameter binding; Kuzu's null
ordering), so an engine that pushes work down without translating it fails here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from compare import assert_same


@dataclass(frozen=True)
class Case:
    id: str
    fql: str
    reference_sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # True only when the outer ORDER BY is a total order (ends in a unique key).
    ordered: bool = False
    # True for the few cases whose correct answer is no rows at all.
    empty: bool = False


def same(
    id: str,
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    ordered: bool = False,
    empty: bool = False,
) -> Case:
    """A case whose FQL is also valid reference SQL: plain SQL over the mirrored tables."""
    return Case(id, sql, sql, params or {}, ordered=ordered, empty=empty)


# Query vectors use values exactly representable in float32, so the answer does
# not depend on whether the engine keeps the query in float64 or casts it to
# float32 as LanceDB does.
Q1 = [0.5, -0.25, 1.0, 0.125, -0.75, 0.0, 0.375, -1.5]
Q2 = [-1.0, 0.5, 0.25, -0.5, 1.5, 0.75, -0.125, 0.0]
Q2_LITERAL = "[-1.0, 0.5, 0.25, -0.5, 1.5, 0.75, -0.125, 0.0]"

DOC_COLUMNS = "id, title, topic, author_id, vector"


def l2(query: str) -> str:
    """Squared Euclidean distance in DOUBLE from the stored float32 vector."""
    return (
        f"list_sum(list_transform(list_zip(vector::DOUBLE[], {query}::DOUBLE[]), "
        f"lambda x: (x[1] - x[2]) * (x[1] - x[2])))"
    )


def cosine(query: str) -> str:
    return f"1 - array_cosine_similarity(vector::DOUBLE[8], {query}::DOUBLE[8])"


def dot(query: str) -> str:
    return f"1 - array_inner_product(vector::DOUBLE[8], {query}::DOUBLE[8])"


# KNOWS seen from both ends: an undirected edge pattern matches each edge in
# each direction, as Kuzu's `-[:KNOWS]-` does.
UNDIRECTED_KNOWS = (
    "(SELECT _from AS s, _to AS t, since, weight FROM graph.KNOWS "
    "UNION ALL SELECT _to AS s, _from AS t, since, weight FROM graph.KNOWS)"
)


CASES: list[Case] = [
    # ------------------------------------------------------------ single source
    same(
        "sqlite_scan",
        "SELECT * FROM state.people",
    ),
    same(
        "sqlite_filter_project",
        "SELECT id, name, age FROM state.people WHERE age >= 30 AND city = 'London'",
    ),
    same(
        "kuzu_node_scan",
        "SELECT * FROM graph.Person",
    ),
    same(
        "kuzu_rel_scan",
        "SELECT * FROM graph.KNOWS",
    ),
    same(
        "kuzu_rel_filter",
        "SELECT _from, _to, weight FROM graph.KNOWS WHERE since >= 2015 AND weight < 0.5",
    ),
    same(
        "kuzu_rel_without_properties",
        "SELECT * FROM graph.WORKS_AT WHERE _to = 3",
    ),
    same(
        "lance_scan_without_vector",
        "SELECT id, title, topic, author_id FROM knowledge.docs",
    ),
    same(
        "lance_scan_with_vector",
        "SELECT * FROM knowledge.docs WHERE id <= 20",
    ),
    same(
        "lance_filter",
        "SELECT id, title FROM knowledge.docs WHERE topic = 'graphs' AND author_id < 100",
    ),
    # ------------------------------------------------------------- expressions
    same(
        # SQLite: integer `/` truncates; DuckDB: `/` on integers gives a DOUBLE.
        "integer_division_and_modulo",
        "SELECT id, age / 7 AS div, age % 7 AS modulo, (age - 50) / 7 AS neg_div, "
        "(age - 50) % 7 AS neg_mod, age * 2 + 1 AS lin, -age AS neg FROM state.people",
    ),
    same(
        "float_arithmetic_abs_round",
        "SELECT id, score * 1.5 - age AS mixed, score / 3 AS third, ABS(score - 50) AS dist, "
        "ROUND(score) AS r0, ROUND(score / 7, 2) AS r2 FROM state.people",
    ),
    same(
        "round_amounts",
        "SELECT id, ROUND(amount, 1) AS r1, ROUND(amount * 3, 2) AS r2 FROM state.orders",
    ),
    same(
        # SQLite's LOWER/UPPER only map ASCII ('Zoë' -> 'ZOë'); DuckDB maps unicode.
        "string_functions",
        "SELECT id, LOWER(name) AS lo, UPPER(name) AS up, LENGTH(name) AS len, "
        "SUBSTR(name, 2, 3) AS mid, SUBSTR(name, -3) AS tail, "
        "name || ' @ ' || city AS label, CAST(id AS VARCHAR) || '-' || name AS tag "
        "FROM state.people",
    ),
    same(
        "string_functions_kuzu",
        "SELECT id, UPPER(name) AS up, LENGTH(name) AS len, SUBSTR(name, 1, 4) AS head "
        "FROM graph.Person WHERE LOWER(name) LIKE '%o%'",
    ),
    same(
        # SQLite's CAST(REAL AS INTEGER) truncates; DuckDB rounds.
        "case_coalesce_cast",
        "SELECT id, CASE WHEN age IS NULL THEN 'unknown' WHEN age < 30 THEN 'young' "
        "WHEN age < 60 THEN 'middle' ELSE 'senior' END AS band, "
        "COALESCE(city, 'nowhere') AS place, CAST(score AS INTEGER) AS score_int, "
        "CAST(age AS VARCHAR) AS age_text, CAST('12' AS INTEGER) + 1 AS thirteen, "
        "CAST(age AS DOUBLE) / 2 AS half_age FROM state.people",
    ),
    same(
        "case_simple_form_on_lance",
        "SELECT id, CASE topic WHEN 'graphs' THEN 1 WHEN 'sql' THEN 2 ELSE 0 END AS code, "
        "COALESCE(topic, 'untagged') AS topic FROM knowledge.docs",
    ),
    # ----------------------------------------------------- NULLs, 3-valued logic
    same(
        "three_valued_logic_in_projection",
        "SELECT id, age > 50 AS old, age = NULL AS eq_null, NOT (age > 50) AS not_old, "
        "age > 50 OR city = 'Paris' AS either, age > 50 AND city = 'Paris' AS both_, "
        "age IS NULL AS no_age, city IS NOT NULL AS has_city FROM state.people",
    ),
    same(
        "three_valued_logic_in_where",
        "SELECT id FROM state.people WHERE NOT (age > 50 OR city = 'Paris')",
    ),
    same(
        "comparison_with_null_is_empty",
        "SELECT id FROM state.people WHERE age = NULL OR NOT (city <> NULL)",
        empty=True,
    ),
    same(
        "not_in_list_with_null_is_empty",
        "SELECT id FROM state.people WHERE city NOT IN ('Paris', NULL)",
        empty=True,
    ),
    same(
        "in_list_with_null",
        "SELECT id, city FROM state.people WHERE city IN ('Paris', 'Lima', NULL)",
    ),
    same(
        # orders.person_id has NULLs, so NOT IN over it is never true.
        "not_in_subquery_with_null_is_empty",
        "SELECT id FROM graph.Person WHERE id NOT IN (SELECT person_id FROM state.orders)",
        empty=True,
    ),
    same(
        "not_in_subquery_without_null",
        "SELECT id, name FROM graph.Person WHERE id NOT IN "
        "(SELECT person_id FROM state.orders WHERE status = 'active' AND person_id IS NOT NULL)",
    ),
    same(
        "between_and_not_between",
        "SELECT id, age, score FROM state.people "
        "WHERE age BETWEEN 30 AND 40 AND score NOT BETWEEN 20 AND 80",
    ),
    # ------------------------------------------------------------------- LIKE
    same(
        # SQLite's LIKE is case-insensitive for ASCII: it would also return 'anna lee'.
        "like_uppercase_prefix",
        "SELECT id, name FROM state.people WHERE name LIKE 'A%'",
    ),
    same(
        "like_lowercase_prefix",
        "SELECT id, name FROM state.people WHERE name LIKE 'a%'",
    ),
    same(
        "like_underscore_unicode_and_not_like",
        "SELECT id, name FROM state.people "
        "WHERE name LIKE 'Zo_ Ward' OR (name LIKE '%ü%' AND name NOT LIKE '%r')",
    ),
    same(
        "like_on_kuzu_and_lance",
        "SELECT d.id, d.title, g.name FROM knowledge.docs d JOIN graph.Person g "
        "ON g.id = d.author_id WHERE d.title LIKE 'o%' OR g.name LIKE 'z%' OR d.title LIKE 'Why%'",
    ),
    # ------------------------------------------------- text vs digit strings
    same(
        # note is TEXT: '500' > '50' and '6' > '599' as text, whatever they are as numbers.
        "text_column_vs_digit_string",
        "SELECT id, note FROM state.orders WHERE note > '50' AND note < '6'",
    ),
    same(
        "text_column_in_digit_strings",
        "SELECT id, note FROM state.orders WHERE note IN ('247', '571', '9')",
    ),
    same(
        "integer_column_vs_digit_string",
        "SELECT id, age FROM state.people WHERE age = '42' OR age < '20'",
    ),
    # --------------------------------------------------------------- ORDER BY
    same(
        # DuckDB sorts NULLs last by default for ASC; SQLite sorts them first.
        "order_asc_default_nulls_last",
        "SELECT id, age FROM state.people ORDER BY age, id",
        ordered=True,
    ),
    same(
        "order_desc_default_nulls_last",
        "SELECT id, age FROM state.people ORDER BY age DESC, id",
        ordered=True,
    ),
    same(
        "order_asc_nulls_first",
        "SELECT id, city FROM state.people ORDER BY city NULLS FIRST, id DESC",
        ordered=True,
    ),
    same(
        "order_desc_nulls_first",
        "SELECT id, score FROM state.people ORDER BY score DESC NULLS FIRST, id",
        ordered=True,
    ),
    same(
        "order_asc_explicit_nulls_last",
        "SELECT id, score FROM state.people ORDER BY score ASC NULLS LAST, id",
        ordered=True,
    ),
    same(
        "order_kuzu_rel_with_nulls",
        "SELECT _from, _to, since FROM graph.KNOWS ORDER BY since, _from, _to",
        ordered=True,
    ),
    same(
        "order_kuzu_node_desc_with_nulls",
        "SELECT id, age FROM graph.Person ORDER BY age DESC, id LIMIT 40",
        ordered=True,
    ),
    same(
        "order_lance_nulls_first",
        "SELECT id, topic FROM knowledge.docs ORDER BY topic NULLS FIRST, id LIMIT 50",
        ordered=True,
    ),
    same(
        "order_by_unicode_text",
        "SELECT id, name FROM state.people ORDER BY name DESC, id LIMIT 30",
        ordered=True,
    ),
    same(
        "limit_offset",
        "SELECT id, amount FROM state.orders ORDER BY amount DESC, id LIMIT 7 OFFSET 3",
        ordered=True,
    ),
    same(
        "limit_offset_kuzu",
        "SELECT id, name FROM graph.Person ORDER BY id DESC LIMIT 5 OFFSET 2",
        ordered=True,
    ),
    same(
        "limit_offset_past_end_is_empty",
        "SELECT id FROM knowledge.docs ORDER BY id LIMIT 10 OFFSET 1000",
        ordered=True,
        empty=True,
    ),
    # ------------------------------------------------------------------ joins
    same(
        "join_sqlite_kuzu",
        "SELECT p.id, p.name, g.age FROM state.people p JOIN graph.Person g ON p.id = g.id "
        "WHERE p.city = 'London'",
    ),
    same(
        "join_three_sources",
        "SELECT p.name AS person, g.age, d.title FROM state.people p "
        "JOIN graph.Person g ON g.id = p.id JOIN knowledge.docs d ON d.author_id = p.id "
        "WHERE d.topic = 'graphs'",
    ),
    same(
        "join_within_sqlite_filters_on_both_sides",
        "SELECT o.id, p.name, o.amount FROM state.orders o JOIN state.people p "
        "ON p.id = o.person_id WHERE o.status = 'active' AND p.age > 60",
    ),
    same(
        "join_non_equi_condition",
        "SELECT p.id AS pid, g.id AS gid FROM state.people p JOIN graph.Person g "
        "ON g.age = p.age AND g.id < p.id WHERE p.city = 'Tokyo'",
    ),
    same(
        # The right-side filter is part of ON: it must not become a WHERE.
        "left_join_filter_in_on",
        "SELECT p.id, p.name, d.id AS doc_id FROM state.people p "
        "LEFT JOIN knowledge.docs d ON d.author_id = p.id AND d.topic = 'sql'",
    ),
    same(
        "left_join_anti_join",
        "SELECT g.id, g.name FROM graph.Person g LEFT JOIN state.orders o "
        "ON o.person_id = g.id AND o.status = 'active' WHERE o.id IS NULL",
    ),
    same(
        "right_join_cross_source",
        "SELECT p.id AS person_id, p.name, d.id AS doc_id FROM state.people p "
        "RIGHT JOIN knowledge.docs d ON d.author_id = p.id",
    ),
    same(
        "right_join_within_sqlite",
        "SELECT p.name, c.name AS city, c.country FROM state.people p "
        "RIGHT JOIN state.cities c ON c.name = p.city",
    ),
    same(
        "full_join_within_sqlite",
        "SELECT p.id AS person_id, c.name AS city_name, c.country FROM state.people p "
        "FULL JOIN state.cities c ON c.name = p.city",
    ),
    same(
        # With USING, the unqualified key of a FULL join is COALESCE(left, right).
        "full_join_using_cross_source",
        "SELECT id, p.name, d.title FROM state.people p FULL JOIN "
        "(SELECT author_id AS id, title FROM knowledge.docs WHERE topic = 'vectors') d USING (id)",
    ),
    same(
        "join_using",
        "SELECT id, p.city, g.name FROM state.people p JOIN graph.Person g USING (id)",
    ),
    same(
        "cross_join_small_tables",
        "SELECT c.name AS city, k.name AS company FROM state.cities c CROSS JOIN graph.Company k "
        "WHERE c.country = 'United States'",
    ),
    # ------------------------------------------------------------- aggregates
    same(
        "aggregate_global",
        "SELECT COUNT(*) AS n, COUNT(city) AS with_city, COUNT(DISTINCT city) AS cities, "
        "SUM(age) AS age_sum, AVG(score) AS avg_score, MIN(name) AS first_name, "
        "MAX(score) AS best FROM state.people",
    ),
    same(
        # No input rows: still one row, COUNT 0 and the others NULL.
        "aggregate_over_no_rows",
        "SELECT COUNT(*) AS n, SUM(amount) AS total, MAX(id) AS top "
        "FROM state.orders WHERE status = 'nonexistent'",
    ),
    same(
        "group_by_with_null_key",
        "SELECT status, COUNT(*) AS n, AVG(amount) AS avg_amount, COUNT(note) AS with_note "
        "FROM state.orders GROUP BY status",
    ),
    same(
        "having_single_source",
        "SELECT city, COUNT(*) AS n, AVG(age) AS avg_age FROM state.people "
        "GROUP BY city HAVING COUNT(*) > 15 AND AVG(age) > 40",
    ),
    same(
        "aggregate_federated_join_group_having",
        "SELECT p.city, COUNT(*) AS edges, COUNT(DISTINCT k._to) AS targets, "
        "SUM(k.weight) AS total_weight, AVG(k.since) AS avg_since, MIN(k.since) AS first_since, "
        "MAX(k.weight) AS max_weight FROM state.people p JOIN graph.KNOWS k ON k._from = p.id "
        "GROUP BY p.city HAVING COUNT(*) > 20",
    ),
    same(
        "aggregate_orders_per_kuzu_person",
        "SELECT g.id, g.name, COUNT(o.id) AS n, SUM(o.amount) AS total FROM graph.Person g "
        "JOIN state.orders o ON o.person_id = g.id GROUP BY g.id, g.name "
        "HAVING SUM(o.amount) > 1500 ORDER BY total DESC, g.id",
        ordered=True,
    ),
    same(
        "aggregate_docs_per_topic_and_city",
        "SELECT d.topic, p.city, COUNT(*) AS docs FROM knowledge.docs d "
        "LEFT JOIN state.people p ON p.id = d.author_id GROUP BY d.topic, p.city HAVING COUNT(*) >= 3",
    ),
    same(
        "distinct_single_source",
        "SELECT DISTINCT city FROM state.people",
    ),
    same(
        "distinct_over_join",
        "SELECT DISTINCT k.since FROM graph.KNOWS k JOIN state.people p ON p.id = k._from "
        "WHERE p.city = 'Paris'",
    ),
    # ----------------------------------------------------------------- set ops
    same(
        "union_distinct_across_sources",
        "SELECT id, name FROM state.people WHERE age < 25 "
        "UNION SELECT id, name FROM graph.Person WHERE age > 80",
    ),
    same(
        "union_all_keeps_duplicates",
        "SELECT name FROM state.people UNION ALL SELECT name FROM graph.Person "
        "UNION ALL SELECT name FROM graph.Company",
    ),
    same(
        "intersect_across_sources",
        "SELECT id FROM state.people INTERSECT SELECT author_id FROM knowledge.docs",
    ),
    same(
        "except_across_sources",
        "SELECT id, name FROM state.people EXCEPT SELECT id, name FROM graph.Person",
    ),
    same(
        # Set operations treat NULLs as equal: NULL city minus cities keeps one NULL row.
        "except_with_nulls",
        "SELECT city FROM state.people EXCEPT SELECT name FROM state.cities",
    ),
    same(
        "union_then_order_limit",
        "SELECT id, title AS label FROM knowledge.docs WHERE id < 5 "
        "UNION ALL SELECT id, name AS label FROM graph.Company ORDER BY label, id LIMIT 8",
        ordered=True,
    ),
    # -------------------------------------------------------------- subqueries
    same(
        "subquery_in_from",
        "SELECT t.city, t.n, c.country FROM (SELECT city, COUNT(*) AS n FROM state.people "
        "GROUP BY city) t JOIN state.cities c ON c.name = t.city WHERE t.n > 5",
    ),
    same(
        "in_subquery_cross_source",
        "SELECT id, name FROM state.people WHERE id IN "
        "(SELECT author_id FROM knowledge.docs WHERE topic = 'graphs')",
    ),
    same(
        "exists_correlated",
        "SELECT p.id, p.name FROM state.people p WHERE EXISTS "
        "(SELECT 1 FROM graph.KNOWS k WHERE k._from = p.id AND k.weight > 0.9)",
    ),
    same(
        "not_exists_correlated",
        "SELECT g.id FROM graph.Person g WHERE NOT EXISTS "
        "(SELECT 1 FROM knowledge.docs d WHERE d.author_id = g.id)",
    ),
    same(
        "scalar_subquery_uncorrelated",
        "SELECT id, score FROM state.people WHERE score > "
        "(SELECT AVG(weight) * 100 FROM graph.KNOWS WHERE since < 2000)",
    ),
    same(
        "scalar_subquery_correlated_in_select",
        "SELECT g.id, g.name, (SELECT COUNT(*) FROM state.orders o WHERE o.person_id = g.id) "
        "AS n_orders, (SELECT MAX(d.id) FROM knowledge.docs d WHERE d.author_id = g.id) AS last_doc "
        "FROM graph.Person g",
    ),
    same(
        "cte_across_sources",
        "WITH big AS (SELECT person_id, SUM(amount) AS total FROM state.orders GROUP BY person_id), "
        "friends AS (SELECT _from AS id, COUNT(*) AS n FROM graph.KNOWS GROUP BY _from) "
        "SELECT b.person_id, b.total, f.n FROM big b JOIN friends f ON f.id = b.person_id "
        "WHERE b.total > 1000",
    ),
    same(
        "cte_used_twice",
        "WITH located AS (SELECT id, city FROM state.people WHERE city IS NOT NULL) "
        "SELECT x.id AS left_id, y.id AS right_id FROM located x JOIN located y "
        "ON x.city = y.city AND x.id < y.id WHERE x.city = 'Lima'",
    ),
    # -------------------------------------------------------------- parameters
    same(
        "param_with_quote_sqlite",
        "SELECT id, name FROM state.people WHERE name = $name",
        {"name": "O'Brien"},
    ),
    same(
        "params_with_quotes_kuzu",
        "SELECT id, name FROM graph.Person WHERE name = $name OR name = $other",
        {"name": "Siobhán O'Brien", "other": 'Bobby "Tables" Drop'},
    ),
    same(
        "param_with_quote_lance",
        "SELECT id, title FROM knowledge.docs WHERE title LIKE $pattern",
        {"pattern": "O'Brien%"},
    ),
    same(
        "param_injection_sqlite_is_empty",
        "SELECT id FROM state.people WHERE name = $name",
        {"name": "'; DROP TABLE people; --"},
        empty=True,
    ),
    same(
        "param_injection_kuzu_is_empty",
        "SELECT id FROM graph.Person WHERE name = $name",
        {"name": "x' OR 1=1 RETURN n //"},
        empty=True,
    ),
    same(
        # LanceDB filters are SQL text without binding: naive quoting returns every row.
        "param_injection_lance_is_empty",
        "SELECT id FROM knowledge.docs WHERE topic = $topic",
        {"topic": "x' OR '1'='1"},
        empty=True,
    ),
    same(
        "params_typed_across_sources",
        "SELECT id, amount FROM state.orders WHERE status = $status AND amount > $min_amount "
        "AND person_id IN (SELECT id FROM graph.Person WHERE age < $max_age)",
        {"status": "active", "min_amount": 250.5, "max_age": 40},
    ),
    # ------------------------------------------------------------- GRAPH_TABLE
    Case(
        "graph_one_hop_out_with_edge_property",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE a.id = 3 "
        "COLUMNS (b.id AS peer_id, b.name AS peer, k.since AS since)) AS g",
        "SELECT b.id AS peer_id, b.name AS peer, k.since AS since FROM graph.Person a "
        "JOIN graph.KNOWS k ON k._from = a.id JOIN graph.Person b ON b.id = k._to WHERE a.id = 3",
    ),
    Case(
        "graph_quantifier_1_with_param",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[:KNOWS]->{1}(b:Person) "
        "WHERE a.name = $name COLUMNS (a.id AS src, b.id AS dst)) AS g",
        "SELECT a.id AS src, b.id AS dst FROM graph.Person a JOIN graph.KNOWS k ON k._from = a.id "
        "JOIN graph.Person b ON b.id = k._to WHERE a.name = $name",
        {"name": "Émile D'Angelo"},
    ),
    Case(
        # Walk semantics: {1,2} is the 1-hop walks UNION ALL the 2-hop walks.
        "graph_quantifier_1_2_out",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[:KNOWS]->{1,2}(b:Person) WHERE a.id = 3 "
        "COLUMNS (b.id AS peer_id, b.name AS peer)) AS g",
        "SELECT b.id AS peer_id, b.name AS peer FROM graph.KNOWS k1 "
        "JOIN graph.Person b ON b.id = k1._to WHERE k1._from = 3 "
        "UNION ALL "
        "SELECT b.id, b.name FROM graph.KNOWS k1 JOIN graph.KNOWS k2 ON k2._from = k1._to "
        "JOIN graph.Person b ON b.id = k2._to WHERE k1._from = 3",
    ),
    Case(
        "graph_quantifier_2_whole_graph",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[:KNOWS]->{2}(b:Person) "
        "COLUMNS (a.id AS src, b.id AS dst)) AS g",
        "SELECT k1._from AS src, k2._to AS dst FROM graph.KNOWS k1 "
        "JOIN graph.KNOWS k2 ON k2._from = k1._to",
    ),
    Case(
        "graph_incoming_with_edge_property",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)<-[k:KNOWS]-(b:Person) WHERE a.id = 3 "
        "COLUMNS (b.id AS follower, k.weight AS weight)) AS g",
        "SELECT b.id AS follower, k.weight AS weight FROM graph.KNOWS k "
        "JOIN graph.Person b ON b.id = k._from WHERE k._to = 3",
    ),
    Case(
        "graph_incoming_quantifier_1_2",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)<-[:KNOWS]-{1,2}(b:Person) WHERE a.id = 58 "
        "COLUMNS (b.id AS src)) AS g",
        "SELECT k1._from AS src FROM graph.KNOWS k1 WHERE k1._to = 58 "
        "UNION ALL "
        "SELECT k2._from FROM graph.KNOWS k1 JOIN graph.KNOWS k2 ON k2._to = k1._from "
        "WHERE k1._to = 58",
    ),
    Case(
        # Undirected: each incident edge once per direction it can be read in.
        "graph_undirected_one_hop",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[k:KNOWS]-(b:Person) WHERE a.id = 3 "
        "COLUMNS (b.id AS neighbour, k.since AS since)) AS g",
        f"SELECT b.id AS neighbour, k.since AS since FROM {UNDIRECTED_KNOWS} k "
        "JOIN graph.Person b ON b.id = k.t WHERE k.s = 3",
    ),
    Case(
        # Undirected walks may go straight back over the edge they came by.
        "graph_undirected_quantifier_1_2",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[:KNOWS]-{1,2}(b:Person) WHERE a.id = 7 "
        "COLUMNS (b.id AS node)) AS g",
        f"SELECT u1.t AS node FROM {UNDIRECTED_KNOWS} u1 WHERE u1.s = 7 "
        "UNION ALL "
        f"SELECT u2.t FROM {UNDIRECTED_KNOWS} u1 JOIN {UNDIRECTED_KNOWS} u2 ON u2.s = u1.t "
        "WHERE u1.s = 7",
    ),
    Case(
        "graph_node_property_map",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person {name: 'Zoë Ward'})-[:KNOWS]->(b:Person) "
        "COLUMNS (b.id AS id, b.age AS age)) AS g",
        "SELECT b.id AS id, b.age AS age FROM graph.Person a JOIN graph.KNOWS k ON k._from = a.id "
        "JOIN graph.Person b ON b.id = k._to WHERE a.name = 'Zoë Ward'",
    ),
    Case(
        "graph_anonymous_and_unlabelled_nodes",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (:Person {id: 58})-[k:KNOWS]->(b) "
        "COLUMNS (b.id AS id, k.weight AS w)) AS g",
        "SELECT k._to AS id, k.weight AS w FROM graph.KNOWS k WHERE k._from = 58",
    ),
    Case(
        "graph_where_on_edge_and_node",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
        "WHERE k.since >= 2020 AND b.age < 40 COLUMNS (a.id AS src, b.id AS dst, k.since AS since)) AS g",
        "SELECT a.id AS src, b.id AS dst, k.since AS since FROM graph.Person a "
        "JOIN graph.KNOWS k ON k._from = a.id JOIN graph.Person b ON b.id = k._to "
        "WHERE k.since >= 2020 AND b.age < 40",
    ),
    Case(
        "graph_path_length",
        "SELECT * FROM GRAPH_TABLE(graph MATCH p = (a:Person)-[:KNOWS]->{1,3}(b:Person) "
        "WHERE a.id = 63 COLUMNS (b.id AS dst, path_length(p) AS hops)) AS g",
        "SELECT k1._to AS dst, 1 AS hops FROM graph.KNOWS k1 WHERE k1._from = 63 "
        "UNION ALL "
        "SELECT k2._to, 2 FROM graph.KNOWS k1 JOIN graph.KNOWS k2 ON k2._from = k1._to "
        "WHERE k1._from = 63 "
        "UNION ALL "
        "SELECT k3._to, 3 FROM graph.KNOWS k1 JOIN graph.KNOWS k2 ON k2._from = k1._to "
        "JOIN graph.KNOWS k3 ON k3._from = k2._to WHERE k1._from = 63",
    ),
    Case(
        # Which shortest path is picked is arbitrary, so only endpoints and length
        # are returned.  The start node itself is excluded: a cycle back to it is
        # a shortest walk of length >= 1, but Kuzu's SHORTEST never returns the
        # source as a destination, so that row is not well-defined across engines.
        "graph_any_shortest_from_one_node",
        "SELECT * FROM GRAPH_TABLE(graph MATCH p = ANY SHORTEST (a:Person)-[:KNOWS]->{1,4}(b:Person) "
        "WHERE a.id = 3 AND b.id <> 3 COLUMNS (b.id AS dst, path_length(p) AS hops)) AS g",
        "WITH RECURSIVE walk(node, hops) AS ("
        " SELECT _to, 1 FROM graph.KNOWS WHERE _from = 3"
        " UNION"
        " SELECT k._to, w.hops + 1 FROM walk w JOIN graph.KNOWS k ON k._from = w.node"
        " WHERE w.hops < 4) "
        "SELECT node AS dst, MIN(hops) AS hops FROM walk WHERE node <> 3 GROUP BY node",
    ),
    Case(
        "graph_any_shortest_all_pairs_histogram",
        "SELECT hops, COUNT(*) AS pairs FROM GRAPH_TABLE(graph MATCH p = ANY SHORTEST "
        "(a:Person)-[:KNOWS]->{1,3}(b:Person) WHERE a.id <> b.id "
        "COLUMNS (path_length(p) AS hops)) AS g GROUP BY hops",
        "WITH RECURSIVE walk(src, node, hops) AS ("
        " SELECT _from, _to, 1 FROM graph.KNOWS"
        " UNION"
        " SELECT w.src, k._to, w.hops + 1 FROM walk w JOIN graph.KNOWS k ON k._from = w.node"
        " WHERE w.hops < 3), "
        "shortest AS (SELECT src, node, MIN(hops) AS hops FROM walk WHERE src <> node "
        "GROUP BY src, node) "
        "SELECT hops, COUNT(*) AS pairs FROM shortest GROUP BY hops",
    ),
    Case(
        "graph_two_patterns_two_rel_tables",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[:KNOWS]->(b:Person), "
        "(b)-[:WORKS_AT]->(c:Company) WHERE a.id = 10 COLUMNS (b.id AS friend, c.name AS company)) AS g",
        "SELECT k._to AS friend, c.name AS company FROM graph.KNOWS k "
        "JOIN graph.WORKS_AT w ON w._from = k._to JOIN graph.Company c ON c.id = w._to "
        "WHERE k._from = 10",
    ),
    Case(
        # Every directed 3-cycle, once per rotation.
        "graph_directed_triangles",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person)-[:KNOWS]->(b:Person)-[:KNOWS]->(c:Person)"
        "-[:KNOWS]->(a) COLUMNS (a.id AS a, b.id AS b, c.id AS c)) AS g",
        "SELECT k1._from AS a, k2._from AS b, k3._from AS c FROM graph.KNOWS k1 "
        "JOIN graph.KNOWS k2 ON k2._from = k1._to JOIN graph.KNOWS k3 ON k3._from = k2._to "
        "AND k3._to = k1._from",
    ),
    Case(
        "graph_company_by_property",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (p:Person)-[:WORKS_AT]->(c:Company {name: 'Hooli'}) "
        "COLUMNS (p.id AS id, p.name AS name)) AS g",
        "SELECT p.id AS id, p.name AS name FROM graph.Person p JOIN graph.WORKS_AT w "
        "ON w._from = p.id JOIN graph.Company c ON c.id = w._to WHERE c.name = 'Hooli'",
    ),
    Case(
        "graph_joined_with_sqlite",
        "SELECT g.peer_id, p.city, p.score FROM GRAPH_TABLE(graph MATCH "
        "(a:Person)-[:KNOWS]->{1,2}(b:Person) WHERE a.id = 10 COLUMNS (b.id AS peer_id)) AS g "
        "JOIN state.people p ON p.id = g.peer_id WHERE p.city IS NOT NULL",
        "SELECT g.peer_id, p.city, p.score FROM ("
        " SELECT k1._to AS peer_id FROM graph.KNOWS k1 WHERE k1._from = 10"
        " UNION ALL"
        " SELECT k2._to FROM graph.KNOWS k1 JOIN graph.KNOWS k2 ON k2._from = k1._to"
        " WHERE k1._from = 10) AS g "
        "JOIN state.people p ON p.id = g.peer_id WHERE p.city IS NOT NULL",
    ),
    Case(
        "graph_aggregated_by_sqlite_city",
        "SELECT p.city, COUNT(*) AS follows FROM GRAPH_TABLE(graph MATCH "
        "(a:Person)-[:KNOWS]->(b:Person) COLUMNS (a.id AS src, b.id AS dst)) AS g "
        "JOIN state.people p ON p.id = g.src GROUP BY p.city HAVING COUNT(*) >= 30",
        "SELECT p.city, COUNT(*) AS follows FROM graph.KNOWS k "
        "JOIN state.people p ON p.id = k._from GROUP BY p.city HAVING COUNT(*) >= 30",
    ),
    # ----------------------------------------------------------- prefilter IN (SELECT ...) across sources
    Case(
        "vector_prefilter_in_graph_neighbours",
        "WITH g AS (SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person {id: $me})-[:KNOWS]->(b:Person) "
        "COLUMNS (b.id AS peer_id)) x) "
        "SELECT v.id, v.author_id, v._distance FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs "
        "WHERE author_id IN (SELECT peer_id FROM g) AND topic <> 'x'), $q, top_k => 3) v ORDER BY v._distance",
        f"SELECT id, author_id, {l2('$q')} AS _distance FROM knowledge.docs WHERE author_id IN "
        "(SELECT _to FROM graph.KNOWS WHERE _from = $me) AND topic <> 'x' ORDER BY _distance LIMIT 3",
        {"q": Q1, "me": 1},
        ordered=True,
    ),
    Case(
        "vector_prefilter_in_sqlite_subquery",
        "SELECT v.id, p.name FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE author_id IN "
        "(SELECT id FROM state.people WHERE city = $city)), $q, top_k => 4) v "
        "JOIN state.people p ON p.id = v.author_id ORDER BY v._distance",
        f"SELECT d.id, p.name FROM (SELECT id, author_id, {l2('$q')} AS dist FROM knowledge.docs "
        "WHERE author_id IN (SELECT id FROM state.people WHERE city = $city) ORDER BY dist LIMIT 4) d "
        "JOIN state.people p ON p.id = d.author_id ORDER BY d.dist",
        {"q": Q2, "city": "Paris"},
        ordered=True,
    ),
    Case(
        "vector_prefilter_in_no_keys",
        "SELECT v.id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE author_id IN "
        "(SELECT id FROM state.people WHERE city = 'Nowhere')), $q, top_k => 4) v",
        "SELECT id FROM knowledge.docs WHERE author_id IN (SELECT id FROM state.people WHERE city = 'Nowhere') "
        f"ORDER BY {l2('$q')} LIMIT 4",
        {"q": Q2},
        empty=True,
    ),
    # ----------------------------------------------------------- VECTOR_SEARCH
    Case(
        "vector_l2_default_metric_param",
        "SELECT id, title, _distance FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 5) "
        "ORDER BY _distance",
        f"SELECT id, title, {l2('$q')} AS _distance FROM knowledge.docs ORDER BY _distance LIMIT 5",
        {"q": Q1},
        ordered=True,
    ),
    Case(
        "vector_l2_all_columns",
        "SELECT * FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 3, metric => 'l2') "
        "ORDER BY _distance",
        f"SELECT {DOC_COLUMNS}, {l2('$q')} AS _distance FROM knowledge.docs "
        "ORDER BY _distance LIMIT 3",
        {"q": Q2},
        ordered=True,
    ),
    Case(
        "vector_cosine_with_prefilter",
        "SELECT id, topic, _distance FROM VECTOR_SEARCH("
        "(SELECT * FROM knowledge.docs WHERE topic = 'graphs'), $q, top_k => 7, metric => 'cosine') "
        "ORDER BY _distance",
        f"SELECT id, topic, {cosine('$q')} AS _distance FROM knowledge.docs "
        "WHERE topic = 'graphs' ORDER BY _distance LIMIT 7",
        {"q": Q1},
        ordered=True,
    ),
    Case(
        "vector_dot_array_literal",
        f"SELECT id, _distance FROM VECTOR_SEARCH(knowledge.docs, {Q2_LITERAL}, top_k => 6, "
        "metric => 'dot') ORDER BY _distance",
        f"SELECT id, {dot(Q2_LITERAL)} AS _distance FROM knowledge.docs ORDER BY _distance LIMIT 6",
        ordered=True,
    ),
    Case(
        "vector_default_top_k_is_10",
        "SELECT id FROM VECTOR_SEARCH(knowledge.docs, $q)",
        f"SELECT id FROM knowledge.docs ORDER BY {l2('$q')} LIMIT 10",
        {"q": Q2},
    ),
    Case(
        "vector_dot_prefilter_with_param_and_null",
        "SELECT id, topic, author_id, _distance FROM VECTOR_SEARCH("
        "(SELECT * FROM knowledge.docs WHERE topic IS NULL OR author_id > $min_author), $q, "
        "top_k => 4, metric => 'dot') ORDER BY _distance",
        f"SELECT id, topic, author_id, {dot('$q')} AS _distance FROM knowledge.docs "
        "WHERE topic IS NULL OR author_id > $min_author ORDER BY _distance LIMIT 4",
        {"q": Q1, "min_author": 150},
        ordered=True,
    ),
    Case(
        "vector_prefilter_fewer_rows_than_k",
        "SELECT id, _distance FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE id <= 3), "
        "$q, top_k => 10, metric => 'cosine') ORDER BY _distance",
        f"SELECT id, {cosine('$q')} AS _distance FROM knowledge.docs WHERE id <= 3 "
        "ORDER BY _distance LIMIT 10",
        {"q": Q2},
        ordered=True,
    ),
    Case(
        "vector_prefilter_injection_is_empty",
        "SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE topic = $topic), $q, "
        "top_k => 5)",
        f"SELECT id FROM knowledge.docs WHERE topic = $topic ORDER BY {l2('$q')} LIMIT 5",
        {"q": Q1, "topic": "x' OR '1'='1"},
        empty=True,
    ),
    Case(
        # The join runs after top-k: documents by unknown authors just drop out.
        "vector_joined_with_sqlite",
        "SELECT v.id, p.name, v._distance FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 20, "
        "metric => 'cosine') AS v JOIN state.people p ON p.id = v.author_id ORDER BY v._distance",
        f"SELECT v.id, p.name, v._distance FROM (SELECT id, author_id, {cosine('$q')} AS _distance "
        "FROM knowledge.docs ORDER BY _distance LIMIT 20) AS v "
        "JOIN state.people p ON p.id = v.author_id ORDER BY v._distance",
        {"q": Q1},
        ordered=True,
    ),
    Case(
        "vector_then_aggregate",
        "SELECT topic, COUNT(*) AS n, MIN(_distance) AS nearest FROM VECTOR_SEARCH("
        "knowledge.docs, $q, top_k => 50, metric => 'cosine') GROUP BY topic",
        f"SELECT topic, COUNT(*) AS n, MIN(_distance) AS nearest FROM (SELECT topic, "
        f"{cosine('$q')} AS _distance FROM knowledge.docs ORDER BY _distance LIMIT 50) "
        "GROUP BY topic",
        {"q": Q2},
    ),
    # ------------------------------------------------------------- found by the docs examples
    same(
        "set_operand_parentheses_kept",
        "SELECT city FROM state.people EXCEPT (SELECT 'Berlin' UNION SELECT 'Paris')",
    ),
    same(
        "parenthesised_set_operation_first",
        "(SELECT city FROM state.people UNION SELECT name FROM state.cities) INTERSECT SELECT 'Paris'",
    ),
    same(
        "intersect_binds_tighter_within_sqlite",
        "SELECT city FROM state.people UNION SELECT name FROM state.cities INTERSECT SELECT 'Oslo'",
    ),
    same(
        "mixed_federated_set_operations",
        "SELECT name FROM graph.Person EXCEPT (SELECT name FROM state.people WHERE age > 30 "
        "INTERSECT SELECT name FROM graph.Person WHERE age < 60)",
    ),
    same("decimal_beyond_double_precision", "SELECT COUNT(*) AS n FROM state.people WHERE age = 30.0000000000000001"),
    same("decimal_literal_in_graph_filter_via_scan", "SELECT COUNT(*) AS n FROM graph.Person WHERE age = 30.0000000000000001"),
    same("exponent_literal_is_double", "SELECT 1e3 AS a, 2.5e-1 * age AS b FROM state.people WHERE id < 4"),
    Case(
        "graph_decimal_and_huge_literals_stay_exact",
        "SELECT * FROM GRAPH_TABLE(graph MATCH (a:Person) WHERE a.age = 30.0000000000000001 "
        "OR a.id > 99999999999999999999 OR a.id = 7 COLUMNS (a.id AS id)) AS g",
        "SELECT id FROM graph.Person WHERE age = 30.0000000000000001 OR id > 99999999999999999999 OR id = 7",
    ),
    Case(
        "vector_prefilter_integer_column_vs_fraction",
        "SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE id < 100.5 AND id NOT IN (3.5, 4) "
        "AND id BETWEEN 1.5 AND 200.5), $q, top_k => 300)",
        # top_k exceeds the table: the search returns every row the prefilter keeps
        "SELECT id FROM knowledge.docs WHERE id < 100.5 AND id NOT IN (3.5, 4) AND id BETWEEN 1.5 AND 200.5"
        " AND len($q) = 8",
        {"q": Q1},
    ),
    Case(
        "vector_prefilter_like_has_no_escape_character",
        "SELECT id FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE title LIKE $p OR title LIKE '%\\a%'), "
        "$q, top_k => 300)",
        "SELECT id FROM knowledge.docs WHERE (title LIKE $p OR title LIKE '%\\a%') AND len($q) = 8",
        {"q": Q1, "p": "%\\_%"},
    ),

]


def _run_reference(con: duckdb.DuckDBPyConnection, case: Case) -> pa.Table:
    return con.sql(case.reference_sql, params=dict(case.params) or None).to_arrow_table()


def test_case_ids_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    # `-k reference` must select only test_reference_query_runs.
    assert not [i for i in ids if "reference" in i]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reference_query_runs(reference: duckdb.DuckDBPyConnection, case: Case) -> None:
    """The reference side alone: it runs, and is empty exactly when the case says so.

    A case whose correct answer is empty only for an unintended reason (a start
    node without edges after the generator changed) would test nothing.
    """
    table = _run_reference(reference, case)
    if case.empty:
        assert table.num_rows == 0, f"expected no rows, got {table.num_rows}"
    else:
        assert table.num_rows > 0, "reference returned no rows; pick values that match the data"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_engine_agrees(fed: Any, reference: duckdb.DuckDBPyConnection, case: Case) -> None:
    actual = fed.query(case.fql, dict(case.params)).to_arrow()
    expected = _run_reference(reference, case)
    assert_same(actual, expected, ordered=case.ordered)

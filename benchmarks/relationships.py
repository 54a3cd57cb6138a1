"""Suite 2: relationship queries by store: Kuzu vs SQLite vs DuckDB, same graph.

The graph is the agents' COLLABORATES_WITH graph and the story -> feature -> epic
-> portfolio hierarchy. Kuzu answers from ``graph.kuzu``; SQLite from
``relations.db``, edge tables with ``PRIMARY KEY (src, dst) WITHOUT ROWID`` plus a
reverse ``(dst, src)`` index; DuckDB from ``relations.duckdb``, the same tables
sorted by source key. Each store gets the forms an expert would try, and each form
is reported; a shape's winner is the store whose best form has the lowest median.

Forms:
- Kuzu: the pattern with a variable-length edge (``*1..k``) or a fixed chain; the
  ``id(x)`` variant counts internal ids (engines.md: projecting ``x.id`` after a
  variable-length edge can cost a node-table scan).
  For many start nodes, ``WHERE a.id IN $list`` was the fastest form tried
  (``UNWIND $list ... MATCH (a {id: x})`` and ``LOAD FROM`` an Arrow table of the
  ids were 3–15x slower at scales S and M), so it is the one measured.
- SQL (SQLite, DuckDB): ``self-joins``, one join per hop, the frontier deduplicated
  at every level; ``recursive CTE``, ``WITH RECURSIVE ... UNION`` bounded by depth;
  for shortest paths also ``BFS per level`` (one query per level from Python, with
  the visited set in Python), because a depth-bounded recursive CTE cannot stop at
  the target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from .measure import run_round_robin, same_answer
from .stores import Stores

STORES = ("Kuzu", "SQLite", "DuckDB")


@dataclass(frozen=True)
class Form:
    store: str
    name: str
    run: Callable[[Stores, dict], Any]


def _sqlite(sql: str) -> Callable[[Stores, dict], Any]:
    def run(st: Stores, p: dict):
        used = {k: (json.dumps(v) if isinstance(v, list) else v) for k, v in p.items() if f":{k}" in sql}
        return st.rel_sqlite.execute(sql, used).fetchall()
    return run


def _duckdb(sql: str) -> Callable[[Stores, dict], Any]:
    sql = _to_duckdb(sql)

    def run(st: Stores, p: dict):
        used = {k: v for k, v in p.items() if f"${k}" in sql}
        return st.rel_duckdb.execute(sql, used).fetchall()
    return run


def _to_duckdb(sql: str) -> str:
    import re

    sql = sql.replace("(SELECT value FROM json_each(:start_ids))", "(SELECT unnest($start_ids::VARCHAR[]) AS value)")
    return re.sub(r"(?<!:):(\w+)", r"$\1", sql)


def _kuzu(cypher: str) -> Callable[[Stores, dict], Any]:
    def run(st: Stores, p: dict):
        used = {k: v for k, v in p.items() if f"${k}" in cypher}
        return [tuple(row) for row in st.kuzu.execute(cypher, used).get_all()]
    return run


def _sql_both(name: str, sql: str) -> list[Form]:
    """The form in SQLite and DuckDB. Joins written ``{J}`` are tried in SQLite both
    ways: as planned by SQLite, and in the written order (SQLite's CROSS JOIN keeps
    the order, which for level-by-level hops its planner sometimes gets wrong)."""
    if "{J}" not in sql:
        return [Form("SQLite", name, _sqlite(sql)), Form("DuckDB", name, _duckdb(sql))]
    return [Form("SQLite", name, _sqlite(sql.replace("{J}", "JOIN"))),
            Form("SQLite", f"{name}, written order (CROSS JOIN)", _sqlite(sql.replace("{J}", "CROSS JOIN"))),
            Form("DuckDB", name, _duckdb(sql.replace("{J}", "JOIN")))]


# ------------------------------------------------------------ k-hop neighbourhoods

def _levels_one(k: int) -> str:
    """Distinct nodes within k hops of :agent, frontier deduplicated per level."""
    ctes = ["l1 AS (SELECT dst AS n FROM collab WHERE src = :agent)"]
    for level in range(2, k + 1):
        ctes.append(f"l{level} AS (SELECT DISTINCT c.dst AS n FROM l{level - 1} {{J}} collab c ON c.src = l{level - 1}.n)")
    union = " UNION ".join(f"SELECT n FROM l{level}" for level in range(1, k + 1))
    return f"WITH {', '.join(ctes)} SELECT COUNT(*) FROM ({union}) WHERE n <> :agent"


def _recursive_one(k: int) -> str:
    return ("WITH RECURSIVE r(n, d) AS (SELECT :agent, 0 UNION "
            f"SELECT c.dst, r.d + 1 FROM r JOIN collab c ON c.src = r.n WHERE r.d < {k}) "
            "SELECT COUNT(DISTINCT n) FROM r WHERE n <> :agent")


def _levels_many(k: int) -> str:
    """For each of :start_ids, distinct nodes within k hops; summed."""
    ctes = ["s AS (SELECT value AS id FROM (SELECT value FROM json_each(:start_ids)))",
            "l1 AS (SELECT s.id AS s, c.dst AS n FROM s {J} collab c ON c.src = s.id)"]
    for level in range(2, k + 1):
        ctes.append(f"l{level} AS (SELECT DISTINCT l.s, c.dst AS n FROM l{level - 1} l {{J}} collab c ON c.src = l.n)")
    union = " UNION ".join(f"SELECT s, n FROM l{level}" for level in range(1, k + 1))
    return f"WITH {', '.join(ctes)} SELECT COUNT(*) FROM ({union}) WHERE n <> s"


def _recursive_many(k: int) -> str:
    return ("WITH RECURSIVE s AS (SELECT value AS id FROM (SELECT value FROM json_each(:start_ids))), "
            "r(s, n, d) AS (SELECT id, id, 0 FROM s UNION "
            f"SELECT r.s, c.dst, r.d + 1 FROM r JOIN collab c ON c.src = r.n WHERE r.d < {k}) "
            "SELECT COUNT(*) FROM (SELECT DISTINCT s, n FROM r WHERE n <> s)")


def _khop_one(k: int) -> list[Form]:
    return [
        Form("Kuzu", "var-length, count(DISTINCT b.id)", _kuzu(
            f"MATCH (a:Agent {{id: $agent}})-[:COLLABORATES_WITH*1..{k}]->(b:Agent) "
            "WHERE b.id <> $agent RETURN count(DISTINCT b.id)")),
        Form("Kuzu", "var-length, id(b)", _kuzu(
            f"MATCH (a:Agent {{id: $agent}})-[:COLLABORATES_WITH*1..{k}]->(b:Agent) "
            "WHERE id(b) <> id(a) RETURN count(DISTINCT id(b))")),
        *_sql_both("self-joins", _levels_one(k)),
        *_sql_both("recursive CTE", _recursive_one(k)),
    ]


def _khop_many(k: int) -> list[Form]:
    return [
        Form("Kuzu", "var-length, id(b)", _kuzu(
            f"MATCH (a:Agent)-[:COLLABORATES_WITH*1..{k}]->(b:Agent) WHERE a.id IN $start_ids AND id(b) <> id(a) "
            "WITH a, count(DISTINCT id(b)) AS n RETURN sum(n)")),
        *_sql_both("self-joins", _levels_many(k)),
        *_sql_both("recursive CTE", _recursive_many(k)),
    ]


# ------------------------------------------------------------------ shortest path

_MAX_HOPS = 6


def _bfs(step: Callable[[list[str]], list[str]], source: str, target: str) -> int | None:
    """Hops from source to target (None beyond _MAX_HOPS); ``step`` returns a
    frontier's out-neighbours, one query per level."""
    seen, frontier = {source}, [source]
    for depth in range(1, _MAX_HOPS + 1):
        nxt = [n for n in set(step(frontier)) if n not in seen]
        if target in nxt:
            return depth
        seen.update(nxt)
        frontier = nxt
        if not frontier:
            return None
    return None


def _bfs_sqlite(st: Stores, p: dict):
    def step(frontier):
        rows = st.rel_sqlite.execute("SELECT DISTINCT dst FROM collab WHERE src IN (SELECT value FROM json_each(?))",
                                     (json.dumps(frontier),)).fetchall()
        return [r[0] for r in rows]
    return [(_bfs(step, p["agent"], p["path_target"]),)]


def _bfs_duckdb(st: Stores, p: dict):
    def step(frontier):
        rows = st.rel_duckdb.execute("SELECT DISTINCT dst FROM collab WHERE src IN (SELECT unnest($f::VARCHAR[]))",
                                     {"f": frontier}).fetchall()
        return [r[0] for r in rows]
    return [(_bfs(step, p["agent"], p["path_target"]),)]


_SHORTEST_CTE = (
    "WITH RECURSIVE r(n, d) AS (SELECT :agent, 0 UNION "
    f"SELECT c.dst, r.d + 1 FROM r JOIN collab c ON c.src = r.n WHERE r.d < {_MAX_HOPS}) "
    "SELECT MIN(d) FROM r WHERE n = :path_target")

_SHORTEST = [
    Form("Kuzu", "SHORTEST", _kuzu(
        f"MATCH p = (a:Agent {{id: $agent}})-[:COLLABORATES_WITH* SHORTEST 1..{_MAX_HOPS}]->(b:Agent {{id: $path_target}}) "
        "RETURN length(p)")),
    Form("SQLite", "BFS per level", _bfs_sqlite),
    Form("DuckDB", "BFS per level", _bfs_duckdb),
    *_sql_both(f"recursive CTE (depth <= {_MAX_HOPS})", _SHORTEST_CTE),
]

# ------------------------------------------------------------------ triangles

_TRIANGLES_NODE = [
    Form("Kuzu", "pattern closing on a", _kuzu(
        "MATCH (a:Agent {id: $agent})-[:COLLABORATES_WITH]->(b:Agent)-[:COLLABORATES_WITH]->(c:Agent)"
        "-[:COLLABORATES_WITH]->(a) RETURN count(*)")),
    # the same triangles as an open path whose two ends are filtered: a different Kuzu plan
    Form("Kuzu", "open path, both ends filtered", _kuzu(
        "MATCH (a:Agent)-[:COLLABORATES_WITH]->(b:Agent)-[:COLLABORATES_WITH]->(c:Agent)"
        "-[:COLLABORATES_WITH]->(d:Agent) WHERE a.id = $agent AND d.id = $agent RETURN count(*)")),
    *_sql_both("self-joins", (
        "SELECT COUNT(*) FROM collab e1 {J} collab e2 ON e2.src = e1.dst "
        "{J} collab e3 ON e3.src = e2.dst AND e3.dst = e1.src WHERE e1.src = :agent")),
]

_TRIANGLES_TEAM = [
    Form("Kuzu", "pattern", _kuzu(
        "MATCH (a:Agent)-[:COLLABORATES_WITH]->(b:Agent)-[:COLLABORATES_WITH]->(c:Agent)-[:COLLABORATES_WITH]->(a) "
        "WHERE a.team = $team AND b.team = $team AND c.team = $team RETURN count(*)")),
    *_sql_both("self-joins", (
        "SELECT COUNT(*) FROM agent a {J} collab e1 ON e1.src = a.id "
        "{J} agent b ON b.id = e1.dst AND b.team = :team {J} collab e2 ON e2.src = b.id "
        "{J} agent c ON c.id = e2.dst AND c.team = :team {J} collab e3 ON e3.src = c.id AND e3.dst = a.id "
        "WHERE a.team = :team")),
]

# ------------------------------------------------------------------ hierarchy

_HIERARCHY_DOWN = [
    Form("Kuzu", "typed chain", _kuzu(
        "MATCH (s:Task)-[:PART_OF]->(:Feature)-[:PART_OF]->(:Epic)-[:PART_OF]->(p:Portfolio {id: $portfolio}) "
        "RETURN count(*)")),
    Form("Kuzu", "var-length *3..3", _kuzu(
        "MATCH (s:Task)-[:PART_OF*3..3]->(p:Portfolio {id: $portfolio}) RETURN count(*)")),
    *_sql_both("self-joins", (
        "SELECT COUNT(*) FROM part_of e JOIN part_of f ON f.parent = e.child "
        "JOIN part_of s ON s.parent = f.child WHERE e.parent = :portfolio")),
    *_sql_both("recursive CTE", (
        "WITH RECURSIVE d(n, lvl) AS (SELECT :portfolio, 0 UNION ALL "
        "SELECT c.child, d.lvl + 1 FROM d JOIN part_of c ON c.parent = d.n WHERE d.lvl < 3) "
        "SELECT COUNT(*) FROM d WHERE lvl = 3")),
]

_HIERARCHY_UP = [
    Form("Kuzu", "typed chain", _kuzu(
        "MATCH (s:Task {id: $task})-[:PART_OF]->(:Feature)-[:PART_OF]->(:Epic)-[:PART_OF]->(p:Portfolio) "
        "RETURN p.id")),
    Form("Kuzu", "var-length *3..3", _kuzu(
        "MATCH (s:Task {id: $task})-[:PART_OF*3..3]->(p:Portfolio) RETURN p.id")),
    *_sql_both("self-joins", (
        "SELECT e.parent FROM part_of s JOIN part_of f ON f.child = s.parent "
        "JOIN part_of e ON e.child = f.parent WHERE s.child = :task")),
    *_sql_both("recursive CTE", (
        "WITH RECURSIVE u(n, lvl) AS (SELECT :task, 0 UNION ALL "
        "SELECT p.parent, u.lvl + 1 FROM u JOIN part_of p ON p.child = u.n WHERE u.lvl < 3) "
        "SELECT n FROM u WHERE lvl = 3")),
]

SHAPES: tuple[tuple[str, str, list[Form]], ...] = (
    ("khop1_one", "1-hop neighbourhood of one node (distinct)", _khop_one(1)),
    ("khop2_one", "2-hop neighbourhood of one node (distinct)", _khop_one(2)),
    ("khop3_one", "3-hop neighbourhood of one node (distinct)", _khop_one(3)),
    ("khop1_many", "1-hop neighbourhoods of many start nodes", _khop_many(1)),
    ("khop2_many", "2-hop neighbourhoods of many start nodes", _khop_many(2)),
    ("khop3_many", "3-hop neighbourhoods of many start nodes", _khop_many(3)),
    ("shortest_path", "shortest path between two nodes", _SHORTEST),
    ("triangles_node", "directed triangles through one node", _TRIANGLES_NODE),
    ("triangles_team", "directed triangles within one team (1% of nodes)", _TRIANGLES_TEAM),
    ("hierarchy_down", "stories under one portfolio (3 levels down)", _HIERARCHY_DOWN),
    ("hierarchy_up", "portfolio of one story (3 levels up)", _HIERARCHY_UP),
)


def run(st: Stores, repeat: int, log=print, only: tuple[str, ...] = ()) -> dict[str, Any]:
    p = st.ws.params
    params = {k: p[k] for k in ("agent", "team", "portfolio", "task", "path_target")}
    params["start_ids"] = p["starts"]  # not $starts: STARTS is a Cypher keyword
    shapes = []
    for name, title, forms in SHAPES:
        if only and name not in only:
            continue
        alternatives = {f"{f.store}: {f.name}": (lambda f=f: f.run(st, params)) for f in forms}
        samples, answers, errors = run_round_robin(alternatives, repeat, budget_seconds=3.0)
        reference = next(iter(answers.values()), None)
        mismatches = {k: d for k, a in answers.items() if (d := same_answer(reference, a))}
        entries = [{"store": f.store, "form": f.name, **samples[f"{f.store}: {f.name}"].summary()}
                   for f in forms if f"{f.store}: {f.name}" not in errors]
        best = {}
        for e in entries:
            if e["store"] not in best or e["median_ms"] < best[e["store"]]["median_ms"]:
                best[e["store"]] = e
        winner = min(best.values(), key=lambda e: e["median_ms"])["store"] if best else None
        shapes.append({
            "name": name, "title": title, "answer": str(reference[0][0]) if reference else None,
            "forms": entries, "best": {s: {"form": e["form"], "median_ms": e["median_ms"]} for s, e in best.items()},
            "winner": winner, "errors": errors, "mismatches": mismatches,
        })
        log(f"  {name}: " + ", ".join(f"{s} {e['median_ms']:.2f} ms ({e['form']})" for s, e in best.items())
            + f" -> {winner}" + (f"  ERRORS {errors}" if errors else "") + (f"  MISMATCH {mismatches}" if mismatches else ""))
    return {"shapes": shapes, "params": {"agent": p["agent"], "agent_degree": p["agent_degree"], "team": p["team"],
                                         "portfolio": p["portfolio"], "task": p["task"],
                                         "path_target": p["path_target"], "path_length": p["path_length"],
                                         "starts": len(p["starts"])}}

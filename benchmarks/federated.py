"""Suite 1: federated queries, the engine against what a user would write instead.

Each query runs five ways, in the same process, on the same files:

- ``engine``  one FQL statement, ``fed.query(..., cache=False)``: executed every
              time, no result cache; after the first run the plan cache answers
              the parse and plan of the repeated text, as in an application
              (``overheads.py`` times parse + plan of a new text).
- ``expert``  the best native query per store, written by hand with each store's
              Python API: the query's filters pushed into the store that holds the
              column, the small side first and its join keys pushed into the other
              stores (``IN (SELECT value FROM json_each(?))`` for SQLite, a list
              parameter for Kuzu), aggregates pushed into SQLite where the grouping
              key is there, Arrow results (ADBC, ``get_as_arrow``, ``to_arrow``)
              joined in DuckDB.
- ``naive``   every table the query touches fetched whole into Arrow (``SELECT *``
              from SQLite, a full MATCH from Kuzu, the whole LanceDB table with its
              vectors), then one DuckDB SQL query over them (graph hops as joins or
              a recursive CTE, kNN by brute force).
- ``pandas``  the glue code people write: one query per store in the order the
              question reads, each store's local filters, keys from an earlier step
              passed as ``IN (?, ?, ...)`` / list parameters, rows to DataFrames
              (``get_as_df``, ``pandas.read_sql``, ``to_pandas``), ``merge`` and
              ``groupby``.
- ``onedb``   every table copied into one DuckDB database beforehand (that load is
              timed separately, ``load_seconds``), then the naive SQL.

Every alternative's answer is compared with the engine's (sorted rows, floats to
1e-4 relative); a mismatch is recorded and fails the smoke test.
"""

from __future__ import annotations

import re
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .datagen import DIM
from .measure import run_round_robin, same_answer
from .stores import Stores, json_list

ALTERNATIVES = ("engine", "expert", "naive", "pandas", "onedb")

# --------------------------------------------------------------- DuckDB helpers

_joiner = duckdb.connect()
_joiner.execute("SET enable_progress_bar = false")


def duck(sql: str, params: dict[str, Any] | None = None, con: duckdb.DuckDBPyConnection | None = None,
         **tables: pa.Table) -> pa.Table:
    """Run DuckDB SQL over Arrow tables given by name (zero-copy scans)."""
    con = con or _joiner
    used = set(re.findall(r"\$(\w+)", sql))
    bound = {k: v for k, v in (params or {}).items() if k in used}
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.sql(sql, params=bound or None).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def _knn_sql(k: int, where: str = "") -> str:
    """Exact kNN in DuckDB, with LanceDB's l2 (squared Euclidean) distance."""
    return (f"SELECT id, author_id, pow(array_distance(vector, $q::FLOAT[{DIM}]), 2) AS _distance "
            f"FROM facts {where} ORDER BY _distance LIMIT {k}")


def _lance_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_marks(values: list) -> str:
    return ", ".join("?" * len(values))


def _read_sql_in(st: Stores, sql: str, keys: list, extra: tuple = ()):
    """pandas.read_sql with ``IN ({keys})`` filled by ``?`` marks, in chunks below
    SQLite's limit of 32766 variables."""
    import pandas as pd

    frames = [pd.read_sql(sql.format(keys=_in_marks(keys[i:i + 30_000])), st.sqlite,
                          params=[*keys[i:i + 30_000], *extra]) for i in range(0, max(len(keys), 1), 30_000)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _q(p: dict) -> np.ndarray:
    return np.asarray(p["q"], dtype=np.float32)


# ------------------------------------------------------------------ the queries


@dataclass(frozen=True)
class Query:
    name: str
    shape: str
    selective: bool
    fql: str
    params: tuple[str, ...]
    expert: Callable[[Stores, dict], Any]
    pandas: Callable[[Stores, dict], Any]
    sql: str              # the naive and one-DuckDB query, over the tables below
    tables: tuple[str, ...]


def _sql(text: str) -> str:
    return textwrap.dedent(text).strip()


# Q1 ---------------------------------------------------------------------------
def q1_expert(st: Stores, p: dict) -> pa.Table:
    knn = st.facts.search(_q(p)).limit(100).select(["id", "author_id", "_distance"]).to_arrow()
    # Not `AND b.id IN $authors`: after a variable-length edge that filter costs Kuzu a
    # scan of every Agent (~20x slower at scale M than the whole neighbourhood).
    peers = st.cypher(
        "MATCH (a:Agent {id: $agent})-[:COLLABORATES_WITH*1..2]->(b:Agent) "
        "WHERE b.id <> $agent RETURN DISTINCT b.id AS peer_id", {"agent": p["agent"]})
    state = st.sql("SELECT agent_id, status FROM agent_state WHERE status <> 'offline' "
                   "AND agent_id IN (SELECT value FROM json_each(?))", (json_list(peers["peer_id"]),))
    return duck("SELECT p.peer_id, s.status, k.id AS fact_id, k._distance FROM peers p "
                "JOIN state s ON s.agent_id = p.peer_id JOIN knn k ON k.author_id = p.peer_id",
                peers=peers, state=state, knn=knn)


def q1_pandas(st: Stores, p: dict):
    peers = st.cypher_df(
        "MATCH (a:Agent {id: $agent})-[:COLLABORATES_WITH*1..2]->(b:Agent) "
        "WHERE b.id <> $agent RETURN DISTINCT b.id AS peer_id", {"agent": p["agent"]})
    state = _read_sql_in(st, "SELECT agent_id, status FROM agent_state "
                             "WHERE status <> 'offline' AND agent_id IN ({keys})", peers["peer_id"].tolist())
    knn = st.facts.search(_q(p)).limit(100).to_pandas()
    out = peers.merge(state, left_on="peer_id", right_on="agent_id").merge(
        knn, left_on="peer_id", right_on="author_id")
    return out[["peer_id", "status", "id", "_distance"]]


Q1 = Query(
    name="q1_neighbourhood_state_knn",
    shape="graph 2-hop neighbourhood ⋈ SQLite state ⋈ kNN (top 100)",
    selective=True,
    fql=_sql("""
        SELECT g.peer_id, s.status, v.id AS fact_id, v._distance
        FROM (SELECT DISTINCT n.peer_id FROM GRAPH_TABLE (graph
                MATCH (a:Agent)-[:COLLABORATES_WITH]->{1,2}(b:Agent)
                WHERE a.id = $agent AND b.id <> $agent
                COLUMNS (b.id AS peer_id)) AS n) AS g
        JOIN state.agent_state AS s ON s.agent_id = g.peer_id
        JOIN VECTOR_SEARCH(knowledge.facts, $q, top_k => 100) AS v ON v.author_id = g.peer_id
        WHERE s.status <> 'offline'
    """),
    params=("agent", "q"),
    expert=q1_expert,
    pandas=q1_pandas,
    sql=_sql(f"""
        WITH hop1 AS (SELECT dst FROM collab WHERE src = $agent),
        peers AS (
            SELECT DISTINCT dst AS peer_id FROM (
                SELECT dst FROM hop1 UNION ALL SELECT c.dst FROM collab c JOIN hop1 h ON c.src = h.dst)
            WHERE dst <> $agent),
        knn AS ({_knn_sql(100)})
        SELECT p.peer_id, s.status, k.id AS fact_id, k._distance
        FROM peers p JOIN agent_state s ON s.agent_id = p.peer_id JOIN knn k ON k.author_id = p.peer_id
        WHERE s.status <> 'offline'
    """),
    tables=("collab", "agent_state", "facts"),
)


# Q2 ---------------------------------------------------------------------------
def q2_expert(st: Stores, p: dict) -> pa.Table:
    knn = (st.facts.search(_q(p)).where(f"topic = {_lance_literal(p['topic'])}", prefilter=True)
           .limit(20).select(["id", "author_id", "_distance"]).to_arrow())
    people = st.sql("SELECT a.id, a.name, a.team, s.status FROM agents a JOIN agent_state s ON s.agent_id = a.id "
                    "WHERE a.id IN (SELECT value FROM json_each(?))", (json_list(pc.unique(knn["author_id"])),))
    return duck("SELECT k.id AS fact_id, k._distance, a.name, a.team, a.status FROM knn k "
                "JOIN people a ON a.id = k.author_id", knn=knn, people=people)


def q2_pandas(st: Stores, p: dict):
    knn = st.facts.search(_q(p)).where(f"topic = {_lance_literal(p['topic'])}", prefilter=True).limit(20).to_pandas()
    ids = knn["author_id"].unique().tolist()
    agents = _read_sql_in(st, "SELECT id, name, team FROM agents WHERE id IN ({keys})", ids)
    state = _read_sql_in(st, "SELECT agent_id, status FROM agent_state WHERE agent_id IN ({keys})", ids)
    out = knn.merge(agents, left_on="author_id", right_on="id", suffixes=("", "_agent")).merge(
        state, left_on="author_id", right_on="agent_id")
    return out[["id", "_distance", "name", "team", "status"]]


Q2 = Query(
    name="q2_knn_prefilter_sql",
    shape="kNN with a 1% prefilter (top 20) ⋈ two SQLite tables",
    selective=True,
    fql=_sql("""
        SELECT v.id AS fact_id, v._distance, a.name, a.team, s.status
        FROM VECTOR_SEARCH((SELECT * FROM knowledge.facts WHERE topic = $topic), $q, top_k => 20) AS v
        JOIN state.agents AS a ON a.id = v.author_id
        JOIN state.agent_state AS s ON s.agent_id = v.author_id
    """),
    params=("topic", "q"),
    expert=q2_expert,
    pandas=q2_pandas,
    sql=_sql(f"""
        WITH v AS ({_knn_sql(20, "WHERE topic = $topic")})
        SELECT v.id AS fact_id, v._distance, a.name, a.team, s.status
        FROM v JOIN agents a ON a.id = v.author_id JOIN agent_state s ON s.agent_id = v.author_id
    """),
    tables=("facts", "agents", "agent_state"),
)


# Q3 ---------------------------------------------------------------------------
def q3_expert(st: Stores, p: dict) -> pa.Table:
    work = st.cypher("MATCH (t:Task)-[:ASSIGNED_TO]->(a:Agent) WHERE a.team = $team "
                     "RETURN t.id AS task_id, a.id AS agent_id", {"team": p["team"]})
    tasks = st.sql("SELECT id, estimate_hours FROM tasks WHERE status <> 'done' "
                   "AND id IN (SELECT value FROM json_each(?))", (json_list(work["task_id"]),))
    return duck("SELECT w.agent_id, COUNT(*) AS open_tasks, SUM(t.estimate_hours) AS hours "
                "FROM work w JOIN tasks t ON t.id = w.task_id GROUP BY w.agent_id", work=work, tasks=tasks)


def q3_pandas(st: Stores, p: dict):
    work = st.cypher_df("MATCH (t:Task)-[:ASSIGNED_TO]->(a:Agent) WHERE a.team = $team "
                        "RETURN t.id AS task_id, a.id AS agent_id", {"team": p["team"]})
    tasks = _read_sql_in(st, "SELECT id, estimate_hours FROM tasks WHERE status <> 'done' AND id IN ({keys})",
                         work["task_id"].tolist())
    out = work.merge(tasks, left_on="task_id", right_on="id")
    return out.groupby("agent_id", as_index=False).agg(
        open_tasks=("task_id", "size"), hours=("estimate_hours", lambda s: s.sum(min_count=1)))


Q3 = Query(
    name="q3_team_open_work",
    shape="graph pattern (one team's assignments) ⋈ SQLite tasks, aggregated",
    selective=True,
    fql=_sql("""
        SELECT g.agent_id, COUNT(*) AS open_tasks, SUM(tk.estimate_hours) AS hours
        FROM GRAPH_TABLE (graph
               MATCH (t:Task)-[:ASSIGNED_TO]->(a:Agent)
               WHERE a.team = $team
               COLUMNS (t.id AS task_id, a.id AS agent_id)) AS g
        JOIN state.tasks AS tk ON tk.id = g.task_id
        WHERE tk.status <> 'done'
        GROUP BY g.agent_id
    """),
    params=("team",),
    expert=q3_expert,
    pandas=q3_pandas,
    sql=_sql("""
        SELECT s.agent AS agent_id, COUNT(*) AS open_tasks, SUM(t.estimate_hours) AS hours
        FROM assigned s JOIN g_agent a ON a.id = s.agent JOIN tasks t ON t.id = s.task
        WHERE a.team = $team AND t.status <> 'done'
        GROUP BY s.agent
    """),
    tables=("assigned", "g_agent", "tasks"),
)


# Q4 ---------------------------------------------------------------------------
# COUNT(l.agent_id), not COUNT(l.id): with (id, task_id) SQLite scans the covering
# index on task_id, NULLs first, and the engine's ADBC scan then types task_id from
# a first batch of NULLs as INT64 and fails on the strings after it (reported).
_CONE = ("MATCH (x:Task {id: $task})-[:DEPENDS_ON*1..5]->(p:Task) RETURN DISTINCT p.id AS prereq_id")


def q4_expert(st: Stores, p: dict) -> pa.Table:
    cone = st.cypher(_CONE, {"task": p["task"]})
    # both tables are in SQLite: join and count there
    return st.sql("SELECT t.id AS prereq_id, t.status, COUNT(l.agent_id) AS events FROM tasks t "
                  "LEFT JOIN audit_log l ON l.task_id = t.id WHERE t.id IN (SELECT value FROM json_each(?)) "
                  "GROUP BY t.id, t.status", (json_list(cone["prereq_id"]),))


def q4_pandas(st: Stores, p: dict):
    cone = st.cypher_df(_CONE, {"task": p["task"]})
    ids = cone["prereq_id"].tolist()
    tasks = _read_sql_in(st, "SELECT id, status FROM tasks WHERE id IN ({keys})", ids)
    events = _read_sql_in(st, "SELECT agent_id AS event_agent, task_id FROM audit_log WHERE task_id IN ({keys})",
                          ids)
    out = cone.merge(tasks, left_on="prereq_id", right_on="id").merge(
        events, left_on="prereq_id", right_on="task_id", how="left")
    return out.groupby(["prereq_id", "status"], as_index=False).agg(events=("event_agent", "count"))


Q4 = Query(
    name="q4_dependency_cone_audit",
    shape="graph 1..5-hop dependency cone ⋈ SQLite tasks ⟕ audit log, counted (3-way)",
    selective=True,
    fql=_sql("""
        SELECT d.prereq_id, tk.status, COUNT(l.agent_id) AS events
        FROM (SELECT DISTINCT c.prereq_id FROM GRAPH_TABLE (graph
                MATCH (x:Task)-[:DEPENDS_ON]->{1,5}(p:Task)
                WHERE x.id = $task
                COLUMNS (p.id AS prereq_id)) AS c) AS d
        JOIN state.tasks AS tk ON tk.id = d.prereq_id
        LEFT JOIN state.audit_log AS l ON l.task_id = d.prereq_id
        GROUP BY d.prereq_id, tk.status
    """),
    params=("task",),
    expert=q4_expert,
    pandas=q4_pandas,
    sql=_sql("""
        WITH RECURSIVE cone(id, depth) AS (
            SELECT dst, 1 FROM depends WHERE src = $task
            UNION SELECT d.dst, c.depth + 1 FROM cone c JOIN depends d ON d.src = c.id WHERE c.depth < 5)
        SELECT c.prereq_id, t.status, COUNT(l.agent_id) AS events
        FROM (SELECT DISTINCT id AS prereq_id FROM cone) c
        JOIN tasks t ON t.id = c.prereq_id
        LEFT JOIN audit_log l ON l.task_id = c.prereq_id
        GROUP BY c.prereq_id, t.status
    """),
    tables=("depends", "tasks", "audit_log"),
)


# Q5 ---------------------------------------------------------------------------
def q5_expert(st: Stores, p: dict) -> pa.Table:
    # pre-aggregated in SQLite (a covering index on (action, agent_id)): one row per agent
    per_agent = st.sql("SELECT agent_id, COUNT(*) AS n FROM audit_log WHERE action = 'blocked' GROUP BY agent_id")
    agents = st.cypher("MATCH (a:Agent) RETURN a.id AS id, a.team AS team")
    return duck("SELECT a.team, SUM(l.n)::BIGINT AS blocked_events FROM l JOIN a ON a.id = l.agent_id "
                "GROUP BY a.team", l=per_agent, a=agents)


def q5_pandas(st: Stores, p: dict):
    import pandas as pd

    events = pd.read_sql("SELECT agent_id FROM audit_log WHERE action = 'blocked'", st.sqlite)
    agents = st.cypher_df("MATCH (a:Agent) RETURN a.id AS id, a.team AS team")
    out = events.merge(agents, left_on="agent_id", right_on="id")
    return out.groupby("team", as_index=False).size().rename(columns={"size": "blocked_events"})


Q5 = Query(
    name="q5_blocked_events_by_team",
    shape="SQLite audit log (10% of rows) ⋈ every graph Agent node, aggregated",
    selective=False,
    fql=_sql("""
        SELECT a.team, COUNT(*) AS blocked_events
        FROM state.audit_log AS l
        JOIN graph.Agent AS a ON a.id = l.agent_id
        WHERE l.action = 'blocked'
        GROUP BY a.team
    """),
    params=(),
    expert=q5_expert,
    pandas=q5_pandas,
    sql=_sql("""
        SELECT a.team, COUNT(*) AS blocked_events
        FROM audit_log l JOIN g_agent a ON a.id = l.agent_id
        WHERE l.action = 'blocked'
        GROUP BY a.team
    """),
    tables=("audit_log", "g_agent"),
)


# Q6 ---------------------------------------------------------------------------
_STORIES = ("MATCH (s:Task)-[:PART_OF]->(:Feature)-[:PART_OF]->(:Epic)-[:PART_OF]->(p:Portfolio {id: $portfolio}) "
            "RETURN s.id AS story_id")


def q6_expert(st: Stores, p: dict) -> pa.Table:
    stories = st.cypher(_STORIES, {"portfolio": p["portfolio"]})
    return st.sql("SELECT status, COUNT(*) AS stories, SUM(estimate_hours) AS hours FROM tasks "
                  "WHERE id IN (SELECT value FROM json_each(?)) GROUP BY status", (json_list(stories["story_id"]),))


def q6_pandas(st: Stores, p: dict):
    stories = st.cypher_df(_STORIES, {"portfolio": p["portfolio"]})
    tasks = _read_sql_in(st, "SELECT id, status, estimate_hours FROM tasks WHERE id IN ({keys})",
                         stories["story_id"].tolist())
    return tasks.groupby("status", as_index=False).agg(
        stories=("id", "size"), hours=("estimate_hours", lambda s: s.sum(min_count=1)))


Q6 = Query(
    name="q6_portfolio_rollup",
    shape="graph 3-level hierarchy (one portfolio, 10% of stories) ⋈ SQLite tasks, aggregated",
    selective=False,
    fql=_sql("""
        SELECT tk.status, COUNT(*) AS stories, SUM(tk.estimate_hours) AS hours
        FROM GRAPH_TABLE (graph
               MATCH (s:Task)-[:PART_OF]->(f:Feature)-[:PART_OF]->(e:Epic)-[:PART_OF]->(p:Portfolio)
               WHERE p.id = $portfolio
               COLUMNS (s.id AS story_id)) AS g
        JOIN state.tasks AS tk ON tk.id = g.story_id
        GROUP BY tk.status
    """),
    params=("portfolio",),
    expert=q6_expert,
    pandas=q6_pandas,
    sql=_sql("""
        SELECT t.status, COUNT(*) AS stories, SUM(t.estimate_hours) AS hours
        FROM part_of e JOIN part_of f ON f.parent = e.child JOIN part_of s ON s.parent = f.child
        JOIN tasks t ON t.id = s.child
        WHERE e.parent = $portfolio
        GROUP BY t.status
    """),
    tables=("part_of", "tasks"),
)


# Q7 ---------------------------------------------------------------------------
_PEERS = ("MATCH (x:Agent {id: $agent})-[c:COLLABORATES_WITH]->(b:Agent) WHERE c.weight >= 0.5 "
          "RETURN b.id AS peer_id")


def q7_expert(st: Stores, p: dict) -> pa.Table:
    peers = st.cypher(_PEERS, {"agent": p["agent"]})
    return st.sql("SELECT a.id AS peer_id, a.name, COUNT(*) AS events FROM agents a "
                  "JOIN audit_log l ON l.agent_id = a.id "
                  "WHERE a.id IN (SELECT value FROM json_each(?)) AND l.at >= ? GROUP BY a.id, a.name",
                  (json_list(peers["peer_id"]), p["since"]))


def q7_pandas(st: Stores, p: dict):
    peers = st.cypher_df(_PEERS, {"agent": p["agent"]})
    ids = peers["peer_id"].tolist()
    agents = _read_sql_in(st, "SELECT id, name FROM agents WHERE id IN ({keys})", ids)
    events = _read_sql_in(st, "SELECT agent_id FROM audit_log WHERE agent_id IN ({keys}) AND at >= ?",
                          ids, (p["since"],))
    out = peers.merge(agents, left_on="peer_id", right_on="id").merge(
        events, left_on="peer_id", right_on="agent_id")
    return out.groupby(["peer_id", "name"], as_index=False).size().rename(columns={"size": "events"})


Q7 = Query(
    name="q7_peers_recent_audit",
    shape="graph 1-hop (edge filter) ⋈ SQLite agents ⋈ audit log (last 30 days), counted (3-way)",
    selective=True,
    fql=_sql("""
        SELECT g.peer_id, a.name, COUNT(*) AS events
        FROM GRAPH_TABLE (graph
               MATCH (x:Agent)-[c:COLLABORATES_WITH]->(b:Agent)
               WHERE x.id = $agent AND c.weight >= 0.5
               COLUMNS (b.id AS peer_id)) AS g
        JOIN state.agents AS a ON a.id = g.peer_id
        JOIN state.audit_log AS l ON l.agent_id = g.peer_id
        WHERE l.at >= $since
        GROUP BY g.peer_id, a.name
    """),
    params=("agent", "since"),
    expert=q7_expert,
    pandas=q7_pandas,
    sql=_sql("""
        SELECT c.dst AS peer_id, a.name, COUNT(*) AS events
        FROM collab c JOIN agents a ON a.id = c.dst JOIN audit_log l ON l.agent_id = c.dst
        WHERE c.src = $agent AND c.weight >= 0.5 AND l.at >= $since
        GROUP BY c.dst, a.name
    """),
    tables=("collab", "agents", "audit_log"),
)


# Q8 ---------------------------------------------------------------------------
def q8_expert(st: Stores, p: dict) -> pa.Table:
    knn = st.facts.search(_q(p)).limit(50).select(["id", "author_id", "_distance"]).to_arrow()
    ids = pc.unique(knn["author_id"]).to_pylist()
    # LOAD FROM the keys and match each by primary key: ~3x faster than `WHERE a.id IN $ids`
    agents = st.cypher("LOAD FROM $keys MATCH (a:Agent {id: key}) RETURN a.id AS id, a.team AS team",
                       {"keys": pa.table({"key": pa.array(ids, pa.string())})})
    state = st.sql("SELECT agent_id, status FROM agent_state WHERE agent_id IN (SELECT value FROM json_each(?))",
                   (json_list(ids),))
    return duck("SELECT a.team, s.status, COUNT(*) AS facts, MIN(k._distance) AS best FROM knn k "
                "JOIN agents a ON a.id = k.author_id JOIN state s ON s.agent_id = k.author_id "
                "GROUP BY a.team, s.status", knn=knn, agents=agents, state=state)


def q8_pandas(st: Stores, p: dict):
    knn = st.facts.search(_q(p)).limit(50).to_pandas()
    ids = knn["author_id"].unique().tolist()
    agents = st.cypher_df("MATCH (a:Agent) WHERE a.id IN $ids RETURN a.id AS id, a.team AS team", {"ids": ids})
    state = _read_sql_in(st, "SELECT agent_id, status FROM agent_state WHERE agent_id IN ({keys})", ids)
    out = knn.merge(agents, left_on="author_id", right_on="id", suffixes=("", "_agent")).merge(
        state, left_on="author_id", right_on="agent_id")
    return out.groupby(["team", "status"], as_index=False).agg(facts=("id", "size"), best=("_distance", "min"))


Q8 = Query(
    name="q8_knn_authors_by_team",
    shape="kNN (top 50) ⋈ graph Agent nodes ⋈ SQLite state, aggregated",
    selective=True,
    fql=_sql("""
        SELECT a.team, s.status, COUNT(*) AS facts, MIN(v._distance) AS best
        FROM VECTOR_SEARCH(knowledge.facts, $q, top_k => 50) AS v
        JOIN graph.Agent AS a ON a.id = v.author_id
        JOIN state.agent_state AS s ON s.agent_id = v.author_id
        GROUP BY a.team, s.status
    """),
    params=("q",),
    expert=q8_expert,
    pandas=q8_pandas,
    sql=_sql(f"""
        WITH v AS ({_knn_sql(50)})
        SELECT a.team, s.status, COUNT(*) AS facts, MIN(v._distance) AS best
        FROM v JOIN g_agent a ON a.id = v.author_id JOIN agent_state s ON s.agent_id = v.author_id
        GROUP BY a.team, s.status
    """),
    tables=("facts", "g_agent", "agent_state"),
)


# Q9 ---------------------------------------------------------------------------
_BLOCKED = ("SELECT a.id FROM agents a JOIN agent_state s ON s.agent_id = a.id "
            "WHERE a.team = ? AND s.status = 'blocked'")
_OUT_EDGES = "MATCH (a:Agent)-[:COLLABORATES_WITH]->(b:Agent) WHERE a.id IN $ids RETURN a.id AS agent_id, b.id AS peer_id"


def q9_expert(st: Stores, p: dict) -> pa.Table:
    blocked = st.sql(_BLOCKED, (p["team"],))
    edges = st.cypher(_OUT_EDGES, {"ids": blocked["id"].to_pylist()}) if blocked.num_rows else None
    if edges is None:
        return pa.table({"agent_id": pa.array([], pa.string()), "peer_id": pa.array([], pa.string()),
                         "peer_status": pa.array([], pa.string())})
    idle = st.sql("SELECT agent_id, status FROM agent_state WHERE status = 'idle' "
                  "AND agent_id IN (SELECT value FROM json_each(?))", (json_list(pc.unique(edges["peer_id"])),))
    return duck("SELECT e.agent_id, e.peer_id, i.status AS peer_status FROM edges e "
                "JOIN idle i ON i.agent_id = e.peer_id", edges=edges, idle=idle)


def q9_pandas(st: Stores, p: dict):
    import pandas as pd

    blocked = pd.read_sql(_BLOCKED, st.sqlite, params=(p["team"],))
    edges = st.cypher_df(_OUT_EDGES, {"ids": blocked["id"].tolist()})
    idle = _read_sql_in(st, "SELECT agent_id, status AS peer_status FROM agent_state "
                            "WHERE status = 'idle' AND agent_id IN ({keys})", edges["peer_id"].unique().tolist())
    out = edges.merge(idle, left_on="peer_id", right_on="agent_id", suffixes=("", "_idle"))
    return out[["agent_id", "peer_id", "peer_status"]]


Q9 = Query(
    name="q9_blocked_team_collaborators",
    shape="SQLite (one team's blocked agents) ⋈ graph edges ⋈ SQLite state (3-way)",
    selective=True,
    fql=_sql("""
        SELECT a.id AS agent_id, c._to AS peer_id, ps.status AS peer_status
        FROM state.agents AS a
        JOIN state.agent_state AS s ON s.agent_id = a.id
        JOIN graph.COLLABORATES_WITH AS c ON c._from = a.id
        JOIN state.agent_state AS ps ON ps.agent_id = c._to
        WHERE a.team = $team AND s.status = 'blocked' AND ps.status = 'idle'
    """),
    params=("team",),
    expert=q9_expert,
    pandas=q9_pandas,
    sql=_sql("""
        SELECT a.id AS agent_id, c.dst AS peer_id, ps.status AS peer_status
        FROM agents a JOIN agent_state s ON s.agent_id = a.id
        JOIN collab c ON c.src = a.id JOIN agent_state ps ON ps.agent_id = c.dst
        WHERE a.team = $team AND s.status = 'blocked' AND ps.status = 'idle'
    """),
    tables=("agents", "agent_state", "collab"),
)


# Q10 --------------------------------------------------------------------------
_CROSS_TEAM = ("MATCH (a:Agent {id: $agent})-[:COLLABORATES_WITH]->(b:Agent) WHERE b.team <> a.team "
               "RETURN b.id AS peer_id, b.team AS peer_team")


def q10_expert(st: Stores, p: dict) -> pa.Table:
    peers = st.cypher(_CROSS_TEAM, {"agent": p["agent"]})
    state = st.sql("SELECT agent_id, status FROM agent_state WHERE agent_id IN (SELECT value FROM json_each(?))",
                   (json_list(pc.unique(peers["peer_id"])),))
    return duck("SELECT p.peer_id, p.peer_team, s.status FROM peers p JOIN state s ON s.agent_id = p.peer_id",
                peers=peers, state=state)


def q10_pandas(st: Stores, p: dict):
    peers = st.cypher_df(_CROSS_TEAM, {"agent": p["agent"]})
    state = _read_sql_in(st, "SELECT agent_id, status FROM agent_state WHERE agent_id IN ({keys})",
                         peers["peer_id"].unique().tolist())
    out = peers.merge(state, left_on="peer_id", right_on="agent_id")
    return out[["peer_id", "peer_team", "status"]]


Q10 = Query(
    name="q10_cross_team_peers_tables",
    shape="graph node and relationship tables joined on keys (one Cypher match) ⋈ SQLite state",
    selective=True,
    fql=_sql("""
        SELECT b.id AS peer_id, b.team AS peer_team, s.status
        FROM graph.Agent AS a
        JOIN graph.COLLABORATES_WITH AS c ON c._from = a.id
        JOIN graph.Agent AS b ON b.id = c._to
        JOIN state.agent_state AS s ON s.agent_id = b.id
        WHERE a.id = $agent AND b.team <> a.team
    """),
    params=("agent",),
    expert=q10_expert,
    pandas=q10_pandas,
    sql=_sql("""
        SELECT b.id AS peer_id, b.team AS peer_team, s.status
        FROM g_agent a JOIN collab c ON c.src = a.id JOIN g_agent b ON b.id = c.dst
        JOIN agent_state s ON s.agent_id = b.id
        WHERE a.id = $agent AND b.team <> a.team
    """),
    tables=("g_agent", "collab", "agent_state"),
)

QUERIES = (Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9, Q10)


# ------------------------------------------------------------ whole-table fetches

_WHOLE_CYPHER = {
    "g_agent": "MATCH (a:Agent) RETURN a.id AS id, a.name AS name, a.role AS role, a.team AS team",
    "collab": ("MATCH (a:Agent)-[r:COLLABORATES_WITH]->(b:Agent) "
               "RETURN a.id AS src, b.id AS dst, r.weight AS weight, r.since AS since"),
    "depends": "MATCH (a:Task)-[:DEPENDS_ON]->(b:Task) RETURN a.id AS src, b.id AS dst",
    "assigned": "MATCH (t:Task)-[:ASSIGNED_TO]->(a:Agent) RETURN t.id AS task, a.id AS agent",
    "part_of": "MATCH (c)-[:PART_OF]->(p) RETURN c.id AS child, p.id AS parent",
}
_SQLITE_TABLES = ("agents", "agent_state", "tasks", "audit_log")
ALL_TABLES = (*_SQLITE_TABLES, *_WHOLE_CYPHER, "facts")


def fetch_whole(st: Stores, name: str) -> pa.Table:
    if name in _SQLITE_TABLES:
        return st.sql(f"SELECT * FROM {name}")
    if name in _WHOLE_CYPHER:
        return st.cypher(_WHOLE_CYPHER[name])
    return st.facts.to_arrow()


def naive(st: Stores, query: Query, p: dict) -> pa.Table:
    tables = {name: fetch_whole(st, name) for name in query.tables}
    return duck(query.sql, p, **tables)


def load_onedb(st: Stores, path: Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, float]]:
    """Copy every table into one DuckDB file: what 'put it all in DuckDB' costs up front."""
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    seconds: dict[str, float] = {}
    for name in ALL_TABLES:
        t0 = time.perf_counter()
        frame = fetch_whole(st, name)
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
        seconds[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute("CHECKPOINT")
    seconds["checkpoint"] = time.perf_counter() - t0
    return con, seconds


# ------------------------------------------------------------------ the suite


def query_params(query: Query, ws_params: dict) -> dict[str, Any]:
    values = {name: ws_params[name] for name in query.params}
    if "q" in values:
        values["q"] = _q(ws_params)
    return values


def run(st: Stores, repeat: int, log=print, only: tuple[str, ...] = ()) -> dict[str, Any]:
    ws = st.ws
    t0 = time.perf_counter()
    onedb, load_seconds = load_onedb(st, ws.root / "onedb.duckdb")
    load_total = time.perf_counter() - t0
    log(f"  one-DuckDB load: {load_total:.2f} s")
    results = []
    try:
        for query in QUERIES:
            if only and query.name not in only:
                continue
            p = query_params(query, ws.params)
            # DuckDB takes the vector as a list; the others take the numpy array
            duck_p = {**p, "q": p["q"].tolist()} if "q" in p else p
            alternatives = {
                "engine": lambda q=query, p=p: st.fed.query(q.fql, p, cache=False).to_arrow(),
                "expert": lambda q=query, p=p: q.expert(st, p),
                "naive": lambda q=query: naive(st, q, duck_p),
                "pandas": lambda q=query, p=p: q.pandas(st, p),
                "onedb": lambda q=query: duck(q.sql, duck_p, con=onedb),
            }
            samples, answers, errors = run_round_robin(alternatives, repeat, budget_seconds=5.0)
            reference = answers.get("engine", answers.get("expert"))
            mismatches = {}
            for name, answer in answers.items():
                diff = same_answer(reference, answer)
                if diff:
                    mismatches[name] = diff
            try:
                plan = st.fed.explain(query.fql, p)
            except Exception as exc:  # the engine's error is already in `errors`
                plan = f"{type(exc).__name__}: {exc}"
            entry = {
                "name": query.name,
                "shape": query.shape,
                "selective": query.selective,
                "fql": query.fql,
                "plan": plan,
                "rows": len(answers.get("expert", [])) if "expert" in answers else None,
                "alternatives": {name: samples[name].summary() for name in alternatives if name not in errors},
                "errors": errors,
                "mismatches": mismatches,
            }
            if "expert" in answers:
                entry["rows"] = answers["expert"].num_rows
            results.append(entry)
            med = {k: v["median_ms"] for k, v in entry["alternatives"].items()}
            log(f"  {query.name}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in med.items())
                + (f"  ERRORS {errors}" if errors else "") + (f"  MISMATCH {mismatches}" if mismatches else ""))
    finally:
        onedb.close()
        (ws.root / "onedb.duckdb").unlink(missing_ok=True)
    return {"queries": results, "onedb_load_seconds": load_total,
            "onedb_load_by_table": {k: round(v, 4) for k, v in load_seconds.items()}}

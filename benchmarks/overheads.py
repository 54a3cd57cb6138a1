"""Suite 4: what the engine costs on top of the stores.

- ``parse``: ``federation.parser.parse`` of a 30-line FQL query;
- ``plan (cold)``: ``fed.plan`` of that query with a different ``LIMIT`` literal
  each time, so no cache keyed by the text can answer;
- ``plan (repeated text)``: ``fed.plan`` of the same text again: a plan-cache hit
  once the engine has one (until then it re-plans, and the two are the same);
- ``query, cold`` vs ``query, result-cache hit``: ``fed.query`` of the 30-line
  query with ``cache=False``, and again with the cache on after one run filled it;
- Arrow hand-off per store: a table read through the engine (``SELECT cols FROM
  source.table``) against the same rows fetched to Arrow with the store's own API.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

import numpy as np

from .measure import Sample, run_round_robin, timed
from .stores import Stores

# 30 lines: a CTE per store, joined, filtered, ordered.
THIRTY_LINE_QUERY = textwrap.dedent("""\
    -- Which collaborators of an agent, and what they wrote near a question, need a look
    WITH peers AS (
        SELECT DISTINCT g.peer_id, g.peer_team
        FROM GRAPH_TABLE (graph
            MATCH (a:Agent)-[c:COLLABORATES_WITH]->{1,2}(b:Agent)
            WHERE a.id = $agent AND b.id <> $agent
            COLUMNS (b.id AS peer_id, b.team AS peer_team)) AS g
    ),
    recent AS (
        SELECT l.agent_id, COUNT(*) AS events, MAX(l.at) AS last_seen
        FROM state.audit_log AS l
        WHERE l.at >= $since AND l.action IN ('blocked', 'handed_off', 'commented')
        GROUP BY l.agent_id
    ),
    nearby AS (
        SELECT v.author_id, MIN(v._distance) AS best, COUNT(*) AS facts
        FROM VECTOR_SEARCH((SELECT * FROM knowledge.facts WHERE topic = $topic),
                           $q, top_k => 50) AS v
        GROUP BY v.author_id
    )
    SELECT p.peer_id, p.peer_team, s.status, s.load,
           COALESCE(r.events, 0) AS events, r.last_seen,
           n.best, n.facts
    FROM peers AS p
    JOIN state.agent_state AS s ON s.agent_id = p.peer_id
    LEFT JOIN recent AS r ON r.agent_id = p.peer_id
    LEFT JOIN nearby AS n ON n.author_id = p.peer_id
    WHERE s.status <> 'offline'
    ORDER BY n.best NULLS LAST, events DESC, p.peer_id
    LIMIT 20""")


def _loop(fn, n: int) -> Sample:
    sample = Sample()
    for _ in range(n):
        timed(fn, sample)
    return sample


def run(st: Stores, repeat: int, log=print) -> dict[str, Any]:
    from federation.parser import parse

    fed = st.fed
    p = st.ws.params
    params = {"agent": p["agent"], "since": p["since"], "topic": p["topic"], "q": np.asarray(p["q"], np.float32)}
    text = THIRTY_LINE_QUERY
    assert len(text.splitlines()) == 30
    n = 5 if repeat == 1 else 20 * repeat  # a single-repeat run is a smoke test
    out: dict[str, Any] = {"text": text, "lines": 30, "iterations": n}

    fed.plan(text, params)  # warm: catalog snapshot, imports
    parse_s = _loop(lambda: parse(text), n)
    counter = iter(range(10**9))
    cold_s = _loop(lambda: fed.plan(text.replace("LIMIT 20", f"LIMIT {21 + next(counter)}"), params), n)
    fed.plan(text, params)
    repeated_s = _loop(lambda: fed.plan(text, params), n)
    out["plan"] = {"parse": parse_s.summary(), "parse + plan (new text)": cold_s.summary(),
                   "parse + plan (repeated text)": repeated_s.summary()}
    log("  parse {:.3f} ms, parse + plan (new text) {:.3f} ms, (repeated text) {:.3f} ms".format(
        *(s.summary()["median_ms"] for s in (parse_s, cold_s, repeated_s))))

    rows = fed.query(text, params, cache=False).to_arrow().num_rows
    samples, _, errors = run_round_robin({
        "query, cold (cache=False)": lambda: fed.query(text, params, cache=False).to_arrow(),
        "query, result-cache hit": lambda: fed.query(text, params).to_arrow(),
    }, max(repeat, 5), budget_seconds=5.0)
    out["query"] = {name: s.summary() for name, s in samples.items() if name not in errors}
    out["query_rows"] = rows
    out["query_errors"] = errors
    log("  " + ", ".join(f"{k} {v['median_ms']:.2f} ms" for k, v in out["query"].items()))

    handoff = []
    sqlite_native = lambda: st.sql("SELECT id, agent_id, action, at FROM audit_log")  # noqa: E731
    cases = (
        # a query over one SQLite database runs there whole (through sqlite3 rows)...
        ("SQLite (whole query)", "state.audit_log", "SELECT id, agent_id, action, at FROM state.audit_log",
         sqlite_native),
        # ...unless it has something SQLite computes differently, like `/`: then an ADBC scan + DuckDB
        ("SQLite (scan fragment)", "state.audit_log",
         "SELECT id, agent_id, action, at FROM state.audit_log WHERE id / 1 > 0", sqlite_native),
        ("Kuzu", "graph.Agent", "SELECT id, name, role, team FROM graph.Agent",
         lambda: st.cypher("MATCH (a:Agent) RETURN a.id AS id, a.name AS name, a.role AS role, a.team AS team")),
        ("LanceDB", "knowledge.facts", "SELECT id, author_id, topic FROM knowledge.facts",
         lambda: st.facts.search().select(["id", "author_id", "topic"]).limit(None).to_arrow()),
    )
    for store, table, fql, native in cases:
        samples, answers, errors = run_round_robin({
            "engine": lambda fql=fql: fed.query(fql, cache=False).to_arrow(),
            "native": native,
        }, repeat, budget_seconds=3.0)
        entry = {"store": store, "table": table, "fql": fql,
                 "rows": answers["native"].num_rows if "native" in answers else None,
                 **{name: s.summary() for name, s in samples.items() if name not in errors}, "errors": errors}
        handoff.append(entry)
        if "engine" in entry and "native" in entry:
            log(f"  hand-off {store}: engine {entry['engine']['median_ms']:.1f} ms, "
                f"native {entry['native']['median_ms']:.1f} ms ({entry['rows']} rows)")
    out["handoff"] = handoff
    return out

"""A sample multi-agent workspace to try federation on, and a demo that queries it.

`build_workspace(path)` writes, in a few seconds and always with the same
data (a seeded `random.Random` and fixed timestamps, never the clock):

- `state.db`    SQLite: agents, agent_state, tasks, audit_log
- `graph.kuzu`  Kuzu: Agent, Task, Feature, Epic nodes; COLLABORATES_WITH,
                DEPENDS_ON, ASSIGNED_TO, PART_OF relationships
- `lance/`      LanceDB: facts, short texts with HashEmbedder(64) vectors
- `federation.toml` naming the three as sources `state`, `graph`, `knowledge`.

Agent and task ids are the same in SQLite and Kuzu, and fact authors are agent
ids, so the three stores join. `SHOWCASE` holds queries that show this off and
`run_demo()` runs them.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sqlite3
import sys
import textwrap
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa

from federation.embedding import HashEmbedder
from federation.formatting import format_table

SEED = 20250303
EMBEDDING_DIM = 64

FEDERATION_TOML = """\
[sources.state]
type = "sqlite"
path = "state.db"

[sources.graph]
type = "kuzu"
path = "graph.kuzu"

[sources.knowledge]
type = "lancedb"
uri = "lance"
embedder = "hash"
"""

# Fixed points in time; every timestamp is one of these plus a seeded offset.
_AGENTS_CREATED = dt.datetime(2024, 11, 4, 9, 0)
_FACTS_CREATED = dt.datetime(2024, 12, 2, 9, 0)
_AUDIT_START = dt.datetime(2025, 2, 3, 8, 0)
_STATE_UPDATED = dt.datetime(2025, 3, 3, 17, 0)

_ROLE_COUNTS = {"coordinator": 4, "researcher": 10, "coder": 16, "reviewer": 10}
_TEAMS = ("alpha", "beta", "gamma", "delta")

# Each topic is both a knowledge-fact topic and an epic whose features are the
# topic's subjects, so task titles ("Benchmark connection pooling") and facts
# ("connection pooling reduces latency for database clients") share words.
# Subjects are ordered so the first six become features.
_TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "databases": {
        "subjects": (
            "connection pooling", "query caching", "index tuning", "write-ahead logging",
            "read replication", "table partitioning", "statement caching", "batched inserts",
            "schema migration tooling", "regular vacuuming",
        ),
        "predicates": (
            "reduces latency for", "improves throughput of", "lowers the load on",
            "needs careful monitoring in", "simplifies operations for",
        ),
        "objects": (
            "database clients", "analytical queries", "write-heavy workloads",
            "reporting jobs", "multi-tenant services",
        ),
    },
    "networking": {
        "subjects": (
            "HTTP keep-alive", "TLS session resumption", "load balancing", "retrying with backoff",
            "DNS caching", "circuit breaking", "rate limiting", "response compression",
            "a service mesh", "a strict connection timeout",
        ),
        "predicates": (
            "protects", "reduces latency for", "improves the resilience of",
            "adds overhead to", "needs tuning for",
        ),
        "objects": (
            "internal APIs", "mobile clients", "cross-region traffic",
            "streaming endpoints", "service-to-service calls",
        ),
    },
    "planning": {
        "subjects": (
            "small milestones", "explicit task dependencies", "weekly re-plans",
            "capacity estimates", "clear definitions of done", "risk registers",
            "critical path reviews", "work-in-progress limits", "time-boxed spikes",
            "dependency graphs",
        ),
        "predicates": (
            "shorten feedback loops for", "reduce rework in", "expose bottlenecks in",
            "improve forecasts for", "keep agents focused on",
        ),
        "objects": (
            "multi-agent teams", "long-running epics", "research spikes",
            "release trains", "cross-team features",
        ),
    },
    "security": {
        "subjects": (
            "least-privilege access", "secret rotation", "audit logging", "input validation",
            "dependency scanning", "mutual TLS", "tool sandboxing", "artifact signing",
            "threat modeling", "prompt injection filtering",
        ),
        "predicates": (
            "limits the blast radius of", "detects abuse of", "hardens",
            "is mandatory for", "reduces the attack surface of",
        ),
        "objects": (
            "agent credentials", "production databases", "build pipelines",
            "public endpoints", "third-party plugins",
        ),
    },
    "testing": {
        "subjects": (
            "property-based tests", "snapshot tests", "integration tests",
            "quarantined flaky tests", "mutation tests", "contract tests", "fuzzers",
            "shared test fixtures", "coverage reports", "load tests",
        ),
        "predicates": (
            "catch regressions in", "speed up reviews of", "document the behaviour of",
            "find edge cases in", "build confidence in",
        ),
        "objects": (
            "query planners", "parsers", "database adapters",
            "release builds", "agent workflows",
        ),
    },
}
_FACTS_PER_TOPIC = 100
_FEATURES_PER_EPIC = 6

_EPICS = (  # (name, portfolio, topic)
    ("Federated queries", "platform", "databases"),
    ("Resilient networking", "platform", "networking"),
    ("Planning assistant", "research", "planning"),
    ("Secure tooling", "platform", "security"),
    ("Release quality", "product", "testing"),
)

# Every feature gets one task per step, done in this order; the step decides
# which role the task goes to and which earlier steps it depends on.
_STEPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (verb, roles that take it, verbs it depends on)
    ("Design", ("coordinator", "researcher"), ()),
    ("Implement", ("coder",), ("Design",)),
    ("Test", ("coder", "reviewer"), ("Implement",)),
    ("Review", ("reviewer",), ("Implement",)),
    ("Document", ("researcher",), ("Implement",)),
    ("Benchmark", ("coder", "researcher"), ("Implement",)),
    ("Harden", ("coder",), ("Test",)),
    ("Refactor", ("coder",), ("Review",)),
    ("Roll out", ("coder", "coordinator"), ("Test", "Review")),
    ("Monitor", ("coder",), ("Roll out",)),
)
_CROSS_FEATURE_DEPENDENCIES = 20
_OPEN_STATUSES = ("in_progress", "review", "blocked")
_OFFLINE_AGENTS = 3

_HUB = "coordinator-1"
_HUB_PEERS = ("coordinator-2", "researcher-1", "coder-1", "reviewer-1", "coder-2")
_PEERS_PER_AGENT = 2

_AUDIT_ROWS = 2000
# action -> detail template; "heartbeat" is the only action without a task.
_AUDIT_ACTIONS = {
    "claimed": "claimed {task}",
    "started": "started work on {task}",
    "commented": "left a comment on {task}",
    "submitted": "submitted {task} for review",
    "reviewed": "reviewed {task}",
    "completed": "marked {task} done",
    "blocked": "reported {task} as blocked",
    "unblocked": "unblocked {task}",
    "handed_off": "handed {task} off",
    "heartbeat": "heartbeat",
}


@dataclass(frozen=True)
class _Data:
    """The whole workspace as Arrow tables, one per SQLite/Kuzu/LanceDB table."""

    agents: pa.Table
    agent_state: pa.Table
    tasks: pa.Table
    audit_log: pa.Table
    features: pa.Table
    epics: pa.Table
    collaborates_with: pa.Table
    depends_on: pa.Table
    assigned_to: pa.Table
    task_part_of: pa.Table
    feature_part_of: pa.Table
    facts: pa.Table


def build_workspace(path: Path | str, *, overwrite: bool = True) -> Path:
    """Create the demo workspace in folder `path`; returns its federation.toml.

    An existing folder is replaced only if `overwrite` is true and it holds a
    federation.toml (so a typo cannot wipe an unrelated folder); an empty
    folder is used as it is. Anything else raises FileExistsError.
    """
    path = Path(path).absolute()
    _check_target(path, overwrite=overwrite)
    data = _generate(random.Random(SEED))

    # Build next to the target and move it in at the end, so a failure never
    # leaves a half-built workspace behind.
    staging = path.with_name(f".{path.name}.building")
    if staging.exists():  # left over from a build that was killed
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        _write_sqlite(staging / "state.db", data)
        _write_kuzu(staging / "graph.kuzu", data)
        _write_lance(staging / "lance", data)
        (staging / "federation.toml").write_text(FEDERATION_TOML, encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path / "federation.toml"


def _check_target(path: Path, *, overwrite: bool) -> None:
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    if not (path / "federation.toml").is_file():
        raise FileExistsError(
            f"{path} is not empty and holds no federation.toml; "
            "refusing to replace it, pick another folder"
        )
    if not overwrite:
        raise FileExistsError(f"a workspace already exists at {path}; pass overwrite=True to rebuild it")


# --- data generation ---------------------------------------------------------


def _stamp(base: dt.datetime, seconds: float) -> str:
    return (base + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def _generate(rng: random.Random) -> _Data:
    agent_rows = _agents(rng)
    ids_by_name = {a["name"]: a["id"] for a in agent_rows}
    ids_by_role: dict[str, list[str]] = {}
    for a in agent_rows:
        ids_by_role.setdefault(a["role"], []).append(a["id"])

    epic_rows, feature_rows, feature_part_of = _epics_and_features()
    task_rows, depends_on, assigned = _tasks(rng, feature_rows, ids_by_role)
    state_rows = _agent_state(rng, agent_rows, task_rows, assigned, ids_by_name[_HUB])

    text, integer, real = pa.string(), pa.int64(), pa.float64()
    return _Data(
        agents=pa.Table.from_pylist(agent_rows, pa.schema([
            ("id", text), ("name", text), ("role", text), ("team", text), ("created_at", text),
        ])),
        agent_state=pa.Table.from_pylist(state_rows, pa.schema([
            ("agent_id", text), ("status", text), ("current_task", text), ("load", real), ("updated_at", text),
        ])),
        tasks=pa.Table.from_pylist(task_rows, pa.schema([
            ("id", text), ("title", text), ("status", text),
            ("priority", integer), ("estimate_hours", real), ("feature_id", text),
        ])),
        audit_log=_audit_log(rng, agent_rows, task_rows, assigned),
        features=pa.Table.from_pylist(feature_rows, pa.schema([("id", text), ("name", text)])),
        epics=pa.Table.from_pylist(epic_rows, pa.schema([("id", text), ("name", text), ("portfolio", text)])),
        collaborates_with=_collaborations(rng, agent_rows, ids_by_name),
        depends_on=_edges(depends_on),
        assigned_to=_edges(assigned.items()),
        task_part_of=_edges((t["id"], t["feature_id"]) for t in task_rows),
        feature_part_of=_edges(feature_part_of),
        facts=_facts(rng, [a["id"] for a in agent_rows]),
    )


def _edges(pairs: Iterable[tuple[str, str]]) -> pa.Table:
    # Kuzu's COPY into a rel table reads the first two columns as FROM and TO
    # primary keys; their names do not matter.
    sources, targets = zip(*pairs, strict=True)
    return pa.table({"from": list(sources), "to": list(targets)})


def _agents(rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for role, count in _ROLE_COUNTS.items():
        for n in range(1, count + 1):
            rows.append({
                "id": f"agent-{len(rows) + 1:03d}",
                "name": f"{role}-{n}",
                "role": role,
                # Coordinator k leads team k; everyone else is spread round-robin.
                "team": _TEAMS[(n - 1) % len(_TEAMS)],
                "created_at": _stamp(_AGENTS_CREATED, len(rows) * 86400 + rng.randint(0, 8 * 3600)),
            })
    return rows


def _epics_and_features() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    epics: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    part_of: list[tuple[str, str]] = []
    for e, (name, portfolio, topic) in enumerate(_EPICS, start=1):
        epic_id = f"epic-{e:02d}"
        epics.append({"id": epic_id, "name": name, "portfolio": portfolio})
        for subject in _TOPICS[topic]["subjects"][:_FEATURES_PER_EPIC]:
            feature_id = f"feature-{len(features) + 1:02d}"
            features.append({"id": feature_id, "name": subject})
            part_of.append((feature_id, epic_id))
    return epics, features, part_of


def _tasks(
    rng: random.Random, features: list[dict[str, Any]], ids_by_role: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], list[tuple[str, str]], dict[str, str]]:
    """Tasks, DEPENDS_ON pairs (task, prerequisite) and task -> assignee."""
    tasks: list[dict[str, Any]] = []
    depends_on: list[tuple[str, str]] = []
    assigned: dict[str, str] = {}
    for feature in features:
        # The feature has finished the steps before `progress`; the next two
        # are open, the rest not started.
        progress = rng.randint(0, len(_STEPS) - 1)
        ids_by_verb: dict[str, str] = {}
        for step, (verb, roles, prerequisites) in enumerate(_STEPS):
            task_id = f"task-{len(tasks) + 1:04d}"
            ids_by_verb[verb] = task_id
            if step < progress:
                status = "done"
            elif step <= progress + 1:
                status = rng.choices(_OPEN_STATUSES, weights=(6, 2, 2))[0]
            else:
                status = "todo"
            tasks.append({
                "id": task_id,
                "title": f"{verb} {feature['name']}",
                "status": status,
                "priority": rng.randint(1, 5),
                # A few tasks were never estimated.
                "estimate_hours": None if rng.random() < 0.04 else rng.choice((0.5, 1, 2, 3, 5, 8, 13, 21)),
                "feature_id": feature["id"],
            })
            depends_on.extend((task_id, ids_by_verb[p]) for p in prerequisites)
            if status != "todo" or rng.random() < 0.5:
                assigned[task_id] = rng.choice(ids_by_role[rng.choice(roles)])

    # A few dependencies across features, always on an earlier task, so the
    # DEPENDS_ON graph stays acyclic.
    pairs = set(depends_on)
    while len(pairs) < len(depends_on) + _CROSS_FEATURE_DEPENDENCIES:
        later, earlier = sorted(rng.sample(range(len(tasks)), 2), reverse=True)
        if tasks[later]["feature_id"] != tasks[earlier]["feature_id"]:
            pairs.add((tasks[later]["id"], tasks[earlier]["id"]))
    cross = sorted(pairs - set(depends_on))
    return tasks, depends_on + cross, assigned


def _agent_state(
    rng: random.Random,
    agents: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    assigned: dict[str, str],
    hub_id: str,
) -> list[dict[str, Any]]:
    open_tasks: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        if task["status"] in _OPEN_STATUSES and task["id"] in assigned:
            open_tasks.setdefault(assigned[task["id"]], []).append(task)

    offline = set(rng.sample([a["id"] for a in agents if a["id"] != hub_id], _OFFLINE_AGENTS))
    rows = []
    for agent in agents:
        mine = open_tasks.get(agent["id"], [])
        blocked = [t for t in mine if t["status"] == "blocked"]
        current = None
        if agent["id"] in offline:
            status, load = "offline", 0.0
        elif blocked and rng.random() < 0.7:
            status, load, current = "blocked", rng.uniform(0.2, 0.8), rng.choice(blocked)["id"]
        elif mine:
            status, load, current = "active", rng.uniform(0.3, 1.0), rng.choice(mine)["id"]
        elif agent["id"] == hub_id:
            # The hub is always around, even between tasks.
            status, load = "active", rng.uniform(0.3, 0.6)
        else:
            status, load = "idle", rng.uniform(0.0, 0.2)
        rows.append({
            "agent_id": agent["id"],
            "status": status,
            "current_task": current,
            "load": round(load, 2),
            "updated_at": _stamp(_STATE_UPDATED, -rng.randint(0, 6 * 3600)),
        })
    return rows


def _collaborations(
    rng: random.Random, agents: list[dict[str, Any]], ids_by_name: dict[str, str]
) -> pa.Table:
    """The hub links to a few peers; everyone else to a couple in their team."""
    by_team: dict[str, list[str]] = {}
    for agent in agents:
        by_team.setdefault(agent["team"], []).append(agent["id"])

    pairs = [(ids_by_name[_HUB], ids_by_name[peer]) for peer in _HUB_PEERS]
    for agent in agents:
        if agent["name"] == _HUB:
            continue
        teammates = [a for a in by_team[agent["team"]] if a != agent["id"]]
        pairs.extend((agent["id"], peer) for peer in rng.sample(teammates, _PEERS_PER_AGENT))
    return pa.table({
        "from": [a for a, _ in pairs],
        "to": [b for _, b in pairs],
        "weight": [round(rng.uniform(0.1, 1.0), 2) for _ in pairs],
        "since": pa.array([rng.randint(2019, 2025) for _ in pairs], pa.int64()),
    })


def _audit_log(
    rng: random.Random, agents: list[dict[str, Any]], tasks: list[dict[str, Any]], assigned: dict[str, str]
) -> pa.Table:
    tasks_of: dict[str, list[str]] = {}
    for task, assignee in assigned.items():
        tasks_of.setdefault(assignee, []).append(task)
    all_task_ids = [t["id"] for t in tasks]
    actions = list(_AUDIT_ACTIONS)

    rows: list[dict[str, Any]] = []
    seconds = 0
    for n in range(1, _AUDIT_ROWS + 1):
        seconds += rng.randint(5, 900)
        agent_id = rng.choice(agents)["id"]
        action = rng.choice(actions)
        task_id: str | None = None
        if action != "heartbeat":
            # Mostly their own tasks, sometimes someone else's (reviews, hand-offs).
            own = tasks_of.get(agent_id)
            task_id = rng.choice(own if own and rng.random() < 0.8 else all_task_ids)
        rows.append({
            "id": n,
            "agent_id": agent_id,
            "action": action,
            "task_id": task_id,
            "at": _stamp(_AUDIT_START, seconds),
            "detail": _AUDIT_ACTIONS[action].format(task=task_id),
        })
    return pa.Table.from_pylist(rows, pa.schema([
        ("id", pa.int64()), ("agent_id", pa.string()), ("action", pa.string()),
        ("task_id", pa.string()), ("at", pa.string()), ("detail", pa.string()),
    ]))


def _facts(rng: random.Random, author_ids: list[str]) -> pa.Table:
    facts: list[tuple[str, str]] = []  # (text, topic)
    for topic, parts in _TOPICS.items():
        sentences = [
            f"{s} {p} {o}" for s in parts["subjects"] for p in parts["predicates"] for o in parts["objects"]
        ]
        facts.extend((text, topic) for text in rng.sample(sentences, _FACTS_PER_TOPIC))
    rng.shuffle(facts)  # so ids do not follow topics
    texts = [text for text, _ in facts]
    vectors = HashEmbedder(EMBEDDING_DIM).embed(texts)
    return pa.table({
        "id": pa.array(range(1, len(facts) + 1), pa.int64()),
        "text": texts,
        "topic": [topic for _, topic in facts],
        "author_id": [rng.choice(author_ids) for _ in facts],
        "created_at": [_stamp(_FACTS_CREATED, rng.randint(0, 90 * 86400)) for _ in facts],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), EMBEDDING_DIM),
    })


# --- writers -------------------------------------------------------------------

_SQLITE_SCHEMA = """
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT,
    team TEXT,
    created_at TEXT
);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    title TEXT,
    status TEXT,
    priority INTEGER,
    estimate_hours REAL,
    feature_id TEXT
);
CREATE TABLE agent_state (
    agent_id TEXT PRIMARY KEY REFERENCES agents,
    status TEXT,
    current_task TEXT REFERENCES tasks,
    load REAL,
    updated_at TEXT
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    agent_id TEXT REFERENCES agents,
    action TEXT,
    task_id TEXT REFERENCES tasks,
    at TEXT,
    detail TEXT
);
CREATE INDEX tasks_feature_id ON tasks(feature_id);
CREATE INDEX agent_state_current_task ON agent_state(current_task);
CREATE INDEX audit_log_agent_id ON audit_log(agent_id);
CREATE INDEX audit_log_task_id ON audit_log(task_id);
"""


def _write_sqlite(path: Path, data: _Data) -> None:
    with closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA foreign_keys = ON")  # catch a generator bug here, not in a demo query
        con.executescript(_SQLITE_SCHEMA)
        with con:  # one transaction for all inserts
            for name in ("agents", "tasks", "agent_state", "audit_log"):
                table: pa.Table = getattr(data, name)
                columns = ", ".join(table.column_names)
                marks = ", ".join("?" * table.num_columns)
                rows = zip(*(column.to_pylist() for column in table.columns), strict=True)
                con.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)


_KUZU_SCHEMA = (
    "CREATE NODE TABLE Agent(id STRING PRIMARY KEY, name STRING, role STRING)",
    "CREATE NODE TABLE Task(id STRING PRIMARY KEY, title STRING, status STRING, priority INT64)",
    "CREATE NODE TABLE Feature(id STRING PRIMARY KEY, name STRING)",
    "CREATE NODE TABLE Epic(id STRING PRIMARY KEY, name STRING, portfolio STRING)",
    "CREATE REL TABLE COLLABORATES_WITH(FROM Agent TO Agent, weight DOUBLE, since INT64)",
    "CREATE REL TABLE DEPENDS_ON(FROM Task TO Task)",
    "CREATE REL TABLE ASSIGNED_TO(FROM Task TO Agent)",
    "CREATE REL TABLE PART_OF(FROM Task TO Feature, FROM Feature TO Epic)",
)


def _write_kuzu(path: Path, data: _Data) -> None:
    loads: tuple[tuple[str, pa.Table, str], ...] = (
        ("Agent", data.agents.select(["id", "name", "role"]), ""),
        ("Task", data.tasks.select(["id", "title", "status", "priority"]), ""),
        ("Feature", data.features, ""),
        ("Epic", data.epics, ""),
        ("COLLABORATES_WITH", data.collaborates_with, ""),
        ("DEPENDS_ON", data.depends_on, ""),
        ("ASSIGNED_TO", data.assigned_to, ""),
        # A rel table with several FROM/TO pairs is loaded one pair at a time.
        ("PART_OF", data.task_part_of, " (from='Task', to='Feature')"),
        ("PART_OF", data.feature_part_of, " (from='Feature', to='Epic')"),
    )
    # Imported here, not at module level: importing kuzu and lancedb takes
    # seconds, and `import federation.demo` should not pay that up front.
    from .sources.kuzu import kuzu_module

    kuzu = kuzu_module()
    db = kuzu.Database(str(path))
    try:
        conn = kuzu.Connection(db)
        try:
            for statement in _KUZU_SCHEMA:
                conn.execute(statement)
            for table_name, frame, options in loads:
                conn.execute(f"COPY {table_name} FROM $frame{options}", {"frame": frame})
        finally:
            conn.close()
    finally:
        # Closing checkpoints the WAL into the single database file and
        # releases the file lock, so the engine can open it afterwards.
        db.close()


def _write_lance(path: Path, data: _Data) -> None:
    import lancedb  # here for the same reason as kuzu in _write_kuzu

    # No ANN index: with 500 rows a flat search is instant and exact, so
    # results are the same on every machine.
    lancedb.connect(str(path)).create_table("facts", data=data.facts)


# --- showcase --------------------------------------------------------------------

def _query(text: str) -> str:
    return textwrap.dedent(text).strip()


SHOWCASE: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "Blocked agents: a graph node table joined with SQLite state",
        _query("""
        SELECT a.name, a.role, s.status, s.current_task, s.load
        FROM graph.Agent AS a
        JOIN state.agent_state AS s ON s.agent_id = a.id
        WHERE s.status = $status
        ORDER BY s.load DESC, a.name
        """),
        {"status": "blocked"},
    ),
    (
        "Who coordinator-1 works with, one or two hops out, and what they are doing",
        _query("""
        SELECT DISTINCT g.peer, s.status, s.current_task
        FROM GRAPH_TABLE (graph
            MATCH (a:Agent)-[c:COLLABORATES_WITH]->{1,2}(b:Agent)
            WHERE a.name = 'coordinator-1' AND b.id <> a.id
            COLUMNS (b.id AS peer_id, b.name AS peer)) AS g
        JOIN state.agent_state AS s ON s.agent_id = g.peer_id
        ORDER BY g.peer
        """),
        {},
    ),
    (
        "Facts nearest to a text query (embedded with the source's embedder)",
        _query("""
        SELECT v.id, v.topic, v.text, v._distance
        FROM VECTOR_SEARCH(knowledge.facts, 'connection pooling', top_k => 5, metric => 'cosine') AS v
        ORDER BY v._distance
        """),
        {},
    ),
    (
        "Vector search restricted to one topic, with each fact's author",
        _query("""
        SELECT v.text, ag.name AS author, ag.team, v._distance
        FROM VECTOR_SEARCH(
            (SELECT * FROM knowledge.facts WHERE topic = 'databases'),
            'caching for analytical queries', top_k => 5, metric => 'cosine') AS v
        JOIN state.agents AS ag ON ag.id = v.author_id
        ORDER BY v._distance
        """),
        {},
    ),
    (
        "Open work per agent: ASSIGNED_TO edges aggregated with SQLite tasks",
        _query("""
        SELECT ag.name, ag.role, COUNT(*) AS open_tasks, SUM(t.estimate_hours) AS hours
        FROM graph.ASSIGNED_TO AS r
        JOIN state.agents AS ag ON ag.id = r._to
        JOIN state.tasks AS t ON t.id = r._from
        WHERE t.status <> 'done'
        GROUP BY ag.name, ag.role
        ORDER BY open_tasks DESC, ag.name
        LIMIT 10
        """),
        {},
    ),
    (
        "All three stores: what coordinator-1's direct peers know about a question",
        _query("""
        SELECT g.peer, s.status, v.text, v._distance
        FROM GRAPH_TABLE (graph
            MATCH (a:Agent)-[c:COLLABORATES_WITH]->(b:Agent)
            WHERE a.name = 'coordinator-1'
            COLUMNS (b.id AS peer_id, b.name AS peer)) AS g
        JOIN state.agent_state AS s ON s.agent_id = g.peer_id
        JOIN VECTOR_SEARCH(knowledge.facts, $question, top_k => 50, metric => 'cosine') AS v
            ON v.author_id = g.peer_id
        ORDER BY v._distance
        LIMIT 5
        """),
        {"question": "tests that catch regressions in parsers"},
    ),
)


def run_demo(path: Path | str = "federation-demo", out: TextIO | None = None) -> None:
    """Build the workspace at `path` and print each SHOWCASE query, its result and plan.

    `out` defaults to the sys.stdout of the moment of the call (not of import),
    so redirected or captured output works.
    """
    # Imported here: the package's __init__ may import this module, and
    # `connect` only has to exist by the time the demo runs.
    from federation import connect

    out = out or sys.stdout
    toml_path = build_workspace(path)
    print(f"Built a sample workspace in {toml_path.parent}", file=out)
    print(f"Its sources are described in {toml_path}\n", file=out)

    fed = connect(str(toml_path))
    try:
        for number, (title, query, params) in enumerate(SHOWCASE, start=1):
            print(f"== {number}. {title}", file=out)
            print(textwrap.indent(query, "    "), file=out)
            if params:
                print(f"    -- params: {params}", file=out)
            print(format_table(fed.query(query, params).to_arrow(), max_rows=10), file=out)
            print("Plan:", file=out)
            print(textwrap.indent(fed.explain(query, params), "    "), file=out)
            print(file=out)
    finally:
        fed.close()

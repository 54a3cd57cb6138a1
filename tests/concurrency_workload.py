"""Workloads for tests/test_concurrency.py, run in subprocesses with faulthandler on.

A crash inside an engine (a segfault in Kuzu, LanceDB, DuckDB or SQLite) kills the
process that runs it; running the workload in a child process turns that into a
failed test with a traceback on stderr instead of a lost test run.

    python concurrency_workload.py threads ROOT     8 threads x 500 queries on one federation
    python concurrency_workload.py close ROOT       close a federation while threads query it
    python concurrency_workload.py interleave ROOT  writes from another process vs reads
    python concurrency_workload.py other ROOT       that other process: applies writes and
                                                   computes fresh answers, driven over a pipe

ROOT holds a dataset built by datagen.build_dataset. Each workload prints one JSON
line starting with ``RESULT`` and exits 0 when it found no difference and no error.
"""

from __future__ import annotations

import faulthandler
import json
import os
import pickle
import random
import select
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

faulthandler.enable()

HANG_SECONDS = float(os.environ.get("FQL_WORKLOAD_HANG_SECONDS", "600"))

# The same small, deterministic vector the reads search near and the writes add near.
DIM = 8


def config(root: Path) -> dict:
    # The graph opens for each query that reads it and misses the cache; a small
    # buffer pool opens in a third of the time of Kuzu's default (80% of RAM).
    return {
        "sources": {
            "state": {"type": "sqlite", "path": str(root / "state.db")},
            "graph": {"type": "kuzu", "path": str(root / "graph.kuzu"), "buffer_pool_size": "256MiB"},
            "knowledge": {"type": "lancedb", "uri": str(root / "lance")},
        }
    }


def near(rng: random.Random, spread: float = 0.05) -> list[float]:
    return [round(1.0 + rng.uniform(-spread, spread), 4) for _ in range(DIM)]


def outcome(fed, text: str, params: dict, *, cache: bool):
    """A query's result table, or the error it raised as (class name, message)."""
    import federation

    try:
        return fed.query(text, params, cache=cache).to_arrow()
    except federation.FederationError as exc:
        return (type(exc).__name__, str(exc))


def same(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    return a.equals(b, check_metadata=True)


def show(value) -> str:
    if isinstance(value, tuple):
        return f"{value[0]}: {value[1]}"
    rows = value.to_pylist()
    return f"{len(rows)} rows {rows[:6]}{' ...' if len(rows) > 6 else ''}"


# ---------------------------------------------------------------- many threads

THREAD_QUERIES = [
    # SQLite, run whole in SQLite
    ("SELECT city, COUNT(*) AS n, SUM(age) AS s FROM state.people WHERE age > $age GROUP BY city ORDER BY city",
     [{"age": 20}, {"age": 40}, {"age": 70}]),
    # SQLite tables joined in DuckDB (LOWER keeps it out of SQLite)
    ("SELECT LOWER(p.name) AS name, o.amount FROM state.people p JOIN state.orders o ON o.person_id = p.id "
     "WHERE o.status = $s ORDER BY o.id", [{"s": "shipped"}, {"s": "pending"}]),
    # Kuzu node scan joined with SQLite
    ("SELECT p.name, COUNT(*) AS n FROM graph.Person p JOIN state.orders o ON o.person_id = p.id "
     "WHERE p.age > $a GROUP BY p.name ORDER BY p.name", [{"a": 30}, {"a": 60}]),
    # a graph pattern with a pushed filter and a quantified edge
    ("SELECT g.b, COUNT(*) AS n FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->{1,2}(b:Person) "
     "WHERE a.id = $id COLUMNS (b.id AS b)) g GROUP BY g.b ORDER BY g.b", [{"id": 3}, {"id": 17}, {"id": 42}]),
    # a rel table scan
    ("SELECT COUNT(*) AS n, SUM(since) AS s FROM graph.KNOWS WHERE since > $y", [{"y": 2000}, {"y": 2015}]),
    # kNN with a prefilter
    ("SELECT id, _distance FROM VECTOR_SEARCH((SELECT * FROM knowledge.docs WHERE topic = $t), $q, top_k => 5) "
     "ORDER BY _distance, id", [{"t": "graphs", "q": [0.5] * DIM}, {"t": "sql", "q": [-0.3] * DIM}]),
    # all three sources in one query
    ("SELECT d.topic, COUNT(*) AS n FROM knowledge.docs d JOIN graph.Person p ON p.id = d.author_id "
     "JOIN state.people s ON s.id = p.id WHERE s.city = $c GROUP BY d.topic ORDER BY d.topic",
     [{"c": "Paris"}, {"c": "Tokyo"}]),
    # catalog statements
    ("SHOW TABLES", [{}]),
    ("DESCRIBE graph.KNOWS", [{}]),
    ("EXPLAIN SELECT p.name FROM graph.Person p JOIN state.people q ON q.id = p.id WHERE q.age > 3", [{}]),
    # an error raised in DuckDB, and one raised by the catalog
    ("SELECT CAST(name AS INTEGER) AS n FROM state.people WHERE id = $id", [{"id": 1}]),
    ("SELECT nmae FROM state.people", [{}]),
]


CHURN_THREADS = 100
COLD_STARTS = 20


def kuzu_openings(root: Path) -> int:
    """How often this process opened the graph file (it is open only while queries read it)."""
    from federation.sources.kuzu import SharedDatabase

    return SharedDatabase.of(root / "graph.kuzu").opened


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def run_threads(root: Path, threads: int, per_thread: int, seed: int) -> int:
    import federation

    cases = [(text, params) for text, options in THREAD_QUERIES for params in options]
    started = time.perf_counter()
    with federation.connect(config(root)) as single:  # the single-threaded answers, uncached
        expected = [outcome(single, text, params, cache=False) for text, params in cases]
    phases = {"expected": time.perf_counter() - started}
    # The threads start on a new federation: nothing is cached or opened yet, so they
    # also race to read catalogs, row counts and versions, and to open connections.
    with federation.connect(config(root)) as fed:
        problems: list[str] = []
        counts = {"queries": 0, "cached": 0}
        lock = threading.Lock()
        barrier = threading.Barrier(threads)

        def work(worker: int) -> None:
            rng = random.Random(seed * 1000 + worker)
            barrier.wait()
            for i in range(per_thread):
                index = rng.randrange(len(cases))
                text, params = cases[index]
                use_cache = rng.random() < 0.5
                try:
                    got = fed.query(text, params, cache=use_cache)
                    table, cached = got.to_arrow(), got.cached
                except federation.FederationError as exc:
                    table, cached = (type(exc).__name__, str(exc)), False
                except Exception:  # noqa: BLE001 - anything else is a bug to report
                    table, cached = ("unexpected", traceback.format_exc()), False
                with lock:
                    counts["queries"] += 1
                    counts["cached"] += cached
                    if not same(table, expected[index]):
                        problems.append(f"thread {worker} query {i} cache={use_cache}: {text} {params}\n"
                                        f"  expected {show(expected[index])}\n  got      {show(table)}")

        pool = [threading.Thread(target=work, args=(w,), name=f"worker-{w}") for w in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        phases["threads"] = time.perf_counter() - started - sum(phases.values())

        # Cold starts: a new federation, and 8 threads asking it at the same moment,
        # so that they race through everything a source opens or reads on first use.
        for start in range(COLD_STARTS):
            cold = federation.connect(config(root))
            together = threading.Barrier(threads)
            rng = random.Random(seed * 7919 + start)
            picks = [rng.randrange(len(cases)) for _ in range(threads)]

            def first_query(worker: int) -> None:
                together.wait()
                got = outcome(cold, *cases[picks[worker]], cache=True)
                if not same(got, expected[picks[worker]]):
                    with lock:
                        problems.append(f"cold start {start}, thread {worker}: {cases[picks[worker]]}\n"
                                        f"  expected {show(expected[picks[worker]])}\n  got      {show(got)}")

            starters = [threading.Thread(target=first_query, args=(w,)) for w in range(threads)]
            for thread in starters:
                thread.start()
            for thread in starters:
                thread.join()
            cold.close()
        phases["cold starts"] = time.perf_counter() - started - sum(phases.values())

        # Threads that come and go (a thread per request): the connections they used
        # must be reused, not kept open per thread until the federation closes.
        churn_cases = [i for i, (text, _) in enumerate(cases) if "state." in text or "graph." in text]
        right = []

        def one_query(index: int) -> None:
            right.append(same(outcome(fed, *cases[index], cache=False), expected[index]))

        descriptors = []
        for n in range(CHURN_THREADS):
            thread = threading.Thread(target=one_query, args=(churn_cases[n % len(churn_cases)],))
            thread.start()
            thread.join()
            descriptors.append(open_descriptors())
        # counted from the end of the first round over the cases: every kind of
        # connection has been opened by then
        grown = descriptors[-1] - descriptors[len(churn_cases) - 1]
        phases["churn"] = time.perf_counter() - started - sum(phases.values())
        if right.count(True) != CHURN_THREADS:
            problems.append(f"{CHURN_THREADS - right.count(True)} of {CHURN_THREADS} short-lived threads "
                            "got a different answer")
        if grown > 10:
            problems.append(f"{CHURN_THREADS} short-lived threads, one query each, left {grown} more file "
                            f"descriptors open ({descriptors[len(churn_cases) - 1]} -> {descriptors[-1]})")
    summary = {"threads": threads, "queries": counts["queries"], "cache_hits": counts["cached"],
               "distinct": len(cases), "cold_starts": COLD_STARTS, "churn_threads": CHURN_THREADS,
               "descriptors_grown": grown,
               "kuzu_opened": kuzu_openings(root), "problems": len(problems),
               "seconds": round(time.perf_counter() - started, 2),
               "phases": {name: round(seconds, 2) for name, seconds in phases.items()}}
    for problem in problems[:20]:
        print(problem)
    print("RESULT " + json.dumps(summary), flush=True)
    return 1 if problems or counts["queries"] != threads * per_thread else 0


def run_close(root: Path, trials: int, seed: int) -> int:
    """Close a federation while 4 threads query it: close() returns, every thread stops
    with an answer or a FederationError (never an engine's own exception), no crash."""
    import federation

    cases = [(text, params) for text, options in THREAD_QUERIES for params in options]
    problems: list[str] = []
    counts: dict[str, int] = {}
    lock = threading.Lock()
    rng = random.Random(seed)
    for trial in range(trials):
        fed = federation.connect(config(root))
        busy, stop = threading.Event(), threading.Event()

        def work(worker: int) -> None:
            local = random.Random(seed * 1000 + trial * 10 + worker)
            while not stop.is_set():
                text, params = local.choice(cases)
                try:
                    fed.query(text, params, cache=local.random() < 0.5)
                    outcome_name = "answered"
                except federation.FederationError as exc:
                    outcome_name = type(exc).__name__ + (" (closed)" if "closed" in str(exc) else "")
                except Exception:  # noqa: BLE001 - an engine's own exception reached the caller
                    outcome_name = "unexpected"
                    with lock:
                        problems.append(f"trial {trial}: {traceback.format_exc()}")
                with lock:
                    counts[outcome_name] = counts.get(outcome_name, 0) + 1
                busy.set()

        pool = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for thread in pool:
            thread.start()
        busy.wait(60)
        time.sleep(rng.uniform(0, 0.3))
        try:
            fed.close()
        except Exception:  # noqa: BLE001 - close() must not fail
            problems.append(f"trial {trial}: close() raised {traceback.format_exc()}")
        stop.set()
        for thread in pool:
            thread.join(60)
            if thread.is_alive():
                problems.append(f"trial {trial}: a thread still runs 60 s after close()")
    for problem in problems[:10]:
        print(problem)
    print("RESULT " + json.dumps({"trials": trials, "outcomes": counts, "problems": len(problems)}), flush=True)
    return 1 if problems else 0


# ---------------------------------------------------------------- writes vs reads

READS = [
    ("SELECT COUNT(*) AS n, SUM(age) AS s FROM state.people", {}),
    ("SELECT status, COUNT(*) AS n FROM state.orders GROUP BY status ORDER BY status", {}),
    ("SELECT name, city, age FROM state.people WHERE id = $id", {"id": 5}),
    ("SELECT COUNT(*) AS n, SUM(age) AS s FROM graph.Person", {}),
    ("SELECT COUNT(*) AS n FROM GRAPH_TABLE (graph MATCH (a:Person)-[k:KNOWS]->(b:Person) "
     "COLUMNS (a.id AS a, b.id AS b)) g", {}),
    ("SELECT g.b FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->(b:Person) WHERE a.id = $id "
     "COLUMNS (b.id AS b)) g ORDER BY g.b", {"id": 5}),
    ("SELECT id FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 5) ORDER BY _distance, id", {"q": [1.0] * DIM}),
    ("SELECT topic, COUNT(*) AS n FROM knowledge.docs GROUP BY topic ORDER BY topic", {}),
    ("SELECT COUNT(*) AS n, SUM(p.age) AS s FROM graph.Person p JOIN state.people s ON s.id = p.id", {}),
    ("SELECT COUNT(*) AS n FROM knowledge.docs d JOIN graph.Person p ON p.id = d.author_id "
     "JOIN state.people s ON s.id = p.id", {}),
]


class Model:
    """What the writer has created, so that deletes and updates hit existing rows."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.next_id = 100_000
        self.people = list(range(1, 201))  # SQLite people ids (datagen: 1..200)
        self.orders = list(range(1, 1001))
        self.persons = list(range(1, 201))  # Kuzu Person ids (a superset is fine: a miss writes nothing)
        self.knows: list[tuple[int, int]] = []
        self.docs = list(range(1, 301))

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def write(self) -> dict:
        """A random write, as the command sent to the other process."""
        rng = self.rng
        source = rng.choice(["sqlite", "sqlite", "lancedb", "kuzu"])
        if source == "sqlite":
            kind = rng.choice(["insert", "update", "delete", "order"])
            if kind == "insert":
                pid = self.new_id()
                self.people.append(pid)
                return {"op": "sql", "sql": "INSERT INTO people (id, name, city, age) VALUES (?, ?, ?, ?)",
                        "args": [pid, f"p{pid}", rng.choice(["Paris", "Tokyo", None]), rng.randint(18, 90)]}
            if kind == "update":
                return {"op": "sql", "sql": "UPDATE people SET age = ?, city = ? WHERE id = ?",
                        "args": [rng.randint(18, 90), rng.choice(["Lima", "Oslo"]), rng.choice([5] + self.people)]}
            if kind == "delete" and len(self.people) > 50:
                pid = self.people.pop(rng.randrange(len(self.people)))
                return {"op": "sql", "sql": "DELETE FROM people WHERE id = ?", "args": [pid]}
            return {"op": "sql", "sql": "UPDATE orders SET status = ? WHERE id = ?",
                    "args": [rng.choice(["active", "shipped", "cancelled", "pending", None]),
                             rng.choice(self.orders)]}
        if source == "lancedb":
            kind = rng.choice(["add", "add", "delete", "update", "optimize"] if len(self.docs) > 50 else ["add"])
            if kind == "add":
                ids = [self.new_id() for _ in range(rng.randint(1, 3))]
                self.docs.extend(ids)
                return {"op": "lance_add", "rows": [
                    {"id": i, "title": f"doc {i}", "topic": rng.choice(["graphs", "sql", None]),
                     "author_id": rng.choice(self.persons), "vector": near(rng)} for i in ids]}
            if kind == "delete":
                return {"op": "lance_delete", "id": self.docs.pop(rng.randrange(len(self.docs)))}
            if kind == "update":
                return {"op": "lance_update", "id": rng.choice(self.docs), "topic": rng.choice(["graphs", "python"])}
            return {"op": "lance_optimize"}
        kind = rng.choice(["create", "delete", "link", "unlink", "set"])
        if kind == "create":
            pid = self.new_id()
            self.persons.append(pid)
            return {"op": "cypher", "cypher": "CREATE (:Person {id: $id, name: $name, age: $age})",
                    "params": {"id": pid, "name": f"p{pid}", "age": rng.randint(18, 90)}}
        if kind == "delete" and len(self.persons) > 50:
            pid = self.persons.pop(rng.randrange(len(self.persons)))
            self.knows = [k for k in self.knows if pid not in k]
            return {"op": "cypher", "cypher": "MATCH (p:Person) WHERE p.id = $id DETACH DELETE p", "params": {"id": pid}}
        if kind == "unlink" and self.knows:
            a, b = self.knows.pop(rng.randrange(len(self.knows)))
            return {"op": "cypher", "cypher": "MATCH (a:Person)-[k:KNOWS]->(b:Person) WHERE a.id = $a AND b.id = $b "
                    "DELETE k", "params": {"a": a, "b": b}}
        if kind == "set":
            return {"op": "cypher", "cypher": "MATCH (p:Person) WHERE p.id = $id SET p.age = $age",
                    "params": {"id": rng.choice([5] + self.persons), "age": rng.randint(18, 90)}}
        a = rng.choice([5] + self.persons)
        b = rng.choice(self.persons)
        self.knows.append((a, b))
        return {"op": "cypher", "cypher": "MATCH (a:Person), (b:Person) WHERE a.id = $a AND b.id = $b "
                "CREATE (a)-[:KNOWS {since: 2024, weight: 0.5}]->(b)", "params": {"a": a, "b": b}}


class Child:
    """A long-lived helper process, driven over a pipe: one pickled request in, one
    pickled reply out. Its stderr is ours (faulthandler's tracebacks land there).
    It starts at once; ``receive()`` its "ready" before the first request."""

    def __init__(self, mode: str, root: Path):
        self.proc = subprocess.Popen([sys.executable, "-X", "faulthandler", __file__, mode, str(root)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.mode = mode

    def send(self, request) -> None:
        pickle.dump(request, self.proc.stdin)
        self.proc.stdin.flush()

    def replied(self) -> bool:
        """Whether the reply to the last request has (begun to) arrive(d)."""
        return bool(select.select([self.proc.stdout], [], [], 0)[0])

    def receive(self):
        try:
            reply = pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError(f"the {self.mode} process died (exit code {self.proc.wait()})") from None
        if isinstance(reply, BaseException):
            raise RuntimeError(f"the {self.mode} process failed: {reply!r}")
        return reply

    def close(self) -> None:
        try:
            self.send(None)
            self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def serve(handle) -> int:
    """The child side of ``Child``: replies on a private copy of stdout; anything a
    library prints goes to stderr instead of into the pickle stream."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    def reply(value) -> None:
        pickle.dump(value, replies)
        replies.flush()

    reply("ready")
    while True:
        request = pickle.load(requests)
        if request is None:
            return 0
        try:
            answer = handle(request)
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which fails
            answer = RuntimeError(f"{type(exc).__name__}: {exc}")
        reply(answer)


def sources_of(text: str) -> set[str]:
    return {source for source in ("state", "graph", "knowledge") if f"{source}." in text or f"({source} " in text}


WRITES_TO = {"sql": "state", "cypher": "graph", "lance_add": "knowledge", "lance_delete": "knowledge",
             "lance_update": "knowledge", "lance_optimize": "knowledge"}


def run_interleave(root: Path, rounds: int, seed: int) -> int:
    """``rounds`` random interleavings of one write (by the other process) with reads
    through one long-lived federation, cache on for most reads.

    Each round: maybe read queries over the source about to be written (their
    answers for the current data are known, and the cache now holds them); send a
    random write; maybe read while it is being applied (each answer must be the old
    data's or the new data's); once it is acknowledged, read those queries and
    others again. Every answer read after the acknowledgement must equal a fresh,
    uncached run on a new federation, which the other process computes meanwhile.
    A query's fresh answer is asked for again only after a write to a source it
    reads; until then the last one is still the fresh answer.
    """
    import federation

    rng = random.Random(seed)
    model = Model(rng)
    other = Child("other", root)  # the writer, and the oracle between writes
    fed = federation.connect(config(root))
    fed.query("SELECT COUNT(*) FROM knowledge.docs")  # imports LanceDB while the other process starts
    other.receive()  # ready
    problems: list[str] = []
    counts = {"rounds": 0, "writes": {}, "reads": {"before": 0, "during": 0, "after": 0},
              "cache_hits": 0, "fresh_runs": 0, "fresh_queries": 0}
    waited = {"reads": 0.0, "writer": 0.0, "oracle": 0.0}  # seconds this process spent on each
    started = time.perf_counter()
    reads_of = {source: [i for i, (text, _) in enumerate(READS) if source in sources_of(text)]
                for source in ("state", "graph", "knowledge")}

    def read(index: int, when: str):
        text, params = READS[index]
        use_cache = rng.random() < 0.8
        began = time.perf_counter()
        try:
            got = fed.query(text, params, cache=use_cache)
            counts["cache_hits"] += got.cached
            answer = got.to_arrow()
        except federation.FederationError as exc:
            answer = (type(exc).__name__, str(exc))
        counts["reads"][when] += 1
        waited["reads"] += time.perf_counter() - began
        return index, answer, use_cache, when

    def judge(round_, write, got, allowed) -> None:
        index, answer, use_cache, when = got
        if not any(same(answer, fresh) for fresh in allowed):
            problems.append(f"round {round_}, read {when} the write {write}, cache={use_cache}:\n"
                            f"  {READS[index][0]} {READS[index][1]}\n"
                            + "".join(f"  expected {show(fresh)}\n" for fresh in allowed)
                            + f"  got      {show(answer)}")

    def ask_oracle(indexes: list[int]) -> None:
        counts["fresh_runs"] += 1
        counts["fresh_queries"] += len(indexes)
        other.send(("fresh", [READS[i] for i in indexes]))

    ask_oracle(list(range(len(READS))))
    truth = dict(enumerate(other.receive()))  # fresh answers for the current data
    try:
        for round_ in range(rounds):
            command = model.write()
            source = WRITES_TO[command["op"]]
            counts["writes"][command["op"]] = counts["writes"].get(command["op"], 0) + 1
            write = json.dumps(command)[:200]
            affected = reads_of[source]
            known = [i for i in affected if i in truth]  # fresh answers known for the current data
            primed = rng.sample(known, min(len(known), rng.randint(1, 2))) if rng.random() < 0.6 else []
            for index in primed:
                judge(round_, write, read(index, "before"), [truth[index]])
            other.send(("write", command))
            racing = []
            if known and rng.random() < 0.3:
                # reads racing the write; a few only, so that a Kuzu write finds the graph free
                while len(racing) < 3 and not other.replied():
                    racing.append(read(rng.choice(primed or known), "during"))
            began = time.perf_counter()
            other.receive()
            waited["writer"] += time.perf_counter() - began
            after = sorted(set(primed + rng.sample(affected, 1) + rng.sample(range(len(READS)), 1)))
            old = {i: truth.pop(i) for i in known}  # the write may have changed these answers
            needed = sorted({i for i in after if i not in truth} | {got[0] for got in racing})
            if needed:
                ask_oracle(needed)  # the oracle computes while this process reads
            answers = [read(index, "after") for index in rng.sample(after, len(after))]
            if needed:
                began = time.perf_counter()
                truth.update(zip(needed, other.receive()))
                waited["oracle"] += time.perf_counter() - began
            for got in racing:
                judge(round_, write, got, [old[got[0]], truth[got[0]]])
            for got in answers:
                judge(round_, write, got, [truth[got[0]]])
            counts["rounds"] += 1
    finally:
        fed.close()
        other.close()
    counts["problems"] = len(problems)
    counts["kuzu_opened"] = kuzu_openings(root)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    counts["waited"] = {name: round(seconds, 2) for name, seconds in waited.items()}
    for problem in problems[:20]:
        print(problem)
    print("RESULT " + json.dumps(counts), flush=True)
    return 1 if problems else 0


def run_other(root: Path) -> int:
    """The other process: applies writes, and between them computes fresh answers,
    each request on a new federation, uncached."""
    import sqlite3

    import federation
    import kuzu
    import lancedb
    import pyarrow as pa

    state = sqlite3.connect(root / "state.db", timeout=60, isolation_level=None)
    docs = lancedb.connect(str(root / "lance")).open_table("docs")
    schema = docs.schema
    graph = str(root / "graph.kuzu")

    def cypher(statement: str, params: dict) -> None:
        # Open, write, close: a writer may not hold the graph between the reader's queries.
        # (A small buffer pool opens faster: the writes are tiny.)
        deadline = time.monotonic() + 60
        while True:
            try:
                db = kuzu.Database(graph, buffer_pool_size=64 * 1024 * 1024)
                break
            except RuntimeError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.002)  # a query reads the graph now
        try:
            conn = kuzu.Connection(db)
            try:
                conn.execute(statement, params)
            finally:
                conn.close()
        finally:
            db.close()

    def apply(command: dict) -> bool:
        op = command["op"]
        if op == "sql":
            state.execute("BEGIN IMMEDIATE")
            state.execute(command["sql"], command["args"])
            state.execute("COMMIT")
        elif op == "cypher":
            cypher(command["cypher"], command["params"])
        elif op == "lance_add":
            docs.add(pa.Table.from_pylist(command["rows"], schema=schema))
        elif op == "lance_delete":
            docs.delete(f"id = {int(command['id'])}")
        elif op == "lance_update":
            docs.update(where=f"id = {int(command['id'])}", values={"topic": command["topic"]})
        elif op == "lance_optimize":
            docs.optimize()
        else:
            raise ValueError(f"unknown op {op!r}")
        return True

    def fresh(queries):
        with federation.connect(config(root)) as new:
            return [outcome(new, text, params, cache=False) for text, params in queries]

    def handle(request):
        kind, argument = request
        return apply(argument) if kind == "write" else fresh(argument)

    try:
        return serve(handle)
    finally:
        state.close()


def main(argv: list[str]) -> int:
    mode, root = argv[1], Path(argv[2])
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)  # a hang fails too, with every thread's stack
    if mode == "threads":
        return run_threads(root, int(os.environ.get("FQL_THREADS", "8")),
                           int(os.environ.get("FQL_QUERIES_PER_THREAD", "500")),
                           int(os.environ.get("FQL_CONCURRENCY_SEED", "6")))
    if mode == "close":
        return run_close(root, int(os.environ.get("FQL_CLOSE_TRIALS", "10")),
                         int(os.environ.get("FQL_CONCURRENCY_SEED", "8")))
    if mode == "interleave":
        return run_interleave(root, int(os.environ.get("FQL_INTERLEAVINGS", "1000")),
                              int(os.environ.get("FQL_CONCURRENCY_SEED", "7")))
    if mode == "other":
        return run_other(root)
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))

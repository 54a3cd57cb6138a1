"""How long after its timeout a query actually stops, per kind of slow work.

    python benchmarks/timeouts.py [--runs 5] [--timeout 0.3]

Builds small stores in a temporary folder, runs one deliberately slow query per
source with ``fed.query(..., timeout=T)`` and prints the overshoot: the time the
call took, minus T. That includes planning, which the timeout does not cover (it
starts when execution does), so it is what a caller sees. The goal is under 0.5 s.
"uncancelled" is how long the same work runs when nothing stops it (capped at 10 s):
an abandoned LanceDB search would keep a core that busy without LanceDB's timeout. Also measured: Ctrl-C sent to the CLI (signal to exit), and the retry policy
against a SQLite writer in another process (how long a query waits for a lock).
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

import federation
from federation.retry import RetryPolicy


def build(root: Path) -> dict:
    rng = np.random.default_rng(7)
    con = sqlite3.connect(root / "state.db")
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
    con.executemany("INSERT INTO orders VALUES (?, ?)", [(i, float(rng.integers(0, 1000))) for i in range(3000)])
    con.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT)")
    con.execute("INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 4000000) "
                "SELECT x, 'row ' || x FROM c")
    con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, score REAL)")
    con.executemany("INSERT INTO people VALUES (?, ?)", [(i, float(rng.integers(0, 2000))) for i in range(300)])
    # A view that returns one row per 3000 it reads (the CROSS JOIN order is kept,
    # and the condition cannot use an index): ADBC's 1024-row batches arrive far
    # apart, the weak case of a scan that stops between batches. Its column is
    # declared INTEGER, so no check of stored values (an interruptible stdlib query)
    # reads it before the scan.
    con.execute("CREATE VIEW slow AS SELECT a.id FROM people a CROSS JOIN people b CROSS JOIN orders c "
                "WHERE c.id * 1 = 0")
    con.commit()
    con.close()

    import kuzu

    db = kuzu.Database(str(root / "graph.kuzu"))
    k = kuzu.Connection(db)
    k.execute("CREATE NODE TABLE Person(id INT64, age INT64, PRIMARY KEY (id))")
    k.execute("CREATE REL TABLE KNOWS(FROM Person TO Person)")
    k.execute("UNWIND range(0, 299) AS i CREATE (:Person {id: i, age: i % 90})")
    edges = {(int(a), int(b)) for a, b in rng.integers(0, 300, size=(1500, 2)) if a != b}
    k.execute("UNWIND $pairs AS p MATCH (a:Person {id: p[1]}), (b:Person {id: p[2]}) CREATE (a)-[:KNOWS]->(b)",
              {"pairs": [[a, b] for a, b in sorted(edges)]})
    k.close()
    db.close()

    import lancedb

    n, dim = 200_000, 128
    vectors = rng.random((n, dim), dtype=np.float32)
    table = pa.table({"id": pa.array(np.arange(n)),
                      "v": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)})
    lancedb.connect(str(root / "lance")).create_table("facts", table)
    return {"sources": {
        "state": {"type": "sqlite", "path": str(root / "state.db")},
        "graph": {"type": "kuzu", "path": str(root / "graph.kuzu")},
        "knowledge": {"type": "lancedb", "uri": str(root / "lance")},
    }}


CASES = [
    ("SQLite, whole query (interrupt)",
     "SELECT COUNT(*) FROM state.orders a CROSS JOIN state.orders b CROSS JOIN state.people c "
     "WHERE a.amount + b.amount > c.score", {}),
    ("SQLite, ADBC scan, 4M rows (batches)",
     "SELECT MAX(b.label || CAST(p.age AS VARCHAR)) FROM state.big b JOIN graph.Person p ON p.age = b.id % 90",
     {}),
    ("SQLite, ADBC scan, slow view", "SELECT COUNT(*) FROM state.slow s JOIN graph.Person p ON p.id = s.id % 10",
     {}),
    ("Kuzu (interrupt)",
     "SELECT COUNT(*) FROM GRAPH_TABLE (graph MATCH (a:Person)-[:KNOWS]->{1,12}(b:Person) COLUMNS (b.id AS id)) g",
     {}),
    ("DuckDB join (interrupt)",
     "SELECT COUNT(*) FROM graph.Person c CROSS JOIN state.orders a CROSS JOIN state.orders b "
     "WHERE a.amount + b.amount > c.age", {}),
    ("LanceDB search (abandoned)",
     "SELECT id FROM VECTOR_SEARCH(knowledge.facts, $q, top_k => 20000)", {"q": [0.5] * 128}),
]


def overshoots(fed, sql: str, params: dict, timeout: float, runs: int) -> list[float]:
    fed.plan(sql, params)  # the first plan opens the sources and reads their catalogs
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        try:
            fed.query(sql, params, cache=False, timeout=timeout)
            raise SystemExit(f"finished within {timeout} s; make it slower: {sql}")
        except federation.QueryTimeout:
            found.append(time.perf_counter() - started - timeout)
    return found


def uncancelled(fed, sql: str, params: dict, cap: float) -> str:
    """How long the work runs when nothing stops it (up to ``cap``)."""
    started = time.perf_counter()
    try:
        fed.query(sql, params, cache=False, timeout=cap)
    except federation.QueryTimeout:
        return f"> {cap:g} s"
    return f"{time.perf_counter() - started:.2f} s"


def cli_ctrl_c(config_path: Path, sql: str, after: float, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from SIGINT to the CLI printing ``Cancelled``, and to its exit (130),
    the query having run for ``after`` s."""
    printed, exited = [], []
    for _ in range(runs):
        proc = subprocess.Popen([sys.executable, "-m", "federation", "query", "--config", str(config_path), sql],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(after)  # imports, planning, then the query runs
        if proc.poll() is not None:
            raise SystemExit(f"the CLI exited early: {proc.communicate()[1]}")
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        line = proc.stderr.readline()
        printed.append(time.perf_counter() - sent)
        rest = proc.communicate(timeout=60)[1]
        exited.append(time.perf_counter() - sent)
        if proc.returncode != 130 or line.strip() != "Cancelled":
            raise SystemExit(f"the CLI exited {proc.returncode}, not 130 (Ctrl-C during its imports?): {line}{rest}")
    return printed, exited


class Writer:
    """A SQLite write transaction in another process, committed after ``seconds`` (or on release)."""

    def __init__(self, path: str, seconds: float | None):
        self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys, time
            con = sqlite3.connect({path!r}, isolation_level=None)
            con.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            seconds = {seconds!r}
            time.sleep(seconds) if seconds is not None else sys.stdin.readline()
            con.execute("COMMIT")
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"
        self.started = time.perf_counter()

    def release(self) -> None:
        self.proc.communicate("\n", timeout=60)


def retry_figures(config: dict, runs: int) -> list[str]:
    path = config["sources"]["state"]["path"]
    sql = "SELECT COUNT(*) FROM state.orders o JOIN graph.Person p ON p.id = o.id"
    lines = []
    with federation.connect(config) as fed:
        fed.query(sql)
        waited = []
        for _ in range(runs):
            writer = Writer(path, None)
            started = time.perf_counter()
            try:
                fed.query(sql, cache=False)
            except federation.SourceError:
                waited.append(time.perf_counter() - started)
            writer.release()
        policy = RetryPolicy()
        bound = sum(policy.backoff(n) for n in range(1, policy.attempts))
        lines.append(f"default policy ({policy.attempts} attempts, {policy.initial_backoff:g} s doubling to"
                     f" {policy.max_backoff:g} s; waits {bound / 2:.2f}-{bound:.2f} s): SourceError after"
                     f" {statistics.median(waited):.2f} s median, {max(waited):.2f} s max")
        late = []
        for _ in range(runs):
            writer = Writer(path, 0.5)
            fed.query(sql, cache=False)
            late.append(time.perf_counter() - writer.started - 0.5)
            writer.release()
        lines.append(f"writer commits after 0.5 s: answered {statistics.median(late):.3f} s after the commit"
                     f" (median), {max(late):.3f} s max")
    with federation.connect(dict(config, retry={"attempts": 10**6})) as patient:
        patient.query(sql)  # the catalog is read before the lock
        writer = Writer(path, None)
        try:
            slow = overshoots(patient, sql, {}, 0.3, runs)
        finally:
            writer.release()
    lines.append(f"timeout 0.3 s while waiting for the lock: overshoot {statistics.median(slow):.3f} s median,"
                 f" {max(slow):.3f} s max")
    return lines


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=0.3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="federation-timeouts-") as tmp:
        root = Path(tmp)
        print("building stores ...", file=sys.stderr)
        config = build(root)
        print(f"timeout {args.timeout:g} s, {args.runs} runs each; overshoot = stop time - timeout\n")
        print(f"{'slow work':40} {'median':>8} {'max':>8}  {'uncancelled':>12}  each run")
        with federation.connect(config) as fed:
            for name, sql, params in CASES:
                found = overshoots(fed, sql, params, args.timeout, args.runs)
                alone = uncancelled(fed, sql, params, cap=10.0)
                each = " ".join(f"{x:.2f}" for x in found)
                print(f"{name:40} {statistics.median(found):7.3f}s {max(found):7.3f}s  {alone:>12}  {each}")
        config_path = root / "federation.toml"
        config_path.write_text("".join(
            f"[sources.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
            for name, options in config["sources"].items()))
        printed, exited = cli_ctrl_c(config_path, CASES[4][1], after=5.0, runs=min(args.runs, 3))
        print(f"\nCLI Ctrl-C during the DuckDB join, from the signal:")
        print(f"  {'to Cancelled on stderr':38} {statistics.median(printed):7.3f}s {max(printed):7.3f}s")
        print(f"  {'to the exit (Python teardown too)':38} {statistics.median(exited):7.3f}s {max(exited):7.3f}s")
        print("\nretry against a SQLite writer in another process (BEGIN EXCLUSIVE):")
        for line in retry_figures(config, min(args.runs, 3)):
            print("  " + line)


if __name__ == "__main__":
    main()

"""Soak: does resident memory stay flat over many queries?

    python benchmarks/soak.py [--queries 10000] [--warmup 1000] [--max-growth-mib 50]

Builds the demo workspace (SQLite, Kuzu, LanceDB) in a temporary folder and runs a
fixed, seeded mix of queries against it: every source and the joins between them,
graph patterns, vector searches with and without prefilters, EXPLAIN ANALYZE, with
the result cache on and off, and about one in five failing on purpose (syntax,
catalog, parameter and execution errors, results past the row cap, timeouts);
``fed.health()`` and ``fed.stats()`` run every 100 queries. Parameter values vary,
so cache keys keep changing and the cache evicts.

Resident memory (psutil, else VmRSS from /proc/self/status) is read after the
warm-up and at the end; the script exits with 1 if it grew by ``--max-growth-mib``
or more. The warm-up lasts ``--warmup`` queries and, beyond that, until the result
cache (bounded to 8 MiB here) is full: a cache may fill, so the growth is measured
from the steady state it reaches, not while it fills (at most half the queries).
``--trace`` adds the largest Python allocation differences (tracemalloc), to find a
leak the figure reveals.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import federation
from federation.demo import build_workspace

CACHE_BYTES = "8MiB"
CACHE_FULL = 0.95  # the warm-up ends once the cache holds this share of its bound
MAX_ROWS = 50_000  # audit_log x audit_log (4M rows) passes it: a ResultTooLarge on purpose
ROLES = ("coordinator", "researcher", "coder", "reviewer")
STATUSES = ("active", "idle", "blocked", "offline")
TOPICS = ("databases", "testing", "parsers", "networking", "security", "ml")
WORDS = ("connection", "pooling", "cache", "index", "parser", "regression", "latency", "graph", "vector", "lock")


def rss_bytes() -> int:
    try:
        import psutil
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no psutil and no /proc/self/status: cannot read resident memory") from None
    return psutil.Process().memory_info().rss


def mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"


# ---------------------------------------------------------------- the mix
# Each entry: (kind, weight, make(rng) -> (text, params, options)). Kinds ending in "!"
# are meant to fail.


def _words(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 3))


def _agent(rng: random.Random) -> str:
    role = rng.choice(ROLES)
    return f"{role}-{rng.randint(1, 4)}"


MIX = [
    ("sqlite", 10, lambda r: (
        "SELECT name, role, team FROM state.agents WHERE role = $role ORDER BY name LIMIT $n",
        {"role": r.choice(ROLES), "n": r.randint(1, 40)}, {})),
    ("sqlite-agg", 6, lambda r: (
        "SELECT action, COUNT(*) AS n FROM state.audit_log WHERE id > $low GROUP BY action ORDER BY n DESC",
        {"low": r.randint(0, 1900)}, {})),
    ("join", 10, lambda r: (
        "SELECT a.name, s.status, s.load FROM graph.Agent AS a JOIN state.agent_state AS s"
        " ON s.agent_id = a.id WHERE s.status = $status ORDER BY s.load DESC, a.name",
        {"status": r.choice(STATUSES)}, {})),
    ("graph", 8, lambda r: (
        "SELECT g.peer, COUNT(*) AS paths FROM GRAPH_TABLE (graph MATCH"
        " (a:Agent)-[c:COLLABORATES_WITH]->{1,2}(b:Agent) WHERE a.name = $name"
        " COLUMNS (b.id AS peer_id, b.name AS peer)) AS g GROUP BY g.peer ORDER BY g.peer",
        {"name": _agent(r)}, {})),
    ("graph-join", 6, lambda r: (
        "SELECT ag.name, COUNT(*) AS open_tasks FROM graph.ASSIGNED_TO AS r"
        " JOIN state.agents AS ag ON ag.id = r._to JOIN state.tasks AS t ON t.id = r._from"
        " WHERE t.status <> $done GROUP BY ag.name ORDER BY open_tasks DESC, ag.name LIMIT $n",
        {"done": "done", "n": r.randint(1, 20)}, {})),
    ("vector", 10, lambda r: (
        "SELECT v.id, v.text, v._distance FROM VECTOR_SEARCH(knowledge.facts, $q, top_k => 5,"
        " metric => 'cosine') AS v ORDER BY v._distance",
        {"q": _words(r)}, {})),
    ("vector-prefilter", 8, lambda r: (
        "SELECT v.text, ag.name, v._distance FROM VECTOR_SEARCH((SELECT * FROM knowledge.facts"
        " WHERE topic = $topic), $q, top_k => 10) AS v JOIN state.agents AS ag ON ag.id = v.author_id"
        " ORDER BY v._distance",
        {"topic": r.choice(TOPICS), "q": _words(r)}, {})),
    ("lance-scan", 5, lambda r: (
        "SELECT topic, COUNT(*) AS n FROM knowledge.facts WHERE id % $m = 0 GROUP BY topic ORDER BY topic",
        {"m": r.randint(1, 9)}, {})),
    ("three-stores", 6, lambda r: (
        "SELECT g.peer, s.status, v.text FROM GRAPH_TABLE (graph MATCH"
        " (a:Agent)-[c:COLLABORATES_WITH]->(b:Agent) WHERE a.name = $name COLUMNS"
        " (b.id AS peer_id, b.name AS peer)) AS g JOIN state.agent_state AS s ON s.agent_id = g.peer_id"
        " JOIN VECTOR_SEARCH(knowledge.facts, $q, top_k => 50) AS v ON v.author_id = g.peer_id"
        " ORDER BY v._distance LIMIT 5",
        {"name": _agent(r), "q": _words(r)}, {})),
    ("explain-analyze", 3, lambda r: (
        "EXPLAIN ANALYZE SELECT COUNT(*) FROM state.agents a JOIN graph.Agent b ON a.id = b.id"
        " WHERE a.role = $role",
        {"role": r.choice(ROLES)}, {})),
    ("syntax!", 3, lambda r: ("SELECT name FROM state.agents WHERE", {}, {})),
    ("catalog!", 3, lambda r: ("SELECT nmae FROM state.agents", {}, {})),
    ("parameter!", 3, lambda r: ("SELECT name FROM state.agents WHERE role = $role", {}, {})),
    ("execution!", 3, lambda r: (
        "SELECT CAST(a.name AS INTEGER) FROM graph.Agent a JOIN state.agents s ON s.id = a.id", {}, {})),
    ("too-large!", 2, lambda r: (
        "SELECT a.id, b.action FROM state.audit_log a CROSS JOIN state.audit_log b WHERE a.id > $low",
        {"low": r.randint(0, 10)}, {})),
    ("timeout!", 1, lambda r: (  # cancelled in DuckDB or in SQLite
        "SELECT COUNT(*) FROM state.audit_log a CROSS JOIN state.audit_log b CROSS JOIN "
        + r.choice(["graph.Agent c", "state.agents c"]) + " WHERE a.id + b.id > $low",
        {"low": r.randint(0, 10)}, {"timeout": 0.05, "cache": False})),
]


def run(queries: int, warmup: int, max_growth: int, trace: bool, seed: int, keep_open: bool = False) -> int:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="federation-soak-"))
    print(f"Building the demo workspace in {folder} ...", flush=True)
    workspace = build_workspace(folder / "ws")
    config = workspace.with_name("soak.toml")
    text = workspace.read_text()
    if keep_open:  # the graph open all along: its connections and their statements are kept
        if 'path = "graph.kuzu"\n' not in text:
            raise SystemExit("--keep-open: the demo configuration has no graph.kuzu source")
        # with a bounded buffer pool: the pages it caches would count as growth
        text = text.replace('path = "graph.kuzu"\n',
                            f'path = "graph.kuzu"\nkeep_open = true\nbuffer_pool_size = {64 * 1024**2}\n', 1)
    config.write_text(text + f'\n[cache]\nmax_bytes = "{CACHE_BYTES}"\n\n'
                      f"[query]\nmax_rows = {MAX_ROWS}\n")
    fed = federation.connect(config)
    outcomes: Counter[str] = Counter()
    baseline: int | None = None
    peak = 0
    snapshot = None
    started = time.perf_counter()
    print(f"RSS at start: {mib(rss_bytes())}; {queries} queries, warm-up at least {warmup}", flush=True)
    try:
        for i in range(1, queries + 1):
            kind, _, make = rng.choices(MIX, weights=[weight for _, weight, _ in MIX])[0]
            text, params, options = make(rng)
            options.setdefault("cache", rng.random() < 0.7)  # the cache on for most queries, off for the rest
            try:
                fed.query(text, params, **options)
                outcomes[f"{kind} ok"] += 1
            except federation.FederationError as exc:
                outcomes[f"{kind} {type(exc).__name__}"] += 1
                if not kind.endswith("!"):
                    raise  # a query meant to succeed failed: the soak is wrong, not the memory
            if i % 100 == 0:
                health = fed.health()
                assert health.ok, health
                fed.stats(reset=i % 1000 == 0)
            if baseline is None and i >= warmup and (
                    fed.cache.bytes >= CACHE_FULL * fed.cache.max_bytes or i >= queries // 2):
                gc.collect()
                baseline, warmed = rss_bytes(), i
                print(f"RSS after warm-up ({i} queries, cache {mib(fed.cache.bytes)} of"
                      f" {mib(fed.cache.max_bytes)}): {mib(baseline)}", flush=True)
                if trace:
                    tracemalloc.start(10)
                    snapshot = tracemalloc.take_snapshot()
            if i % 1000 == 0:
                gc.collect()
                rss = rss_bytes()
                peak = max(peak, rss) if baseline is not None else peak
                print(f"  {i:>6} queries  RSS {mib(rss)}  {time.perf_counter() - started:.0f} s", flush=True)
        gc.collect()
        end = rss_bytes()
        if snapshot is not None:
            diff = tracemalloc.take_snapshot().compare_to(snapshot, "traceback")
            print("Largest Python allocation growth since the warm-up:")
            for stat in diff[:10]:
                print(f"  {stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+} blocks")
                for line in stat.traceback.format()[-6:]:
                    print("    " + line)
    finally:
        fed.close()
        shutil.rmtree(folder, ignore_errors=True)
    growth = end - baseline
    print("Outcomes:")
    for name, count in sorted(outcomes.items()):
        print(f"  {name:<40} {count}")
    print(f"RSS after warm-up ({warmed} queries): {mib(baseline)}; at the end ({queries}): {mib(end)}"
          f" (highest reading after warm-up:"
          f" {mib(max(peak, end))}); growth {mib(growth)} (limit {mib(max_growth)});"
          f" {time.perf_counter() - started:.0f} s")
    if growth >= max_growth:
        print("FAIL: resident memory grew past the limit", flush=True)
        return 1
    print("OK", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=10_000, help="queries to run (default: 10000)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="queries at least before the baseline reading (default: a tenth, at most 1000);"
                             " the warm-up also waits for the cache to fill")
    parser.add_argument("--max-growth-mib", type=float, default=50, help="allowed growth after warm-up (default: 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the query mix (default: 1)")
    parser.add_argument("--trace", action="store_true", help="show the largest Python allocation growth")
    parser.add_argument("--keep-open", action="store_true",
                        help="keep the graph open between queries (keep_open), with its connections")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(1000, max(args.queries // 10, 1))
    if not 0 < warmup < args.queries:
        parser.error("--warmup must be between 1 and --queries")
    return run(args.queries, warmup, int(args.max_growth_mib * 1024**2), args.trace, args.seed, args.keep_open)


if __name__ == "__main__":
    sys.exit(main())

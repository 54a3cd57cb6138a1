"""One federation, many threads, and writes from other processes: no error, no crash,
no stale answer.

The two workloads run in a subprocess with faulthandler on (concurrency_workload.py),
so that a crash inside an engine fails the test with a traceback instead of taking
the test run down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import federation

from datagen import build_dataset

WORKLOAD = Path(__file__).with_name("concurrency_workload.py")
# The counts are 8 x 500 queries and 1,000 interleavings. `make test` runs
# 100 interleavings: each costs a new federation in the other process, and the graph
# opened again after a write. On 2 cores, 100 took 19 s at a load of 2 (the threads
# test 23 s); 1,000 took 180 s at a load of 2 to 3 and 287 s at a load of 6.
THREADS = int(os.environ.get("FQL_THREADS", "8"))
QUERIES_PER_THREAD = int(os.environ.get("FQL_QUERIES_PER_THREAD", "500"))
INTERLEAVINGS = int(os.environ.get("FQL_INTERLEAVINGS", "100"))  # FQL_INTERLEAVINGS=1000: the full run


def run_workload(mode: str, root: Path, **env: int) -> dict:
    """Run a workload in a subprocess with faulthandler on: a crash in an engine is a
    failed test showing the crash's traceback, not a lost test run."""
    variables = dict(os.environ, **{name: str(value) for name, value in env.items()})
    proc = subprocess.run([sys.executable, "-X", "faulthandler", str(WORKLOAD), mode, str(root)],
                          capture_output=True, text=True, env=variables, timeout=900)
    report = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and report, (
        f"{mode} workload exited with {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}"
        f"\n--- stderr\n{proc.stderr[-30000:]}")
    return json.loads(report[-1][len("RESULT "):])


def test_one_federation_serves_many_threads(tmp_path):
    """8 threads x 500 queries over every source, cache on and off at random, on one
    new federation: exactly the single-threaded answers (errors included), no crash;
    then 20 cold starts (a new federation asked by 8 threads at the same moment), and
    100 short-lived threads, whose connections must not stay open."""
    build_dataset(tmp_path, seed=6)
    result = run_workload("threads", tmp_path, FQL_THREADS=THREADS, FQL_QUERIES_PER_THREAD=QUERIES_PER_THREAD)
    assert result["queries"] == THREADS * QUERIES_PER_THREAD and result["problems"] == 0
    assert 0 < result["cache_hits"] < result["queries"]
    print(json.dumps(result))


def test_closing_while_threads_query(tmp_path):
    """close() while 4 threads query (10 times): it returns, and the threads get
    answers or FederationErrors (cancelled, closed), never DuckDB's own errors."""
    build_dataset(tmp_path, seed=8)
    result = run_workload("close", tmp_path, FQL_CLOSE_TRIALS=10)
    assert result["problems"] == 0 and result["outcomes"].get("FederationError (closed)", 0) > 0
    print(json.dumps(result))


def test_no_stale_answers_while_another_process_writes(tmp_path):
    """Random interleavings of writes by another process (SQLite insert, update and
    delete; LanceDB add, delete, update and compaction; Kuzu create, set and delete,
    each opening and closing the graph) with reads through one long-lived federation:
    every answer equals a fresh uncached run on a new federation."""
    build_dataset(tmp_path, seed=7)
    result = run_workload("interleave", tmp_path, FQL_INTERLEAVINGS=INTERLEAVINGS)
    assert result["rounds"] == INTERLEAVINGS and result["problems"] == 0
    assert {"sql", "cypher", "lance_add", "lance_delete"} <= set(result["writes"])
    assert result["reads"]["during"] > 0 and result["cache_hits"] > 0
    print(json.dumps(result))


# The JOIN runs in DuckDB (LOWER keeps it out of SQLite) over two SQLite fragments;
# orders is read after people, reduced to the keys people returned (a semi-join).
# Two SQLite fragments, orders read after people (a semi-join): a LEFT JOIN is not
# grouped into one SQLite query, and LOWER keeps the whole query out of SQLite.
# LOWER(o.status) keeps the LEFT JOIN out of SQLite (it is not computed there exactly as
# in DuckDB): two fragments, orders reduced by the people's keys
MOVED_ORDER = ("SELECT COUNT(o.id) AS n FROM state.people p LEFT JOIN state.orders o ON o.person_id = p.id "
               "AND LOWER(o.status) = 'active' WHERE LOWER(p.name) LIKE 'mover%'")


def test_a_write_between_two_fragments_is_not_mixed_into_the_answer(tmp_path):
    """A write that lands while a query runs (here: between its two SQLite fragments)
    must not give an answer that mixes the data before and after it, nor leave such a
    result in the cache: the query reads again, over one state."""
    # people 1..200, orders 1..1000 (some point at people 201..230, who do not exist)
    dataset = build_dataset(tmp_path, seed=11)
    path = dataset.config["sources"]["state"]["path"]

    def write(sql: str) -> None:
        subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3
            con = sqlite3.connect({path!r}, isolation_level=None)
            con.executescript({sql!r})
        """)], check=True)

    write("INSERT INTO people (id, name) VALUES (231, 'mover one');"
          "INSERT INTO orders (id, person_id, status) VALUES (1001, 231, 'active');")
    # One transaction moves the order to a new person: before and after it, the order
    # has its person (1 row). People read before it and orders read after it: 0 rows.
    move = ("BEGIN; DELETE FROM people WHERE id = 231; INSERT INTO people (id, name) VALUES (232, 'mover two');"
            "UPDATE orders SET person_id = 232 WHERE id = 1001; COMMIT;")

    with federation.connect(dataset.config) as fed:
        plan = fed.plan(MOVED_ORDER)
        people, orders = (next(i for i, f in enumerate(plan.fragments) if f'FROM "{table}"' in f.text)
                          for table in ("people", "orders"))
        assert plan.dependencies(orders) == {people}, "the test needs orders read after people"
        assert fed.query(MOVED_ORDER, cache=False).fetchall() == [(1,)]
        moved = []

        def between_the_fragments(done: int, total: int) -> None:
            if done == 1 and not moved:
                moved.append(True)
                write(move)

        result = fed.query(MOVED_ORDER, cache=True, progress=between_the_fragments)
        assert moved and result.fetchall() == [(1,)]
        again = fed.query(MOVED_ORDER)
        assert again.cached and again.fetchall() == [(1,)]
        assert fed.query("SELECT name FROM state.people WHERE id > 230").fetchall() == [("mover two",)]


def test_a_lancedb_table_created_again_is_not_served_from_the_cache(tmp_path):
    """A table dropped and created again numbers its versions from 1 again: the
    version number alone would match results cached for the old table."""
    dataset = build_dataset(tmp_path, seed=12)
    uri = dataset.config["sources"]["knowledge"]["uri"]
    sql = "SELECT COUNT(*) AS n FROM knowledge.docs"
    with federation.connect(dataset.config) as fed:
        assert fed.query(sql).fetchall() == [(300,)]
        subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import lancedb
            db = lancedb.connect({uri!r})
            first = db.open_table("docs").search().limit(5).to_arrow()
            db.drop_table("docs")
            db.create_table("docs", data=first)
        """)], check=True)
        again = fed.query(sql)
        assert not again.cached and again.fetchall() == [(5,)]


def test_every_lancedb_write_changes_the_data_version(tmp_path):
    """A local LanceDB database's version is read from its folders (a stat, not
    LanceDB's version check): each kind of write, from another process, must change
    it, and a table created or dropped must change the version of the whole database
    (the list of tables)."""
    dataset = build_dataset(tmp_path, seed=13)
    uri = dataset.config["sources"]["knowledge"]["uri"]
    writes = {
        "add": 'db.open_table("docs").add(db.open_table("docs").search().limit(2).to_arrow())',
        "delete": 'db.open_table("docs").delete("id < 5")',
        "update": 'db.open_table("docs").update(where="id = 7", values={"title": "renamed"})',
        "create another": 'db.create_table("extra", data=db.open_table("docs").search().limit(3).to_arrow())',
        "recreate": ('t = db.open_table("docs").search().limit(4).to_arrow(); db.drop_table("docs");'
                     ' db.create_table("docs", data=t)'),
        "drop another": 'db.drop_table("extra")',
    }
    with federation.connect(dataset.config) as fed:
        source = fed.sources["knowledge"]
        seen_table, seen_all = [source.version(("docs",))], [source.version()]
        for name, code in writes.items():
            subprocess.run([sys.executable, "-c", f"import lancedb; db = lancedb.connect({uri!r}); {code}"],
                           check=True)
            table, everything = source.version(("docs",)), source.version()
            assert everything not in seen_all, name
            if name in ("create another", "drop another"):
                assert table == seen_table[-1], name  # another table's change is not this one's
            else:
                assert table not in seen_table, name
            seen_table.append(table)
            seen_all.append(everything)
            # and the engine answers from the new data
            count = fed.query("SELECT COUNT(*) FROM knowledge.docs").fetchall()[0][0]
            expected = subprocess.run([sys.executable, "-c", f"import lancedb; print(lancedb.connect({uri!r})"
                                       '.open_table("docs").count_rows())'],
                                      check=True, capture_output=True, text=True).stdout.strip()
            assert count == int(expected), name

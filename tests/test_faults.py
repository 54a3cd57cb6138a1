"""Faults: missing, empty, corrupt and replaced files, locks held by other processes,
a LanceDB table dropped mid-query, a source failing after part of its work, and
cancelling what engines cannot interrupt (ADBC scans, LanceDB calls).

Every case runs the real engines over small stores in a temporary folder. Each ends
with one typed error naming the source (and the fragment, where one ran), and the
federation answering the next query; the leak test counts open file descriptors and
threads over repeated failures. Wall times are asserted only as generous hang guards;
benchmarks/timeouts.py measures how quickly a timeout takes effect.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa
import pytest

import federation
from federation import CatalogError, ConfigError, QueryTimeout, SourceError
from federation.retry import RetryPolicy
from federation.sources.lancedb import WORKERS

PEOPLE = 50
JOIN = "SELECT COUNT(*) AS n FROM state.people p JOIN graph.Person q ON q.id = p.id"
# A view SQLite computes for minutes (50^6 combinations), returning a row now and
# then: joined across sources on an expression, it is read by an ADBC scan (its
# column is declared INTEGER, so no check of stored values reads it first), and a
# 1024-row batch arrives every few milliseconds.
SLOW_VIEW = ("CREATE VIEW slow AS SELECT a.id FROM people a, people b, people c, people d, people e, people f "
             "WHERE (b.id * 50 + c.id) % 100 = 0")
SLOW_SCAN = "SELECT COUNT(*) FROM state.slow s JOIN graph.Person p ON p.id = s.id % 10"
GUARD = 20  # seconds: a hang guard, not a performance bound


def make_sqlite(path: Path, rows: int = PEOPLE) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO people VALUES (?, ?)", [(i, f"p{i}") for i in range(rows)])
    con.execute(SLOW_VIEW)
    con.commit()
    con.close()


def make_kuzu(path: Path) -> None:
    import kuzu

    db = kuzu.Database(str(path))
    con = kuzu.Connection(db)
    con.execute("CREATE NODE TABLE Person(id INT64, name STRING, PRIMARY KEY (id))")
    con.execute("UNWIND range(0, 9) AS i CREATE (:Person {id: i, name: 'k' + CAST(i AS STRING)})")
    con.close()
    db.close()


def make_lance(uri: Path, rows: int = 20) -> None:
    vectors = np.arange(rows * 4, dtype=np.float32).reshape(rows, 4)
    table = pa.table({"id": pa.array(range(rows), pa.int64()),
                      "v": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 4)})
    lancedb.connect(str(uri)).create_table("docs", table, mode="overwrite")


@pytest.fixture()
def stores(tmp_path) -> dict:
    make_sqlite(tmp_path / "state.db")
    make_kuzu(tmp_path / "graph.kuzu")
    make_lance(tmp_path / "lance")
    return {"sources": {
        "state": {"type": "sqlite", "path": str(tmp_path / "state.db")},
        "graph": {"type": "kuzu", "path": str(tmp_path / "graph.kuzu")},
        "knowledge": {"type": "lancedb", "uri": str(tmp_path / "lance")},
    }}


def path_of(config: dict, source: str) -> Path:
    options = config["sources"][source]
    return Path(options.get("path") or options["uri"])


def with_retry(config: dict, **retry) -> dict:
    return dict(config, retry=retry)


def in_thread(work):
    """``work()`` with a hang guard: its result, or the exception it raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(GUARD)
    assert not worker.is_alive(), f"still running after {GUARD} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# ---------------------------------------------------------------- the retry policy


def test_retry_policy_from_the_configuration(stores):
    config = dict(stores, retry={"attempts": 3, "initial_backoff": 0.1})
    config["sources"] = dict(stores["sources"], graph=dict(stores["sources"]["graph"], retry={"max_backoff": 5}))
    with federation.connect(config) as fed:
        assert fed.sources["state"].retry == RetryPolicy(3, 0.1, 1.0)
        assert fed.sources["graph"].retry == RetryPolicy(3, 0.1, 5.0)  # the [retry] table, then its own
    with federation.connect(stores) as fed:
        assert fed.sources["state"].retry == RetryPolicy()
    assert [RetryPolicy(5, 0.1, 0.3).backoff(n) for n in range(1, 5)] == [0.1, 0.2, 0.3, 0.3]
    assert RetryPolicy(10**9, 0.01, 2).backoff(10**8) == 2


@pytest.mark.parametrize(
    "retry, message",
    [
        ({"attempts": 0}, "attempts must be a whole number"),
        ({"attempts": 2.5}, "attempts must be a whole number"),
        ({"attempts": True}, "attempts must be a whole number"),
        ({"initial_backoff": -1}, "initial_backoff must be a number of seconds"),
        ({"max_backoff": "1s"}, "max_backoff must be a number of seconds"),
        ({"initial_backoff": 2, "max_backoff": 1}, "must not be less than initial_backoff"),
        ({"attmpts": 3}, "unknown setting 'attmpts'.*Did you mean 'attempts'"),
        ("often", "must be a table"),
    ],
)
def test_bad_retry_settings_are_config_errors(retry, message):
    state = {"type": "sqlite", "path": "state.db"}  # connect opens nothing: the file need not exist
    with pytest.raises(ConfigError, match=r"\[retry\].*" + message):
        federation.connect({"sources": {"state": state}, "retry": retry})
    with pytest.raises(ConfigError, match=r"source 'state': retry.*" + message):
        federation.connect({"sources": {"state": dict(state, retry=retry)}})


def test_lancedb_takes_no_retry_setting():
    with pytest.raises(ConfigError, match="unknown setting 'retry'"):
        federation.connect({"sources": {"knowledge": {"type": "lancedb", "uri": "lance", "retry": {"attempts": 2}}}})


# ---------------------------------------------------------------- missing, empty, corrupt files


def test_a_missing_file_fails_the_queries_that_read_it_and_only_them(stores, tmp_path):
    """connect() opens nothing: one broken source must not stop the others. The
    first query that reads it fails, naming the source and the file; once the file
    exists, the next query reads it."""
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("state", "graph", "knowledge"):
        shutil.move(path_of(stores, name), moved / path_of(stores, name).name)
    with federation.connect(stores) as fed:
        for name, sql in [("state", "SELECT * FROM state.people"), ("graph", "SELECT * FROM graph.Person"),
                          ("knowledge", "SELECT * FROM knowledge.docs")]:
            with pytest.raises(SourceError, match="does not exist") as info:
                fed.query(sql)
            assert info.value.source == name and str(path_of(stores, name)) in str(info.value)
            shutil.move(moved / path_of(stores, name).name, path_of(stores, name))
            assert len(fed.query(sql)) > 0
        assert fed.query(JOIN).fetchall() == [(10,)]


def test_empty_files_are_empty_databases(tmp_path):
    """A 0-byte SQLite or Kuzu file and an empty LanceDB folder are valid, empty
    databases: a query names the missing table and shows there are none."""
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "empty.kuzu").write_bytes(b"")
    (tmp_path / "lance").mkdir()
    config = {"sources": {"s": {"type": "sqlite", "path": str(tmp_path / "empty.db")},
                          "g": {"type": "kuzu", "path": str(tmp_path / "empty.kuzu")},
                          "l": {"type": "lancedb", "uri": str(tmp_path / "lance")}}}
    with federation.connect(config) as fed:
        for name in ("s", "g", "l"):
            with pytest.raises(CatalogError, match=rf"Source '{name}' has no table 't'.*Its tables: \(none\)"):
                fed.query(f"SELECT * FROM {name}.t")
    # read-only: the engine wrote nothing into them
    assert (tmp_path / "empty.db").stat().st_size == 0 and (tmp_path / "empty.kuzu").stat().st_size == 0


def test_corrupt_files_are_source_errors(stores):
    garbage = np.random.default_rng(1).bytes(64 * 1024)
    path_of(stores, "state").write_bytes(garbage)
    path_of(stores, "graph").write_bytes(garbage)
    for manifest in (path_of(stores, "knowledge") / "docs.lance" / "_versions").iterdir():
        manifest.write_bytes(garbage[:100])
    with federation.connect(stores) as fed:
        with pytest.raises(SourceError, match="is not a valid SQLite database.*check the path") as info:
            fed.query("SELECT * FROM state.people")
        assert info.value.source == "state"
        with pytest.raises(SourceError, match="is not a valid Kuzu .* database.*check the path") as info:
            fed.query("SELECT * FROM graph.Person")
        assert info.value.source == "graph"
        with pytest.raises(SourceError) as info:
            fed.query("SELECT * FROM knowledge.docs")
        assert info.value.source == "knowledge" and ".rs:" not in str(info.value)  # no Rust source locations
        # the source fixed, the same federation reads it
        path_of(stores, "state").unlink()
        make_sqlite(path_of(stores, "state"))
        assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(PEOPLE,)]


def test_a_sqlite_file_removed_or_replaced_after_use(stores):
    path = path_of(stores, "state")
    with federation.connect(stores) as fed:
        assert fed.query(JOIN, cache=False).fetchall() == [(10,)]
        path.unlink()  # the open connections could still read the removed file: they must not
        with pytest.raises(SourceError, match="does not exist") as info:
            fed.query(JOIN, cache=False)
        assert info.value.source == "state"
        # a new file moved into place (a restored backup): the connections reopen on it
        make_sqlite(path.with_suffix(".new"), rows=5)
        os.replace(path.with_suffix(".new"), path)
        assert fed.query(JOIN, cache=False).fetchall() == [(5,)]
        assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(5,)]


def test_a_kuzu_file_removed_after_use(stores):
    with federation.connect(stores) as fed:
        assert fed.query(JOIN).fetchall() == [(10,)]
        path_of(stores, "graph").unlink()
        with pytest.raises(SourceError, match="graph database .* does not exist") as info:
            fed.query(JOIN)
        assert info.value.source == "graph"
        assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(PEOPLE,)]


# ---------------------------------------------------------------- locks held by other processes


class Holder:
    """Another process holding a lock until released (or for ``seconds``)."""

    def __init__(self, code: str, seconds: float | None = None):
        script = textwrap.dedent(code) + textwrap.dedent(f"""
            import sys, time
            print("locked", flush=True)
            seconds = {seconds!r}
            if seconds is None:
                sys.stdin.readline()
            else:
                time.sleep(seconds)
            release()
            print("released", flush=True)
        """)
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.proc.communicate("\n", timeout=GUARD)


def sqlite_writer(path: Path, seconds: float | None = None) -> Holder:
    """A writer in another process inside BEGIN EXCLUSIVE; it adds a row, then commits."""
    return Holder(f"""
        import sqlite3
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        con.execute("INSERT INTO people (name) VALUES ('late')")
        def release():
            con.execute("COMMIT")
    """, seconds)


def kuzu_writer(path: Path, seconds: float | None = None) -> Holder:
    """Another process with the graph database open read-write."""
    return Holder(f"""
        import kuzu
        db = kuzu.Database({str(path)!r})
        def release():
            db.close()
    """, seconds)


def test_sqlite_locked_by_a_writer_is_retried_until_it_commits(stores):
    config = with_retry(stores, attempts=100, initial_backoff=0.01, max_backoff=0.05)
    with federation.connect(config) as fed:
        writer = sqlite_writer(path_of(stores, "state"), seconds=0.5)
        try:
            # only readable after the commit, so the answer includes the writer's row
            assert in_thread(lambda: fed.query("SELECT COUNT(*) FROM state.people").fetchall()) == [(PEOPLE + 1,)]
        finally:
            writer.release()


def test_sqlite_locked_past_the_retry_policy_is_a_source_error(stores):
    with federation.connect(with_retry(stores, attempts=3, initial_backoff=0.01)) as fed:
        assert fed.query(JOIN).fetchall() == [(10,)]  # the catalog is read
        writer = sqlite_writer(path_of(stores, "state"))
        try:
            with pytest.raises(SourceError, match=r"locked by another connection.*3 attempts.*\[retry\]") as info:
                in_thread(lambda: fed.query(JOIN, cache=False))
            assert info.value.source == "state" and info.value.fragment
            # the other sources are unaffected
            assert fed.query("SELECT COUNT(*) FROM graph.Person").fetchall() == [(10,)]
        finally:
            writer.release()
        assert fed.query(JOIN, cache=False).fetchall() == [(10,)]
        assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(PEOPLE + 1,)]


def test_a_timeout_ends_the_wait_for_a_lock(stores):
    config = with_retry(stores, attempts=10_000, initial_backoff=0.01, max_backoff=0.05)
    with federation.connect(config) as fed:
        assert fed.query(JOIN).fetchall() == [(10,)]
        writer = sqlite_writer(path_of(stores, "state"))
        try:
            with pytest.raises(QueryTimeout):
                in_thread(lambda: fed.query(JOIN, cache=False, timeout=0.3))
        finally:
            writer.release()
        assert fed.query(JOIN, cache=False).fetchall() == [(10,)]


def test_kuzu_locked_by_another_process(stores):
    path = path_of(stores, "graph")
    writer = kuzu_writer(path)
    try:
        with federation.connect(with_retry(stores, attempts=2, initial_backoff=0.01)) as fed:
            with pytest.raises(SourceError, match="is locked by process .*, which opened it read-write") as info:
                fed.query(JOIN)
            assert info.value.source == "graph" and "Could not set lock" in str(info.value.__cause__)
            assert f"process {writer.proc.pid}" in str(info.value)  # found in /proc/locks
            assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(PEOPLE,)]
            writer.release()
            assert fed.query(JOIN).fetchall() == [(10,)]
    finally:
        writer.release()
    # released while the engine retries: the query succeeds
    writer = kuzu_writer(path, seconds=0.5)
    try:
        config = with_retry(stores, attempts=100, initial_backoff=0.01, max_backoff=0.05)
        with federation.connect(config) as fed:
            assert in_thread(lambda: fed.query(JOIN).fetchall()) == [(10,)]
    finally:
        writer.release()


# ---------------------------------------------------------------- failures during a query


def test_a_lancedb_table_dropped_after_planning(stores):
    uri = path_of(stores, "knowledge")
    sql = "SELECT d.id FROM knowledge.docs d JOIN state.people p ON p.id = d.id"
    with federation.connect(stores) as fed:
        source = fed.sources["knowledge"]
        real = source._execute

        def drop_then_run(fragment, params, running):  # the drop lands between planning and the LanceDB call
            lancedb.connect(str(uri)).drop_table("docs")
            return real(fragment, params, running)

        source._execute = drop_then_run
        with pytest.raises(SourceError, match="table 'docs' no longer exists.*dropped after the query was planned") as info:
            fed.query(sql)
        assert info.value.source == "knowledge" and "docs.search()" in info.value.fragment
        source._execute = real
        with pytest.raises(CatalogError, match="has no table 'docs'"):
            fed.query(sql)
        make_lance(uri, rows=3)
        assert fed.query(f"SELECT COUNT(*) FROM ({sql})").fetchall() == [(3,)]


def fail_after_work(source):
    """Make a real source raise after doing its real work, as a disk error would."""
    real = source._execute

    def execute(fragment, params, running):
        real(fragment, params, running)
        raise sqlite3.OperationalError("disk I/O error")

    source._execute = execute
    return real


def test_a_source_failing_mid_query(stores):
    with federation.connect(stores) as fed:
        real = fail_after_work(fed.sources["state"])
        with pytest.raises(SourceError, match="disk I/O error") as info:
            fed.query(JOIN)
        assert info.value.source == "state"
        assert 'FROM "people"' in info.value.fragment  # the SQL that ran (the query's last step, in SQLite)
        fed.sources["state"]._execute = real
        assert fed.query(JOIN).fetchall() == [(10,)]  # nothing partial was cached


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))




@contextlib.contextmanager
def graph_writer_released(writer: Holder):
    try:
        yield
    finally:
        writer.release()


def test_repeated_failures_leak_no_files_or_threads(stores, tmp_path):
    """Every kind of failure, repeated: the open file descriptors and threads stay put."""
    (tmp_path / "corrupt.db").write_bytes(b"not a database" * 100)
    (tmp_path / "corrupt.kuzu").write_bytes(b"not a database" * 100)
    shutil.copy(path_of(stores, "graph"), tmp_path / "locked.kuzu")
    config = with_retry(stores, attempts=2, initial_backoff=0.001)
    config["sources"] = dict(stores["sources"],
                             missing={"type": "sqlite", "path": str(tmp_path / "missing.db")},
                             bad={"type": "sqlite", "path": str(tmp_path / "corrupt.db")},
                             badgraph={"type": "kuzu", "path": str(tmp_path / "corrupt.kuzu")},
                             lockedgraph={"type": "kuzu", "path": str(tmp_path / "locked.kuzu")})
    failing = ["SELECT * FROM missing.t", "SELECT * FROM bad.t", "SELECT * FROM badgraph.T",
               "SELECT * FROM lockedgraph.Person", JOIN, SLOW_SCAN]
    graph_writer = kuzu_writer(tmp_path / "locked.kuzu")
    with graph_writer_released(graph_writer), federation.connect(config) as fed:
        real = fail_after_work(fed.sources["state"])
        gate = block_lancedb(fed)

        def round_of_failures():
            for sql in failing:
                with pytest.raises((SourceError, QueryTimeout)):
                    fed.query(sql, cache=False, timeout=0.2)
            with pytest.raises(QueryTimeout):
                fed.query("SELECT * FROM knowledge.docs", cache=False, timeout=0.1)
            writer = sqlite_writer(path_of(stores, "state"))
            try:
                with pytest.raises(SourceError, match="locked"):
                    fed.query(JOIN, cache=False)
            finally:
                writer.release()

        for _ in range(WORKERS):  # every LanceDB worker thread is started, then blocked
            with pytest.raises(QueryTimeout):
                fed.query("SELECT * FROM knowledge.docs", cache=False, timeout=0.1)
        for _ in range(2):  # connections (one per fragment thread) and the lock holders warm up
            round_of_failures()
        fds, threads = open_fds(), threading.active_count()
        for _ in range(6):
            round_of_failures()
        gate.set()
        fed.sources["state"]._execute = real
        assert fed.query(JOIN).fetchall() == [(10,)]
        # Cancel and timer threads end just after their query, and the abandoned LanceDB
        # calls (released above) hold files while they finish: a leak is what stays.
        # A fragment thread's first SQLite fragment may still open its two connections
        # (ADBC and stdlib); two fragment threads run these queries. A leak in any kind
        # of failure would add at least one per round, six in all.
        slack = 4
        settle = time.monotonic() + GUARD
        while (open_fds() > fds + slack or threading.active_count() > threads) and time.monotonic() < settle:
            time.sleep(0.01)
        assert open_fds() <= fds + slack and threading.active_count() <= threads


# ---------------------------------------------------------------- what engines cannot interrupt


def test_a_slow_sqlite_scan_stops_between_batches(stores):
    """ADBC's SQLite driver has no cancel; the scan stops at the next batch. Without
    that, this query would run for minutes."""
    with federation.connect(stores) as fed:
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            in_thread(lambda: fed.query(SLOW_SCAN, timeout=0.3))
        assert time.monotonic() - started < GUARD
        assert fed.query("SELECT COUNT(*) FROM state.people").fetchall() == [(PEOPLE,)]


def block_lancedb(fed) -> threading.Event:
    """Make the real LanceDB calls of ``fed`` wait for the returned gate, as a slow
    search would; the query thread is not involved, only LanceDB's worker threads."""
    source = fed.sources["knowledge"]
    real = source._table
    gate = threading.Event()

    def slow_table(name):
        if threading.current_thread().name.startswith("federation-lancedb"):
            gate.wait()
        return real(name)

    source._table = slow_table
    return gate


def lancedb_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("federation-lancedb")}


def test_a_timeout_abandons_a_lancedb_call(stores):
    search = "SELECT id FROM VECTOR_SEARCH(knowledge.docs, $q, top_k => 1)"
    before = lancedb_threads()  # other tests' workers may still be finishing
    with federation.connect(stores) as fed:
        gate = block_lancedb(fed)
        for _ in range(3 * WORKERS):  # more than there are workers: the rest queue, then are cancelled
            with pytest.raises(QueryTimeout):
                in_thread(lambda: fed.query(search, {"q": [0.0, 1, 2, 3]}, timeout=0.1))
        ours = lancedb_threads() - before
        assert len(ours) <= WORKERS  # abandoned calls do not pile up threads
        gate.set()  # the abandoned calls finish now; no one takes their results
        assert fed.query(search, {"q": [40.0, 41, 42, 43]}, cache=False).fetchall() == [(10,)]
        assert fed.query("SELECT COUNT(*) FROM knowledge.docs").fetchall() == [(20,)]
    for thread in ours:
        thread.join(GUARD)
        assert not thread.is_alive()  # close() ends the workers


def test_interrupt_abandons_a_lancedb_call(stores):
    with federation.connect(stores) as fed:
        gate = block_lancedb(fed)
        outcome = {}

        def run():
            try:
                fed.query("SELECT * FROM knowledge.docs")
            except federation.QueryCancelled as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + GUARD
        while fed.interrupt() == 0 and worker.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.join(GUARD)
        assert not worker.is_alive() and isinstance(outcome.get("error"), federation.QueryCancelled)
        gate.set()
        assert fed.query("SELECT COUNT(*) FROM knowledge.docs").fetchall() == [(20,)]

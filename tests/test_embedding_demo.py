"""The built-in embedder, the demo workspace builder and the text formatters."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import kuzu
import lancedb
import numpy as np
import pyarrow as pa
import pytest

from federation.demo import SHOWCASE, build_workspace
from federation.embedding import EMBEDDERS, HashEmbedder, make_embedder
from federation.formatting import format_csv, format_json, format_markdown, format_table

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["connection pooling reduces latency for database clients", "Ünïcode wörds", "a"]


# --- embedding -----------------------------------------------------------------


def test_embedder_is_deterministic_across_processes() -> None:
    # Different PYTHONHASHSEEDs: the vectors must not depend on Python's salted hash().
    script = (
        "import sys, json; from federation.embedding import HashEmbedder; "
        "print(HashEmbedder(64).embed(json.loads(sys.argv[1])).tobytes().hex())"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", script, json.dumps(TEXTS)],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True,
        )
        outputs.add(result.stdout.strip())
    assert outputs == {HashEmbedder(64).embed(TEXTS).tobytes().hex()}


def test_embeddings_are_unit_length_float32() -> None:
    vectors = HashEmbedder(32).embed([*TEXTS, "", "?!"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-5)
    # No word characters, no features: the zero vector, not NaN.
    assert not vectors[3:].any()
    assert HashEmbedder().embed([]).shape == (0, 64)


def test_embed_one_matches_embed() -> None:
    embedder = HashEmbedder()
    np.testing.assert_array_equal(embedder.embed_one(TEXTS[0]), embedder.embed(TEXTS[:1])[0])


def test_texts_sharing_words_are_closer() -> None:
    embedder = HashEmbedder(64)
    query = embedder.embed_one("connection pooling")
    related = embedder.embed([
        "connection pooling reduces latency for database clients",
        "Connection pooling lowers the load on busy services",
    ])
    unrelated = embedder.embed([
        "threat modeling detects abuse of public endpoints",
        "snapshot tests catch regressions in parsers",
        "weekly re-plans shorten feedback loops",
    ])
    assert (related @ query).min() > (unrelated @ query).max() + 0.2


def test_embed_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match="embed_one"):
        HashEmbedder().embed("connection pooling")


def test_make_embedder() -> None:
    assert make_embedder("hash").dim == 64
    assert make_embedder({"name": "hash", "dim": 16}).dim == 16
    assert EMBEDDERS == {"hash": HashEmbedder}
    with pytest.raises(ValueError, match="known embedders: 'hash'"):
        make_embedder("word2vec")
    with pytest.raises(ValueError, match="no option size"):
        make_embedder({"name": "hash", "size": 3})
    with pytest.raises(ValueError, match="positive integer"):
        make_embedder({"name": "hash", "dim": 0})


# --- demo workspace --------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("demo") / "ws").parent


def test_workspace_files(workspace: Path) -> None:
    assert sorted(p.name for p in workspace.iterdir()) == [
        "federation.toml", "graph.kuzu", "lance", "state.db",
    ]
    toml = (workspace / "federation.toml").read_text()
    assert '[sources.knowledge]\ntype = "lancedb"\nuri = "lance"\nembedder = "hash"' in toml


def _sqlite_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("agents", "agent_state", "tasks", "audit_log")
        }
    finally:
        con.close()


def test_sqlite_state(workspace: Path) -> None:
    assert _sqlite_counts(workspace / "state.db") == {
        "agents": 40, "agent_state": 40, "tasks": 300, "audit_log": 2000,
    }
    con = sqlite3.connect(f"file:{workspace / 'state.db'}?mode=ro", uri=True)
    try:
        statuses = dict(con.execute("SELECT status, count(*) FROM agent_state GROUP BY status"))
        null_tasks = con.execute("SELECT count(*) FROM agent_state WHERE current_task IS NULL").fetchone()[0]
        names = {row[0] for row in con.execute("SELECT name FROM agents")}
    finally:
        con.close()
    assert set(statuses) == {"active", "idle", "blocked", "offline"}
    assert 0 < null_tasks < 40
    assert {"coordinator-1", "researcher-3", "coder-7", "reviewer-2"} <= names


def test_kuzu_graph(workspace: Path) -> None:
    db = kuzu.Database(str(workspace / "graph.kuzu"), read_only=True)
    conn = kuzu.Connection(db)
    try:
        def scalar(query: str) -> int:
            return conn.execute(query).get_as_arrow().column(0)[0].as_py()

        counts = {label: scalar(f"MATCH (n:{label}) RETURN count(*)") for label in ("Agent", "Task", "Feature", "Epic")}
        assert counts == {"Agent": 40, "Task": 300, "Feature": 30, "Epic": 5}
        assert scalar("MATCH (:Task)-[:PART_OF]->(:Feature)-[:PART_OF]->(:Epic) RETURN count(*)") == 300
        assert scalar("MATCH ()-[r:ASSIGNED_TO]->() RETURN count(*)") > 200
        assert scalar("MATCH ()-[r:DEPENDS_ON]->() RETURN count(*)") > 300
        # The coordinator hub: a handful of peers one or two hops out.
        peers = scalar(
            "MATCH (a:Agent)-[:COLLABORATES_WITH*1..2]->(b:Agent) "
            "WHERE a.name = 'coordinator-1' AND b.id <> a.id RETURN count(DISTINCT b.id)"
        )
        assert 5 <= peers <= 20
    finally:
        conn.close()
        db.close()


def test_lance_facts(workspace: Path) -> None:
    table = lancedb.connect(str(workspace / "lance")).open_table("facts")
    assert table.count_rows() == 500
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 64)
    query = HashEmbedder(64).embed_one("connection pooling")
    hits = table.search(query).distance_type("cosine").limit(5).to_arrow()
    assert all("connection pooling" in text for text in hits.column("text").to_pylist())


def test_rebuild_gives_the_same_data(workspace: Path) -> None:
    def snapshot() -> tuple[list[tuple[object, ...]], pa.Table]:
        con = sqlite3.connect(f"file:{workspace / 'state.db'}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT * FROM agent_state ORDER BY agent_id").fetchall()
        finally:
            con.close()
        facts = lancedb.connect(str(workspace / "lance")).open_table("facts").to_arrow().sort_by("id")
        return rows, facts

    before = snapshot()
    build_workspace(workspace, overwrite=True)
    after = snapshot()
    assert before[0] == after[0]
    assert before[1].equals(after[1])


def test_build_refuses_to_clobber(tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"no federation\.toml"):
        build_workspace(stranger)
    assert (stranger / "notes.txt").read_text() == "keep me"

    empty = tmp_path / "empty"
    empty.mkdir()
    toml = build_workspace(empty)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        build_workspace(empty, overwrite=False)
    assert toml.is_file()


def test_showcase_queries_bind_their_parameters() -> None:
    assert len(SHOWCASE) == 6
    for title, query, params in SHOWCASE:
        assert title and query == query.strip()
        assert set(re.findall(r"\$(\w+)", query)) == set(params), title


# --- formatting --------------------------------------------------------------------


@pytest.fixture
def mixed() -> pa.Table:
    n = 25
    vectors = np.arange(n * 64, dtype=np.float32).reshape(n, 64) / 1000
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "name": ["x" * 60 if i == 1 else None if i == 2 else f"agent-{i}" for i in range(n)],
        "score": [3.14159265, None, 1e-7] + [float(i) for i in range(3, n)],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 64),
        "tags": [["a", "b"], None, []] + [["c"]] * (n - 3),
    })


def test_format_table(mixed: pa.Table) -> None:
    text = format_table(mixed)
    lines = text.splitlines()
    assert lines[-1] == "(25 rows, 20 shown)"
    assert lines[0].startswith("┌") and lines[-2].startswith("└")
    # 3 rules, a header and 20 rows, all the same width.
    assert len(lines) == 3 + 1 + 20 + 1
    assert len({len(line) for line in lines[:-1]}) == 1
    header = [cell.strip() for cell in lines[1].strip("│").split("│")]
    assert header == ["id", "name", "score", "vector", "tags"]

    first, second, third = ([c.strip() for c in line.strip("│").split("│")] for line in lines[3:6])
    assert first == ["0", "agent-0", "3.14159", "[0, 0.001, … 64 items]", "['a', 'b']"]
    assert second[1] == "x" * 39 + "…" and second[2] == "NULL" and second[4] == "NULL"
    assert third[1] == "NULL" and third[2] == "1e-07" and third[4] == "[]"
    # Numbers are right-aligned, text left-aligned.
    assert "│  0 │ agent-0 " in lines[3]


def test_format_table_row_limits(mixed: pa.Table) -> None:
    assert format_table(mixed, max_rows=None).splitlines()[-1] == "(25 rows)"
    assert format_table(mixed.slice(0, 1)).splitlines()[-1] == "(1 row)"
    assert format_table(mixed, max_rows=3).splitlines()[-1] == "(25 rows, 3 shown)"
    empty = format_table(mixed.slice(0, 0)).splitlines()
    assert empty[-1] == "(0 rows)" and len(empty) == 5


def test_format_csv_json_markdown() -> None:
    table = pa.table({
        "id": [1, 2],
        "text": ['say "hi", then\nleave', None],
        "score": [0.1, float("nan")],
        "tags": [["a"], None],
    })
    assert format_csv(table) == (
        'id,text,score,tags\n1,"say ""hi"", then\nleave",0.1,"[""a""]"\n2,,nan,\n'
    )
    assert json.loads(format_json(table)) == [
        {"id": 1, "text": 'say "hi", then\nleave', "score": 0.1, "tags": ["a"]},
        {"id": 2, "text": None, "score": "NaN", "tags": None},
    ]
    assert format_markdown(table).splitlines() == [
        "| id | text | score | tags |",
        "| ---: | --- | ---: | --- |",
        '| 1 | say "hi", then\\nleave | 0.1 | [\'a\'] |',
        "| 2 | NULL | nan | NULL |",
    ]

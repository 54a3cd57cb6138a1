"""The `federation` command, run as a real subprocess against the demo workspace."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from federation.demo import SHOWCASE, build_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, source_guard) -> Path:
    return source_guard.watch(build_workspace(tmp_path_factory.mktemp("cli") / "ws").parent)


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "federation", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
    )


def test_help_lists_the_commands(workspace):
    proc = run("--help", cwd=workspace)
    assert proc.returncode == 0
    for command in ("query", "explain", "sources", "tables", "describe", "health", "stats", "demo"):
        assert command in proc.stdout


def test_query_prints_a_table(workspace):
    proc = run("query", "SELECT name, role FROM state.agents WHERE role = $role ORDER BY name LIMIT 2",
               "--param", "role=coder", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    assert "coder-1 " in proc.stdout and "(2 rows)" in proc.stdout


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_output_formats_parse_back(workspace, fmt):
    sql = "SELECT id, name, load FROM state.agents JOIN state.agent_state ON agent_id = id ORDER BY id LIMIT 3"
    proc = run("query", sql, "--format", fmt, cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(proc.stdout)))
        assert [r["id"] for r in rows] == ["agent-001", "agent-002", "agent-003"]
        float(rows[0]["load"])
    elif fmt == "json":
        rows = json.loads(proc.stdout)
        assert [r["id"] for r in rows] == ["agent-001", "agent-002", "agent-003"]
        assert isinstance(rows[0]["load"], float)
    else:
        lines = proc.stdout.strip().splitlines()
        assert lines[0].startswith("|") and "id" in lines[0] and len(lines) == 5


def test_query_from_stdin_file_and_to_output(workspace, tmp_path):
    proc = run("query", "--format", "csv", cwd=workspace, stdin="SELECT COUNT(*) AS n FROM state.agents;")
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["n", "40"]
    query = tmp_path / "q.sql"
    query.write_text("-- agents per role\nSELECT role, COUNT(*) AS n FROM state.agents GROUP BY role ORDER BY role\n")
    out = tmp_path / "out.json"
    proc = run("query", "--file", str(query), "--format", "json", "--output", str(out), cwd=workspace)
    assert proc.returncode == 0 and proc.stdout == ""
    assert sum(r["n"] for r in json.loads(out.read_text())) == 40


def test_config_option(workspace, tmp_path):
    proc = run("query", "SELECT COUNT(*) AS n FROM graph.Agent", "--config", str(workspace / "federation.toml"),
               "--format", "csv", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["n", "40"]


def test_explain_sources_tables_describe(workspace):
    proc = run("explain", "SELECT a.name FROM graph.Agent a JOIN state.agent_state s ON s.agent_id = a.id", cwd=workspace)
    assert proc.returncode == 0 and "MATCH (n:`Agent`)" in proc.stdout and "SQLite state:" in proc.stdout
    proc = run("sources", cwd=workspace)
    assert proc.returncode == 0 and all(s in proc.stdout for s in ("state", "graph", "knowledge"))
    proc = run("tables", "graph", cwd=workspace)
    assert proc.returncode == 0 and "COLLABORATES_WITH" in proc.stdout and "agents" not in proc.stdout
    proc = run("describe", "knowledge.facts", cwd=workspace)
    assert proc.returncode == 0 and "vector" in proc.stdout


def test_query_error_exits_1_with_caret_and_no_traceback(workspace):
    proc = run("query", "SELECT name\nFROM state.agents\nWHERE", cwd=workspace)
    assert proc.returncode == 1
    assert "line 3" in proc.stderr and "^" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run("query", "SELECT nmae FROM state.agents", cwd=workspace)
    assert proc.returncode == 1 and "Did you mean 'name'?" in proc.stderr


def test_usage_errors_exit_2(workspace):
    assert run("query", "SELECT 1", "--format", "xml", cwd=workspace).returncode == 2
    assert run("query", "SELECT $x", "--param", "novalue", cwd=workspace).returncode == 2
    assert run("frobnicate", cwd=workspace).returncode == 2


def test_missing_config_is_a_clear_error(tmp_path):
    proc = run("sources", cwd=tmp_path)
    assert proc.returncode == 1 and "federation.toml does not exist" in proc.stderr


def test_demo_builds_and_runs_every_showcase_query(tmp_path):
    proc = run("demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for title, _, _ in SHOWCASE:
        assert title in proc.stdout
    assert proc.stdout.count("Plan:") == len(SHOWCASE)
    assert (tmp_path / "demo" / "federation.toml").is_file()


def test_health_exits_1_when_a_source_is_unhealthy(workspace, tmp_path):
    config = tmp_path / "federation.toml"
    config.write_text(f'[sources.state]\ntype = "sqlite"\npath = "{workspace / "state.db"}"\n')
    proc = run("health", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"│ state +│ sqlite +│ ok +│ +[\d.]+ │ modified ", proc.stdout), proc.stdout
    config.write_text(config.read_text() + '\n[sources.gone]\ntype = "sqlite"\npath = "gone.db"\n')
    proc = run("health", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False and [s["status"] for s in report["sources"]] == ["ok", "missing"]
    assert "gone.db does not exist" in report["sources"][1]["detail"]


def test_stats_runs_a_workload(workspace, tmp_path):
    workload = tmp_path / "workload.sql"
    workload.write_text("SELECT name FROM state.agents WHERE role = $role;\n"
                        "SELECT COUNT(*) FROM graph.Agent a JOIN state.agents s ON s.id = a.id;\n")
    proc = run("stats", "--run", str(workload), "--repeat", "3", "--param", "role=coder", "--format", "json",
               cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["queries"], report["cached"], report["errors"]) == (6, 4, 0)
    sources = {s["name"]: s for s in report["sources"]}
    assert (sources["state"]["queries"], sources["state"]["fragments"]) == (6, 2)
    assert (sources["graph"]["queries"], sources["graph"]["fragments"], sources["knowledge"]["queries"]) == (3, 1, 0)
    assert sources["graph"]["latency"]["p50_ms"] > 0 and report["cache"]["hit_ratio"] > 0
    # a failing statement is reported, the rest runs, and the exit code says so
    workload.write_text("SELECT nmae FROM state.agents;\nSELECT COUNT(*) AS n FROM state.agents;\n")
    proc = run("stats", "--run", str(workload), cwd=workspace)
    assert proc.returncode == 1
    assert f"Error in statement 1 of {workload}" in proc.stderr and "Did you mean 'name'?" in proc.stderr
    assert re.search(r"│ state +│ sqlite +│ +1 │ +1 │", proc.stdout) and "queries: 1 (0 failed" in proc.stdout
    # no workload: nothing ran in this process, and it says how to get figures
    proc = run("stats", cwd=workspace)
    assert proc.returncode == 0 and "No queries ran" in proc.stderr and "--run FILE" in proc.stderr


def test_cli_docs_show_every_command_and_option():
    """docs/cli.md carries each command's --help (regenerated by `make docs`)."""
    from federation.cli import _parser

    page = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = _parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, sub in commands.items():
        start = page.index(f"<!-- help: {name} -->")
        block = page[start:page.index("<!-- /help -->", start)]
        for action in sub._actions:  # noqa: SLF001
            for option in action.option_strings:
                assert option in block, f"docs/cli.md: `{name}` lacks {option}; run make docs"
        assert f"## {name}" in page


LONG_QUERY = ("SELECT COUNT(*) FROM state.audit_log a CROSS JOIN state.audit_log b CROSS JOIN state.tasks c "
              "WHERE a.id + b.id > c.priority")


def test_ctrl_c_cancels_the_query_and_exits_130(workspace):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "federation", "query", LONG_QUERY], cwd=workspace,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # imports and planning done; the join is running
    assert proc.poll() is None, "the query should still be running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Cancelled" in err and "Traceback" not in err


def test_explain_json_from_the_cli(workspace):
    import json

    proc = run("explain", "--analyze", "--format", "json",
               "SELECT COUNT(*) AS n FROM state.agents a JOIN graph.Agent b ON a.id = b.id", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["totals"]["rows"] == 1
    assert [f["source"] for f in document["fragments"]] and all(f["actual_rows"] >= 0 for f in document["fragments"])


def test_explain_analyze_from_the_cli(workspace):
    proc = run("explain", "--analyze", "SELECT COUNT(*) FROM state.agents a JOIN graph.Agent b ON a.id = b.id",
               cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    assert "[40 rows" in proc.stdout and "1 rows from the steps above" in proc.stdout


def test_progress_shows_on_a_terminal_only(workspace):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "federation", "query", LONG_QUERY], cwd=str(workspace),
                          encoding="utf-8", timeout=60, dimensions=(24, 120))
    child.expect(r"running: \d/\d steps")
    child.sendintr()
    child.expect("Cancelled")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    # not a terminal: no progress text in the captured stderr
    proc = run("query", "SELECT COUNT(*) FROM state.agents", cwd=workspace)
    assert "running:" not in proc.stderr

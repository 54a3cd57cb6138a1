"""The %fql / %%fql magics through a real IPython shell, and the tour notebook run by a real kernel."""

from __future__ import annotations

import _thread
import hashlib
import json
import sqlite3
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

import federation
from federation.demo import build_workspace
from federation.magics import PlanText

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "examples" / "tour.ipynb"

EVIL = "x'; DROP TABLE agents; --"
AGENTS_QUERY = "SELECT id, name, role FROM state.agents WHERE role = $role ORDER BY id"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, source_guard) -> Path:
    """The demo workspace, plus one agent whose name is an injection attempt."""
    toml = build_workspace(tmp_path_factory.mktemp("magics") / "demo")
    with closing(sqlite3.connect(toml.parent / "state.db")) as con, con:
        con.execute(
            "INSERT INTO agents (id, name, role, team, created_at) VALUES (?, ?, 'coder', 'alpha', ?)",
            ("agent-evil", EVIL, "2024-11-04 09:00:00"),
        )
    source_guard.watch(toml.parent)
    return toml


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))  # no user profile, no history file
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=config)
        shell.run_line_magic("load_ext", "federation")
        try:
            yield shell
        finally:
            federation.magics.unload_ipython_extension(shell)
            InteractiveShell.clear_instance()


@pytest.fixture
def magics(ip, workspace):
    """The magics object, connected to the workspace with default settings."""
    ip.run_line_magic("fql", f"--config {workspace} --limit 20 --format pandas")
    return ip.magics_manager.registry["FQLMagic"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def html_of(ip, value) -> str:
    return ip.display_formatter.format(value)[0]["text/html"]


# ---------------------------------------------------------------- queries


def test_line_magic_returns_the_dataframe_of_the_query(ip, magics):
    ip.user_ns["role"] = "coder"
    df = ip.run_line_magic("fql", AGENTS_QUERY)
    assert type(df) is pd.DataFrame
    expected = magics.federation.query(AGENTS_QUERY, {"role": "coder"}).df()
    pd.testing.assert_frame_equal(df, expected)
    assert len(df) == 17  # 16 coders and the one added by the fixture


def test_cell_magic_stores_the_result_under_a_name(ip, magics):
    ip.user_ns["role"] = "reviewer"
    assert ip.run_cell_magic("fql", "result <<", AGENTS_QUERY) is None
    expected = magics.federation.query(AGENTS_QUERY, {"role": "reviewer"}).df()
    pd.testing.assert_frame_equal(ip.user_ns["result"], expected)


def test_run_cell_with_both_magics_and_assignment(ip, magics):
    ip.user_ns["role"] = "coordinator"
    assert ip.run_cell(f"coordinators = %fql {AGENTS_QUERY}").success
    assert ip.user_ns["coordinators"]["name"].tolist() == [f"coordinator-{i}" for i in range(1, 5)]
    assert ip.run_cell("%%fql --limit 2 top <<\n" + AGENTS_QUERY).success
    pd.testing.assert_frame_equal(ip.user_ns["top"], ip.user_ns["coordinators"])
    # a query may also start on the magic's own line
    assert ip.run_cell("%fql names << SELECT name FROM state.agents WHERE role = $role ORDER BY name").success
    assert ip.user_ns["names"]["name"].tolist() == sorted(f"coordinator-{i}" for i in range(1, 5))


def test_parameters_are_bound_values_never_text(ip, magics, workspace):
    db = workspace.parent / "state.db"
    before = sha256(db)
    ip.user_ns["evil"] = EVIL
    ip.user_ns["always"] = "' OR '1'='1"
    # The whole query runs in SQLite (bound there) ...
    assert ip.run_cell("rows = %fql SELECT id, name FROM state.agents WHERE name = $evil").success
    assert list(ip.user_ns["rows"].itertuples(index=False, name=None)) == [("agent-evil", EVIL)]
    assert ip.run_cell("%%fql none <<\nSELECT id FROM state.agents WHERE name = $always").success
    assert ip.user_ns["none"].empty
    # ... and across sources (bound in DuckDB).
    cross = "SELECT a.id FROM state.agents a JOIN graph.Agent g ON g.id = a.id WHERE a.name = $evil OR g.name = $always"
    assert ip.run_line_magic("fql", cross).empty
    assert ip.run_line_magic("fql", "SELECT COUNT(*) AS n FROM state.agents")["n"].tolist() == [41]
    assert sha256(db) == before


def test_a_missing_parameter_is_a_short_error_naming_it(ip, magics):
    ip.user_ns.pop("nowhere", None)
    with capture_output() as captured:
        result = ip.run_cell("%fql SELECT name FROM state.agents WHERE role = $nowhere")
    assert result.success and result.result is None
    assert captured.stderr.strip() == (
        "ParameterError: No value for $nowhere: define a notebook variable of that name"
    )


def test_explain_shows_the_plan_without_running(ip, magics):
    ip.user_ns["role"] = "coder"
    query = "SELECT a.name FROM graph.Agent a JOIN state.agents s ON s.id = a.id WHERE s.role = $role"
    plan = ip.run_line_magic("fql", f"--explain {query}")
    assert isinstance(plan, PlanText)
    assert plan == magics.federation.explain(query, {"role": "coder"})
    assert "Kuzu graph" in plan and "SQLite state" in plan
    # displayed as it reads, not as a quoted string
    assert ip.display_formatter.format(plan)[0]["text/plain"] == str(plan)
    # a plan needs no parameter values
    ip.user_ns.pop("unset", None)
    assert "$unset" in ip.run_line_magic("fql", "--explain SELECT name FROM state.agents WHERE role = $unset")


def test_fed_uses_a_federation_from_the_namespace(ip, magics, workspace):
    owned = magics.federation
    mine = federation.connect(workspace)
    try:
        ip.user_ns["mine"] = mine
        ip.run_line_magic("fql", "--fed mine")
        assert magics.federation is mine
        # the federation opened from --config was closed when it was replaced
        with pytest.raises(federation.FederationError, match="closed"):
            owned.query("SELECT 1")
        assert ip.run_line_magic("fql", "SELECT COUNT(*) AS n FROM graph.Agent")["n"].tolist() == [40]
        # ... but one the notebook owns is left open
        ip.run_line_magic("fql", f"--config {workspace}")
        assert magics.federation is not mine
        assert len(mine.query("SELECT name FROM state.agents")) == 41
    finally:
        mine.close()
    ip.user_ns["not_a_federation"] = 42
    with pytest.raises(UsageError, match="is a int, not a federation.Federation"):
        ip.run_line_magic("fql", "--fed not_a_federation")
    with pytest.raises(UsageError, match="no variable 'nothing_here'"):
        ip.run_line_magic("fql", "--fed nothing_here")


def test_config_reconnects_only_when_it_changes(ip, magics, workspace):
    first = magics.federation
    ip.run_line_magic("fql", f"--config {workspace}")
    assert magics.federation is first
    original = workspace.read_text()
    try:
        workspace.write_text(original + "\n# edited\n")
        ip.run_line_magic("fql", f"--config {workspace}")
        assert magics.federation is not first
        with pytest.raises(federation.FederationError, match="closed"):
            first.query("SELECT 1")
    finally:
        workspace.write_text(original)
    with capture_output() as captured:
        ip.run_line_magic("fql", f"--config {workspace.parent / 'missing.toml'}")
    assert captured.stderr.startswith("ConfigError: ")
    assert "Traceback" not in captured.stderr


def test_formats(ip, magics):
    query = "SELECT id, name FROM state.agents ORDER BY id LIMIT 5"
    expected = magics.federation.query(query)
    table = ip.run_line_magic("fql", f"--format arrow {query}")
    assert isinstance(table, pa.Table) and table.equals(expected.to_arrow())
    frame = ip.run_line_magic("fql", f"--format polars {query}")
    assert frame.equals(expected.pl())
    # a format given alone becomes the default
    ip.run_line_magic("fql", "--format arrow")
    assert isinstance(ip.run_line_magic("fql", query), pa.Table)


def test_no_cache_bypasses_the_cache(ip, magics, monkeypatch):
    fed = magics.federation
    run, asked = fed.query, []
    monkeypatch.setattr(fed, "query", lambda text, params, cache: asked.append(cache) or run(text, params, cache=cache))
    ip.run_line_magic("fql", "--no-cache SELECT 1 AS one")
    ip.run_line_magic("fql", "SELECT 1 AS one")
    assert asked == [False, True]


def test_a_missing_format_library_says_how_to_install_it(ip, magics, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # `import polars` now fails
    with capture_output() as captured:
        assert ip.run_line_magic("fql", "--format polars SELECT 1 AS one") is None
    assert captured.stderr.strip() == (
        "ImportError: --format polars needs polars: pip install 'federation[polars]' (or use --format arrow)"
    )


# ---------------------------------------------------------------- display


def test_results_display_as_a_short_table(ip, magics):
    query = "SELECT name, load FROM state.agent_state JOIN state.agents ON id = agent_id ORDER BY name"
    df = ip.run_line_magic("fql", f"--limit 3 {query}")
    assert len(df) == 40  # the object keeps every row; the limit is what is shown
    html = html_of(ip, df)
    assert html.count("<tr>") == 1 + 3 and "(40 rows, 3 shown)" in html
    assert '<td style="text-align: right">' in html  # numbers right-aligned
    text = ip.display_formatter.format(df)[0]["text/plain"]
    assert text.startswith("┌") and text.endswith("(40 rows, 3 shown)")
    # repeated column names, which pandas allows and Arrow's from_pandas does not
    twice = ip.run_line_magic("fql", "SELECT a.id, g.id FROM state.agents a JOIN graph.Agent g ON g.id = a.id")
    assert "<th style=\"text-align: left\">id</th>" * 2 in html_of(ip, twice)
    # a frame derived from a result is an ordinary DataFrame, shown as pandas shows it
    assert "fql-result" not in html_of(ip, df.head(10))
    assert "fql-result" not in html_of(ip, pd.DataFrame({"a": [1]}))


def test_limit_defaults(ip, magics):
    query = "SELECT id FROM state.tasks"
    assert "(20 shown)" not in html_of(ip, ip.run_line_magic("fql", query))
    assert ", 20 shown)" in html_of(ip, ip.run_line_magic("fql", query))
    ip.run_line_magic("fql", "--limit 5")
    assert ", 5 shown)" in html_of(ip, ip.run_line_magic("fql", query))
    ip.run_line_magic("config", "FQLMagic.limit = 7")
    assert magics.limit == 7
    arrow = ip.run_line_magic("fql", f"--format arrow {query}")
    assert ", 7 shown)" in html_of(ip, arrow)
    assert html_of(ip, arrow).count("<tr>") == 1 + 7
    with pytest.raises(UsageError, match="--limit must be 0 or more"):
        ip.run_line_magic("fql", "--limit -1")


# ---------------------------------------------------------------- errors


def test_an_error_is_short_with_the_caret_and_no_traceback(ip, magics, workspace):
    ip.user_ns["path"] = workspace
    with capture_output() as captured:
        result = ip.run_cell("%%fql\nSELECT name\nFROM state.agents\nWHERE")
    assert result.success and result.error_in_exec is None
    assert captured.stderr.startswith("QuerySyntaxError: Unexpected end of query")
    assert "3 | WHERE\n         ^" in captured.stderr
    assert "Traceback" not in captured.stderr + captured.stdout
    for options in ("", "--limit 3 ", "--config {path}  "):  # columns count from the query, after the options
        with capture_output() as captured:
            assert ip.run_cell("%fql " + options + "SELECT nmae FROM state.agents").success
        assert captured.stderr.strip() == "CatalogError: Unknown column 'nmae' (line 1, column 8). Did you mean 'name'?"


def test_usage_errors(ip, magics):
    with pytest.raises(UsageError, match="either --config or --fed"):
        ip.run_line_magic("fql", "--config a.toml --fed f")
    with pytest.raises(UsageError, match="unrecognized arguments: --nope"):
        ip.run_line_magic("fql", "--nope SELECT 1")
    with pytest.raises(UsageError, match="Nothing to store in 'x'"):
        ip.run_line_magic("fql", "x <<")


def test_without_a_federation(ip, magics):
    federation.magics.unload_ipython_extension(ip)
    federation.magics.load_ipython_extension(ip)  # a fresh start: no federation selected
    with capture_output() as captured:
        ip.run_line_magic("fql", "")
    assert captured.stdout.startswith("No federation")
    with pytest.raises(UsageError, match="No federation"):
        ip.run_line_magic("fql", "SELECT 1")


def test_interrupt_cancels_the_running_query(ip, magics):
    # 2000 x 2000 x 41 rows: well over ten seconds in SQLite unless it is cancelled
    slow = ("SELECT COUNT(*) AS n FROM state.audit_log a, state.audit_log b, state.agents c "
            "WHERE a.detail || b.detail || c.name LIKE '%zzz%'")
    timer = threading.Timer(0.5, _thread.interrupt_main)  # what a kernel interrupt does
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ip.run_line_magic("fql", slow)
    assert time.monotonic() - start < 5
    # the federation is still usable
    assert ip.run_line_magic("fql", "SELECT COUNT(*) AS n FROM state.tasks")["n"].tolist() == [300]


# ---------------------------------------------------------------- completion


def completions(ip, code: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(code, len(code))]


def test_completion_offers_table_names(ip, magics):
    assert completions(ip, "%fql SELECT * FROM sta") == [
        "state.agent_state", "state.agents", "state.audit_log", "state.tasks",
    ]
    assert completions(ip, "x = %fql SELECT * FROM graph.Co") == ["graph.COLLABORATES_WITH"]
    assert completions(ip, "%%fql top <<\nSELECT *\nFROM knowledge.f") == ["knowledge.facts"]
    assert completions(ip, "%%fql --f") == ["--fed", "--format"]
    # outside the magics, Python completion is untouched
    assert "state.agents" not in completions(ip, "sta")


def test_unload_closes_what_it_opened(ip, magics):
    fed = magics.federation
    federation.magics.unload_ipython_extension(ip)
    try:
        assert "fql" not in ip.magics_manager.magics["line"]
        with pytest.raises(federation.FederationError, match="closed"):
            fed.query("SELECT 1")
        assert magics.complete not in ip.Completer.custom_matchers
        assert pd.DataFrame not in ip.display_formatter.formatters["text/html"].type_printers
    finally:
        ip.extension_manager.loaded.discard("federation")
        ip.run_line_magic("load_ext", "federation")


# ---------------------------------------------------------------- the tour notebook


def test_tour_notebook_runs(tmp_path, monkeypatch):
    import nbclient
    import nbformat

    # A kernelspec for this interpreter, so the kernel imports this checkout.
    kernels = tmp_path / "jupyter" / "kernels" / "federation-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "federation test", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook builds its workspace in a temporary folder

    nb = nbformat.read(TOUR, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="federation-test", resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot made no image"
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "fql-result" in html and "shown)" in html
    stderr = "\n".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "CatalogError" in stderr and "Traceback" not in stderr

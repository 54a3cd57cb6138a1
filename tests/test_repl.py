"""The interactive shell: its lexer, input splitting, completion, meta-commands, and
the real thing driven through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from pygments.token import Comment, Keyword, Name, Number, Operator, String

import federation
from federation.completion import FQLCompleter
from federation.demo import build_workspace
from federation.lexer import FQLLexer, ends_statement, open_literal, split_statements
from federation.repl import COMMANDS, Shell, _parameters, history_file, is_complete, split_input

# Runs for minutes in SQLite unless cancelled: 2000 x 2000 x 40 x 40 rows.
LONG_QUERY = ("SELECT COUNT(*) FROM state.audit_log a CROSS JOIN state.audit_log b"
              " CROSS JOIN state.agents c CROSS JOIN state.agents d WHERE a.id + b.id > 0;")


@pytest.fixture(scope="module")
def config(tmp_path_factory, source_guard) -> Path:
    toml = build_workspace(tmp_path_factory.mktemp("repl") / "ws")
    source_guard.watch(toml.parent)
    return toml


@pytest.fixture(scope="module")
def fed(config):
    engine = federation.connect(config)
    try:
        yield engine
    finally:
        engine.close()


# ---------------------------------------------------------------- lexer


def tokens(text: str) -> list[tuple[object, str]]:
    return [(kind, value) for kind, value in FQLLexer().get_tokens(text) if value.strip()]


def test_lexer_highlights_fql():
    found = tokens("SELECT count(*), 'it''s', \"Odd Name\", 1.5, $who -- note\n"
                   "FROM GRAPH_TABLE (g MATCH (a:Agent)-[e:KNOWS]->(b) /* any */ COLUMNS (a.name))")
    assert (Keyword, "SELECT") in found and (Keyword, "GRAPH_TABLE") in found
    assert (Keyword, "MATCH") in found and (Keyword, "COLUMNS") in found
    assert (Name.Function, "count") in found
    assert (String.Escape, "''") in found
    assert (String.Name, "Odd Name") in found
    assert (Number.Float, "1.5") in found
    assert (Name.Variable, "$who") in found
    assert (Comment.Single, "-- note") in found
    assert (Comment.Multiline, " any ") in found
    assert (Operator, "-[") in found and (Operator, "]->") in found
    assert (Name, "name") in found  # a word after a dot is a name, even a keyword


def test_lexer_knows_every_function_and_graph_keyword():
    from federation.planner import FUNCTIONS

    for name in [*FUNCTIONS, "PATH_LENGTH"]:
        assert (Name.Function, name) in tokens(f"{name}(x)")
    for word in ("VECTOR_SEARCH", "ANY", "SHORTEST", "EXPLAIN", "DESCRIBE"):
        assert (Keyword, word) in tokens(word)
    assert (Operator, "<-[") in tokens("(a)<-[e]-(b)")
    assert (Keyword.Type, "INTEGER") in tokens("x::INTEGER")
    assert (Name, "text") in tokens("SELECT text FROM knowledge.facts")  # a type name only after ::


def test_statements_split_outside_strings_and_comments():
    text = "SELECT ';' AS a; -- ; no\nSELECT /* ; */ 2;\n SELECT \"x;\" FROM t"
    assert split_statements(text) == ["SELECT ';' AS a;", "-- ; no\nSELECT /* ; */ 2;", 'SELECT "x;" FROM t']
    assert split_statements("SELECT 1; -- the end\n") == ["SELECT 1;"]
    assert ends_statement("SELECT 1; -- done")
    assert not ends_statement("SELECT ';")
    assert not ends_statement("SELECT 1 /* ; */")
    assert not ends_statement("SELECT 1 -- ;")
    assert open_literal("SELECT 'it''s") == "string"
    assert open_literal('SELECT "a') == "name"
    assert open_literal("SELECT /* x") == "comment"
    assert open_literal("SELECT 'a' -- x") == "comment"
    assert open_literal("SELECT 'a'") is None


def test_parameter_names_skip_strings_and_comments():
    assert _parameters("SELECT $a, '$b', \"$c\" -- $d\n FROM t WHERE x = $e /* $f */") == {"a", "e"}
    assert _parameters("SELECT $a FROM") == set()  # unparseable: the query reports it


def test_input_is_complete_at_a_semicolon_or_a_meta_command():
    assert not is_complete("SELECT 1")
    assert not is_complete("SELECT ';'")
    assert is_complete("SELECT 1\nFROM t;")
    assert is_complete("SELECT 1; -- comment")
    assert is_complete(".tables")
    assert is_complete("quit")
    assert is_complete("")
    assert not is_complete("SELECT 1; SELECT 2")
    assert split_input("SELECT 1;\n.mode csv\nSELECT 2; SELECT\n3") == (
        ["SELECT 1;", ".mode csv", "SELECT 2;"], "SELECT\n3")
    assert split_input("SELECT\n.5;") == (["SELECT\n.5;"], "")  # `.5` continues a statement


# ---------------------------------------------------------------- completion


@pytest.fixture(scope="module")
def completer(fed) -> FQLCompleter:
    return FQLCompleter(fed)


def complete(completer: FQLCompleter, text: str) -> list[str]:
    """The completions with the cursor at `|` (default: the end)."""
    cursor = text.find("|")
    text = text.replace("|", "")
    document = Document(text, cursor if cursor >= 0 else len(text))
    return [c.text for c in completer.get_completions(document, CompleteEvent(completion_requested=True))]


def test_complete_tables_after_from_and_join(completer):
    assert complete(completer, "SELECT * FROM state.ag") == ["agent_state", "agents"]
    assert complete(completer, "SELECT * FROM ag")[:3] == ["state.agent_state", "state.agents", "graph.Agent"]
    assert "graph" in complete(completer, "SELECT * FROM gr")
    assert "state.tasks" in complete(completer, "SELECT *\nFROM state.agents a\n  LEFT JOIN ")
    assert "state.tasks" in complete(completer, "SELECT * FROM state.agents, ")
    assert complete(completer, "DESCRIBE graph.C") == ["COLLABORATES_WITH"]
    assert complete(completer, "SHOW TABLES FROM k") == ["knowledge"]


def test_complete_columns_after_an_alias(completer):
    assert complete(completer, "SELECT a.| FROM state.agents a") == ["created_at", "id", "name", "role", "team"]
    assert complete(completer, "SELECT * FROM state.agents AS a JOIN state.tasks t ON t.st") == ["status"]
    assert complete(completer, "SELECT agents.na| FROM state.agents") == ["name"]
    assert complete(completer, "SELECT x.| FROM (SELECT name, role AS r FROM state.agents) x") == ["name", "r"]
    assert complete(completer, "WITH w AS (SELECT id FROM state.tasks) SELECT w.| FROM w") == ["id"]
    assert complete(completer, "SELECT g.| FROM GRAPH_TABLE (graph MATCH (a:Agent)"
                               " COLUMNS (a.name, a.id AS agent)) AS g") == ["agent", "name"]
    assert "_distance" in complete(completer, "SELECT f.| FROM VECTOR_SEARCH(knowledge.facts, 'x') AS f")
    assert "topic" in complete(completer, "SELECT f.| FROM VECTOR_SEARCH((SELECT * FROM knowledge.facts"
                                          " WHERE topic = 'x'), 'q', top_k => 3) f")
    # only the statement around the cursor counts
    assert complete(completer, "SELECT 1 FROM state.tasks a; SELECT a.| FROM graph.Agent a") == ["id", "name", "role"]


def test_complete_in_graph_patterns(completer):
    assert complete(completer, "SELECT * FROM GRAPH_TABLE(") == ["graph"]
    assert complete(completer, "SELECT * FROM GRAPH_TABLE (graph MATCH (x:") == ["Agent", "Epic", "Feature", "Task"]
    assert complete(completer, "SELECT * FROM GRAPH_TABLE (graph MATCH (x:Agent)-[:C") == ["COLLABORATES_WITH"]
    assert "ASSIGNED_TO" in complete(completer, "SELECT * FROM GRAPH_TABLE (graph MATCH (x:Agent)<-[e:")
    assert complete(completer, "SELECT * FROM GRAPH_TABLE (graph MATCH (x:Agent {ro") == ["role"]
    assert complete(completer, "SELECT * FROM GRAPH_TABLE (graph MATCH (t:Task)-[:ASSIGNED_TO]->(x:Agent)"
                               " WHERE t.pr") == ["priority"]


def test_complete_keywords_functions_and_columns(completer):
    assert complete(completer, "sel") == ["select"]
    assert complete(completer, "EX") == ["EXPLAIN"]
    assert complete(completer, "SELECT COU") == ["COUNT"]
    assert complete(completer, "SELECT na| FROM state.agents") == ["name"]
    assert "WHERE" in complete(completer, "SELECT name FROM state.agents WH")
    assert "top_k => " in complete(completer, "SELECT * FROM VECTOR_SEARCH(knowledge.facts, 'q', t")
    assert complete(completer, "SELECT 'FROM sta") == []  # inside a string
    assert complete(completer, "SELECT 1 -- FROM sta") == []  # inside a comment


def test_complete_meta_commands(completer):
    assert complete(completer, ".ta") == [".tables"]
    assert complete(completer, ".tables s") == ["state"]
    assert complete(completer, ".describe state.ta") == ["state.tasks"]
    assert complete(completer, ".mode c") == ["csv"]
    assert complete(completer, ".explain SELECT * FROM state.aud") == ["audit_log"]
    assert complete(completer, ".hea") == [".health"]
    assert complete(completer, ".stats r") == ["reset"]
    assert set(COMMANDS) == set(complete(completer, "."))


def test_complete_read_paths(completer, tmp_path):
    (tmp_path / "report.fql").write_text("SELECT 1;")
    assert complete(completer, f".read {tmp_path}/rep") == ["ort.fql"]


def test_complete_parameters(fed):
    completer = FQLCompleter(fed, parameters={"role": "coder", "limit": 3})
    assert complete(completer, "SELECT * FROM state.agents WHERE role = $r") == ["$role"]


def test_completion_survives_a_broken_catalog(fed, monkeypatch):
    completer = FQLCompleter(fed)

    def broken():
        raise federation.SourceError("state", "database is locked")

    monkeypatch.setattr(fed.sources["state"], "tables", broken)
    assert complete(completer, "SELECT * FROM state.ag") == []
    assert "graph.Agent" in complete(completer, "SELECT * FROM ag")
    monkeypatch.undo()
    assert complete(completer, "SELECT * FROM state.ag") == ["agent_state", "agents"]  # asked again


def test_catalog_is_cached_until_refresh(fed, monkeypatch):
    completer = FQLCompleter(fed)
    assert complete(completer, "SELECT * FROM state.ag")
    calls = []
    monkeypatch.setattr(fed.sources["state"], "tables", lambda: calls.append(1) or {})
    assert complete(completer, "SELECT * FROM state.ag") == ["agent_state", "agents"]
    assert calls == []
    completer.refresh()
    assert complete(completer, "SELECT * FROM state.ag") == []
    assert calls == [1]


# ---------------------------------------------------------------- the shell, in-process


@pytest.fixture
def shell(fed) -> Shell:
    return Shell(fed, io.StringIO())


def output(shell: Shell, *commands: str) -> str:
    shell.out.seek(0)
    shell.out.truncate()
    for command in commands:
        shell.execute(command)
    return shell.out.getvalue()


def test_result_footer_counts_rows_and_time(shell):
    text = output(shell, "SELECT name FROM state.agents ORDER BY name;")
    assert re.search(r"^\(40 rows, \d+\.\d+ m?s(, cached)?\)$", text, re.MULTILINE), text
    shell.execute(".maxrows 10")
    text = output(shell, "SELECT name FROM state.agents ORDER BY name;")
    assert re.search(r"^\(40 rows, 10 shown, [\d.]+ m?s, cached\)$", text, re.MULTILINE), text
    assert text.count("│ ") == 11  # header and 10 rows
    shell.execute(".timer off")
    assert output(shell, "SELECT 1 AS one;").rstrip().endswith("(1 row)")


def test_modes(shell):
    assert output(shell, ".mode csv", "SELECT 1 AS a, 'x' AS b;").startswith("a,b\n1,x\n(1 row")
    assert output(shell, ".mode json", "SELECT 1 AS a;").startswith('[\n  {"a": 1}\n]\n(1 row')
    assert output(shell, ".mode markdown", "SELECT 1 AS a;").startswith("| a |\n| ---: |\n| 1 |")
    assert "Unknown mode 'xml'" in output(shell, ".mode xml")
    assert output(shell, ".mode") == "mode is markdown\n"


def test_session_parameters_bind_only_what_a_query_uses(shell):
    assert "No value for $role; set it with .params role=VALUE" in output(
        shell, "SELECT COUNT(*) AS n FROM state.agents WHERE role = $role;")
    shell.execute(".params role=coder limit=3 note='two words'")
    assert output(shell, ".params") == "$role = 'coder'\n$limit = 3\n$note = 'two words'\n"
    text = output(shell, "SELECT name FROM state.agents WHERE role = $role ORDER BY name LIMIT $limit;")
    assert "coder-1 " in text and "(3 rows" in text
    assert "(1 row" in output(shell, "SELECT 1 AS n;")  # unused session parameters are not passed
    shell.execute(".params clear limit")
    assert "$limit" not in output(shell, ".params")
    shell.execute(".params clear")
    assert output(shell, ".params").startswith("No parameters")


def test_errors_are_the_engines_message(shell):
    text = output(shell, "SELECT nmae FROM state.agents;")
    assert "Error: Unknown column 'nmae' (line 1, column 8). Did you mean 'name'?" in text
    text = output(shell, "SELECT name\nFROM state.agents\nWHERE;")
    assert "3 | WHERE;\n         ^" in text and "Traceback" not in text
    assert "Did you mean '.tables'" in output(shell, ".tabels")
    assert "Usage: .maxrows" in output(shell, ".maxrows -1")


def test_meta_commands(shell, tmp_path):
    assert "knowledge" in output(shell, ".sources")
    text = output(shell, ".tables graph")
    assert "COLLABORATES_WITH" in text and "audit_log" not in text and "(8 rows)" in text
    assert "estimate_hours" in output(shell, ".describe state.tasks")
    plan = output(shell, ".explain SELECT a.name FROM graph.Agent a JOIN state.agent_state s ON s.agent_id = a.id")
    assert "MATCH (n:`Agent`)" in plan and "SQLite state:" in plan  # (40 agents: the join runs in SQLite)
    assert "MATCH (n:`Agent`)" in output(shell, "EXPLAIN SELECT name FROM graph.Agent;")
    assert ".params [NAME=VALUE" in output(shell, ".help")
    script = tmp_path / "script.fql"
    script.write_text("-- a script\n.mode csv\nSELECT COUNT(*) AS n\n  FROM state.agents;\nSELECT 'b;' AS s;\n")
    assert output(shell, f".read {script}").startswith("n\n40\n(1 row")
    assert "b;" in shell.out.getvalue()
    assert "Cannot read" in output(shell, f".read {tmp_path / 'missing.fql'}")


def test_health_and_stats(shell):
    text = output(shell, ".health")
    for name, kind in (("state", "sqlite"), ("graph", "kuzu"), ("knowledge", "lancedb")):
        assert re.search(rf"│ {name} +│ {kind} +│ ok +│", text), text
    shell.execute(".stats reset")
    output(shell, "SELECT COUNT(*) AS n FROM graph.Agent a JOIN state.agents s ON s.id = a.id;")
    text = output(shell, ".stats")
    assert re.search(r"│ graph +│ kuzu +│ +1 │ +1 │", text) and "queries: 1 (0 failed" in text
    assert "cache: " in text
    shell.execute(".mode json")
    assert json.loads(output(shell, ".stats reset"))["queries"] == 1
    assert json.loads(output(shell, ".stats"))["queries"] == 0
    assert json.loads(output(shell, ".health"))["ok"] is True
    assert "Usage: .stats [reset]" in output(shell, ".stats everything")
    assert "Takes no arguments. Usage: .health" in output(shell, ".health now")


def test_explain_analyze(shell):
    text = output(shell, ".explain analyze SELECT COUNT(*) FROM state.agents")
    assert "Error" not in text and text.strip()


def test_piped_input_runs_as_a_script(config):
    script = ".mode csv\nSELECT COUNT(*) AS n FROM graph.Agent;\n.quit\nSELECT 'not reached';\n"
    proc = subprocess.run([sys.executable, "-m", "federation", "repl", "--config", str(config)],
                          input=script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("n\n40\n(1 row") and "not reached" not in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "federation", "repl", "--config", str(config)],
                          input="SELECT nmae FROM state.agents;", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Did you mean 'name'?" in proc.stdout


def test_history_file_location(monkeypatch, tmp_path):
    monkeypatch.setenv("FEDERATION_HISTORY", str(tmp_path / "h"))
    assert history_file() == tmp_path / "h"
    assert history_file(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("FEDERATION_HISTORY", "")
    assert history_file() is None
    monkeypatch.delenv("FEDERATION_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert history_file() == tmp_path / "federation" / "history"


# ---------------------------------------------------------------- through a terminal

PROMPT = "fql>"
CONTINUATION = r"\.\.\.>"


class Terminal:
    """`federation repl` in a pseudo-terminal."""

    def __init__(self, config: Path, history: Path, **env: str):
        env = dict(os.environ, TERM="xterm", FEDERATION_HISTORY=str(history), NO_COLOR="1",
                   PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="160", LINES="40", **env)
        self.child = pexpect.spawn(sys.executable, ["-m", "federation", "repl", "--config", str(config)],
                                   env=env, dimensions=(40, 160), encoding="utf-8", timeout=60,
                                   cwd=str(config.parent))
        self.expect("Type .help")
        self.expect(PROMPT)

    def expect(self, pattern: str) -> str:
        self.child.expect(pattern)
        return self.child.before + self.child.after

    def run(self, line: str, pattern: str) -> str:
        """Type `line` and Enter, wait for `pattern` and the next prompt."""
        self.child.send(line + "\r")
        text = self.expect(pattern)
        self.expect(PROMPT)
        return text

    def close(self) -> int:
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus


@pytest.fixture
def terminal(config, tmp_path):
    term = Terminal(config, tmp_path / "history")
    yield term
    if term.child.isalive():
        term.child.terminate(force=True)


def test_terminal_query_and_exit(terminal):
    text = terminal.run("SELECT name, role FROM state.agents WHERE role = 'coder' ORDER BY name LIMIT 2;",
                        r"\(2 rows, [\d.]+ m?s\)")
    assert "coder-1 " in text and "coder-10 " in text
    assert terminal.close() == 0


def test_terminal_multi_line_query(terminal):
    terminal.child.send("SELECT COUNT(*) AS agents_n\r")
    terminal.expect(CONTINUATION)
    terminal.child.send("FROM state.agents\r")
    terminal.expect(CONTINUATION)
    text = terminal.run(";", r"\(1 row, ")
    assert re.search(r"│ +40 │", text)


def test_terminal_tab_completes_a_table(terminal):
    terminal.child.send("SELECT COUNT(*) AS n FROM state.ag\t")
    terminal.expect("agents")  # both tables show in the menu
    terminal.child.send("s;\r")  # `agent` was inserted: the common part
    text = terminal.expect(r"\(1 row, ")
    assert re.search(r"│ +40 │", text)
    terminal.expect(PROMPT)
    # One match: it is inserted (the screen shows only what changed, so the
    # result is the proof).
    terminal.child.send("SELECT COUNT(*) AS n FROM state.aud\t")
    terminal.run(";", r"│ +2000 │")


def test_terminal_tab_completes_a_column(terminal):
    terminal.child.send("SELECT COUNT(*) AS n FROM state.agents a WHERE a.ro\t")
    text = terminal.run(" = 'coder';", r"\(1 row, ")
    assert "Error" not in text and re.search(r"│ +\d+ │", text)


def test_terminal_meta_command(terminal):
    text = terminal.run(".tables", r"\(13 rows\)")
    assert "audit_log" in text and "COLLABORATES_WITH" in text and "facts" in text
    terminal.run(".tabels", r"Did you mean '\.tables'")


def test_terminal_stats(terminal):
    terminal.run("SELECT COUNT(*) AS n FROM state.agents;", r"\(1 row")
    terminal.child.send(".sta\t")  # completes the command
    text = terminal.run("", r"cache: \d+ entries")
    assert re.search(r"│ state +│ sqlite +│ +1 │", text)


def test_terminal_error_shows_the_caret(terminal):
    text = terminal.run("SELECT name FROM state.agents WHERE;", r"\^")
    assert "Error: " in text and "1 | SELECT name FROM state.agents WHERE;" in text
    terminal.run("SELECT 1 AS still_alive;", r"\(1 row")


def test_terminal_ctrl_c_cancels_a_running_query(terminal):
    terminal.child.send(LONG_QUERY + " SELECT 'not-run' AS x;\r")
    terminal.expect(r"Ctrl-C cancels")  # the status line: the query is running
    terminal.child.sendintr()
    text = terminal.expect("Cancelled")
    text += terminal.expect(PROMPT)
    text += terminal.run("SELECT COUNT(*) AS n FROM graph.Agent;", r"│ +40 │")
    assert "│ not-run │" not in text  # the rest of the input was dropped
    assert terminal.close() == 0  # the cancelled query really stopped: closing does not wait for it


def test_terminal_ctrl_c_clears_the_input(terminal):
    terminal.child.send("SELECT nonsense")
    terminal.child.sendintr()
    terminal.expect(PROMPT)
    text = terminal.run("SELECT 2 AS two;", r"\(1 row")
    assert "Error" not in text and "│ two │" in text


def test_terminal_history_persists_across_sessions(config, tmp_path):
    history = tmp_path / "history"
    first = Terminal(config, history)
    first.run("SELECT 'first-session' AS marker;", r"\(1 row")
    assert first.close() == 0
    assert "SELECT 'first-session' AS marker;" in history.read_text(encoding="utf-8")

    second = Terminal(config, history)
    second.child.send("\x1b[A")  # Up: the previous session's query
    second.expect("first-session")
    text = second.run("", r"\(1 row")
    assert re.search(r"│ first-session │", text)
    assert second.close() == 0


def test_terminal_pager(config, tmp_path):
    term = Terminal(config, tmp_path / "history", PAGER="sed s/^/paged:/", MANPAGER="")
    try:
        term.child.send(".pager on\r")
        term.run(".pager", "paged:pager is on")
        term.run("SELECT 'x' AS through_the_pager;", r"paged:\(1 row")
        term.child.send(".pager off\r")
        term.run(".pager", r"(?<!paged:)pager is off")
        text = term.run("SELECT 'y' AS direct;", r"\(1 row")
        assert "paged:" not in text
        assert term.close() == 0
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)

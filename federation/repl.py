"""The interactive shell: ``federation repl``.

A prompt_toolkit session with FQL highlighting (``federation.lexer``), Tab
completion (``federation.completion``) and a history file. Input is sent when it
ends with a ``;`` outside strings and comments, or when it is a meta-command (a
line starting with ``.``). Each query runs in a worker thread so that Ctrl-C can
cancel it (``Federation.interrupt``) and keep the session.
"""

from __future__ import annotations

import json
import os
import pydoc
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.lexers import PygmentsLexer

from . import __version__
from .completion import FQLCompleter
from .engine import Federation, connect
from .errors import FederationError, did_you_mean
from .formatting import format_csv, format_json, format_markdown, format_table
from .lexer import FQLLexer, ends_statement, scan, split_statements
from .parser import parse

if TYPE_CHECKING:
    import pyarrow as pa

    from .result import Result

T = TypeVar("T")

PROMPT = "fql> "
CONTINUATION = "...> "
MODES = ("table", "csv", "json", "markdown")
DEFAULT_MAX_ROWS = 40
STATUS_AFTER = 0.5  # seconds before a running query shows a status line

# name -> (arguments, what it does); `.help` prints this table.
COMMANDS: dict[str, tuple[str, str]] = {
    ".help": ("", "show this help"),
    ".sources": ("", "list the configured sources"),
    ".tables": ("[SOURCE]", "list the tables (of one source) and refresh completion"),
    ".describe": ("SOURCE.TABLE", "list a table's columns"),
    ".explain": ("[analyze] QUERY", "show a query's plan; analyze runs it and reports each step"),
    ".timer": ("[on|off]", "show each query's time in the footer (default on)"),
    ".mode": ("[table|csv|json|markdown]", "how results are printed (default table)"),
    ".maxrows": ("[N|all]", f"rows shown in table mode (default {DEFAULT_MAX_ROWS})"),
    ".params": ("[NAME=VALUE ...|clear [NAME ...]]", "set, list or clear the values bound to $NAME"),
    ".read": ("FILE", "run the statements and meta-commands in a file"),
    ".pager": ("[on|off]", "show output through a pager (default off)"),
    ".health": ("", "probe each source: ok, missing, locked or corrupt, data version, latency"),
    ".stats": ("[reset]", "per-source queries, rows, latencies, errors; the cache hit ratio (reset: start again)"),
    ".quit": ("", "leave (also .exit or Ctrl-D)"),
    ".exit": ("", "leave"),
}


# ---------------------------------------------------------------- input


def split_input(text: str) -> tuple[list[str], str]:
    """The complete commands in ``text`` (statements with their ``;`` and
    meta-command lines), and the unfinished rest.

    A line is a meta-command when it starts with ``.`` (or is ``quit``/``exit``)
    and no statement is under way.
    """
    items: list[str] = []
    pending = ""
    for line in text.splitlines(keepends=True):
        if not split_statements(pending) and _is_meta(line):
            items.append(line.strip())
            pending = ""
            continue
        pending += line
        statements = split_statements(pending)
        if statements and ends_statement(pending):
            items.extend(statements)
            pending = ""
    statements = split_statements(pending)
    if len(statements) > 1:  # complete ones followed by an unfinished one
        items.extend(statements[:-1])
        pending = pending[pending.rindex(statements[-1]):]
    return items, pending if statements else ""


def is_complete(text: str) -> bool:
    """Whether Enter should send ``text``: nothing is left unfinished."""
    return not split_input(text)[1]


def _is_meta(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(".") or stripped.lower() in ("quit", "exit")


# ---------------------------------------------------------------- the shell


@dataclass
class Settings:
    mode: str = "table"
    max_rows: int | None = DEFAULT_MAX_ROWS
    timer: bool = True
    pager: bool = False
    params: dict[str, object] = field(default_factory=dict)


class Quit(Exception):
    """Raised by .quit / .exit."""


class Cancelled(Exception):
    """Ctrl-C stopped a running query; the rest of the input is dropped."""


class Shell:
    """Runs what the user types: statements and meta-commands, printing to ``out``."""

    def __init__(self, fed: Federation, out: TextIO):
        self.fed = fed
        self.out = out
        self.settings = Settings()
        self.completer = FQLCompleter(fed, COMMANDS, parameters=self.settings.params)
        self._reading: list[Path] = []
        self.failed = False  # whether any command failed (the exit code of a piped script)

    # ------------------------------------------------------------ running input
    def execute(self, text: str) -> None:
        """Run every command in ``text``; an unfinished last statement runs as it is."""
        items, rest = split_input(text)
        for item in items + ([rest.strip()] if rest.strip() else []):
            if _is_meta(item):
                self.meta(item)
            else:
                self.statement(item)

    def statement(self, text: str) -> None:
        used = _parameters(text)
        missing = sorted(used - set(self.settings.params))
        if missing:
            names = ", ".join(f"${n}" for n in missing)
            self.error(f"No value for {names}; set it with .params {missing[0]}=VALUE")
            return
        params = {k: v for k, v in self.settings.params.items() if k in used}
        explain = _first_word(text) == "EXPLAIN"
        ok, value, elapsed = self._run(lambda progress: self.fed.query(text, params, progress=progress))
        if not ok:
            return
        if explain:
            self.write("\n".join(str(line) for line in value.to_arrow().column(0).to_pylist()))
        else:
            self.show(value, elapsed)

    def _run(self, work: Callable[[Callable[[int, int], None]], T]) -> tuple[bool, T | None, float]:
        """Run ``work(progress)`` so that Ctrl-C cancels it (``Federation.run_cancellable``).

        Returns (succeeded, value, seconds) and prints the error of a failure. On
        Ctrl-C it stops the query and raises Cancelled.
        """
        steps = [0, 0]
        started = time.perf_counter()
        status = _Status(self.out)

        def progress(finished: int, total: int) -> None:
            steps[:] = [finished, total]

        def tick() -> None:
            elapsed = time.perf_counter() - started
            if elapsed > STATUS_AFTER:
                step = f"step {min(steps[0] + 1, steps[1])} of {steps[1]}, " if steps[1] else ""
                status.show(f"running: {step}{elapsed:.1f} s (Ctrl-C cancels)")

        try:
            value = self.fed.run_cancellable(lambda: work(progress), tick=tick)
        except KeyboardInterrupt:
            raise Cancelled from None
        except BaseException as exc:  # noqa: BLE001 - reported; the session goes on
            self._report(exc)
            return False, None, time.perf_counter() - started
        finally:
            status.clear()
        return True, value, time.perf_counter() - started

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, FederationError):
            self.error(f"Error: {exc}")
        else:  # a bug: say so, but keep the session
            self.error(f"Internal error (please report it): {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------ output
    def show(self, result: "Result", elapsed: float | None) -> None:
        table = result.to_arrow()
        limit = self.settings.max_rows if self.settings.mode == "table" else None
        shown = table.num_rows if limit is None else min(limit, table.num_rows)
        body = _render(table, self.settings.mode, limit)
        self.write("\n".join(part for part in (body, self.footer(table.num_rows, shown, elapsed, result.cached))
                             if part))

    def footer(self, rows: int, shown: int, elapsed: float | None, cached: bool = False) -> str:
        parts = ["1 row" if rows == 1 else f"{rows} rows"]
        if shown < rows:
            parts.append(f"{shown} shown")
        if self.settings.timer and elapsed is not None:
            parts.append(_duration(elapsed))
        if cached:
            parts.append("cached")
        return "(" + ", ".join(parts) + ")"

    def write(self, text: str) -> None:
        text = text if text.endswith("\n") else text + "\n"
        if self.settings.pager and self.out is sys.stdout and _isatty(self.out):
            # less: quit at once when it fits the screen, keep colours, do not wrap wide tables
            os.environ.setdefault("LESS", "-SRXF")
            pydoc.pager(text)
        else:
            self.out.write(text)
            self.out.flush()

    def error(self, message: str) -> None:
        self.failed = True
        if _colour(self.out):
            message = f"\x1b[31m{message}\x1b[0m"
        self.out.write(message + "\n")
        self.out.flush()

    # ------------------------------------------------------------ meta-commands
    def meta(self, line: str) -> None:
        command, _, rest = line.strip().partition(" ")
        command, rest = command.lower(), rest.strip()
        if command in ("quit", "exit", ".quit", ".exit"):
            raise Quit
        handler = getattr(self, "cmd_" + command[1:], None) if command in COMMANDS else None
        if handler is None:
            self.error(f"Unknown command {command!r}." + did_you_mean(command, COMMANDS)
                       + " Type .help for the commands.")
            return
        try:
            handler(rest)
        except _Usage as exc:
            args, _ = COMMANDS[command]
            self.error(f"{exc}. Usage: {command} {args}".rstrip())

    def cmd_help(self, rest: str) -> None:
        width = max(len(f"{name} {args}") for name, (args, _) in COMMANDS.items())
        lines = [f"  {f'{name} {args}':<{width}}  {text}" for name, (args, text) in COMMANDS.items()]
        self.write("\n".join([
            "Statements end with ';' and may span lines; parameters are written $name.",
            *lines,
            ("Tab completes; Up/Down and Ctrl-R search the history; Ctrl-C clears the input"
             " or cancels a running query; Ctrl-D leaves."),
        ]))

    def cmd_sources(self, rest: str) -> None:
        self._catalog("SHOW SOURCES")

    def cmd_tables(self, rest: str) -> None:
        self.completer.refresh()
        self._catalog("SHOW TABLES" + (f" FROM {_quote(rest)}" if rest else ""))

    def cmd_describe(self, rest: str) -> None:
        if not rest:
            raise _Usage("Name a table")
        source, dot, table = rest.partition(".")
        self._catalog(f"DESCRIBE {_quote(source)}.{_quote(table)}" if dot else f"DESCRIBE {_quote(source)}")

    def _catalog(self, statement: str) -> None:
        ok, result, _ = self._run(lambda progress: self.fed.query(statement))
        if ok:
            self.show(result, None)

    def cmd_explain(self, rest: str) -> None:
        first, _, query = rest.partition(" ")
        analyze = first.lower() == "analyze"
        text = query if analyze else rest
        if not text.strip():
            raise _Usage("Give a query")
        params = {k: v for k, v in self.settings.params.items() if k in _parameters(text)}
        ok, plan, _ = self._run(lambda progress: self.fed.explain(text, params, analyze=analyze))
        if ok:
            self.write(plan)

    def cmd_timer(self, rest: str) -> None:
        self.settings.timer = self._switch("timer", rest, self.settings.timer)

    def cmd_pager(self, rest: str) -> None:
        self.settings.pager = self._switch("pager", rest, self.settings.pager)

    def _switch(self, name: str, rest: str, current: bool) -> bool:
        if not rest:
            self.write(f"{name} is {'on' if current else 'off'}")
            return current
        if rest.lower() not in ("on", "off"):
            raise _Usage(f"Expected on or off, not {rest!r}")
        return rest.lower() == "on"

    def cmd_mode(self, rest: str) -> None:
        if not rest:
            self.write(f"mode is {self.settings.mode}")
        elif rest.lower() in MODES:
            self.settings.mode = rest.lower()
        else:
            raise _Usage(f"Unknown mode {rest!r}." + did_you_mean(rest, MODES))

    def cmd_maxrows(self, rest: str) -> None:
        if not rest:
            limit = self.settings.max_rows
            self.write(f"maxrows is {'all' if limit is None else limit}")
        elif rest.lower() == "all":
            self.settings.max_rows = None
        elif rest.isdigit() and int(rest) > 0:
            self.settings.max_rows = int(rest)
        else:
            raise _Usage(f"Expected a positive number or all, not {rest!r}")

    def cmd_params(self, rest: str) -> None:
        from .cli import parse_value

        params = self.settings.params
        try:
            words = shlex.split(rest)
        except ValueError as exc:
            raise _Usage(f"Cannot read the values: {exc}") from None
        if not words:
            if not params:
                self.write("No parameters; set one with .params NAME=VALUE")
            for name, value in params.items():
                self.write(f"${name} = {value!r}")
        elif words[0].lower() == "clear":
            for name in words[1:] or list(params):
                params.pop(name.lstrip("$"), None)
        else:
            values = {}
            for word in words:
                name, sep, value = word.partition("=")
                name = name.lstrip("$")
                if not sep or not name.isidentifier():
                    raise _Usage(f"Expected NAME=VALUE, not {word!r}")
                values[name] = parse_value(value)
            params.update(values)

    def cmd_health(self, rest: str) -> None:
        if rest:
            raise _Usage("Takes no arguments")
        # On the query thread, as queries: the probes use (and open) its connections.
        ok, report, _ = self._run(lambda progress: self.fed.health())
        if ok:
            self._show_report(report.table(), report.to_dict())

    def cmd_stats(self, rest: str) -> None:
        if rest.lower() not in ("", "reset"):
            raise _Usage(f"Expected reset or nothing, not {rest!r}")
        report = self.fed.stats(reset=bool(rest))
        self._show_report(report.sources_table(), report.to_dict(), report.summary())

    def _show_report(self, table: "pa.Table", data: dict, summary: str = "") -> None:
        """An operations report: JSON in json mode, else the table and a summary."""
        if self.settings.mode == "json":
            self.write(json.dumps(data, indent=2))
        else:
            self.write("\n".join(part for part in (_render(table, self.settings.mode, None), summary) if part))

    def cmd_read(self, rest: str) -> None:
        try:
            words = shlex.split(rest)
        except ValueError as exc:
            raise _Usage(f"Cannot read the file name: {exc}") from None
        if len(words) != 1:
            raise _Usage("Name one file")
        path = Path(words[0]).expanduser().resolve()
        if path in self._reading:
            self.error(f"{words[0]} is already being read (it reads itself)")
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error(f"Cannot read {words[0]}: {exc.strerror if isinstance(exc, OSError) else exc}")
            return
        self._reading.append(path)
        try:
            self.execute(text)
        finally:
            self._reading.pop()


class _Usage(Exception):
    """A meta-command's arguments are wrong; the message says how."""


class _Status:
    """A one-line status on a terminal, drawn over and erased with carriage returns."""

    def __init__(self, out: TextIO):
        self.out = out if _isatty(out) else None
        self.width = 0

    def show(self, text: str) -> None:
        if self.out is None:
            return
        self.out.write("\r" + text.ljust(self.width))
        self.out.flush()
        self.width = max(self.width, len(text))

    def clear(self) -> None:
        if self.out is not None and self.width:
            self.out.write("\r" + " " * self.width + "\r")
            self.out.flush()
            self.width = 0


# ---------------------------------------------------------------- helpers


def _render(table: "pa.Table", mode: str, max_rows: int | None) -> str:
    """The result in ``mode``, without format_table's own row-count footer."""
    if mode == "csv":
        return format_csv(table).rstrip("\n")
    if mode == "json":
        return format_json(table)
    if mode == "markdown":
        return format_markdown(table)
    if table.num_columns == 0:
        return ""
    return format_table(table, max_rows=max_rows).rsplit("\n", 1)[0]


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def _first_word(text: str) -> str:
    code = [t for t in scan(text)[0] if t[3] and t[2].strip()]
    return code[0][2].upper() if code else ""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _colour(out: TextIO) -> bool:
    return _isatty(out) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def history_file(path: str | Path | None = None) -> Path | None:
    """Where the history lives: ``path``, else $FEDERATION_HISTORY (empty: no file),
    else $XDG_DATA_HOME/federation/history (~/.local/share/federation/history)."""
    if path is None:
        path = os.environ.get("FEDERATION_HISTORY")
        if path == "":
            return None
    if path is None:
        data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        path = Path(data) / "federation" / "history"
    return Path(path).expanduser()


# ---------------------------------------------------------------- entry points


def run(fed: Federation, *, history_path: str | Path | None = None, out: TextIO | None = None) -> int:
    """The interactive loop over ``fed``; returns the exit code.

    When standard input is not a terminal, its text runs as a script (like .read)
    and the exit code is 1 if any command failed.
    """
    out = out or sys.stdout
    shell = Shell(fed, out)
    if not sys.stdin.isatty():
        try:
            shell.execute(sys.stdin.read())
        except Quit:
            pass
        except (Cancelled, KeyboardInterrupt):
            shell.error("Cancelled")
            return 130
        return 1 if shell.failed else 0
    session = _session(shell, history_path)
    out.write(f"federation {__version__}: FQL over {', '.join(fed.sources) or 'no sources'}."
              " Type .help for help, Ctrl-D to leave.\n")
    while True:
        try:
            text = session.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C while editing: drop the input
        except EOFError:
            return 0
        try:
            shell.execute(text)
        except Quit:
            return 0
        except (Cancelled, KeyboardInterrupt):  # the rest of the input is dropped too
            shell.error("Cancelled")


def _session(shell: Shell, history_path: str | Path | None) -> PromptSession:
    path = history_file(history_path)
    history: History = InMemoryHistory()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            history = FileHistory(str(path))
        except OSError as exc:
            shell.error(f"History is not saved: cannot write {path} ({exc.strerror})")

    session: PromptSession = PromptSession(
        PROMPT,
        # Enter inserts a newline until the input is complete (Esc Enter sends it anyway).
        multiline=Condition(lambda: not is_complete(session.default_buffer.text)),
        prompt_continuation=lambda width, line, soft_wrap: CONTINUATION.rjust(width),
        history=history,
        lexer=PygmentsLexer(FQLLexer),
        completer=shell.completer,
        complete_while_typing=False,
        auto_suggest=AutoSuggestFromHistory(),
        search_ignore_case=True,
    )
    return session


def main(config: str | Path = "federation.toml", *, history_path: str | Path | None = None) -> int:
    """Connect to ``config`` and run the shell (``federation repl``)."""
    with connect(config) as fed:
        return run(fed, history_path=history_path)


def _parameters(text: str) -> set[str]:
    """The ``$names`` a statement uses; none when it does not parse (running it then
    reports the syntax error, with its caret)."""
    try:
        return parse(text).parameters()
    except FederationError:
        return set()

"""The ``federation`` command.

Exit codes: 0 success, 1 a query or source error (printed without a traceback) or an
unhealthy source (``health``), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import FederationError, QueryCancelled

FORMATS = ("table", "csv", "json", "markdown")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="federation",
        description="One query over SQLite, Kuzu and LanceDB: SQL plus GRAPH_TABLE and VECTOR_SEARCH.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--config", "-c", default="federation.toml",
                         help="federation TOML file (default: ./federation.toml)")
        return sub

    query = with_config(commands.add_parser("query", help="run a query and print its result"))
    query.add_argument("sql", nargs="?", help="the FQL query; '-' or omitted reads standard input")
    query.add_argument("--file", "-f", type=Path, help="read the query from a file")
    query.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                       help="bind $NAME; VALUE is parsed as a number, true/false/null, or kept as text")
    query.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    query.add_argument("--output", "-o", type=Path, help="write the result to a file instead of stdout")
    query.add_argument("--max-rows", type=int, default=40, help="rows shown in table format (default: 40)")
    query.add_argument("--no-cache", action="store_true", help="bypass the result cache")

    explain = with_config(commands.add_parser("explain", help="show a query's plan and fragments"))
    explain.add_argument("sql", nargs="?", help="the FQL query; '-' or omitted reads standard input")
    explain.add_argument("--file", "-f", type=Path, help="read the query from a file")
    explain.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                         help="bind $NAME, as for query")
    explain.add_argument("--analyze", action="store_true",
                         help="run the query and show each step's rows, time and cache use")
    explain.add_argument("--format", choices=["text", "json"], default="text",
                         help="text for people, json for tools (default: text)")

    with_config(commands.add_parser("sources", help="list the configured sources"))
    tables = with_config(commands.add_parser("tables", help="list tables, of all sources or one"))
    tables.add_argument("source", nargs="?", help="only this source's tables")
    describe = with_config(commands.add_parser("describe", help="list a table's columns"))
    describe.add_argument("table", help="SOURCE.TABLE")
    # The interactive shell (federation/repl.py).
    with_config(commands.add_parser("repl", help="an interactive shell: completion, history, meta-commands"))
    # Operations (federation/health.py, federation/stats.py).
    health = with_config(commands.add_parser("health", help="probe each source; exit 1 if any is unhealthy"))
    health.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    stats = with_config(commands.add_parser(
        "stats", help="run a workload and show per-source counts, latencies and the cache hit ratio"))
    stats.add_argument("--run", type=Path, metavar="FILE",
                       help="run the statements of FILE (separated by ';') before showing the statistics")
    stats.add_argument("--repeat", type=int, default=1, metavar="N", help="run FILE N times (default: 1)")
    stats.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                       help="bind $NAME in the statements that use it, as for query")
    stats.add_argument("--no-cache", action="store_true", help="bypass the result cache")
    stats.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")

    demo = commands.add_parser("demo", help="build a sample multi-agent workspace and run showcase queries")
    demo.add_argument("path", nargs="?", default="federation-demo",
                      help="folder for the workspace (default: ./federation-demo)")
    return parser


def parse_value(text: str) -> object:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _params(items: list[str]) -> dict[str, object]:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _Usage(f"--param expects NAME=VALUE, got {item!r}")
        params[name.lstrip("$")] = parse_value(value)
    return params


def _query_text(args) -> str:
    if args.file is not None:
        return args.file.read_text(encoding="utf-8")
    if args.sql is None or args.sql == "-":
        if sys.stdin.isatty():
            raise _Usage("give a query as an argument, with --file, or on standard input")
        return sys.stdin.read()
    return args.sql


class _Usage(Exception):
    pass


def _render(table, fmt: str, max_rows: int | None) -> str:
    from .formatting import format_csv, format_json, format_markdown, format_table

    if fmt == "csv":
        return format_csv(table)
    if fmt == "json":
        return format_json(table)
    if fmt == "markdown":
        return format_markdown(table)
    return format_table(table, max_rows=max_rows)


PROGRESS_AFTER = 1.0  # seconds before a running query shows progress on a terminal


def _cancellable(fed, work):
    """Run ``work(progress)`` so that Ctrl-C cancels the query, showing progress on
    stderr once it has run for a second, if stderr is a terminal."""
    state = {"done": 0, "total": 0, "shown": False}
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        state.update(done=done, total=total)

    def tick() -> None:
        elapsed = time.monotonic() - started
        if elapsed > PROGRESS_AFTER and sys.stderr.isatty():
            steps = f"{state['done']}/{state['total']} steps" if state["total"] else "planning"
            sys.stderr.write(f"\r  running: {steps}, {elapsed:.1f} s ")
            sys.stderr.flush()
            state["shown"] = True

    try:
        return fed.run_cancellable(lambda: work(progress), tick=tick)
    except KeyboardInterrupt:
        raise QueryCancelled("The query was cancelled") from None
    finally:
        if state["shown"]:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _connect(args):
    from .engine import connect

    return connect(args.config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _run(args)
    except _Usage as exc:
        parser.error(str(exc))  # exits with 2
    except (KeyboardInterrupt, QueryCancelled):
        print("Cancelled", file=sys.stderr)
        return 130
    except FederationError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(args) -> int:
    if args.command == "demo":
        from .demo import run_demo

        run_demo(args.path)
        return 0
    if args.command == "repl":  # the interactive shell (federation/repl.py)
        from .repl import main as run_repl

        return run_repl(args.config)
    with _connect(args) as fed:
        if args.command == "query":
            text, params = _query_text(args), _params(args.param)
            result = _cancellable(fed, lambda progress: fed.query(text, params, cache=not args.no_cache,
                                                                  progress=progress))
            text = _render(result.to_arrow(), args.format, args.max_rows)
            text = text if text.endswith("\n") else text + "\n"
            if args.output:
                args.output.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
        elif args.command == "explain":
            text, params = _query_text(args), _params(args.param)
            print(_cancellable(fed, lambda progress: fed.explain(text, params, analyze=args.analyze, format=args.format)))
        elif args.command == "sources":
            print(_render(fed.query("SHOW SOURCES").to_arrow(), "table", None))
        elif args.command == "tables":
            statement = "SHOW TABLES" + (f' FROM "{args.source}"' if args.source else "")
            print(_render(fed.query(statement).to_arrow(), "table", None))
        elif args.command == "describe":
            source, dot, table = args.table.partition(".")
            name = f'"{source}"."{table}"' if dot else f'"{source}"'
            print(_render(fed.query(f"DESCRIBE {name}").to_arrow(), "table", None))
        elif args.command == "health":
            return _health(fed, args.format)
        elif args.command == "stats":
            return _stats(fed, args)
    return 0


def _health(fed, fmt: str) -> int:
    from .formatting import format_table

    report = fed.health()
    if fmt == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_table(report.table(), max_rows=None, max_width=60))
    return 0 if report.ok else 1


def _stats(fed, args) -> int:
    """Run the workload of ``--run`` (if any), then print the statistics; 1 if a
    statement failed (each failure is printed to stderr, and the rest still runs)."""
    from .formatting import format_table

    if args.repeat < 1:
        raise _Usage("--repeat must be at least 1")
    failed = 0
    if args.run is not None:
        from .lexer import split_statements
        from .parser import parse

        try:
            statements = split_statements(args.run.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise _Usage(f"cannot read {args.run}: {getattr(exc, 'strerror', None) or exc}") from None
        params = _params(args.param)
        for _ in range(args.repeat):
            for number, statement in enumerate(statements, 1):
                try:
                    used = parse(statement).parameters()
                    fed.query(statement, {k: v for k, v in params.items() if k in used}, cache=not args.no_cache)
                except QueryCancelled:
                    raise
                except FederationError as exc:
                    failed += 1
                    print(f"Error in statement {number} of {args.run}: {exc}", file=sys.stderr)
    report = fed.stats()
    if report.queries == 0:
        print("No queries ran: statistics are kept per process. Give --run FILE to run a workload here, or use"
              " fed.stats() or the REPL's .stats in a long-running process.", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_table(report.sources_table(), max_rows=None))
        print(report.summary())
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

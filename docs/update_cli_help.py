"""Regenerate the --help blocks in docs/cli.md from the real parser (run: make docs).

Each block sits between `<!-- help: COMMAND -->` and `<!-- /help -->`; the test
suite fails when a block differs from what the command prints, so the page cannot
drift from the code.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

PAGE = Path(__file__).with_name("cli.md")
BLOCK = re.compile(r"(<!-- help: ?(?P<command>[a-z]*) -->\n)(?P<body>.*?)(<!-- /help -->)", re.S)


def help_text(command: str) -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width; fix it
    from federation.cli import _parser

    parser = _parser()
    if command:
        parser = parser._subparsers._group_actions[0].choices[command]  # noqa: SLF001
    return parser.format_help()


def render(page: str) -> str:
    def block(match: re.Match) -> str:
        return f"{match.group(1)}```text\n{help_text(match.group('command'))}```\n{match.group(4)}"

    return BLOCK.sub(block, page)


if __name__ == "__main__":
    text = PAGE.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else "docs/cli.md is out of date: run make docs")
    PAGE.write_text(new, encoding="utf-8")

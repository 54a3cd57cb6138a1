"""Every example in docs/language.md, docs/planner.md and README.md runs against the demo workspace.

- A ```sql block must run without error. In docs/language.md it must also return at
  least one row, unless it has a `-- expect: empty` line (then it must return none)
  or a `-- expect: N rows` line (then exactly N).
- A ```text block that contains an error line (`<ErrorClass>: message`) is a query
  meant to fail: the lines before the error are the query, and the query must raise
  that class with exactly that message (a message ending in `...` is a prefix). Other
  text blocks (results, plans) are not run.
- A first line `-- params: {...}` gives the parameters as JSON. README examples carry
  no such line, so parameters they use get the defaults in README_PARAMS.

Examples that fail because of an engine bug are kept and marked as strict expected
failures in KNOWN_BUGS, keyed by a fragment of the example's text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

import federation

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "language.md"
README = ROOT / "README.md"

# Values for the $parameters that README examples use (README.md has no params lines).
README_PARAMS: dict[str, Any] = {"status": "active", "role": "coder", "question": "connection pooling"}

ERROR_CLASSES = (
    "QuerySyntaxError", "CatalogError", "ParameterError", "UnsupportedError",
    "SourceError", "ExecutionError", "ConfigError", "FederationError",
)
_ERROR_LINE = re.compile(r"^(%s): " % "|".join(ERROR_CLASSES))
_PARAMS_LINE = re.compile(r"^\s*--\s*params:\s*(\{.*\})\s*$")
_EXPECT_LINE = re.compile(r"^\s*--\s*expect:\s*(empty|(\d+)\s+rows?)\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")

# Engine bugs that make a documented example fail: a fragment of the example -> reason.
KNOWN_BUGS: dict[str, str] = {}


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    query: str
    params: dict[str, Any] | None  # None: no params line
    expect_rows: int | None  # None: at least one row (docs) / anything (README)
    error: str | None  # "<Class>: message" for a text block meant to fail

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def _blocks(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(fence line, language, content lines) of each fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, lang = match.group(1), match.group(2).lower()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # the closing fence
        yield start + 1, lang, body


def _example(path: Path, line: int, lang: str, body: list[str]) -> Example | None:
    params = None
    if body and (match := _PARAMS_LINE.match(body[0])):
        params = json.loads(match.group(1))
    expect_rows = None
    for text in body:
        if match := _EXPECT_LINE.match(text):
            expect_rows = 0 if match.group(1).lower() == "empty" else int(match.group(2))
    if lang == "sql":
        return Example(path, line, lang, "\n".join(body), params, expect_rows, None)
    if lang == "text":
        error_at = next((n for n, text in enumerate(body) if _ERROR_LINE.match(text)), None)
        if error_at is None or error_at == 0:
            return None  # a result or a plan, not a query
        query = "\n".join(body[:error_at])
        error = "\n".join(body[error_at:]).rstrip()
        return Example(path, line, lang, query, params, expect_rows, error)
    return None


def collect(path: Path) -> list[Example]:
    found = [_example(path, line, lang, body) for line, lang, body in _blocks(path)]
    return [e for e in found if e is not None]


def _param(example: Example) -> Any:
    for fragment, reason in KNOWN_BUGS.items():
        if fragment in example.query:
            return pytest.param(example, id=example.id, marks=pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(example, id=example.id)


DOC_EXAMPLES = collect(DOCS)
README_EXAMPLES = collect(README)
PLANNER_EXAMPLES = collect(ROOT / "docs" / "planner.md")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, source_guard) -> Iterator[federation.Federation]:
    from federation.demo import build_workspace

    toml = build_workspace(tmp_path_factory.mktemp("docs") / "ws")
    source_guard.watch(toml.parent)
    fed = federation.connect(toml)
    try:
        yield fed
    finally:
        fed.close()


def _params_for(example: Example) -> dict[str, Any]:
    if example.params is not None:
        return example.params
    if example.path == README:
        used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", example.query))
        missing = used - set(README_PARAMS)
        assert not missing, f"add a default for {sorted(missing)} to README_PARAMS"
        return {name: README_PARAMS[name] for name in used}
    return {}


def _check(example: Example, fed: federation.Federation) -> None:
    params = _params_for(example)
    if example.error is not None:
        with pytest.raises(federation.FederationError) as caught:
            fed.query(example.query, params)
        actual = f"{type(caught.value).__name__}: {caught.value}".rstrip()
        if example.error.endswith("..."):
            assert actual.startswith(example.error[:-3]), actual
        else:
            assert actual == example.error
        return
    result = fed.query(example.query, params)
    assert result.columns, "a statement returns at least one column"
    if example.expect_rows is not None:
        assert len(result) == example.expect_rows, result
    elif example.path == DOCS:
        assert len(result) >= 1, f"the example returns no rows; add `-- expect: empty` if that is meant\n{result}"


@pytest.mark.parametrize("example", [_param(e) for e in DOC_EXAMPLES])
def test_language_examples(example: Example, demo: federation.Federation) -> None:
    _check(example, demo)


@pytest.mark.parametrize("example", [_param(e) for e in README_EXAMPLES])
def test_readme_examples(example: Example, demo: federation.Federation) -> None:
    _check(example, demo)


@pytest.mark.parametrize("example", [_param(e) for e in PLANNER_EXAMPLES])
def test_planner_examples(example: Example, demo: federation.Federation) -> None:
    _check(example, demo)


def test_examples_are_found() -> None:
    # a broken fence parser would silently test nothing
    assert len([e for e in DOC_EXAMPLES if e.lang == "sql"]) >= 80
    assert len([e for e in DOC_EXAMPLES if e.error]) >= 20
    assert len(README_EXAMPLES) == 3


def test_every_known_bug_matches_an_example() -> None:
    texts = [e.query for e in DOC_EXAMPLES + README_EXAMPLES]
    for fragment in KNOWN_BUGS:
        assert sum(fragment in t for t in texts) == 1, fragment

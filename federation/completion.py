"""Context-aware Tab completion for the interactive shell.

The text before the cursor is usually an unfinished statement, which the Lark
parser rejects, so the completer reads tokens instead (``federation.lexer``): it
walks them keeping a stack of open brackets, which says whether the cursor sits
where a table goes (after FROM, JOIN, VECTOR_SEARCH( ...), inside a GRAPH_TABLE
node or edge pattern, or in an expression, where columns of the statement's
tables and aliases, functions and keywords fit.

The catalog is read once per session and per source (``refresh`` forgets it: the
REPL calls it on ``.tables``). Completion must never break typing, so any error
while completing yields no completions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from pygments.token import Comment, Keyword, Name, String, Whitespace, _TokenType

from .catalog import TableInfo, find_name
from .lexer import FUNCTION_NAMES, KEYWORDS, RESERVED_WORDS, open_literal, scan

if TYPE_CHECKING:
    from .engine import Federation

STATEMENT_STARTS = ("SELECT", "WITH", "EXPLAIN", "SHOW", "DESCRIBE")
VECTOR_OPTIONS = ("top_k", "metric", "column")
MODES = ("table", "csv", "json", "markdown")
# Keywords that end a FROM list at their bracket level.
_FROM_ENDS = {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT", "SELECT"}
_CLAUSES = {"SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "ON", "USING"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Tok:
    kind: _TokenType
    value: str

    @property
    def upper(self) -> str:
        return self.value.upper()

    def keyword(self, *words: str) -> bool:
        return self.kind in Keyword and self.upper in words

    @property
    def ident(self) -> str | None:
        """The name this token spells if it can be an identifier, else None."""
        if self.kind in String.Name:  # closed: an unterminated one is no name yet
            return _unquote(self.value) if len(self.value) > 1 and self.value.endswith('"') else None
        if self.kind in Name and self.kind not in Name.Variable:
            return self.value
        if self.kind in Keyword and self.upper not in RESERVED_WORDS:
            return self.value
        return None


def code_tokens(text: str) -> list[Tok]:
    """The tokens of ``text`` without whitespace and comments; a string or quoted
    name is one token."""
    tokens: list[Tok] = []
    in_literal = False
    for _, kind, value, in_code in scan(text)[0]:
        if kind in Whitespace or kind in Comment:
            in_literal = False
            continue
        if not in_code:
            if in_literal:
                last = tokens[-1]
                tokens[-1] = Tok(last.kind, last.value + value)
                continue
            in_literal = True
        else:
            in_literal = False
        tokens.append(Tok(kind, value))
    return tokens


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def quote(name: str) -> str:
    """``name`` as it must be written in a query: bare if it can be, else quoted."""
    if _WORD.fullmatch(name) and name.upper() not in RESERVED_WORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------- what the statement names


@dataclass
class Relation:
    """A table, subquery, GRAPH_TABLE or VECTOR_SEARCH that the statement names."""

    name: str  # the alias, or the table's name
    columns: tuple[str, ...]


@dataclass
class _Frame:
    """An open bracket at the cursor, and what the tokens inside it said."""

    kind: str  # root | paren | graph | vector | node | edge | brace | bracket
    clause: str = ""  # root/paren: the last clause keyword (FROM, WHERE, ...)
    phase: str = ""  # graph: source | match | pattern | where | columns
    source: str | None = None  # graph: its source
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)  # graph: variable -> (kind, label)
    label: str | None = None  # node/edge: its label
    args: int = 0  # vector: commas seen


def _frames(tokens: list[Tok]) -> list[_Frame]:
    """The stack of brackets open after ``tokens``, innermost last."""
    stack = [_Frame("root")]
    prev: Tok | None = None
    for i, tok in enumerate(tokens):
        top, value = stack[-1], tok.value
        if value == "(":
            if prev is not None and prev.keyword("GRAPH_TABLE"):
                stack.append(_Frame("graph", phase="source"))
            elif prev is not None and prev.keyword("VECTOR_SEARCH"):
                stack.append(_Frame("vector"))
            elif top.kind == "graph" and top.phase == "pattern":
                stack.append(_Frame("node"))
            else:
                stack.append(_Frame("paren"))
        elif value in ("-[", "<-["):
            stack.append(_Frame("edge"))
        elif value == "[":
            stack.append(_Frame("bracket"))
        elif value in ("]", "]->", "]-"):
            if top.kind in ("edge", "bracket"):
                stack.pop()
        elif value == "{":
            stack.append(_Frame("brace"))
        elif value == "}":
            if top.kind == "brace":
                stack.pop()
        elif value == ")":
            while len(stack) > 1:
                if stack.pop().kind in ("paren", "graph", "vector", "node"):
                    break
        elif top.kind == "graph":
            if top.phase == "source" and tok.ident:
                top.source, top.phase = tok.ident, "match"
            elif tok.keyword("MATCH"):
                top.phase = "pattern"
            elif tok.keyword("WHERE"):
                top.phase = "where"
            elif tok.keyword("COLUMNS"):
                top.phase = "columns"
        elif top.kind == "vector" and value == ",":
            top.args += 1
        elif top.kind in ("root", "paren") and tok.kind in Keyword and tok.upper in _CLAUSES:
            top.clause = tok.upper
        elif top.kind in ("node", "edge") and prev is not None and prev.value == ":" and tok.ident:
            top.label = tok.ident
            variable = tokens[i - 2].ident if i >= 2 else None
            if variable and len(stack) > 1 and stack[-2].kind == "graph":
                stack[-2].variables[variable.lower()] = (top.kind, tok.ident)
        prev = tok
    return stack


def _matching(tokens: list[Tok], open_at: int) -> int:
    """The index of the ``)`` closing the ``(`` at ``open_at`` (len(tokens) if none)."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].value == "(":
            depth += 1
        elif tokens[i].value == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens)


def _alias_at(tokens: list[Tok], i: int) -> str | None:
    """The alias written at ``tokens[i]`` (``AS name`` or a bare name), if any."""
    if i < len(tokens) and tokens[i].keyword("AS"):
        return tokens[i + 1].ident if i + 1 < len(tokens) else None
    if i < len(tokens) and tokens[i].ident and tokens[i].kind not in Name.Function:
        return tokens[i].ident
    return None


def _output_names(items: list[list[Tok]]) -> list[str]:
    """The column names of select-list or COLUMNS items: the alias, or the column's name."""
    names = []
    for item in items:
        if len(item) >= 2 and item[-2].keyword("AS") and item[-1].ident:
            names.append(item[-1].ident)
        elif item and item[-1].ident and (len(item) == 1 or item[-2].value == "."):
            names.append(item[-1].ident)
    return names


def _split_items(tokens: list[Tok]) -> list[list[Tok]]:
    """``tokens`` split at the commas outside brackets."""
    items: list[list[Tok]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.value in ("(", "[", "{", "-[", "<-["):
            depth += 1
        elif tok.value in (")", "]", "}", "]->", "]-"):
            depth -= 1
        if tok.value == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(tok)
    return [item for item in items if item]


# ---------------------------------------------------------------- the completer


class FQLCompleter(Completer):
    """Completes FQL and the REPL's meta-commands against a federation's catalog."""

    def __init__(self, fed: "Federation", meta_commands: Iterable[str] | None = None,
                 parameters: Mapping[str, object] | None = None):
        if meta_commands is None:
            from .repl import COMMANDS  # the REPL imports this module

            meta_commands = COMMANDS
        self.fed = fed
        self.meta_commands = tuple(meta_commands)
        # The REPL's session parameters, offered after `$` (it passes its live dict).
        self.parameters = parameters if parameters is not None else {}
        self._tables: dict[str, dict[str, TableInfo]] = {}
        self._paths = PathCompleter(expanduser=True)

    def refresh(self) -> None:
        """Forget the cached catalog (tables may have been added or changed)."""
        self._tables = {}

    # ------------------------------------------------------------ catalog
    def tables(self, source: str) -> dict[str, TableInfo]:
        """The tables of one source, cached; {} if it cannot be read right now."""
        if source not in self._tables:
            try:
                tables = dict(self.fed.sources[source].tables())
            except Exception:  # noqa: BLE001 - a broken source offers nothing, and is asked again
                return {}
            self._tables[source] = tables
        return self._tables[source]

    def _source(self, name: str) -> str | None:
        return find_name(name, self.fed.sources, key=lambda s: s)

    def _table(self, source: str | None, name: str) -> TableInfo | None:
        if source is not None:
            found = self._source(source)
            return find_name(name, self.tables(found).values(), key=lambda t: t.name) if found else None
        matches = [t for s in self.fed.sources
                   if (t := find_name(name, self.tables(s).values(), key=lambda t: t.name)) is not None]
        return matches[0] if len(matches) == 1 else None

    # ------------------------------------------------------------ entry point
    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        try:
            completions = list(self._complete(document, complete_event))
        except Exception:  # noqa: BLE001 - completion must never break typing
            return
        yield from completions

    def _complete(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        if before.lstrip().startswith("."):
            yield from self._meta(before.lstrip(), event)
        else:
            yield from self._sql(before, document.text_after_cursor)

    # ------------------------------------------------------------ meta-commands
    def _meta(self, text: str, event: CompleteEvent) -> Iterator[Completion]:
        command, space, rest = text.partition(" ")
        if not space:
            yield from _matches(text, self.meta_commands, "command")
            return
        rest = rest.lstrip()
        word = rest.rsplit(" ", 1)[-1] if " " in rest else rest
        command = command.lower()
        if command == ".tables" and " " not in rest:
            yield from _matches(word, self.fed.sources, "source")
        elif command == ".describe" and " " not in rest:
            yield from self._table_names(word)
        elif command == ".mode" and " " not in rest:
            yield from _matches(word, MODES, "mode")
        elif command in (".timer", ".pager") and " " not in rest:
            yield from _matches(word, ("on", "off"), "")
        elif command == ".stats" and " " not in rest:
            yield from _matches(word, ("reset",), "")
        elif command == ".params":
            yield from _matches(word, ("clear",), "")
        elif command == ".read":
            yield from self._paths.get_completions(Document(word), event)
        elif command == ".explain":
            first, _, query = rest.partition(" ")
            if " " not in rest:
                yield from _matches(rest, ("analyze",), "")
                query = rest
            elif first.lower() != "analyze":
                query = rest
            yield from self._sql(query, "")

    # ------------------------------------------------------------ FQL
    def _sql(self, before: str, after: str) -> Iterator[Completion]:
        if open_literal(before) is not None:
            return  # inside a string, a quoted name or a comment
        tokens_before = scan(before)[0]
        # The statement around the cursor: from the last `;` before it to the next after it.
        start = max((off + 1 for off, kind, value, code in tokens_before if code and value == ";"), default=0)
        end = next((off for off, kind, value, code in scan(after)[0] if code and value == ";"), len(after))
        head = before[start:]
        statement = code_tokens(head + after[:end])
        word = re.search(r"\$?[A-Za-z0-9_]*$", head).group()
        if word[:1].isdigit():
            return
        head = head[: len(head) - len(word)]
        qualifier = None
        dotted = re.search(r'([A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")*")\s*\.\s*$', head)
        if dotted and not word.startswith("$"):
            qualifier = _unquote(dotted.group(1))
            head = head[: dotted.start()]
        tokens = code_tokens(head)

        if word.startswith("$"):
            yield from _matches(word, [f"${p}" for p in self.parameters], "parameter")
            return
        frames = _frames(tokens)
        prev = tokens[-1] if tokens else None
        if qualifier is not None:
            yield from self._qualified(qualifier, word, prev, tokens, frames, statement)
        else:
            yield from self._unqualified(word, prev, tokens, frames, statement)

    def _qualified(self, qualifier, word, prev, tokens, frames, statement) -> Iterator[Completion]:
        if _table_position(prev, tokens, frames[-1]) or (frames[-1].kind == "vector" and prev is not None
                                                          and prev.value == "(" and frames[-1].args == 0):
            source = self._source(qualifier)
            if source is not None:
                yield from self._tables_of(source, word)
            return
        graph = next((f for f in reversed(frames) if f.kind == "graph"), None)
        if graph is not None and graph.phase in ("where", "columns") and qualifier.lower() in graph.variables:
            info = self._graph_label(graph, *graph.variables[qualifier.lower()])
            if info is not None:
                yield from _matches(word, [quote(c) for c in info.column_names], "property")
            return
        relations = self.relations(statement)
        relation = relations.get(qualifier.lower())
        if relation is not None:
            yield from _matches(word, [quote(c) for c in relation.columns], f"{relation.name} column")
        elif (source := self._source(qualifier)) is not None:
            yield from self._tables_of(source, word)

    def _unqualified(self, word, prev, tokens, frames, statement) -> Iterator[Completion]:
        top = frames[-1]
        if not tokens:
            yield from _keywords(word, STATEMENT_STARTS)
            return
        if top.kind == "graph" and top.phase == "source":
            graphs = [s for s in self.fed.sources if any(t.kind == "node" for t in self.tables(s).values())]
            yield from _matches(word, graphs, "graph")
            return
        if top.kind == "graph" and top.phase == "match":
            yield from _keywords(word, ("MATCH",))
            return
        if top.kind in ("node", "edge"):
            graph = frames[-2] if len(frames) > 1 and frames[-2].kind == "graph" else None
            if graph is not None and prev is not None and prev.value == ":":
                kind = "node" if top.kind == "node" else "rel"
                labels = [t.name for t in self._graph_tables(graph, kind)]
                yield from _matches(word, [quote(n) for n in labels], "label" if kind == "node" else "rel type")
            return
        if top.kind == "brace" and len(frames) > 2 and frames[-2].kind in ("node", "edge"):
            graph = frames[-3]
            if prev is not None and prev.value in ("{", ",") and frames[-2].label and graph.kind == "graph":
                info = self._graph_label(graph, frames[-2].kind, frames[-2].label)
                if info is not None:
                    yield from _matches(word, [quote(c) for c in info.column_names], "property")
            return
        if top.kind == "graph" and top.phase == "pattern":
            yield from _keywords(word, ("WHERE", "COLUMNS", "ANY", "SHORTEST"))
            return
        if top.kind == "vector" and prev is not None:
            if prev.value == "(" and top.args == 0:
                yield from self._table_names(word, kinds=("vector",))
                yield from _keywords(word, ("SELECT",))
                return
            if prev.value == "," and top.args >= 2:  # after the input and the query: the options
                yield from (Completion(f"{o} => ", -len(word), display=o, display_meta="option")
                            for o in VECTOR_OPTIONS if o.startswith(word.lower()))
        if (prev is not None and prev.keyword("FROM") and len(tokens) >= 3
                and tokens[-3].keyword("SHOW") and tokens[-2].keyword("TABLES")):
            yield from _matches(word, self.fed.sources, "source")
            return
        if _table_position(prev, tokens, top):
            yield from self._table_names(word)
            if prev is not None and not prev.keyword("DESCRIBE", "DESC"):
                yield from _keywords(word, ("GRAPH_TABLE", "VECTOR_SEARCH"))
            return
        graph = next((f for f in reversed(frames) if f.kind == "graph"), None)
        if graph is not None and graph.phase in ("where", "columns"):
            yield from _matches(word, list(graph.variables), "variable")
        relations = self.relations(statement)
        columns = dict.fromkeys(c for r in relations.values() for c in r.columns)
        yield from _matches(word, [quote(c) for c in columns], "column")
        yield from _matches(word, [quote(r.name) for r in relations.values()], "alias")
        yield from _keywords(word, FUNCTION_NAMES, meta="function")
        yield from _keywords(word, [k for k in KEYWORDS if k not in ("TRUE", "FALSE", "NULL")] + ["TRUE", "FALSE", "NULL"])

    # ------------------------------------------------------------ names
    def _table_names(self, word: str, kinds: tuple[str, ...] | None = None) -> Iterator[Completion]:
        """`source.table` names matching `word` by the whole name or the table's, then sources."""
        lowered = word.lower()
        for source in self.fed.sources:
            for name, info in sorted(self.tables(source).items()):
                if kinds is not None and info.kind not in kinds:
                    continue
                full = f"{quote(source)}.{quote(name)}"
                if full.lower().startswith(lowered) or name.lower().startswith(lowered):
                    yield Completion(full, -len(word), display_meta=info.kind)
        yield from _matches(word, [quote(s) for s in self.fed.sources], "source")

    def _tables_of(self, source: str, word: str) -> Iterator[Completion]:
        tables = self.tables(source)
        for name in sorted(tables):
            if name.lower().startswith(word.lower()):
                yield Completion(quote(name), -len(word), display_meta=tables[name].kind)

    def _graph_tables(self, graph: _Frame, kind: str) -> list[TableInfo]:
        source = self._source(graph.source) if graph.source else None
        if source is None:
            return []
        return [t for _, t in sorted(self.tables(source).items()) if t.kind == kind]

    def _graph_label(self, graph: _Frame, kind: str, label: str) -> TableInfo | None:
        return find_name(label, self._graph_tables(graph, "node" if kind == "node" else "rel"), key=lambda t: t.name)

    def relations(self, tokens: list[Tok]) -> dict[str, Relation]:
        """The tables, subqueries, CTEs, GRAPH_TABLEs and VECTOR_SEARCHes a statement
        names, by lower-cased alias (or table name), with their columns."""
        found: dict[str, Relation] = {}

        def add(name: str | None, columns: Iterable[str]) -> None:
            if name:
                found[name.lower()] = Relation(name, tuple(columns))

        from_depths: set[int] = set()
        depth = 0
        for i, tok in enumerate(tokens):
            if tok.value == "(":
                depth += 1
            elif tok.value == ")":
                from_depths.discard(depth)
                depth -= 1
            elif tok.keyword("FROM", "JOIN") or (tok.value == "," and depth in from_depths):
                if tok.keyword("FROM"):
                    from_depths.add(depth)
                self._from_item(tokens, i + 1, found, add)
            elif tok.kind in Keyword and tok.upper in _FROM_ENDS:
                from_depths.discard(depth)
            elif tok.keyword("AS") and i + 1 < len(tokens) and tokens[i + 1].value == "(" and i >= 1:
                # WITH name AS (query): a CTE
                name = tokens[i - 1].ident
                close = _matching(tokens, i + 1)
                add(name, self._select_output(tokens[i + 2:close]))
        return found

    def _from_item(self, tokens: list[Tok], i: int, found: dict[str, Relation], add) -> None:
        if i >= len(tokens):
            return
        tok = tokens[i]
        if tok.keyword("GRAPH_TABLE", "VECTOR_SEARCH") and i + 1 < len(tokens) and tokens[i + 1].value == "(":
            close = _matching(tokens, i + 1)
            inner = tokens[i + 2:close]
            if tok.keyword("GRAPH_TABLE"):
                at = next((k for k, t in enumerate(inner) if t.keyword("COLUMNS")), None)
                columns = []
                if at is not None and at + 1 < len(inner) and inner[at + 1].value == "(":
                    end = _matching(inner, at + 1)
                    columns = _output_names(_split_items(inner[at + 2:end]))
            else:
                columns = self._vector_columns(inner)
            add(_alias_at(tokens, close + 1), columns)
        elif tok.value == "(":
            close = _matching(tokens, i)
            add(_alias_at(tokens, close + 1), self._select_output(tokens[i + 1:close]))
        elif tok.ident:
            source, name, after = None, tok.ident, i + 1
            if after + 1 < len(tokens) and tokens[after].value == "." and tokens[after + 1].ident:
                source, name, after = name, tokens[after + 1].ident, after + 2
            info = self._table(source, name)
            cte = found.get(name.lower()) if source is None else None
            columns = cte.columns if cte is not None else info.column_names if info is not None else ()
            alias = _alias_at(tokens, after)
            add(alias or (info.name if info is not None else name), columns)

    def _vector_columns(self, inner: list[Tok]) -> list[str]:
        """VECTOR_SEARCH's output: its table's columns and _distance."""
        if inner and inner[0].value == "(":
            inner = inner[1:_matching(inner, 0)]
            at = next((k for k, t in enumerate(inner) if t.keyword("FROM")), None)
            inner = inner[at + 1:] if at is not None else []
        if not inner or not inner[0].ident:
            return ["_distance"]
        if len(inner) >= 3 and inner[1].value == "." and inner[2].ident:
            info = self._table(inner[0].ident, inner[2].ident)
        else:
            info = self._table(None, inner[0].ident)
        return [*(info.column_names if info is not None else ()), "_distance"]

    def _select_output(self, tokens: list[Tok]) -> list[str]:
        """The column names of a subquery's (first) select list; `*` gives its tables' columns."""
        if not tokens or not tokens[0].keyword("SELECT"):
            return []
        depth, end = 0, len(tokens)
        for k, tok in enumerate(tokens):
            depth += tok.value == "("
            depth -= tok.value == ")"
            if depth == 0 and tok.kind in Keyword and tok.upper in _FROM_ENDS | {"FROM"} and k > 0:
                end = k
                break
        items = _split_items([t for t in tokens[1:end] if not t.keyword("DISTINCT")])
        if any(len(item) == 1 and item[0].value == "*" for item in items):
            inner = self.relations(tokens)
            return list(dict.fromkeys(c for r in inner.values() for c in r.columns))
        return _output_names(items)


def _table_position(prev: Tok | None, tokens: list[Tok], top: _Frame) -> bool:
    """Whether the next word names a table: after FROM, JOIN, DESCRIBE, or a FROM list's comma."""
    if prev is None:
        return False
    if prev.keyword("FROM", "JOIN"):
        return True
    if prev.keyword("DESCRIBE", "DESC"):
        return len(tokens) == 1
    return prev.value == "," and top.kind in ("root", "paren") and top.clause == "FROM"


def _matches(word: str, names: Iterable[str], meta: str) -> Iterator[Completion]:
    lowered = word.lower()
    for name in sorted(set(names), key=str.lower):
        if name.lower().startswith(lowered):
            yield Completion(name, -len(word), display_meta=meta)


def _keywords(word: str, names: Iterable[str], meta: str = "keyword") -> Iterator[Completion]:
    """Keywords in the case the user types them in: lower case after a lower-case start."""
    lower = word != "" and word == word.lower()
    for name in names:
        if name.lower().startswith(word.lower()):
            yield Completion(name.lower() if lower else name, -len(word), display_meta=meta)

"""FQL tokens for the interactive shell: a Pygments lexer, and the statement
splitting, completeness test and ``$parameter`` scan that the REPL builds on it.

The keywords are read from ``grammar/fql.lark`` and the function names from the
planner, so the highlighting never drifts from the language. Strings, quoted
names and block comments are lexer states: an unterminated one runs to the end
of the text, which is what tells the REPL that a ``;`` inside it ends nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pygments.lexer import RegexLexer, default, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
    _TokenType,
)

from .parser import grammar_path
from .planner import FUNCTIONS, TYPES

_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
CONSTANTS = ("TRUE", "FALSE", "NULL")
FUNCTION_NAMES = tuple(sorted({*FUNCTIONS, "PATH_LENGTH"}))
TYPE_NAMES = tuple(sorted(TYPES))


@lru_cache(maxsize=1)
def _grammar() -> str:
    return grammar_path().read_text(encoding="utf-8")


def grammar_keywords() -> tuple[str, ...]:
    """Every keyword of the grammar: its case-insensitive string literals that are words."""
    return tuple(sorted({word.upper() for word in re.findall(r'"([A-Za-z_]+)"i', _grammar())}))


def reserved_words() -> frozenset[str]:
    """The words a bare name cannot be (the grammar's NAME excludes them): quote them."""
    found = re.search(r"^NAME: /\(\?!\(\?i:([a-z_|]+)\)", _grammar(), re.MULTILINE)
    return frozenset(w.upper() for w in found.group(1).split("|")) if found else frozenset(KEYWORDS)


KEYWORDS = grammar_keywords()
RESERVED_WORDS = reserved_words()


class FQLLexer(RegexLexer):
    """Pygments lexer for FQL: SQL plus GRAPH_TABLE patterns and VECTOR_SEARCH."""

    name = "FQL"
    aliases = ["fql"]
    filenames = ["*.fql"]
    mimetypes = ["text/x-fql"]
    flags = re.IGNORECASE

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"--[^\n]*", Comment.Single),
            (r"/\*", Comment.Multiline, "block-comment"),
            (r"'", String.Single, "string"),
            (r'"', String.Name, "quoted-name"),
            (r"\$" + _WORD, Name.Variable),
            (r"(?:\d+\.\d+|\.\d+|\d+\.(?!\.))(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+", Number.Float),
            (r"\d+", Number.Integer),
            # Graph edges before the plain operators: -[e:T]->, <-[e:T]-, -[e:T]-
            (r"<-\[|\]->|-\[|\]-", Operator),
            (r"::", Operator, "type"),
            (r"\|\||=>|==|<>|!=|<=|>=|\.\.|[-+*/%<>=]", Operator),
            (r"[(),;.\[\]{}:]", Punctuation),
            # A word right after a dot is a column or table name, whatever it spells.
            (r"(?<=\.)" + _WORD, Name),
            (words(FUNCTION_NAMES, suffix=r"(?=\s*\()"), Name.Function),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (_WORD, Name),
            (r".", Text),
        ],
        # After `::` (elsewhere a type name such as `text` or `date` may be a column).
        "type": [
            (r"\s+", Whitespace),
            (words(TYPE_NAMES, suffix=r"\b"), Keyword.Type, "#pop"),
            default("#pop"),
        ],
        "string": [
            (r"[^']+", String.Single),
            (r"''", String.Escape),
            (r"'", String.Single, "#pop"),
        ],
        "quoted-name": [
            (r'[^"]+', String.Name),
            (r'""', String.Escape),
            (r'"', String.Name, "#pop"),
        ],
        "block-comment": [
            (r"[^*]+", Comment.Multiline),
            (r"\*/", Comment.Multiline, "#pop"),
            (r"\*", Comment.Multiline),
        ],
    }


# ---------------------------------------------------------------- scanning

Token = tuple[int, _TokenType, str, bool]
# The tokens that open a literal or block comment, and the token that closes it.
_OPENERS = {"'": "'", '"': '"', "/*": "*/"}
_LITERAL_KINDS = (String.Single, String.Name, Comment.Multiline)


def scan(text: str) -> tuple[list[Token], str | None]:
    """The tokens of ``text`` as (offset, type, value, in_code), and the closing
    delimiter still awaited at the end (``'``, ``"`` or ``*/``), if any.

    ``in_code`` is false for the tokens of strings, quoted names and comments.
    """
    tokens: list[Token] = []
    closing: str | None = None
    for offset, kind, value in _lexer().get_tokens_unprocessed(text):
        if closing is not None:
            if value == closing:
                closing = None
            tokens.append((offset, kind, value, False))
        elif value in _OPENERS and kind in _LITERAL_KINDS:
            closing = _OPENERS[value]
            tokens.append((offset, kind, value, False))
        else:
            tokens.append((offset, kind, value, kind not in Comment))
    return tokens, closing


def open_literal(text: str) -> str | None:
    """What ``text`` ends inside: "string", "name", "comment" (either kind), or None."""
    tokens, closing = scan(text)
    if closing is not None:
        return {"'": "string", '"': "name", "*/": "comment"}[closing]
    if tokens and tokens[-1][1] in Comment.Single:  # a -- comment runs to the end of its line
        return "comment"
    return None


def split_statements(text: str) -> list[str]:
    """The statements of ``text``, split at each ``;`` outside strings and comments.

    Each keeps its ``;``; blank or comment-only pieces are dropped.
    """
    statements, start, has_code = [], 0, False
    for offset, kind, value, in_code in scan(text)[0]:
        if in_code and kind in Punctuation and value == ";":
            if has_code:
                statements.append(text[start:offset + 1].strip())
            start, has_code = offset + 1, False
        elif kind not in Whitespace and kind not in Comment:
            has_code = True
    if has_code:
        statements.append(text[start:].strip())
    return statements


def ends_statement(text: str) -> bool:
    """Whether ``text`` ends with a ``;`` that is code (trailing comments allowed)."""
    tokens, closing = scan(text)
    if closing is not None:
        return False
    code = [t for t in tokens if t[3] and t[1] not in Whitespace]
    return bool(code) and code[-1][1] in Punctuation and code[-1][2] == ";"


@lru_cache(maxsize=1)
def _lexer() -> FQLLexer:
    # stripnl would drop leading newlines and shift every offset.
    return FQLLexer(stripnl=False, stripall=False, ensurenl=False)

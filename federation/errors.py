"""One exception hierarchy for everything a user can cause or meet.

No Lark, Kuzu, LanceDB, SQLite or DuckDB exception reaches the caller: each stage
catches what its library raises and re-raises one of these, keeping the original
as ``__cause__``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FederationError(Exception):
    """Base class of every error the engine raises."""


class QuerySyntaxError(FederationError):
    """The query text does not parse. Carries the 1-based ``line`` and ``column``."""

    def __init__(self, message: str, *, line: int, column: int, context: str = ""):
        self.line = line
        self.column = column
        self.context = context
        self.reason = message
        text = f"{message} (line {line}, column {column})"
        if context:
            text += "\n\n" + context
        super().__init__(text)


class CatalogError(FederationError):
    """An unknown or ambiguous source, table or column."""


class ParameterError(FederationError):
    """A ``$parameter`` is missing, unused or has a value of the wrong kind."""


class UnsupportedError(FederationError):
    """Valid FQL that a source (or this version) cannot run."""


class SourceError(FederationError):
    """A source failed while running a fragment. Names the source and the fragment."""

    def __init__(self, source: str, message: str, *, fragment: str | None = None):
        self.source = source
        self.fragment = fragment
        text = f"source {source!r}: {message}"
        if fragment:
            text += f"\n  while running: {fragment}"
        super().__init__(text)


class ColumnTypeError(SourceError):
    """A column's values do not fit the type the catalog gives it (see docs/types.md).

    Raised instead of converting a value silently: a SQLite column declared INTEGER
    that holds text, a value no Arrow type DuckDB reads can hold exactly, a fragment
    result whose column came back with another type. ``table`` and ``column`` name the
    column (``table`` is None for a computed column), ``row`` the offending row (a
    SQLite rowid) and ``value`` the offending value, where known.
    """

    def __init__(self, source: str, message: str, *, column: str, table: str | None = None,
                 row: object = None, value: object = None, fragment: str | None = None):
        self.table = table
        self.column = column
        self.row = row
        self.value = value
        super().__init__(source, message, fragment=fragment)


class QueryCancelled(FederationError):
    """The query was cancelled (``Federation.interrupt()``, Ctrl-C) before it finished."""


class QueryTimeout(QueryCancelled):
    """The query ran longer than its timeout and was cancelled."""


class ExecutionError(FederationError):
    """The query was valid but failed while computing its result (e.g. a failed CAST)."""


class ConfigError(FederationError):
    """The federation configuration is invalid."""


class ResultTooLarge(FederationError):
    """A fragment's result, or the query's, passed the ``[query] max_rows`` or
    ``max_bytes`` cap. Raised while the rows are read, before the rest is fetched.

    Carries ``setting`` (``"max_rows"`` or ``"max_bytes"``), ``limit`` (its value),
    ``source`` (None for DuckDB's steps) and ``fragment`` (None for the query's result).
    """

    def __init__(self, *, setting: str, limit: int, source: str | None = None, fragment: str | None = None):
        self.setting = setting
        self.limit = limit
        self.source = source
        self.fragment = fragment
        amount = f"{limit:,} rows" if setting == "max_rows" else f"{format_bytes(limit)} of Arrow data"
        if source is not None:
            where = f"source {source!r} returned"
        else:
            where = "DuckDB returned" if fragment else "The query's result has"
        text = (f"{where} more than {amount}, the cap set by [query] {setting}. Add a LIMIT or a filter"
                f" to the query, or raise [query] {setting} in the configuration (0 removes the cap)")
        if fragment:
            text += f"\n  while running: {fragment}"
        super().__init__(text)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix for the closest candidates, or ''."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    if not matches:
        return ""
    names = " or ".join(repr(lowered[m]) for m in matches)
    return f" Did you mean {names}?"


def format_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps it at least 1: ``1.5 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def point_at(text: str, line: int, column: int) -> str:
    """The offending line of ``text`` with a caret under ``column`` (both 1-based)."""
    lines = text.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    src = lines[line - 1]
    gutter = f"{line} | "
    return f"{gutter}{src}\n{' ' * (len(gutter) + max(column - 1, 0))}^"

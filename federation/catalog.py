"""The catalog: which sources exist, their tables, and each table's columns.

Sources describe themselves (``Source.tables()``); the catalog resolves the names a
query uses against all of them, case-insensitively as SQL does, and explains every
miss with a did-you-mean or the list of candidates.
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from . import ast
from .errors import CatalogError, did_you_mean

if TYPE_CHECKING:
    from .sources.base import Source


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: pa.DataType | None  # None: the source cannot say before it runs (e.g. an untyped view column)
    native_type: str = ""  # the type as the source spells it, shown by DESCRIBE


@dataclass(frozen=True)
class TableInfo:
    source: str
    name: str
    kind: str  # "table" | "view" | "node" | "rel" | "vector"
    columns: tuple[ColumnInfo, ...]
    # Source-specific facts the source module needs to compile fragments.
    extra: tuple[tuple[str, object], ...] = field(default=(), compare=False)

    def column(self, name: str) -> ColumnInfo | None:
        return find_name(name, self.columns, key=lambda c: c.name)

    def require_column(self, name: str, *, where: str = "") -> ColumnInfo:
        column = self.column(name)
        if column is None:
            raise CatalogError(
                f"Table {self.source}.{self.name} has no column {name!r}{where}."
                + did_you_mean(name, [c.name for c in self.columns])
                + f" Its columns: {', '.join(c.name for c in self.columns)}"
            )
        return column

    def option(self, key: str, default: object = None) -> object:
        return dict(self.extra).get(key, default)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def find_name(name, items, *, key):
    """The item whose key equals ``name``: exactly, else case-insensitively if unique."""
    items = list(items)
    for item in items:
        if key(item) == name:
            return item
    folded = [item for item in items if key(item).lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


class Catalog:
    """Name resolution over all sources of a federation."""

    def __init__(self, sources: dict[str, "Source"], *, pinned: dict[str, dict[str, TableInfo]] | None = None):
        self.sources = sources
        self._pinned = pinned

    def snapshot(self) -> "Catalog":
        """A view that reads each source's tables once: reading them checks the data
        version (file stats, LanceDB manifests), which one plan need not repeat for
        every table name it resolves."""
        return Catalog(self.sources, pinned={})

    @property
    def pinned(self) -> dict[str, dict[str, TableInfo]]:
        """The tables of each source this snapshot has read (what a plan depends on)."""
        return dict(self._pinned or {})

    def tables(self, source: "Source") -> dict[str, TableInfo]:
        if self._pinned is None:
            return source.tables()
        if source.name not in self._pinned:
            self._pinned[source.name] = source.tables()
        return self._pinned[source.name]

    def source(self, name: str) -> "Source":
        found = find_name(name, self.sources.values(), key=lambda s: s.name)
        if found is None:
            raise CatalogError(
                f"Unknown source {name!r}." + did_you_mean(name, self.sources)
                + f" Sources: {', '.join(self.sources) or '(none)'}"
            )
        return found

    def table(self, source: str | None, name: str) -> TableInfo:
        """Resolve ``source.name``, or an unqualified name that exactly one source has."""
        if source is not None:
            src = self.source(source)
            tables = self.tables(src)
            info = find_name(name, tables.values(), key=lambda t: t.name)
            if info is None:
                raise CatalogError(
                    f"Source {src.name!r} has no table {name!r}." + did_you_mean(name, tables)
                    + f" Its tables: {', '.join(sorted(tables)) or '(none)'}"
                )
            return info
        matches = []
        for src in self.sources.values():
            info = find_name(name, self.tables(src).values(), key=lambda t: t.name)
            if info is not None:
                matches.append(info)
        if len(matches) == 1:
            return matches[0]
        if matches:
            options = ", ".join(f"{m.source}.{m.name}" for m in matches)
            raise CatalogError(f"Table name {name!r} is ambiguous; write one of: {options}")
        qualified = {}
        for src in self.sources.values():
            for table in self.tables(src):
                qualified.setdefault(table, []).append(f"{src.name}.{table}")
        close = difflib.get_close_matches(name.lower(), {t.lower(): t for t in qualified}, n=3, cutoff=0.6)
        by_lower = {t.lower(): t for t in qualified}
        names = [q for c in close for q in qualified[by_lower[c]]]
        hint = f" Did you mean {' or '.join(map(repr, names))}?" if names else ""
        raise CatalogError(f"Unknown table {name!r}.{hint} Tables are written <source>.<table>")


# ---------------------------------------------------------------- Arrow types DuckDB reads
# A fragment's result is handed to DuckDB as Arrow; every column type a catalog gives
# is one DuckDB reads without changing a value (docs/types.md has the whole mapping).

# DuckDB's 128-bit integer (HUGEINT) as DuckDB itself writes it to Arrow: 16 bytes,
# little-endian two's complement, the layout of decimal128's storage.
HUGEINT = pa.opaque(pa.binary(16), "hugeint", "DuckDB")


def duckdb_readable(t: pa.DataType) -> pa.DataType:
    """The type DuckDB reads for a column of Arrow type ``t``: ``t`` itself, or the
    nearest type that holds every value of ``t`` exactly (float16 widens to float32),
    or a narrower one whose conversion is checked value by value (decimal256 to
    decimal128, nanosecond durations and times to microseconds: DuckDB keeps no
    more, and a value that does not fit raises ``ColumnTypeError`` when read)."""
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_decimal256(t):
        return pa.decimal128(min(t.precision, 38), t.scale)
    if pa.types.is_duration(t) and t.unit == "ns":
        return pa.duration("us")
    if pa.types.is_time64(t) and t.unit == "ns":
        return pa.time64("us")
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(duckdb_readable(t.value_type)), t.list_size)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(t.value_field.with_type(duckdb_readable(t.value_type)))
    if pa.types.is_map(t):
        return pa.map_(t.key_field.with_type(duckdb_readable(t.key_type)),
                       t.item_field.with_type(duckdb_readable(t.item_type)))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(duckdb_readable(f.type)) for f in t])
    return t


def same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal as DuckDB reads them: the names and nullability of nested fields (a
    list's item field, a map's entries) differ between engines and mean nothing."""
    if actual == expected:
        return True
    if pa.types.is_struct(actual) and pa.types.is_struct(expected):
        return actual.num_fields == expected.num_fields and all(
            a.name == e.name and same_type(a.type, e.type) for a, e in zip(actual, expected))
    if pa.types.is_map(actual) and pa.types.is_map(expected):
        return same_type(actual.key_type, expected.key_type) and same_type(actual.item_type, expected.item_type)
    if pa.types.is_fixed_size_list(actual) and pa.types.is_fixed_size_list(expected):
        return actual.list_size == expected.list_size and same_type(actual.value_type, expected.value_type)
    if pa.types.is_list(actual) and pa.types.is_list(expected):
        return same_type(actual.value_type, expected.value_type)
    return False


def contains_type(t: pa.DataType, predicate) -> bool:
    """Whether ``t`` or a type nested in it satisfies ``predicate``."""
    if predicate(t):
        return True
    return any(contains_type(t.field(i).type, predicate) for i in range(t.num_fields))


# ---------------------------------------------------------------- type families
# Engines agree on comparisons only within one family; sources use these to decide
# which expressions they evaluate exactly as DuckDB does.


def type_family(t: pa.DataType | None) -> str | None:
    if t is None:
        return None
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    return None


def key_family(t: pa.DataType | None) -> str | None:
    """"integer" or "string" for a type whose equality is exact and the same in every
    engine (join keys, group keys, values carried as JSON), else None."""
    if t is None:
        return None
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return None


def value_family(expr: "ast.Expr", params) -> str | None:
    """The family of a literal or bound parameter ("null" for NULL), else None."""
    if isinstance(expr, ast.Literal):
        value = expr.value
    elif isinstance(expr, ast.Param):
        value = params.get(expr.name)
    else:
        return None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and value != value:
            return None  # NaN compares differently across engines
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def fits_int64_or_double(value: object) -> bool:
    """Whether a number keeps its exact value in an engine with only INT64 and DOUBLE
    (SQLite, Kuzu): DuckDB keeps 3.0000000000000001 as a DECIMAL and 2**70 as HUGEINT."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return value.is_finite() and Decimal(float(value)) == value


def literal_value(expr: "ast.Expr", params):
    return expr.value if isinstance(expr, ast.Literal) else params.get(expr.name)

"""Render Arrow tables as text: a box table for terminals, CSV, JSON and Markdown.

Only the standard library and pyarrow: these run in the CLI and the demo, where
pulling in pandas just to print a result would be wasteful.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
import unicodedata
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

NULL = "NULL"
ELLIPSIS = "…"
# Lists longer than this are shown as their first _LIST_HEAD items and a count.
_LIST_MAX_SHOWN = 4
_LIST_HEAD = 2


def format_table(table: pa.Table, *, max_rows: int | None = 20, max_width: int = 40) -> str:
    """A box-drawn table with a header row and a row-count footer.

    Numbers are right-aligned, NULLs shown as NULL, floats with up to 6
    significant digits, cells wider than `max_width` cut with '…', long lists
    abbreviated. At most `max_rows` rows are shown (None: all of them).
    """
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be >= 0 or None, got {max_rows}")
    if max_width < 1:
        raise ValueError(f"max_width must be >= 1, got {max_width}")

    total = table.num_rows
    shown = table if max_rows is None or total <= max_rows else table.slice(0, max_rows)
    footer = _row_count(total) if shown.num_rows == total else f"({total} rows, {shown.num_rows} shown)"
    if table.num_columns == 0:
        return footer

    headers = [truncate(_one_line(name), max_width) for name in table.column_names]
    columns = [
        [truncate(cell_text(value), max_width) for value in column_values(shown.column(i))]
        for i in range(shown.num_columns)
    ]
    right = [is_numeric(field.type) for field in table.schema]
    widths = [
        max([_width(h), *(_width(c) for c in col)]) for h, col in zip(headers, columns, strict=True)
    ]

    def rule(left: str, mid: str, end: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + end

    def line(cells: Sequence[str], align: Sequence[str]) -> str:
        return "│" + "│".join(f" {_pad(c, w, a)} " for c, w, a in zip(cells, widths, align, strict=True)) + "│"

    lines = [rule("┌", "┬", "┐"), line(headers, ["center"] * len(headers)), rule("├", "┼", "┤")]
    body_align = ["right" if r else "left" for r in right]
    lines += [line(row, body_align) for row in zip(*columns, strict=True)]
    lines += [rule("└", "┴", "┘"), footer]
    return "\n".join(lines)


def format_csv(table: pa.Table) -> str:
    """RFC 4180 CSV with a header line; NULL is an empty field, nested values are JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    columns = [column_values(column) for column in table.columns]
    for row in zip(*columns, strict=True):
        writer.writerow(_csv_field(value) for value in row)
    return buffer.getvalue()


def format_json(table: pa.Table) -> str:
    """A JSON array with one object per row, one row per line.

    Dates and times become ISO 8601 strings, decimals strings (no precision is
    lost), bytes base64, NaN and infinities the strings "NaN", "Infinity",
    "-Infinity" (JSON has no such numbers). Repeated column names get a suffix
    (`id`, `id_2`) so no value is dropped.
    """
    names = _unique_names(table.column_names)
    columns = [column_values(column) for column in table.columns]
    rows = [
        json.dumps(
            {name: _json_value(value) for name, value in zip(names, row, strict=True)},
            ensure_ascii=False,
            allow_nan=False,
        )
        for row in zip(*columns, strict=True)
    ]
    # One object per line: readable and diffable, and still a single JSON value.
    return "[\n  " + ",\n  ".join(rows) + "\n]" if rows else "[]"


def format_markdown(table: pa.Table) -> str:
    """A GitHub-flavoured Markdown table of all rows, numbers right-aligned."""
    if table.num_columns == 0:
        return ""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    headers = [_markdown_escape(name) for name in table.column_names]
    align = ["---:" if is_numeric(field.type) else "---" for field in table.schema]
    columns = [[_markdown_escape(cell_text(value)) for value in column_values(column)] for column in table.columns]
    return "\n".join([line(headers), line(align), *(line(row) for row in zip(*columns, strict=True))])


def column_values(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    # Maps come back as dicts instead of lists of (key, value) pairs; "lossy"
    # keeps the last value of a repeated key rather than raising.
    return column.to_pylist(maps_as_pydicts="lossy")


def is_numeric(type_: pa.DataType) -> bool:
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_)


def _row_count(n: int) -> str:
    return "(1 row)" if n == 1 else f"({n} rows)"


def cell_text(value: Any) -> str:
    """The text of a top-level cell: strings bare, everything else via _scalar."""
    if isinstance(value, str):
        return _one_line(value)
    return _scalar(value)


def _scalar(value: Any) -> str:
    """The text of a value; strings nested in lists, structs and maps are quoted."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float(value, 6)
    if isinstance(value, str):
        return "'" + _one_line(value).replace("'", "''") + "'"
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list):
        return _list(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    return _one_line(str(value))


def _list(items: list[Any]) -> str:
    # Vector elements need few digits to be recognisable; the cell is a hint,
    # not the data.
    def item(value: Any) -> str:
        return _float(value, 3) if isinstance(value, float) else _scalar(value)

    if len(items) <= _LIST_MAX_SHOWN:
        return "[" + ", ".join(item(v) for v in items) + "]"
    head = ", ".join(item(v) for v in items[:_LIST_HEAD])
    return f"[{head}, {ELLIPSIS} {len(items)} items]"


def _key(key: Any) -> str:
    return key if isinstance(key, str) else _scalar(key)


def _float(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def _one_line(text: str) -> str:
    # A raw newline or tab would break the box; show it escaped instead.
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    """Terminal columns taken by `text` (wide CJK characters count twice)."""
    return sum(_char_width(c) for c in text)


def truncate(text: str, max_width: int) -> str:
    if _width(text) <= max_width:
        return text
    kept, used = [], 0
    for char in text:
        w = _char_width(char)
        if used + w > max_width - 1:
            break
        kept.append(char)
        used += w
    return "".join(kept) + ELLIPSIS


def _pad(text: str, width: int, align: str) -> str:
    gap = width - _width(text)
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    plain = _json_value(value)
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(_json_value(k)): _json_value(v) for k, v in value.items()}
    return str(value)


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _markdown_escape(text: str) -> str:
    return _one_line(text).replace("|", "\\|")

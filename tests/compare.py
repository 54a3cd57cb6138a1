"""Compare an engine result with a reference result, as multisets or in order.

Values are compared by meaning, not by Arrow type: the engine and DuckDB may
legitimately differ in integer width, int vs float vs Decimal (SUM of BIGINT is
HUGEINT in DuckDB), list vs fixed-size list, or the last bits of a float sum
computed in another order.  NULL equals NULL here: the question is whether both
sides produced the same rows, not SQL equality.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

REL_TOL = 1e-6
ABS_TOL = 1e-9
SHOWN_ROWS = 5

Row = tuple[Any, ...]


def assert_same(fed_table: pa.Table, ref_table: pa.Table, ordered: bool) -> None:
    """Raise AssertionError with a readable diff unless both tables hold the same rows."""
    fed_names, ref_names = fed_table.column_names, ref_table.column_names
    if fed_names != ref_names:
        raise AssertionError(
            f"column names differ:\n  engine:    {fed_names}\n  reference: {ref_names}"
        )

    fed_rows, ref_rows = _rows(fed_table), _rows(ref_table)
    if ordered:
        problem = _ordered_diff(fed_rows, ref_rows)
    else:
        problem = _multiset_diff(fed_rows, ref_rows)
    if problem:
        raise AssertionError(
            f"{problem}\n  engine rows: {len(fed_rows)}, reference rows: {len(ref_rows)}"
            f"\n  columns: {fed_names}"
        )


def values_equal(a: Any, b: Any) -> bool:
    """Equality with NULL == NULL, numbers compared numerically, floats within tolerance."""
    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        return _numbers_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def rows_equal(a: Row, b: Row) -> bool:
    return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------ helpers


def _rows(table: pa.Table) -> list[Row]:
    columns = [column.to_pylist() for column in table.columns]
    return list(zip(*columns)) if columns else [() for _ in range(table.num_rows)]


def _is_number(v: Any) -> bool:
    # bool is an int subclass; a BOOLEAN column compared with 0/1 still counts.
    return isinstance(v, (int, float, Decimal))


def _numbers_equal(a: int | float | Decimal, b: int | float | Decimal) -> bool:
    exact = (int, Decimal)
    if isinstance(a, exact) and isinstance(b, exact):
        # Both exact (e.g. BIGINT vs HUGEINT sum): no tolerance, no float rounding.
        return Decimal(a) == Decimal(b)
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _sort_key(v: Any) -> tuple[Any, ...]:
    """A total order across types; floats rounded so near-equal values sort together.

    Rounding to 5 significant digits maps values within 1e-6 relative to the same
    key unless they straddle a rounding boundary; those rare pairs are matched
    afterwards by an exhaustive search over the leftovers.
    """
    if v is None:
        return (0,)
    if _is_number(v):
        x = float(v)
        if math.isnan(x):
            return (1, 1, 0.0)
        if math.isinf(x) or x == 0.0:
            return (1, 0, x)
        return (1, 0, float(f"{x:.5g}"))
    if isinstance(v, str):
        return (2, v)
    if isinstance(v, bytes):
        return (3, v)
    if isinstance(v, (list, tuple)):
        return (4, tuple(_sort_key(x) for x in v))
    if isinstance(v, dict):
        return (5, tuple((k, _sort_key(x)) for k, x in sorted(v.items())))
    return (6, type(v).__name__, str(v))


def _row_key(row: Row) -> tuple[Any, ...]:
    return tuple(_sort_key(v) for v in row)


def _exact(value: Any) -> Any:
    """A hashable form of a value, equal only for equal values (lists and dicts too)."""
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_exact(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _exact(v)) for k, v in value.items())))
    return value


def _without_exact_matches(fed: Sequence[Row], ref: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """The rows of each side that no row of the other side equals exactly.

    Matching within a tolerance is not transitive: 1000.005 is within 1e-6 of both
    1000.004 and 1000.006, so a greedy walk pairing near-equal rows could leave
    1000.004 and 1000.006 unpaired on two sides that hold the same rows. Equal rows
    are paired first; only what is left is matched within the tolerance.
    """
    fed_keys = [tuple(map(_exact, row)) for row in fed]
    ref_keys = [tuple(map(_exact, row)) for row in ref]
    common = Counter(fed_keys) & Counter(ref_keys)

    def left(rows: Sequence[Row], keys: list) -> list[Row]:
        unused = Counter(common)
        out = []
        for row, key in zip(rows, keys):
            if unused[key] > 0:
                unused[key] -= 1
            else:
                out.append(row)
        return out

    return left(fed, fed_keys), left(ref, ref_keys)


def _multiset_diff(fed: Sequence[Row], ref: Sequence[Row]) -> str | None:
    fed, ref = _without_exact_matches(fed, ref)
    fed_sorted = sorted(fed, key=_row_key)
    ref_sorted = sorted(ref, key=_row_key)

    # Merge walk: matching rows have equal keys, so they meet at the same step.
    only_fed: list[Row] = []
    only_ref: list[Row] = []
    i = j = 0
    while i < len(fed_sorted) and j < len(ref_sorted):
        a, b = fed_sorted[i], ref_sorted[j]
        if rows_equal(a, b):
            i += 1
            j += 1
        elif _row_key(a) < _row_key(b):
            only_fed.append(a)
            i += 1
        else:
            only_ref.append(b)
            j += 1
    only_fed.extend(fed_sorted[i:])
    only_ref.extend(ref_sorted[j:])

    # Rows whose floats rounded to different keys: match the leftovers pairwise.
    unmatched_ref = list(only_ref)
    unmatched_fed: list[Row] = []
    for row in only_fed:
        for k, candidate in enumerate(unmatched_ref):
            if rows_equal(row, candidate):
                del unmatched_ref[k]
                break
        else:
            unmatched_fed.append(row)

    if not unmatched_fed and not unmatched_ref:
        return None
    return (
        "rows differ (as multisets)"
        + _listing("only in engine", unmatched_fed)
        + _listing("only in reference", unmatched_ref)
    )


def _ordered_diff(fed: Sequence[Row], ref: Sequence[Row]) -> str | None:
    differing = [
        i for i in range(max(len(fed), len(ref)))
        if i >= len(fed) or i >= len(ref) or not rows_equal(fed[i], ref[i])
    ]
    if not differing:
        return None
    lines = ["rows differ (in order); first differing positions:"]
    for i in differing[:SHOWN_ROWS]:
        lines.append(f"  [{i}] engine:    {fed[i] if i < len(fed) else '<missing>'}")
        lines.append(f"  [{i}] reference: {ref[i] if i < len(ref) else '<missing>'}")
    if _multiset_diff(fed, ref) is None:
        lines.append("  (same rows as a multiset: only the order differs)")
    return "\n".join(lines)


def _listing(title: str, rows: Sequence[Row]) -> str:
    if not rows:
        return f"\n  {title}: none"
    shown = "\n".join(f"    {row}" for row in rows[:SHOWN_ROWS])
    more = f"\n    ... and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return f"\n  {title} ({len(rows)}):\n{shown}{more}"

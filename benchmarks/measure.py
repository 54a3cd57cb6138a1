"""Timing, memory and answer comparison, shared by every suite.

Time: ``time.perf_counter`` around one call. Alternatives are measured
round-robin (one run of each, then the next round), so a burst of load from
another process on this shared machine hits them alike; each gets one untimed
warm-up run first, whose answer is the one compared. Each round starts one
alternative later than the one before: whichever runs right after a heavy one
(a whole-table fetch, DuckDB's threads still winding down) is slower by a few
ms, and a fixed order would charge that to one alternative every round.

Memory: the peak *additional* resident set size of this process during a call:
Linux's high-water mark (VmHWM) is reset to the current RSS through
``/proc/self/clear_refs`` before the call and read after it, minus the RSS before
the call. Unlike tracemalloc it sees native allocations (DuckDB, Kuzu, LanceDB,
Arrow). It does not see memory that an allocator had already reserved and reuses,
so it is a lower bound, and a call that only reuses cached pages shows ~0.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import pyarrow as pa

_STATUS = "/proc/self/status"


def _status_kib(field_name: str) -> int | None:
    try:
        text = open(_STATUS).read()
    except OSError:
        return None
    found = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float | None:
    """The process's RSS high-water mark since start (or the last reset), MiB."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib / 1024


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        s = sorted(self.seconds)
        out: dict[str, Any] = {
            "median_ms": 1000 * statistics.median(s),
            "min_ms": 1000 * s[0],
            "max_ms": 1000 * s[-1],
            "p25_ms": 1000 * _quantile(s, 0.25),
            "p75_ms": 1000 * _quantile(s, 0.75),
            "runs": len(s),
        }
        if self.peak_mib:
            out["peak_mib"] = max(self.peak_mib)
        return out


def _quantile(sorted_values: list[float], q: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def timed(fn: Callable[[], Any], sample: Sample) -> Any:
    """Run ``fn`` once, adding its time and peak extra RSS to ``sample``."""
    can_reset = _reset_peak()
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    result = fn()
    sample.seconds.append(time.perf_counter() - started)
    peak = _status_kib("VmHWM")
    if can_reset and before is not None and peak is not None:
        sample.peak_mib.append(max(0, peak - before) / 1024)
    return result


def run_round_robin(alternatives: dict[str, Callable[[], Any]], repeat: int, warmup: bool = True,
                    budget_seconds: float | None = None) -> tuple[dict[str, Sample], dict[str, Any], dict[str, str]]:
    """Each alternative: a warm-up (its answer returned), then ``repeat`` timed rounds.

    An alternative that raises is reported as an error and left out of the rounds.
    One whose warm-up took longer than ``budget_seconds`` is timed once, not
    ``repeat`` times (its summary says how many runs it had).
    """
    samples = {name: Sample() for name in alternatives}
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    runs = {}
    for name, fn in alternatives.items():
        started = time.perf_counter()
        try:
            answers[name] = fn() if warmup else None
        except Exception as exc:  # reported, and the suite goes on
            errors[name] = f"{type(exc).__name__}: {exc}"
        slow = budget_seconds is not None and time.perf_counter() - started > budget_seconds
        runs[name] = 1 if slow else repeat
    names = list(alternatives)
    for round_number in range(repeat):
        start = round_number % len(names)
        for name in names[start:] + names[:start]:  # rotated: no alternative always follows the same one
            if name not in errors and round_number < runs[name]:
                timed(alternatives[name], samples[name])
    return samples, answers, errors


# ------------------------------------------------------------------ answers


def rows(result: Any) -> list[tuple]:
    """A result (Arrow table, pandas DataFrame, list of tuples, scalar) as rows of plain values."""
    if hasattr(result, "to_arrow") and not isinstance(result, pa.Table):
        result = result.to_arrow()
    if type(result).__module__.startswith("pandas"):
        result = pa.Table.from_pandas(result, preserve_index=False)
    if isinstance(result, pa.Table):
        columns = [column.to_pylist() for column in result.columns]
        return [tuple(_plain(v) for v in row) for row in zip(*columns)]
    if isinstance(result, list):
        return [tuple(_plain(v) for v in (row if isinstance(row, tuple) else (row,))) for row in result]
    return [(_plain(result),)]


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):  # numpy scalars
        value = value.item()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, round(v, 2) if isinstance(v, float) else v) for v in row)


def same_answer(a: Any, b: Any) -> str | None:
    """None if two results hold the same rows (any order, floats to 1e-4 relative),
    else what differs."""
    ra, rb = sorted(rows(a), key=_sort_key), sorted(rows(b), key=_sort_key)
    if len(ra) != len(rb):
        return f"{len(ra)} rows vs {len(rb)} rows"
    for x, y in zip(ra, rb):
        if len(x) != len(y):
            return f"{len(x)} columns vs {len(y)} columns"
        for u, v in zip(x, y):
            if isinstance(u, (int, float)) and isinstance(v, (int, float)):
                if not math.isclose(u, v, rel_tol=1e-4, abs_tol=1e-6):
                    return f"row {x} vs {y}"
            elif u != v:
                return f"row {x} vs {y}"
    return None

"""Caps on how much data one query may hold: ``[query] max_rows`` and ``max_bytes``.

A runaway query (a cross join, a scan of a far larger table than expected) would
otherwise grow until the process runs out of memory. Each fragment's result and the
final result are checked as their record batches arrive, so that rows past the cap
are never fetched: SQLite, LanceDB scans and the DuckDB step stream batches; Kuzu
materialises its result inside the engine, so its row count is checked before any
Arrow is built (see each source's module).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pyarrow as pa

from .errors import ResultTooLarge

FALLBACK_MEMORY = 16 * 1024**3  # when the platform does not say how much memory there is


@dataclass(frozen=True)
class Limits:
    """The caps one query runs under; ``None`` is no cap."""

    max_rows: int | None = None
    max_bytes: int | None = None

    def exceeded(self, rows: int, nbytes: int) -> bool:
        return (self.max_rows is not None and rows > self.max_rows) or (
            self.max_bytes is not None and nbytes > self.max_bytes)

    def check(self, rows: int, nbytes: int, *, source: str | None = None, fragment: str | None = None) -> None:
        """ResultTooLarge if ``rows`` or ``nbytes`` (read so far) passed a cap."""
        if self.max_rows is not None and rows > self.max_rows:
            raise ResultTooLarge(setting="max_rows", limit=self.max_rows, source=source, fragment=fragment)
        if self.max_bytes is not None and nbytes > self.max_bytes:
            raise ResultTooLarge(setting="max_bytes", limit=self.max_bytes, source=source, fragment=fragment)

    def check_table(self, table: pa.Table, *, source: str | None = None, fragment: str | None = None) -> None:
        self.check(table.num_rows, table.nbytes, source=source, fragment=fragment)

    def check_count(self, rows: int, types: Iterable[pa.DataType | None], *, source: str | None = None,
                    fragment: str | None = None) -> None:
        """Before a result of ``rows`` rows of ``types`` is converted to Arrow: its
        row count, and a lower bound of its bytes (fixed-width columns and offsets)."""
        self.check(rows, rows * min_row_bytes(types), source=source, fragment=fragment)

    def read(self, reader: pa.RecordBatchReader, *, source: str | None = None,
             fragment: str | None = None) -> pa.Table:
        """Every batch of ``reader`` as one table, stopping at the first batch past a cap."""
        batches = []
        rows = nbytes = 0
        try:
            for batch in reader:
                rows += batch.num_rows
                nbytes += batch.nbytes
                self.check(rows, nbytes, source=source, fragment=fragment)
                batches.append(batch)
            return pa.Table.from_batches(batches, schema=reader.schema)
        finally:
            reader.close()  # an abandoned stream would keep the engine's cursor open


UNLIMITED = Limits()


def min_row_bytes(types: Iterable[pa.DataType | None]) -> int:
    """The fewest Arrow bytes a row of these column types can take (NULL bitmaps aside)."""
    total = 0
    for type_ in types:
        if type_ is None:
            continue
        try:
            total += type_.bit_width // 8
        except ValueError:  # variable width: at least its 32-bit offset
            total += 4
    return total


def available_memory() -> int:
    """Bytes of memory this process may use: the physical memory, or the container's
    (cgroup) limit when that is lower."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        physical = FALLBACK_MEMORY
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            physical = min(physical, int(text))
    return physical

"""A result cache bounded by the memory its entries hold.

Keys carry every source's data version, so a write anywhere changes the key: an
entry is never served for data it was not computed from; old entries age out.

An entry's size is its Arrow buffers plus what holds them: the key (a plan and
parameter values) and the table's Python and C++ objects, per column chunk.
Counting the buffers alone, a cache of small results (a count, a few rows) held
some 4 KiB per entry while counting 100 bytes: tens of thousands of entries, and
memory far past ``max_bytes`` (found by benchmarks/soak.py).
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Hashable

import pyarrow as pa
from cachetools import LRUCache

ENTRY_OVERHEAD = 2048  # bytes: the key and the table's objects, measured
CHUNK_OVERHEAD = 640  # bytes per column chunk: its ChunkedArray, Array and buffer objects


def entry_size(table: pa.Table) -> int:
    """The memory a cached table holds, estimated (whole buffers, even of a slice)."""
    chunks = sum(column.num_chunks for column in table.columns)
    return table.get_total_buffer_size() + ENTRY_OVERHEAD + CHUNK_OVERHEAD * chunks


class ResultCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: LRUCache | None = (
            LRUCache(maxsize=max_bytes, getsizeof=entry_size) if max_bytes > 0 else None
        )
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> pa.Table | None:
        if self._entries is None:
            return None
        with self._lock:
            table = self._entries.get(key)
            if table is None:
                self.misses += 1
            else:
                self.hits += 1
            return table

    def put(self, key: Hashable, table: pa.Table) -> None:
        if self._entries is None or entry_size(table) > self.max_bytes:
            return
        with self._lock:
            self._entries[key] = table

    def counters(self, *, reset: bool = False) -> tuple[int, int]:
        """(hits, misses) of the lookups so far; ``reset`` starts them again from zero."""
        with self._lock:
            counts = (self.hits, self.misses)
            if reset:
                self.hits = self.misses = 0
            return counts

    def clear(self) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries.clear()

    @property
    def bytes(self) -> int:
        return int(self._entries.currsize) if self._entries is not None else 0

    def __len__(self) -> int:
        return len(self._entries) if self._entries is not None else 0


class PlanCache:
    """Plans by query text and the types of the parameter values.

    A plan depends on the parameters only through what the planner asks of them
    (``signature``: a value's type, whether it fits INT64 / a double, NaN), except
    VECTOR_SEARCH options, whose values shape the plan (``exact`` names them). An
    entry is valid while every source it read still has the same catalog (the
    ``Source.tables()`` object, renewed whenever the data version changes).
    """

    def __init__(self, max_entries: int = 512):
        self._entries: LRUCache = LRUCache(maxsize=max_entries)
        self._shaping: LRUCache = LRUCache(maxsize=8 * max_entries)  # text -> ``exact`` names
        self._lock = threading.Lock()

    def shaping(self, text: str) -> frozenset[str] | None:
        """The parameters whose values shape the plan of ``text``, once it was planned."""
        with self._lock:
            return self._shaping.get(text)

    def key(self, text: str, params: dict, exact: frozenset[str]) -> Hashable:
        return (text, tuple(sorted((name, signature(value) if name not in exact else ("=", _exact(value)))
                                   for name, value in params.items())))

    def get(self, key: Hashable, sources: dict):
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        plan, statement, pinned = entry
        for name, tables in pinned:
            if sources[name].tables() is not tables:
                return None
        return plan, statement

    def put(self, text: str, params: dict, exact: frozenset[str], plan, statement, pinned: dict) -> None:
        with self._lock:
            self._shaping[text] = exact
            self._entries[self.key(text, params, exact)] = (plan, statement, tuple(pinned.items()))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def signature(value: object) -> Hashable:
    """What planning may depend on in a parameter's value."""
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int):
        return ("int", -(2**63) <= value < 2**63)
    if isinstance(value, float):
        return ("float", value != value, value in (float("inf"), float("-inf")))
    if isinstance(value, Decimal):
        return ("Decimal", value.is_finite() and Decimal(float(value)) == value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return "vector"
    if isinstance(value, str):
        return ("str", "\x00" in value)  # a LanceDB filter cannot hold a NUL: such a value is not pushed
    return type(value).__name__


def _exact(value: object) -> Hashable:
    return (type(value).__name__, repr(value))

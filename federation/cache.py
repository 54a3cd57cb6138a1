"""A result cache bounded by the bytes of Arrow data it holds.

Keys carry every source's data version, so a write anywhere changes the key: an
entry is never served for data it was not computed from; old entries age out.
"""

from __future__ import annotations

import threading
from typing import Hashable

import pyarrow as pa
from cachetools import LRUCache


class ResultCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: LRUCache | None = (
            LRUCache(maxsize=max_bytes, getsizeof=lambda t: max(t.nbytes, 1)) if max_bytes > 0 else None
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
        if self._entries is None or table.nbytes > self.max_bytes:
            return
        with self._lock:
            self._entries[key] = table

    def clear(self) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries.clear()

    @property
    def bytes(self) -> int:
        return int(self._entries.currsize) if self._entries is not None else 0

    def __len__(self) -> int:
        return len(self._entries) if self._entries is not None else 0

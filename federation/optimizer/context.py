"""What optimizer rules may read besides the Draft: the catalog, the parameter
values (their types decide what a source evaluates exactly) and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

DEFAULT_MAX_KEYS = 10_000
DEFAULT_SHIP_ROWS = 2_000


@dataclass(frozen=True)
class Context:
    catalog: object  # catalog.Catalog (a snapshot)
    params: Mapping[str, object]
    describe: Callable | None = None  # DuckDB's names and types for SQL over empty tables
    max_keys: int = DEFAULT_MAX_KEYS  # semi-join: above this many keys, fetch unreduced
    ship_rows: int = DEFAULT_SHIP_ROWS  # shipping.py: the most rows (estimated) of a fragment shipped into SQLite

    def source(self, name: str):
        return self.catalog.source(name)

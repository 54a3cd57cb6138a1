"""The result of a query: an Arrow table with conveniences."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa


class Result:
    """Rows returned by ``Federation.query``. Holds a ``pyarrow.Table``."""

    def __init__(self, table: pa.Table, *, cached: bool = False):
        self._table = table
        self.cached = cached

    @property
    def columns(self) -> list[str]:
        return list(self._table.column_names)

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema

    def __len__(self) -> int:
        return self._table.num_rows

    def to_arrow(self) -> pa.Table:
        return self._table

    def df(self):
        """A pandas DataFrame (``pip install 'federation[pandas]'``)."""
        try:
            return self._table.to_pandas()
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Result.df() needs pandas: pip install 'federation[pandas]'") from exc

    def pl(self):
        """A polars DataFrame (``pip install 'federation[polars]'``)."""
        try:
            import polars
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Result.pl() needs polars: pip install 'federation[polars]'") from exc
        # polars cannot hold two columns of one name: suffix repeats as DuckDB does (id, id_1)
        return polars.from_arrow(self._table.rename_columns(unique_names(self._table.column_names)))

    def fetchall(self) -> list[tuple[Any, ...]]:
        columns = [c.to_pylist() for c in self._table.columns]
        return list(zip(*columns)) if columns else []

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        from .formatting import format_table

        return format_table(self._table)


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    taken = set(names)
    out = []
    for name in names:
        if name not in seen:
            seen[name] = 0
            out.append(name)
            continue
        while True:
            seen[name] += 1
            candidate = f"{name}_{seen[name]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        out.append(candidate)
    return out

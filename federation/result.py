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
        return polars.from_arrow(self._table)

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

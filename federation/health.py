"""``Federation.health()``: whether each source can be read now, and how fast.

Each source is probed as a query would use it (``Source.probe``: open it, read its
catalog and one row of each table, read its data version) and the outcome is sorted
into a status. Checking never raises for a broken source: that is what it reports.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import pyarrow as pa

from .errors import SourceError

if TYPE_CHECKING:
    from .sources.base import Source

# ok: readable. missing: its file or folder does not exist. locked: another process
# holds a lock that keeps readers out (SQLite) or the file open for writing (Kuzu).
# corrupt: the file exists but is not a readable database. error: anything else
# (permissions, an engine failure), said in the detail.
STATUSES = ("ok", "missing", "locked", "corrupt", "error")


@dataclass(frozen=True)
class SourceHealth:
    name: str
    kind: str  # sqlite | kuzu | lancedb
    location: str  # the configured path or URI
    status: str  # one of STATUSES
    detail: str  # why it is not ok, in the engine's words; "" when ok
    version: str | None  # the data version when readable: modification time and size, or table versions
    latency_ms: float  # how long the probe took

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Health:
    """The probe of every source. Iterable; ``health["name"]`` is one source's."""

    sources: tuple[SourceHealth, ...]

    @property
    def ok(self) -> bool:
        """Whether every source is readable."""
        return all(s.ok for s in self.sources)

    def __iter__(self) -> Iterator[SourceHealth]:
        return iter(self.sources)

    def __getitem__(self, name: str) -> SourceHealth:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "sources": [asdict(s) for s in self.sources]}

    def table(self) -> pa.Table:
        """One row per source: the table ``federation health`` and ``.health`` print."""
        rows = [{"source": s.name, "kind": s.kind, "status": s.status, "latency_ms": s.latency_ms,
                 "version": s.version, "detail": s.detail} for s in self.sources]
        return pa.Table.from_pylist(rows, schema=_HEALTH_SCHEMA)


_HEALTH_SCHEMA = pa.schema([("source", pa.string()), ("kind", pa.string()), ("status", pa.string()),
                            ("latency_ms", pa.float64()), ("version", pa.string()), ("detail", pa.string())])


def check(sources: Iterable["Source"]) -> Health:
    return Health(tuple(check_source(source) for source in sources))


def check_source(source: "Source") -> SourceHealth:
    """Probe one source; every failure becomes a status, never an exception."""
    status, detail, version = "ok", "", None
    started = time.perf_counter()
    try:
        source.import_engine()
        started = time.perf_counter()
        missing = source.missing()
        if missing is not None:
            status, detail = "missing", missing
        else:
            version = source.probe()
    except Exception as exc:  # noqa: BLE001 - whatever the engine raises is the answer
        cause = exc.__cause__ if isinstance(exc, SourceError) and exc.__cause__ is not None else exc
        status = source.diagnose(cause)
        detail = _first_line(cause)
    latency = round((time.perf_counter() - started) * 1000, 3)
    return SourceHealth(source.name, source.kind, source.location, status, detail, version, latency)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""``Federation.stats()``: what the queries of this federation did, per source.

The executor hands every query it runs to ``StatsRecorder.observe``, which counts it
when it ends: the query's latency, rows and outcome, and for each fragment step the
source that ran it, its rows, bytes and time, or that the cache answered it.
Latency percentiles are over a window of the most recent samples (``WINDOW``), so
the recorder's memory stays fixed however long the process runs.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import pyarrow as pa

from .errors import FederationError, QueryCancelled, format_bytes
from .plan import DerivedFragment, Plan, fragment_name

if TYPE_CHECKING:
    from .cache import ResultCache
    from .sources.base import Source

WINDOW = 4096  # latency samples kept per source (and for whole queries)


@dataclass(frozen=True)
class Latency:
    """Percentiles (nearest rank) of the most recent ``samples`` latencies, in ms."""

    samples: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, seconds: Iterable[float]) -> "Latency":
        ordered = sorted(seconds)

        def rank(p: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)] * 1000, 3)

        return cls(len(ordered), rank(50), rank(95), rank(99))


@dataclass(frozen=True)
class SourceStats:
    """What one source did since the federation opened (or the last reset)."""

    name: str
    kind: str
    queries: int  # queries that read this source, whether or not the cache answered them
    fragments: int  # fragments the source ran (cache misses)
    cache_hits: int  # fragments the result cache answered instead
    rows: int  # rows its fragments returned
    bytes: int  # Arrow bytes its fragments returned
    errors: int  # queries that failed in this source (SourceError, ResultTooLarge naming it)
    latency: Latency  # of the fragments it ran


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int
    hits: int  # lookups (whole queries and fragments) that found an entry
    misses: int

    @property
    def hit_ratio(self) -> float | None:
        """Hits over lookups; None before the first lookup."""
        lookups = self.hits + self.misses
        return round(self.hits / lookups, 4) if lookups else None


@dataclass(frozen=True)
class Stats:
    """A snapshot of ``Federation.stats()``. ``to_dict()`` gives plain data (JSON)."""

    since: str  # ISO time of the federation's start or the last reset (UTC)
    seconds: float  # how long ago that was
    queries: int  # queries that ended, successfully or not
    errors: int  # queries that raised an error other than QueryCancelled
    cancelled: int  # queries cancelled (interrupt, Ctrl-C, timeout)
    cached: int  # queries answered whole by the result cache
    rows: int  # rows of the successful queries' results
    latency: Latency  # of the successful queries
    sources: tuple[SourceStats, ...]
    cache: CacheStats

    def source(self, name: str) -> SourceStats:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["cache"]["hit_ratio"] = self.cache.hit_ratio
        return data

    def sources_table(self) -> pa.Table:
        """One row per source: the table ``federation stats`` and ``.stats`` print."""
        rows = [
            {"source": s.name, "kind": s.kind, "queries": s.queries, "fragments": s.fragments,
             "cache_hits": s.cache_hits, "rows": s.rows, "bytes": s.bytes, "errors": s.errors,
             "p50_ms": s.latency.p50_ms, "p95_ms": s.latency.p95_ms, "p99_ms": s.latency.p99_ms}
            for s in self.sources
        ]
        return pa.Table.from_pylist(rows, schema=_SOURCES_SCHEMA)

    def summary(self) -> str:
        """The whole-query and cache figures, in two lines."""
        percentiles = ", ".join(f"{name} {_ms(value)}" for name, value in (
            ("p50", self.latency.p50_ms), ("p95", self.latency.p95_ms), ("p99", self.latency.p99_ms)))
        cache = self.cache
        ratio = "no lookups yet" if cache.hit_ratio is None else (
            f"hit ratio {cache.hit_ratio:.2f} ({cache.hits} of {cache.hits + cache.misses} lookups)")
        return (f"queries: {self.queries} ({self.errors} failed, {self.cancelled} cancelled, {self.cached} from"
                f" the cache), {self.rows} rows; latency {percentiles}; since {self.since}\n"
                f"cache: {cache.entries} entries, {format_bytes(cache.bytes)} of {format_bytes(cache.max_bytes)};"
                f" {ratio}")


_SOURCES_SCHEMA = pa.schema([
    ("source", pa.string()), ("kind", pa.string()), ("queries", pa.int64()), ("fragments", pa.int64()),
    ("cache_hits", pa.int64()), ("rows", pa.int64()), ("bytes", pa.int64()), ("errors", pa.int64()),
    ("p50_ms", pa.float64()), ("p95_ms", pa.float64()), ("p99_ms", pa.float64()),
])


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


class _Counters:
    def __init__(self):
        self.queries = self.fragments = self.cache_hits = self.rows = self.bytes = self.errors = 0
        self.latencies: deque[float] = deque(maxlen=WINDOW)


class StatsRecorder:
    """Counts queries as the executor runs them. Thread-safe: queries end on any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._since = dt.datetime.now(dt.timezone.utc)
        self._started = time.monotonic()
        self._sources: dict[str, _Counters] = {}
        self._queries = self._errors = self._cancelled = self._cached = self._rows = 0
        self._latencies: deque[float] = deque(maxlen=WINDOW)

    def observe(self, plan: Plan, steps: list, run: Callable[[], tuple[pa.Table, bool]]) -> tuple[pa.Table, bool]:
        """``run()`` (one query of ``plan``, which appends its executor Steps to
        ``steps``), counted when it returns or raises."""
        started = time.perf_counter()
        try:
            table, hit = run()
        except FederationError as exc:
            self._record(plan, steps, time.perf_counter() - started, None, False, exc)
            raise
        self._record(plan, steps, time.perf_counter() - started, table, hit, None)
        return table, hit

    def _record(self, plan: Plan, steps: list, seconds: float, table: pa.Table | None, hit: bool,
                error: FederationError | None) -> None:
        by_step = {fragment_name(i): f.source for i, f in enumerate(plan.fragments)
                   if not isinstance(f, DerivedFragment)}  # DuckDB work, not a source's
        with self._lock:
            self._queries += 1
            for name in plan.sources:
                self._source(name).queries += 1
            for step in steps:
                source = by_step.get(step.name)
                if source is None or (step.fragment is None and not step.cache_hit):
                    continue  # a DuckDB step, or a semi-join that needed no request (no keys)
                counters = self._source(source)
                if step.cache_hit:
                    counters.cache_hits += 1
                    continue
                counters.fragments += 1
                counters.rows += step.rows
                counters.bytes += step.bytes
                counters.latencies.append(step.seconds)
            if isinstance(error, QueryCancelled):
                self._cancelled += 1
            elif error is not None:
                self._errors += 1
                failed = getattr(error, "source", None)
                if failed in plan.sources:
                    self._source(failed).errors += 1
            else:
                self._cached += hit
                self._rows += table.num_rows
                self._latencies.append(seconds)

    def _source(self, name: str) -> _Counters:
        counters = self._sources.get(name)
        if counters is None:
            counters = self._sources[name] = _Counters()
        return counters

    def snapshot(self, sources: Mapping[str, "Source"], cache: "ResultCache", *, reset: bool = False) -> Stats:
        """The figures so far; with ``reset``, counting starts again from zero."""
        hits, misses = cache.counters(reset=reset)
        with self._lock:
            rows = []
            for name, source in sources.items():
                c = self._sources.get(name) or _Counters()
                rows.append(SourceStats(name, source.kind, c.queries, c.fragments, c.cache_hits, c.rows, c.bytes,
                                        c.errors, Latency.of(c.latencies)))
            stats = Stats(
                since=self._since.isoformat(timespec="seconds"),
                seconds=round(time.monotonic() - self._started, 3),
                queries=self._queries, errors=self._errors, cancelled=self._cancelled, cached=self._cached,
                rows=self._rows, latency=Latency.of(self._latencies), sources=tuple(rows),
                cache=CacheStats(len(cache), cache.bytes, cache.max_bytes, hits, misses),
            )
            if reset:
                self._reset()
            return stats

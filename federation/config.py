"""Federation configuration: a TOML file or a dict of the same structure.

```toml
[cache]
max_bytes = "256MiB"         # bytes of Arrow data kept; 0 turns the cache off

[query]
timeout = 30                 # seconds a query may run (default: no limit)
max_rows = 1000000           # rows a fragment or result may have (default: no cap)
max_bytes = "4GiB"           # Arrow bytes of a fragment or result (default: a quarter of memory)

[duckdb]
memory_limit = "2GB"         # DuckDB's memory for the join step (default: DuckDB's, 80% of memory)
threads = 2                  # DuckDB's threads (default: one per core)
temp_directory = "/tmp/fed"  # where DuckDB spills past memory_limit (default: ./.tmp)

[planner]
max_keys = 10000             # semi-joins push at most this many join keys into a source
ship_rows = 2000             # a graph result up to this many rows (estimated) may join in SQLite; 0: never

[retry]                      # while another process locks a source (SQLite writer, Kuzu read-write)
attempts = 8                 # tries in all; 1 never retries
initial_backoff = 0.02       # seconds before the second try, doubling ...
max_backoff = 1.0            # ... up to this

[sources.state]
type = "sqlite"
path = "state.db"            # relative paths resolve against this file's folder

[sources.graph]
type = "kuzu"
path = "graph.kuzu"
buffer_pool_size = "1GiB"    # optional: Kuzu's buffer pool while a query reads the graph
keep_open = false            # optional: true keeps the graph open between queries (no other process can write it)

[sources.knowledge]
type = "lancedb"
uri = "lance"
embedder = "hash"            # lets VECTOR_SEARCH take a string
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, did_you_mean
from .limits import available_memory
from .retry import RetryPolicy

SOURCE_TYPES = {
    "sqlite": ("path",),
    "kuzu": ("path",),
    "lancedb": ("uri",),
}
_OPTIONAL = {
    "sqlite": {"retry"},
    "kuzu": {"database", "retry", "buffer_pool_size", "keep_open"},
    "lancedb": {"embedder"},
}
SECTIONS = ("sources", "cache", "query", "planner", "retry", "duckdb")
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class DuckDBConfig:
    """Settings of the DuckDB connection that runs the join step; None: DuckDB's default."""

    memory_limit: int | None = None  # bytes
    threads: int | None = None
    temp_directory: str | None = None

    def settings(self) -> dict[str, object]:
        """The ``duckdb.connect(config=...)`` dict. DuckDB reads only the Arrow tables it
        is handed: no file, URL, ATTACH, COPY or extension install, whatever SQL reached it
        (it still spills to ``temp_directory``)."""
        settings: dict[str, object] = {"enable_external_access": False}
        if self.memory_limit is not None:
            settings["memory_limit"] = f"{self.memory_limit}B"
        if self.threads is not None:
            settings["threads"] = self.threads
        if self.temp_directory is not None:
            settings["temp_directory"] = self.temp_directory
        return settings

    def connect(self, origin: str = "<dict>"):
        """An in-memory DuckDB connection with these settings."""
        import duckdb

        if self.temp_directory is not None:
            try:  # DuckDB creates the folder itself only if its parent exists
                Path(self.temp_directory).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"{origin}: [duckdb] temp_directory {self.temp_directory}: {exc.strerror}") from None
        try:
            return duckdb.connect(":memory:", config=self.settings())
        except duckdb.Error as exc:
            raise ConfigError(f"{origin}: [duckdb] {str(exc).splitlines()[0]}") from exc


def default_max_bytes() -> int:
    """A quarter of the memory the process may use: a runaway fragment stops well before
    it exhausts memory, while several large fragments, DuckDB and the cache still fit."""
    return available_memory() // 4


@dataclass(frozen=True)
class Config:
    sources: tuple[SourceConfig, ...]
    cache_bytes: int = DEFAULT_CACHE_BYTES
    origin: str = "<dict>"
    timeout: float | None = None  # seconds a query may run by default; None: no limit
    max_keys: int = 10_000  # semi-joins: above this many distinct keys, fetch the other side whole
    retry: RetryPolicy = RetryPolicy()  # the [retry] table; each source's options["retry"] is resolved
    extra: Mapping[str, Any] = field(default_factory=dict)
    max_rows: int | None = None  # rows of each fragment result and of the final result; None: no cap
    max_bytes: int | None = field(default_factory=default_max_bytes)  # their Arrow bytes; None: no cap
    duckdb: DuckDBConfig = DuckDBConfig()
    ship_rows: int = 2_000  # a query's last step runs in SQLite over graph results estimated at most this big


def load(config: str | Path | Mapping[str, Any]) -> Config:
    if isinstance(config, Mapping):
        return parse(config, base=Path.cwd(), origin="<dict>")
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f"Configuration file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(data, base=path.resolve().parent, origin=str(path))


def parse(data: Mapping[str, Any], *, base: Path, origin: str) -> Config:
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{origin}: unknown section {unknown[0]!r}." + did_you_mean(unknown[0], SECTIONS))
    retry = parse_retry(data.get("retry", {}), f"{origin}: [retry]", RetryPolicy())
    sources_data = data.get("sources")
    if not isinstance(sources_data, Mapping) or not sources_data:
        raise ConfigError(f"{origin}: needs at least one source under [sources.<name>]")
    sources = []
    for name, entry in sources_data.items():
        where = f"{origin}: source {name!r}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{where}: a source name must be a plain identifier (letters, digits, _)")
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a table of settings")
        kind = entry.get("type")
        if kind not in SOURCE_TYPES:
            raise ConfigError(
                f"{where}: type must be one of {', '.join(sorted(SOURCE_TYPES))}, not {kind!r}."
                + (did_you_mean(str(kind), SOURCE_TYPES) if kind else "")
            )
        required = SOURCE_TYPES[kind]
        allowed = {"type", *required, *_OPTIONAL[kind]}
        extra = sorted(set(entry) - allowed)
        if extra:
            raise ConfigError(f"{where}: unknown setting {extra[0]!r}." + did_you_mean(extra[0], allowed))
        options = {k: v for k, v in entry.items() if k != "type"}
        if "retry" in _OPTIONAL[kind]:
            options["retry"] = parse_retry(options.get("retry", {}), f"{where}: retry", retry)
        if kind == "kuzu" and "database" in options:
            required = ()
        if "keep_open" in options and not isinstance(options["keep_open"], bool):
            raise ConfigError(f"{where}: keep_open must be true or false, not {options['keep_open']!r}")
        if "buffer_pool_size" in options:
            options["buffer_pool_size"] = parse_bytes(options["buffer_pool_size"], f"{where}: buffer_pool_size")
        for key in required:
            if not isinstance(options.get(key), (str, Path)):
                raise ConfigError(f"{where}: needs {key} = \"...\"")
            value = str(options[key])
            if "://" not in value:
                value = str((base / Path(value).expanduser()).resolve()) if not Path(value).is_absolute() else value
            options[key] = value
        sources.append(SourceConfig(name, kind, options))
    cache = data.get("cache", {})
    if not isinstance(cache, Mapping):
        raise ConfigError(f"{origin}: [cache] must be a table")
    bad = sorted(set(cache) - {"max_bytes"})
    if bad:
        raise ConfigError(f"{origin}: unknown cache setting {bad[0]!r}; the cache has max_bytes")
    cache_bytes = parse_bytes(cache.get("max_bytes", DEFAULT_CACHE_BYTES), f"{origin}: [cache] max_bytes")
    query = _section(data, "query", ("timeout", "max_rows", "max_bytes"), origin)
    timeout = parse_timeout(query.get("timeout"), f"{origin}: [query] timeout")
    max_rows = _count(query.get("max_rows", 0), f"{origin}: [query] max_rows", minimum=0) or None
    max_bytes = parse_bytes(query["max_bytes"], f"{origin}: [query] max_bytes") if "max_bytes" in query \
        else default_max_bytes()
    duck = _section(data, "duckdb", ("memory_limit", "threads", "temp_directory"), origin)
    memory_limit = parse_bytes(duck["memory_limit"], f"{origin}: [duckdb] memory_limit") \
        if "memory_limit" in duck else None
    if memory_limit == 0:
        raise ConfigError(f"{origin}: [duckdb] memory_limit must be more than 0 bytes")
    threads = _count(duck["threads"], f"{origin}: [duckdb] threads", minimum=1) if "threads" in duck else None
    temp_directory = duck.get("temp_directory")
    if temp_directory is not None:
        if not isinstance(temp_directory, (str, Path)) or not str(temp_directory):
            raise ConfigError(f"{origin}: [duckdb] temp_directory must be a folder path, not {temp_directory!r}")
        temp_directory = str((base / Path(temp_directory).expanduser()).resolve())
    max_keys, ship_rows = parse_planner(data.get("planner", {}), origin)
    return Config(tuple(sources), cache_bytes, origin, timeout, max_keys, retry, ship_rows=ship_rows,
                  max_rows=max_rows,
                  max_bytes=max_bytes or None, duckdb=DuckDBConfig(memory_limit, threads, temp_directory))


def _section(data: Mapping[str, Any], name: str, keys: tuple[str, ...], origin: str) -> Mapping[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{origin}: [{name}] must be a table with {', '.join(keys)}")
    unknown = sorted(set(section) - set(keys))
    if unknown:
        raise ConfigError(f"{origin}: unknown setting {unknown[0]!r} in [{name}]." + did_you_mean(unknown[0], keys)
                          + f" [{name}] takes {', '.join(keys)}")
    return section


def _count(value: object, where: str, *, minimum: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise ConfigError(f"{where} must be a whole number of at least {minimum}, not {value!r}")


def parse_planner(planner: object, origin: str) -> tuple[int, int]:
    """``[planner] max_keys``: the largest key set a semi-join pushes into a source;
    ``ship_rows``: the largest graph result (estimated) a query's last step in SQLite reads."""
    if not isinstance(planner, Mapping) or sorted(set(planner) - {"max_keys", "ship_rows"}):
        raise ConfigError(f"{origin}: [planner] takes max_keys = <number of keys> and ship_rows = <number of rows>")
    found = []
    for key, default, off in (("max_keys", 10_000, "semi-joins"), ("ship_rows", 2_000, "shipping rows to SQLite")):
        value = planner.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{origin}: [planner] {key} must be a whole number >= 0 (0 turns {off} off),"
                              f" not {value!r}")
        found.append(value)
    return found[0], found[1]


def parse_retry(value: object, where: str, defaults: RetryPolicy) -> RetryPolicy:
    """A retry table (``attempts``, ``initial_backoff``, ``max_backoff``) over ``defaults``."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of attempts, initial_backoff, max_backoff")
    keys = ("attempts", "initial_backoff", "max_backoff")
    bad = sorted(set(value) - set(keys))
    if bad:
        raise ConfigError(f"{where}: unknown setting {bad[0]!r}." + did_you_mean(bad[0], keys)
                          + " It takes attempts, initial_backoff and max_backoff")
    attempts = value.get("attempts", defaults.attempts)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise ConfigError(f"{where} attempts must be a whole number of tries, 1 or more (1 never retries),"
                          f" not {attempts!r}")
    backoffs = {}
    for key in keys[1:]:
        seconds = value.get(key, getattr(defaults, key))
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds < float("inf"):
            raise ConfigError(f"{where} {key} must be a number of seconds, 0 or more, not {seconds!r}")
        backoffs[key] = float(seconds)
    if backoffs["max_backoff"] < backoffs["initial_backoff"]:
        raise ConfigError(f"{where} max_backoff ({backoffs['max_backoff']:g} s) must not be less than"
                          f" initial_backoff ({backoffs['initial_backoff']:g} s)")
    return RetryPolicy(attempts, **backoffs)


def parse_timeout(value: object, where: str = "timeout") -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ConfigError(f"{where} must be a positive number of seconds, not {value!r}")


def parse_bytes(value: object, where: str = "max_bytes") -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
        if match and match.group(2).lower() in _UNITS:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    raise ConfigError(f"{where} must be a byte count like 268435456 or \"256MiB\", not {value!r}")

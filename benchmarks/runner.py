"""``python -m benchmarks``: generate (or reuse) the data, run the suites, write JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from . import datagen
from .measure import peak_rss_mib

SUITES = ("federated", "relationships", "vectors", "overheads")
HERE = Path(__file__).resolve().parent


def machine() -> dict[str, Any]:
    memory = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for package in ("duckdb", "kuzu", "lancedb", "pylance", "pyarrow", "numpy", "pandas", "adbc-driver-sqlite"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average_at_start": os.getloadavg(),
    }


def _git_commit(*path: str) -> str | None:
    """The checkout's commit, or the last commit that changed ``path`` (the engine)."""
    import subprocess

    try:
        return subprocess.run(["git", "log", "-1", "--format=%h", "--", *path], cwd=HERE, capture_output=True,
                              text=True, check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def run(scale: str, suites: tuple[str, ...], repeat: int, data_dir: Path, seed: int = datagen.DEFAULT_SEED,
        log=print) -> dict[str, Any]:
    from .stores import Stores

    workspace = datagen.build(scale, data_dir, seed, log=log)
    stores = Stores(workspace)
    result: dict[str, Any] = {
        "scale": scale,
        "sizes": vars(datagen.SCALES[scale]),
        "seed": seed,
        "repeat": repeat,
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "engine_commit": _git_commit(str(HERE.parent / "federation"), str(HERE.parent / "grammar")),
        "machine": machine(),
        "data": {"counts": workspace.meta["counts"], "build_seconds": workspace.meta["build_seconds"]},
        "suites": {},
    }
    try:
        stores.warm()
        for suite in suites:
            log(f"suite {suite} (scale {scale}, {repeat} repeats)")
            started = time.perf_counter()
            module = __import__(f"benchmarks.{suite}", fromlist=["run"])
            result["suites"][suite] = module.run(stores, repeat, log=log)
            result["suites"][suite]["seconds"] = round(time.perf_counter() - started, 1)
    finally:
        stores.close()
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def check(result: dict[str, Any]) -> list[str]:
    """Wrong answers and failures: an alternative that answered differently, or raised."""
    problems = []
    for suite, body in result["suites"].items():
        for item in body.get("queries", []) + body.get("shapes", []):
            for name, diff in item.get("mismatches", {}).items():
                problems.append(f"{suite}/{item['name']}: {name} answered differently: {diff}")
            for name, error in item.get("errors", {}).items():
                problems.append(f"{suite}/{item['name']}: {name} failed: {error}")
        for item in body.get("results", []):
            if "error" in item:
                problems.append(f"{suite}/{item['method']} [{item['prefilter']}]: {item['error']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", default="S", choices=sorted(datagen.SCALES),
                        help="S: 10k nodes/100k edges/10k vectors/100k rows; M: 10x; L: 100x (opt-in, slow); "
                             "T: tiny, for the smoke test")
    parser.add_argument("--suite", action="append", choices=SUITES,
                        help="run only this suite (repeatable); default: all")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--out", type=Path, help="JSON output (default benchmarks/results/<scale>.json)")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data",
                        help="where generated data is cached (default benchmarks/data)")
    parser.add_argument("--seed", type=int, default=datagen.DEFAULT_SEED)
    args = parser.parse_args(argv)

    out = args.out or HERE / "results" / f"{args.scale}.json"
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    result = run(args.scale, tuple(args.suite or SUITES), args.repeat, args.data_dir, args.seed, log=log)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    log(f"wrote {out}")
    problems = check(result)
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if any("answered differently" in p for p in problems) else 0

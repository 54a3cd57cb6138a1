"""Shared fixtures: one seeded dataset per session, the engine over it, and the reference DB.

Every store the tests read is watched (``source_guard``): each file under it is
hashed when it is built and again when the session ends, and the session fails if
any file changed, appeared or disappeared. The engine opens sources read-only; this
is the proof, over everything the suite (fuzzers included) makes it run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from datagen import Dataset, build_dataset
from sourceguard import SourceGuard, source_guard  # noqa: F401 - the session-wide fixture


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory, source_guard: SourceGuard) -> Dataset:
    root = tmp_path_factory.mktemp("dataset")
    built = build_dataset(root, seed=42)
    source_guard.watch(root)
    return built


@pytest.fixture(scope="session")
def fed(dataset: Dataset) -> Iterator[Any]:
    # Imported here, not at module level, so tests that only need the dataset
    # or the reference database run even while the engine does not import.
    import federation

    engine = federation.connect(dataset.config)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def reference(dataset: Dataset) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(dataset.reference), read_only=True)
    try:
        yield con
    finally:
        con.close()

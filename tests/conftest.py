"""Shared fixtures: one seeded dataset per session, the engine over it, and the reference DB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from datagen import Dataset, build_dataset


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return build_dataset(tmp_path_factory.mktemp("dataset"), seed=42)


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

"""The session-wide proof that the engine only reads: every watched store ends the
session byte-identical. Kept apart from conftest.py, with no heavy imports, so that a
test can run the very same fixture in a pytest session of its own."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest


def hash_tree(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by path relative to it."""
    root = Path(root)
    digests = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digests[path.relative_to(root).as_posix()] = digest.hexdigest()
    return digests


def tree_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two ``hash_tree`` results, one line per file."""
    changes = [f"changed: {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    changes += [f"removed: {p}" for p in sorted(before.keys() - after.keys())]
    changes += [f"added:   {p}" for p in sorted(after.keys() - before.keys())]
    return changes


class SourceGuard:
    """Folders of source files that must end the session byte-identical."""

    def __init__(self):
        self._watched: dict[Path, dict[str, str]] = {}

    def watch(self, root: Path) -> Path:
        """Hash every file under ``root`` now; it is checked again when the session ends."""
        root = Path(root).resolve()
        self._watched[root] = hash_tree(root)
        return root

    def changes(self) -> list[str]:
        found = []
        for root, before in self._watched.items():
            found += [f"{line}  (under {root})" for line in tree_changes(before, hash_tree(root))]
        return found


@pytest.fixture(scope="session", autouse=True)
def source_guard() -> Iterator[SourceGuard]:
    # Session-scoped and autouse: set up before, and torn down after, every fixture
    # that opens a watched store, so the final hashes are taken once all are closed.
    guard = SourceGuard()
    yield guard
    changes = guard.changes()
    if changes:
        pytest.fail("Source files changed during the test session (the engine must only read):\n  "
                    + "\n  ".join(changes), pytrace=False)

"""The wheel ships the grammar, and a non-editable install parses and runs examples."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_grammar_and_works_installed(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    (wheel,) = (tmp_path / "dist").glob("federation-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "federation/grammar/fql.lark" in archive.namelist()
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    # Outside the checkout, with the installed copy first on the path: the grammar must
    # come from the package data, not from the source tree.
    script = (
        "import federation, federation.parser as p;"
        "assert federation.__file__.startswith(%r), federation.__file__;"
        "assert 'site' in str(p.grammar_path()), p.grammar_path();"
        "print(p.parse('SELECT 1'))" % str(target)
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_quickstart_example_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), str(tmp_path / "ws")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "coordinator-3" in proc.stdout and "connection pooling" in proc.stdout
    assert "CatalogError: Unknown column 'nmae'" in proc.stdout

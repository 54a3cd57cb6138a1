"""The benchmark runner at a tiny scale, once: every suite runs, every alternative
gives the same answer, and the report renders. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import report
from benchmarks.runner import check

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_run_at_tiny_scale_and_agree(tmp_path):
    out = tmp_path / "T.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "T", "--repeat", "1",
         "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert set(result["suites"]) == {"federated", "relationships", "vectors", "overheads"}
    assert check(result) == []
    queries = result["suites"]["federated"]["queries"]
    assert len(queries) >= 8
    assert all(set(q["alternatives"]) == {"engine", "expert", "naive", "pandas", "onedb"} for q in queries)
    assert any(q["rows"] for q in queries)

    page = tmp_path / "benchmarks.md"
    assert report.main([str(out), "--out", str(page)]) == 0
    text = page.read_text()
    assert "## Summary" in text and "q1_neighbourhood_state_knn" in text


def test_round_robin_rotates_which_alternative_goes_first():
    """Whichever runs right after a heavy alternative pays for it: no alternative may
    always follow the same one."""
    from benchmarks.measure import run_round_robin

    calls: list[str] = []
    alternatives = {name: (lambda name=name: calls.append(name) or name) for name in "abc"}
    samples, answers, errors = run_round_robin(alternatives, repeat=3)
    assert answers == {"a": "a", "b": "b", "c": "c"} and not errors
    assert calls == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]  # warm-ups, then 3 rounds
    assert all(len(s.seconds) == 3 for s in samples.values())

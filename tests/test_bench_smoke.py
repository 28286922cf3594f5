"""Smoke test of the benchmark harness (``python -m bench``): it runs, and its JSON has the
documented shape. No timing is asserted; the benchmarks themselves are not part of the suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KEYS = {"scenario", "size", "seconds", "baseline_seconds", "ratio", "peak_mb", "target"}


def _bench(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args, "--cache", str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_quick_json_run_of_a_cheap_scenario_has_the_documented_shape(tmp_path):
    p = _bench("--quick", "--json", "--only", "validate", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.loads(p.stdout)  # stdout is exactly one JSON document
    assert isinstance(rows, list) and len(rows) == 1
    r = rows[0]
    assert set(r) >= KEYS
    assert r["scenario"] == "validate"
    assert r["size"] == 1_000  # --quick: 1/10 of the full 10,000 trades
    for k in ("seconds", "baseline_seconds", "ratio", "peak_mb"):
        assert isinstance(r[k], float) and r[k] > 0, k
    assert r["ratio"] == pytest.approx(r["seconds"] / r["baseline_seconds"], rel=1e-2)
    assert isinstance(r["target"], str) and r["target"]
    assert isinstance(r["met"], bool)
    d = r["details"]
    # both sides did the same work on the same data: the same number of findings
    assert d["findings"] == d["baseline_findings"] > 0
    assert len(d["xlexec_runs"]) == 1 and len(d["baseline_runs"]) == 1
    # the generated data went to the cache folder given, not into the repository
    assert any(tmp_path.glob("validate-1000-v*/trades.csv"))
    assert "[bench] validate" in p.stderr


def test_list_and_unknown_scenario(tmp_path):
    p = _bench("--list", cache=tmp_path)
    assert p.returncode == 0
    names = [ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()]
    assert names == ["validate", "reconcile", "tca_year", "workbook_write", "workbook_read", "submit", "cancel_all"]
    p = _bench("--only", "nope", cache=tmp_path)
    assert p.returncode == 2 and "unknown scenario" in p.stderr

"""The PNG charts are not drawn again when nothing changed, through the CLI (a subprocess, from a
folder that is not the project, recording the modules it imported on its way out): a rerun of
``xlexec tca`` / ``xlexec monthly`` with the same inputs imports no matplotlib and leaves every
file under ``live/`` byte-identical; a changed fill draws the day's charts again (different
bytes); an altered or deleted PNG is drawn again, to the bytes it had."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import tests.test_monthly_benchmarks as hand  # the hand-written days (trades, bars, fills, journal)
from tests.test_cli_lazy import MODULES_AT_EXIT

REPO = Path(__file__).resolve().parent.parent
DAY = "2025-10-22"  # a day with bars: every chart has something to draw


def _run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, bool]:
    """``xlexec ARGS``; (the process, whether it imported matplotlib)."""
    env = dict(os.environ, XLWINGS_LICENSE_KEY="noncommercial")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    p = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    assert p.returncode == 0, p.stderr
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    mods = json.loads(line.removeprefix("MODULES "))
    return p, any(m == "matplotlib" or m.startswith("matplotlib.") for m in mods)


def _hashes(root: Path) -> dict[str, str]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    live = tmp_path / "live"
    d = hand._write_day(live, DAY)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    return live, d, cfg


def test_a_rerun_draws_nothing_and_changes_no_byte(tmp_path):
    live, d, cfg = _setup(tmp_path)
    tca = ["tca", str(d), "--config", str(cfg)]
    monthly = ["monthly", "--month", DAY[:7], "--config", str(cfg)]
    _, drew = _run(tca, tmp_path)
    assert drew  # the import log is real: the first run draws
    _, drew = _run(monthly, tmp_path)
    assert drew
    pngs = sorted(p.name for p in (d / "tca_charts").glob("*.png"))
    assert pngs == ["cost_by_benchmark.png", "cost_vs_participation.png", "histogram.png"]
    before = _hashes(live)

    for args in (tca, monthly, tca):
        _, drew = _run(args, tmp_path)
        assert not drew, args
    assert _hashes(live) == before


def test_a_changed_fill_draws_the_charts_again(tmp_path):
    live, d, cfg = _setup(tmp_path)
    tca = ["tca", str(d), "--config", str(cfg)]
    _run(tca, tmp_path)
    before = _hashes(d / "tca_charts")
    fills = d / "broker_fills.csv"
    text = fills.read_text()
    assert ",AAPL,buy,100,150.10," in text
    fills.write_text(text.replace(",AAPL,buy,100,150.10,", ",AAPL,buy,100,150.60,"))  # 50 bps dearer

    _, drew = _run(tca, tmp_path)
    assert drew
    after = _hashes(d / "tca_charts")
    assert after["cost_by_benchmark.png"] != before["cost_by_benchmark.png"]
    assert after["cost_vs_participation.png"] != before["cost_vs_participation.png"]
    assert after["charts_manifest.json"] != before["charts_manifest.json"]
    _, drew = _run(tca, tmp_path)  # and the new pictures are then kept
    assert not drew and _hashes(d / "tca_charts") == after


def test_an_altered_or_deleted_png_is_drawn_again(tmp_path):
    live, d, cfg = _setup(tmp_path)
    tca = ["tca", str(d), "--config", str(cfg)]
    _run(tca, tmp_path)
    charts = d / "tca_charts"
    before = _hashes(charts)
    png = (charts / "histogram.png").read_bytes()
    (charts / "histogram.png").write_bytes(png[:-40] + b"\0" * 40)  # same size, other bytes
    (charts / "cost_by_benchmark.png").unlink()

    _, drew = _run(tca, tmp_path)
    assert drew
    assert _hashes(charts) == before

    (charts / "charts_manifest.json").write_text("not json")  # an unreadable manifest: drawn again
    _, drew = _run(tca, tmp_path)
    assert drew and _hashes(charts) == before

"""The TCA and Monthly charts as PNG files, through the CLI (a subprocess, from a folder that is
not the project): each is a valid PNG of the stated size with no metadata (no software
version, no date), a rerun leaves every one byte-identical, and a day without bars still gets
its charts (the picture says why there is nothing) with the step's exit 0."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import tests.test_monthly_benchmarks as hand  # the hand-computed month: three days, two with bars
from tests.test_monthly_benchmarks import month  # noqa: F401 (the fixture: those days through xlexec tca)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAY_CHARTS = ["cost_by_benchmark.png", "cost_vs_participation.png", "histogram.png"]
MONTH_CHARTS = ["cost_by_broker.png", "histogram.png", "trend_by_week.png"]
MANIFEST = "charts_manifest.json"  # beside the PNGs: what each was drawn from, and its sha256


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks (type, data), each CRC checked (the PNG spec's layout, read here)."""
    assert data[:8] == PNG_SIGNATURE
    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + n]
        (crc,) = struct.unpack(">I", data[i + 8 + n : i + 12 + n])
        assert zlib.crc32(kind + body) == crc, kind
        out.append((kind, body))
        i += 12 + n
    return out


def _check_png(path: Path) -> None:
    ch = _chunks(path.read_bytes())
    assert ch[0][0] == b"IHDR" and ch[-1][0] == b"IEND"
    w, h = struct.unpack(">II", ch[0][1][:8])
    assert (w, h) == (800, 450), path
    kinds = {k for k, _ in ch}
    assert not kinds & {b"tEXt", b"zTXt", b"iTXt", b"tIME"}, (path, kinds)  # no software, no date


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.png"))}


def test_day_and_month_charts_are_pngs_and_a_rerun_keeps_them(month):  # noqa: F811
    live, cfg, cwd = month  # the three days already through `xlexec tca`
    r = hand._run(["monthly", "--month", "2025-10", "--config", str(cfg)], cwd)
    assert r.returncode == 0, r.stderr
    for day in hand.ORDERS:
        got = sorted(p.name for p in (live / day / "tca_charts").iterdir())
        assert got == sorted([*DAY_CHARTS, MANIFEST]), day
    got = sorted(p.name for p in (live / "monthly_charts" / "2025-10").iterdir())
    assert got == sorted([*MONTH_CHARTS, MANIFEST])
    before = _hashes(live)
    assert len(before) == 3 * 3 + 3
    for path in before:
        _check_png(live / path)
    # a day with bars and the day without draw different cost-vs-participation pictures
    sc = "tca_charts/cost_vs_participation.png"
    assert before[f"2025-10-22/{sc}"] != before[f"2025-10-30/{sc}"]

    for day in hand.ORDERS:  # rerun every step: not one byte moves
        r = hand._run(["tca", str(live / day), "--config", str(cfg)], cwd)
        assert r.returncode == 0, r.stderr
    r = hand._run(["monthly", "--month", "2025-10", "--config", str(cfg)], cwd)
    assert r.returncode == 0, r.stderr
    assert _hashes(live) == before


def test_a_day_without_bars_still_gets_its_charts(tmp_path):
    live = tmp_path / "live"
    d = hand._write_day(live, "2025-10-30")  # the day of the month written without bars.csv
    assert not (d / "bars.csv").exists()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    r = hand._run(["tca", str(d), "--config", str(cfg)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no bars.csv in the day folder" in r.stdout
    for name in DAY_CHARTS:
        _check_png(d / "tca_charts" / name)

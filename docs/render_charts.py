"""Render the demo's TCA and Monthly charts to ``docs/img/`` (``make charts``).

One command, reproducible: ``python docs/render_charts.py [--out DIR] [--days N] [--date D]``.
``xlexec demo --days 15 --no-workbook`` runs three weeks of paper sessions through the CLI
(the clock pinned by the demo); the PNGs the TCA and Monthly steps wrote for the last day
(``live/DATE/tca_charts/*.png``, ``live/monthly_charts/YYYY-MM/*.png``) are copied as
``OUT/tca_<chart>.png`` and ``OUT/monthly_<chart>.png``. Exit 0 when every chart was copied,
else one line naming the missing one and exit 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xlexec.steps.charts import DAY_CHARTS, MONTH_CHARTS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "img"))
    ap.add_argument("--days", type=int, default=15)
    ap.add_argument("--date", default="2025-10-30")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        desk = Path(work) / "desk"
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, "-m", "xlexec", "demo", "--dir", str(desk), "--date", a.date]
        r = subprocess.run([*cmd, "--days", str(a.days), "--no-workbook"], cwd=work, env=env, capture_output=True)
        if r.returncode:
            print(f"render_charts: xlexec demo failed: {r.stderr.decode(errors='replace').strip()[-400:]}")
            return 1
        pairs = [(desk / "live" / a.date / "tca_charts" / n, out / f"tca_{n}") for n in DAY_CHARTS]
        pairs += [(desk / "live" / "monthly_charts" / a.date[:7] / n, out / f"monthly_{n}") for n in MONTH_CHARTS]
        for src, dst in pairs:
            if not src.exists():
                print(f"render_charts: {src.relative_to(desk)} was not written")
                return 1
            shutil.copyfile(src, dst)
            print(dst)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

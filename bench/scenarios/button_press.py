"""Scenario: a button press on a workbook file, the way the operator feels it, against the bound.

* xlexec: ``python -m xlexec button NAME --book FILE`` for validate, reconcile and tca, each in a
  fresh process (what the workbook's RunPython does), on the book of the last day of a
  ``--days N`` demo (N = size; full size 15 days: 15 day folders, a 15-day journal and Log). CPU
  seconds (user + system) of each press; ``seconds`` is the slowest of the three.
* bound (the baseline side): ``python -c 'import pandas'``: the interpreter's start plus the one
  import no press avoids, measured in the same run. Target: every press ≤ 1.6× the bound.

Bytecode is cached (under the bench cache, as an installed package has it) and so is the VBA
project (``XLEXEC_CACHE_DIR`` in the scenario's temp folder): one untimed warm-up per side.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from ..harness import child_cpu, child_env

NAME = "button_press"
TITLE = "button press (validate, reconcile, tca) on a {size}-day book"
UNIT = "days"
FULL_SIZE = 15
TARGET = "CPU of each press <= 1.6x the bound (python -c 'import pandas')"
BOUND = "python -c 'import pandas' (start + the one import no press avoids)"
SIDES = ("xlexec", "baseline")
WARMUP = {"xlexec": 1, "baseline": 1}
MAX_REPEAT = {}
GEN_VERSION = 1
BASELINE = "the bound: python -c 'import pandas'"
PRESSES = ("validate", "reconcile", "tca")
LIMIT = 1.6
DAY = "2025-10-30"
NOW = "2025-10-30T20:10:00Z"  # 16:10 New York: after the close, as a reconcile press is


def prepare(root: Path, size: int) -> None:
    import subprocess

    env = child_env(root, XLEXEC_CACHE_DIR=str(root / "xlexec-cache"))
    p = subprocess.run(
        [sys.executable, "-m", "xlexec", "demo", "--dir", str(root / "demo"), "--date", DAY, "--days", str(size)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if p.returncode != 0:
        raise RuntimeError(f"xlexec demo: exit {p.returncode}: {p.stderr.strip()[-500:]}")


def setup(root: Path, size: int, side: str):
    tmp = Path(tempfile.mkdtemp(prefix="xlexec-bench-press-"))
    demo = tmp / "demo"
    shutil.copytree(root / "demo", demo)  # the presses write the live folder and the book
    env = child_env(root, XLEXEC_CACHE_DIR=str(tmp / "xlexec-cache"), XLEXEC_NOW=NOW)
    return {"tmp": tmp, "env": env, "book": demo / f"xlexec_{DAY}.xlsm", "config": demo / "config.yaml"}


def teardown(state, side: str) -> None:
    shutil.rmtree(state["tmp"], ignore_errors=True)


def run(state, side: str):
    if side == "baseline":
        cpu, wall, _ = child_cpu([sys.executable, "-c", "import pandas"], state["env"], state["tmp"])
        return cpu, {"wall_seconds_run": round(wall, 4)}
    details = {}
    for name in PRESSES:
        cmd = [sys.executable, "-m", "xlexec", "button", name, "--book", str(state["book"])]
        cpu, wall, _ = child_cpu([*cmd, "--config", str(state["config"])], state["env"], state["tmp"])
        details[f"{name}_cpu_seconds"] = round(cpu, 4)
        details[f"{name}_wall_seconds"] = round(wall, 4)
    return max(details[f"{n}_cpu_seconds"] for n in PRESSES), details


def judge(row) -> bool | None:
    return None if row["ratio"] is None else row["ratio"] <= LIMIT


def note(row) -> str:
    d, bound = row["details"], row["baseline_seconds"]
    each = ", ".join(f"{n} {d[f'{n}_cpu_seconds']:.2f} s ({d[f'{n}_cpu_seconds'] / bound:.2f}x)" for n in PRESSES)
    return f"CPU seconds, slowest press reported; bound {BOUND} {bound:.2f} s; {each} (target <= {LIMIT:g}x each)"

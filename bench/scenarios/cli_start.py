"""Scenario: ``xlexec --help`` (the start of every command) against the physical bound.

* xlexec: ``python -m xlexec --help`` in a fresh process (CPU seconds, user + system).
* bound (the baseline side): ``python -c pass``, the interpreter's own start, measured in the
  same run. Target: xlexec ≤ 3× the bound (``--help`` imports only the command table: no area,
  no step, no pandas).

Bytecode is cached (under the bench cache, as an installed package has it); one untimed
warm-up per side writes it.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from ..harness import child_cpu, child_env

NAME = "cli_start"
TITLE = "xlexec --help ({size} command)"
UNIT = "command"
FULL_SIZE = 1
TARGET = "CPU <= 3x the bound (python -c pass)"
BOUND = "python -c pass (interpreter start)"
SIDES = ("xlexec", "baseline")
WARMUP = {"xlexec": 1, "baseline": 1}
MAX_REPEAT = {}
GEN_VERSION = 1
BASELINE = "the bound: python -c pass"
LIMIT = 3.0


def prepare(root: Path, size: int) -> None:
    (root / "README").write_text("nothing to generate: cli_start runs `python -m xlexec --help`\n")


def setup(root: Path, size: int, side: str):
    return {"env": child_env(root), "cwd": Path(tempfile.mkdtemp(prefix="xlexec-bench-cli-"))}


def run(state, side: str):
    cmd = [sys.executable, "-m", "xlexec", "--help"] if side == "xlexec" else [sys.executable, "-c", "pass"]
    cpu, wall, out = child_cpu(cmd, state["env"], state["cwd"])
    details = {"wall_seconds_run": round(wall, 4)}
    if side == "xlexec":
        details["commands_listed"] = sum(1 for ln in out.splitlines() if re.match(r"^    \S", ln))
    return cpu, details


def judge(row) -> bool | None:
    return None if row["ratio"] is None else row["ratio"] <= LIMIT


def note(row) -> str:
    d = row["details"]
    return (
        f"CPU seconds; bound {BOUND}: xlexec {row['ratio']:.2f}x it (target <= {LIMIT:g}x); "
        f"wall {d.get('wall_seconds_run', 'n/a')} s vs {d.get('baseline_wall_seconds_run', 'n/a')} s"
    )

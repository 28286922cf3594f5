"""A demo desk's text reports and CLI output read right: every $ amount in the one money format
(``$1,234.56`` / ``-$1,234.56``: the minus before the dollar, thousands separators, two decimals),
no ``-0.00``, and ages in readable units (no ``572018 min``, no ``1.0 days``).

``xlexec demo --dir`` (3 days) and the report commands run as subprocesses from a temporary
folder with ``--config``; the scan is plain regular expressions written here.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from tests import cli_fork

ROOT = str(Path(__file__).resolve().parents[1])
DAY = "2025-10-30"
MONEY = re.compile(r"[-+]?\$\d{1,3}(?:,\d{3})*\.\d{2}(?![\d.,]\d)")
DOLLAR_UNIT = re.compile(r"\$(?=$|[\s)/:;])")  # "$" as a unit word: "slippage $ / notional"
NEG_ZERO = re.compile(r"-\$?0\.0+(?![\d])")
BAD_AGES = [
    re.compile(r"\b(?:[6-9]\d|\d{3,}) min\b"),  # 60 min or more: hours
    re.compile(r"\b\d+\.\d+ (?:days?|h)\b"),  # fractional days / hours
    re.compile(r"\b(?:1[2-9]\d|[2-9]\d{2}|\d{4,}) s\b"),  # 120 s or more: minutes
]


def run(cwd: Path, *args: str) -> str:
    env = dict(os.environ, XLEXEC_NOW="2025-10-30T21:00:00+00:00")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    r = cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode in (0, 1), (args, r.stderr)
    return r.stdout


def problems(name: str, text: str) -> list[str]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{n}: {line.strip()[:160]}"
        for i in (m.start() for m in re.finditer(r"\$", line)):
            start = i - 1 if i and line[i - 1] in "+-" else i
            if not (MONEY.match(line, start) or DOLLAR_UNIT.match(line, i)):
                out.append(f"money not in the one format: {where}")
        if "$-" in line or NEG_ZERO.search(line):
            out.append(f"negative zero or $-: {where}")
        out += [f"age not in readable units: {where}" for rx in BAD_AGES if rx.search(line)]
    return out


def test_scanner_catches_what_it_should():
    bad = "x $1234.56\ny $-3.00\nz -$0.00\nw $1.5\nv quote is 572018 min old\nu 1.0 days old\nt -0.00%"
    assert len(problems("t", bad)) == 8  # "$-3.00": not the format, and a $-
    good = "Total: -$1,234.57 and +$3.50 ($0.00); sum of slippage $ / notional; 45 s, 6 h 28 min, 6 d 17 h"
    assert problems("t", good) == []


def test_a_demo_desks_reports_and_cli_output_read_right(tmp_path):
    d = tmp_path / "desk"
    texts = {"demo": run(tmp_path, "demo", "--dir", str(d), "--days", "3", "--no-workbook")}
    cfg, live = str(d / "config.yaml"), d / "live"
    days = sorted(p.name for p in live.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name))
    assert days == ["2025-10-28", "2025-10-29", DAY]
    for day in days:
        texts[f"reconcile {day}"] = run(tmp_path, "reconcile", "--config", cfg, "--date", day)
        texts[f"tca {day}"] = run(tmp_path, "tca", str(live / day), "--config", cfg)
        texts[f"validate {day}"] = run(tmp_path, "validate", str(live / day / "trades.csv"), "--config", cfg)
    texts["monthly"] = run(tmp_path, "monthly", "--month", "2025-10", "--config", cfg)
    texts["pnl"] = run(tmp_path, "pnl", "--date", DAY, "--config", cfg)
    texts["kill-switch-report"] = run(tmp_path, "kill-switch-report", "--config", cfg)
    texts["cancel-all"] = run(tmp_path, "cancel-all", "--config", cfg, "--reason", "drill")
    for p in sorted(live.rglob("*.txt")):
        texts[str(p.relative_to(d))] = p.read_text(encoding="utf-8")
    assert any(n.endswith("reconciliation_report.txt") for n in texts)
    assert any("incident_" in n for n in texts)
    assert sum(len(MONEY.findall(t)) for t in texts.values()) > 100  # the scan saw the money
    bad = [p for name, t in texts.items() for p in problems(name, t)]
    assert not bad, "\n".join(bad[:40])

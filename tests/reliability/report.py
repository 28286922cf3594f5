"""Run the reliability suite and print its figures: ``python tests/reliability/report.py``.

From the repository root. Runs ``pytest tests/reliability`` with ``XLEXEC_RELIABILITY_OUT`` set,
so every test writes what it observed (faults injected and their outcome, crash points and what
survived them, hostile inputs tried, duplicates, lost records, leaks) to a JSON file; this module
adds those up. Nothing here is typed in: every number comes from that run.

The run also takes ``tests/controls`` when that folder exists. Control tests (any folder) record
one row per attack with ``tests.reliability.controls.record`` (a JSON-lines file next to the
observations): the "controls" table lists each attack, whether it was refused and the orders
that reached the broker (counted at the broker); a row not refused, or with an order at the
broker, is a broken promise.

Options: ``--json`` prints the raw observations as well; ``--keep FILE`` keeps them;
anything after ``--`` goes to pytest (e.g. ``-- -k crashes``).
Exit code: pytest's, or 1 when a figure promised to be zero is not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

if not __package__:
    # run as a file (`make reliability`): ``tests`` is this repository's folder. schwab-py's
    # wheel installs a top-level ``tests`` package that a ``python -m tests...`` would import.
    import types

    _ours = types.ModuleType("tests")
    _ours.__path__ = [str(REPO / "tests")]
    sys.modules["tests"] = _ours


def controls_file(out: Path) -> Path:
    """Where the control tests append their rows (see ``controls.controls_out``)."""
    return out.with_suffix(".controls.jsonl")


def run_suite(out: Path, extra: list[str]) -> tuple[int, float, str]:
    env = dict(os.environ, XLEXEC_RELIABILITY_OUT=str(out))
    env.pop("XLEXEC_CONTROLS_OUT", None)
    controls_file(out).unlink(missing_ok=True)
    folders = ["tests/reliability"] + (["tests/controls"] if (REPO / "tests" / "controls").is_dir() else [])
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "pytest", *folders, "-q", "-p", "no:cacheprovider", *extra],
        cwd=str(REPO),
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    summary = next(
        (
            ln
            for ln in reversed(p.stdout.strip().splitlines())
            if " in " in ln and ("passed" in ln or "failed" in ln or "error" in ln)
        ),
        p.stdout.strip()[-200:],
    )
    if p.returncode not in (0,):
        sys.stderr.write(p.stdout[-6000:] + p.stderr[-3000:])
    return p.returncode, seconds, summary.strip("= ")


def _by(obs: list[dict], kind: str) -> list[dict]:
    return [o for o in obs if o.get("kind") == kind]


def figures(obs: list[dict]) -> list[tuple[str, str, str]]:
    """(figure, observed, promise) rows."""
    faults, crashes = _by(obs, "fault"), _by(obs, "crash")
    hostile, inj, sec = _by(obs, "hostile"), _by(obs, "injection"), _by(obs, "secrets")
    conc, guard = _by(obs, "concurrency"), _by(obs, "live_guard")
    controls = _by(obs, "controls")
    brokers = _by(obs, "broker")
    s = lambda rows, k: sum(int(r.get(k) or 0) for r in rows)  # noqa: E731
    ok_faults = sum(
        1
        for f in faults
        if not f.get("duplicates")
        and not f.get("lost")
        and not f.get("unknown")
        and not f.get("unexpected")
        and f.get("exit_code") in (0, 1)
    )
    survived = sum(1 for c in crashes if c.get("survived"))
    dups = s(faults, "duplicates") + s(crashes, "duplicates") + s(conc, "duplicates")
    lost = s(faults, "lost") + s(crashes, "lost")
    bad_files = sum(
        len(c.get("bad_files_after_kill") or []) + len(c.get("bad_files_after_rerun") or []) for c in crashes
    )
    rows = [
        ("broker faults injected (requests answered with a fault)", str(s(faults, "injected")), ""),
        (
            "fault scenarios ending with every order known, at the broker exactly once",
            f"{ok_faults}/{len(faults)}",
            "all",
        ),
        ("orders still unknown after the rerun", str(s(faults, "unknown")), "0"),
        ("SIGKILL crash points survived (rerun completed the day)", f"{survived}/{len(crashes)}", "all"),
        ("orders submitted across the crash runs", str(s(crashes, "orders")), ""),
        ("half-written / unreadable files after a kill (CSV, workbook, journal)", str(bad_files), "0"),
        (
            "temp files the kills left behind (hidden `.<name>.*.tmp`, never read; "
            "the next write of the same file removes those older than 15 min)",
            str(max([int(c.get("temp_files_left") or 0) for c in crashes] or [0])),
            "",
        ),
        ("hostile inputs tried", str(s(hostile, "tried")), ""),
        ("  of which refused with a clean one-line error", str(s(hostile, "clean_errors")), ""),
        ("  tracebacks", str(s(hostile, "tracebacks")), "0"),
        ("  errors naming the wrong row/column", str(s(hostile, "misplaced")), "0"),
        ("  partial writes after a refused input", str(s(hostile, "partial_writes")), "0"),
        (
            "formula payloads landing live (CSV cells + workbook formulas)",
            str(s(inj, "live_formulas") + s(inj, "workbook_formulas")),
            "0",
        ),
        ("numbers turned into text", str(s(inj, "numbers_as_text")), "0"),
        ("duplicates (orders at the broker, fills, approvals, discrepancy lines)", str(dups), "0"),
        ("lost records (orders, intents, approvals, fills, execution-log rows)", str(lost), "0"),
        (
            "secret leaks (files scanned + captured output)",
            f"{s(sec, 'leaks')} in {s(sec, 'files_scanned')} files, {s(sec, 'output_chars'):,} chars of output",
            "0",
        ),
        (
            "same-day collisions (2nd/3rd process on a locked day) refused naming the lock holder",
            f"{s(conc, 'holder_named')}/{s(conc, 'collisions')}",
            "all",
        ),
        ("days where two processes proceeded at once", str(s(conc, "same_day_double")), "0"),
        ("orders sent to a LIVE account without --live / the confirmation", str(s(guard, "sent_without_live")), "0"),
        ("submits that printed their mode (PAPER/LIVE)", f"{s(guard, 'mode_printed')}/{s(guard, 'submits')}", "all"),
        (
            "control attacks refused (one line naming the rule)",
            f"{sum(1 for c in controls if c.get('refused') is True)}/{len(controls)}",
            "all",
        ),
        ("orders reaching the broker in a control attack", str(s(controls, "orders_at_broker")), "0"),
        (
            "per-broker scenarios keeping the broker's guarantee (faults, kill -9, twin + lost reply, controls)",
            f"{sum(1 for b in brokers if b.get('ok'))}/{len(brokers)}",
            "all",
        ),
        ("duplicates in the per-broker scenarios", str(s(brokers, "duplicates")), "0"),
    ]
    return rows


def promises_broken(rows: list[tuple[str, str, str]]) -> list[str]:
    bad = []
    for name, value, promise in rows:
        if promise == "0" and not value.startswith("0"):
            bad.append(name)
        if promise == "all" and "/" in value:
            a, b = value.split("/", 1)
            if a.strip() != b.strip():
                bad.append(name)
    return bad


def fault_table(obs: list[dict]) -> list[str]:
    out = [
        "| fault injected | requests hit | orders at the broker (of approved) | duplicates | unknown after rerun "
        "| per-order note observed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in _by(obs, "fault"):
        note = (f.get("notes") or [""])[0] or (
            f"retried inside the adapter ({f.get('retries_429', 0)} waits); no note needed: status new/filled"
        )
        note = note.replace("|", "\\|")
        if len(note) > 140:
            note = note[:137] + "..."
        runs = f.get("runs", 1)
        out.append(
            f"| {f['fault']} | {f.get('injected')} | {f.get('at_broker')}/{f.get('orders')}"
            f"{' after ' + str(runs) + ' runs' if runs and runs > 1 else ''} | {f.get('duplicates')} "
            f"| {f.get('unknown')} | {note} |"
        )
    return out


def crash_table(obs: list[dict]) -> list[str]:
    out = [
        "| kill point (`XLEXEC_CRASH_AT`) | what it interrupts | killed | rerun | duplicates | lost |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in _by(obs, "crash"):
        out.append(
            f"| `{c['point']}` | {c.get('interrupts', '')} | {'yes' if c.get('killed') else 'NO'} | "
            f"{'completed' if c.get('survived') else 'FAILED'} | {c.get('duplicates')} | {c.get('lost')} |"
        )
    return out


def hostile_table(obs: list[dict]) -> list[str]:
    agg: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for h in _by(obs, "hostile"):
        a = agg[h["target"]]
        for k in ("tried", "clean_errors", "accepted", "tracebacks", "misplaced", "partial_writes"):
            a[k] += int(h.get(k) or 0)
    out = [
        "| input | tried | clean error | accepted (valid) | tracebacks | wrong row/col | partial writes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t, a in agg.items():
        out.append(
            f"| {t} | {a['tried']} | {a['clean_errors']} | {a['accepted']} | {a['tracebacks']} | "
            f"{a['misplaced']} | {a['partial_writes']} |"
        )
    return out


def broker_table(obs: list[dict]) -> list[str]:
    """One row per scenario of ``test_brokers.py`` and ``test_controls_brokers.py`` (its rows
    start ``control:``), one column per broker (``_support.BROKERS``, in registry order, then any
    other broker observed): the guarantee held (``exactly once``, ``refused, nothing sent``, ...)
    / ``FAILED`` with the orders at the broker, or ``n/a`` where the broker has no such fault or
    the control does not apply to it (a skipped test records nothing)."""
    rows = _by(obs, "broker")
    try:
        from tests.reliability._support import BROKERS

        names = list(BROKERS)
    except ImportError:
        names = []
    names += [b for b in dict.fromkeys(r["broker"] for r in rows) if b not in names]
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        held = (r.get("guarantee") or "exactly once") if r.get("ok") else "FAILED"
        cells[r["scenario"]][r["broker"]] = f"{held} ({r.get('at_broker')} at the broker, {r.get('duplicates')} dup)"
    out = ["| scenario | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for scen, by in cells.items():
        out.append(f"| {scen} | " + " | ".join(by.get(b, "n/a") for b in names) + " |")
    return out


def controls_table(obs: list[dict]) -> list[str]:
    out = [
        "| attack | face | refused | orders reaching the broker | exit | the refusal says |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in _by(obs, "controls"):
        says = str(c.get("says") or "").replace("|", "\\|")
        if len(says) > 120:
            says = says[:117] + "..."
        held = "yes" if c.get("refused") is True else "NO"
        out.append(
            f"| {c['attack'].replace('|', '/')} | {c.get('face', 'cli')} | {held} "
            f"| {c.get('orders_at_broker')} | {c.get('exit_code')} | {says} |"
        )
    return out


def controls_broken(obs: list[dict]) -> list[str]:
    """Control rows that broke their promise: not refused, or an order at the broker."""
    return [
        f"control {c.get('attack')!r} ({c.get('face', 'cli')})"
        for c in _by(obs, "controls")
        if c.get("refused") is not True or int(c.get("orders_at_broker") or 0) > 0
    ]


def read_controls(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(prog="python tests/reliability/report.py", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="also print the raw observations")
    ap.add_argument("--keep", metavar="FILE", help="keep the observations JSON here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        out = Path(args.keep) if args.keep else Path(d) / "observations.json"
        rc, seconds, summary = run_suite(out, extra)
        data = json.loads(out.read_text()) if out.exists() else {"observations": []}
        data["observations"] += read_controls(controls_file(out))
    gaps = [o for o in data["observations"] if o.get("known_gap")]
    obs = [o for o in data["observations"] if not o.get("known_gap")]
    rows = figures(obs)
    print(f"xlexec reliability suite: {summary} ({seconds:.0f} s wall, `python tests/reliability/report.py`)\n")
    print("| figure | observed | promised |\n| --- | --- | --- |")
    for name, value, promise in rows:
        print(f"| {name} | {value} | {promise} |")
    print("\nBroker faults (50 approved orders each, sent 4 at a time, real alpaca-py against the loopback fake):\n")
    print("\n".join(fault_table(obs)))
    print("\nCrashes (SIGKILL of a real process running a 50-order day, then a rerun):\n")
    print("\n".join(crash_table(obs)))
    print(
        "\nPer broker (each broker's loopback fake and real client library; faults, kill -9 and twin: "
        "20 orders, tests/reliability/test_brokers.py; control: 3 orders through the CLI, "
        "tests/reliability/test_controls_brokers.py):\n"
    )
    print("\n".join(broker_table(obs)))
    print("\nHostile input:\n")
    print("\n".join(hostile_table(obs)))
    print("\nControls (each attack through the CLI or the workbook's button; orders counted at the broker):\n")
    print("\n".join(controls_table(obs)))
    if gaps:
        print("\nKnown gaps (expected failures, outside the figures above):\n")
        for g in gaps:
            print(
                f"- {g.get('target')}: {g['known_gap']} (tried {g.get('tried')}, clean errors "
                f"{g.get('clean_errors')}, wrong row/col {g.get('misplaced')}, "
                f"partial writes {g.get('partial_writes')})"
            )
    if args.json:
        print(json.dumps(obs + gaps, indent=1, default=str))
    broken = promises_broken(rows) + controls_broken(obs)
    if broken:
        print("\nPROMISES BROKEN: " + "; ".join(broken), file=sys.stderr)
    return rc or (1 if broken else 0)


if __name__ == "__main__":
    sys.exit(main())

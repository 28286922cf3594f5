"""``python -m bench [--json] [--quick] [--only NAME] [--repeat N] [--scale F] [--cache DIR]``.

Runs every scenario (or the ``--only`` ones): prepares its data (cached), then measures each
side (xlexec, baseline, and for the workbook scenarios the fastest library) in its own
subprocess, and prints a Markdown table, or with ``--json`` one JSON list of
``{scenario, size, seconds, baseline_seconds, ratio, end_to_end_seconds, bound_seconds, bound,
ratio_to_bound, peak_mb, target, met, details}`` (the bound fields set by the scenarios measured
against a physical bound: their baseline side is that bound, a bound the scenario computes
(submit's N × latency / concurrency), or their xlexec side times it beside itself and reports
``bound_seconds`` and ``end_to_end_seconds``; None elsewhere).
Progress goes to stderr. Exit code 0 when every scenario ran (a missed target is reported,
not an error; ``--strict`` makes it exit 1), 1 when a scenario could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

from . import SCENARIOS
from .harness import REPO, default_cache, prepare_main, scenario, worker_main

WORKER_TIMEOUT = 1800  # seconds, per subprocess


def _run_child(args: list[str], timeout: float = WORKER_TIMEOUT) -> dict:
    cmd = [sys.executable, "-m", "bench", *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    try:
        p = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s: {' '.join(args)}"}
    lines = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        tail = (p.stderr or p.stdout or "").strip().splitlines()[-5:]
        return {"error": f"exit {p.returncode}, no result: " + " | ".join(tail)}
    out = json.loads(lines[-1])
    if p.returncode != 0 and "error" not in out:
        out["error"] = f"exit {p.returncode}"
    return out


def _size(mod, scale: float) -> int:
    return max(1, int(round(mod.FULL_SIZE * scale)))


def run_scenario(name: str, *, scale: float, repeat: int, cache: Path, log) -> dict:
    mod = scenario(name)
    size = _size(mod, scale)
    row = {
        "scenario": name,
        "size": size,
        "seconds": None,
        "baseline_seconds": None,
        "ratio": None,
        "peak_mb": None,
        "target": mod.TARGET,
        "met": None,
        "details": {
            "title": mod.TITLE.format(size=size),
            "unit": mod.UNIT,
            "baseline_name": getattr(mod, "BASELINE", ""),
            **({"library_name": mod.LIBRARY} if getattr(mod, "LIBRARY", None) else {}),
        },
    }
    bound = getattr(mod, "BOUND", None)  # the scenarios measured against a physical bound
    row.update({"end_to_end_seconds": None, "bound_seconds": None, "bound": bound, "ratio_to_bound": None})
    t0 = time.perf_counter()
    log(f"[bench] {name}: preparing {size:,} {mod.UNIT} ...")
    prep = _run_child(["--_prepare", name, "--size", str(size), "--cache", str(cache)])
    if "error" in prep:
        row["details"]["error"] = "prepare: " + prep["error"]
        log(f"[bench] {name}: FAILED to prepare: {prep['error']}")
        if prep.get("traceback"):
            log(prep["traceback"])
        return row
    sides = {}
    for side in mod.SIDES:
        log(f"[bench] {name}: measuring {side} ...")
        res = _run_child(
            ["--_worker", name, "--side", side, "--size", str(size), "--repeat", str(repeat), "--cache", str(cache)]
        )
        if "error" in res:
            row["details"][f"{side}_error"] = res["error"]
            log(f"[bench] {name}: {side} FAILED: {res['error']}")
            if res.get("traceback"):
                log(res["traceback"])
        sides[side] = res
    x, b = sides.get("xlexec", {}), sides.get("baseline", {})
    if "median" in x:
        row["seconds"] = round(x["median"], 4)
        row["peak_mb"] = x["peak_mb"]
        row["details"]["xlexec_runs"] = x["times"]
        row["details"].update({k: v for k, v in x["details"].items()})
    if "median" in b:
        row["baseline_seconds"] = round(b["median"], 4)
        row["details"]["baseline_runs"] = b["times"]
        row["details"]["baseline_peak_mb"] = b["peak_mb"]
        row["details"].update({f"baseline_{k}": v for k, v in b["details"].items()})
    lib = sides.get("library", {})
    if "median" in lib:
        row["details"]["library_seconds"] = round(lib["median"], 4)
        row["details"]["library_runs"] = lib["times"]
        row["details"]["library_peak_mb"] = lib["peak_mb"]
        row["details"].update({f"library_{k}": v for k, v in lib["details"].items()})
        if row["seconds"] is not None and lib["median"] > 0:
            row["details"]["ratio_vs_library"] = round(row["seconds"] / lib["median"], 3)
    if row["seconds"] is not None and row["baseline_seconds"]:
        row["ratio"] = round(row["seconds"] / row["baseline_seconds"], 4)
    d = row["details"]
    computed = getattr(mod, "bound_seconds", None)
    if bound is not None and "bound_seconds" in d:  # the xlexec side timed its bound beside itself
        row["end_to_end_seconds"], row["bound_seconds"] = d.get("end_to_end_seconds"), d["bound_seconds"]
        if row["end_to_end_seconds"] is not None and row["bound_seconds"]:
            row["ratio_to_bound"] = round(row["end_to_end_seconds"] / row["bound_seconds"], 4)
    elif bound is not None:  # a bound the scenario computes, else its baseline side measured in this run
        bs = computed(size) if callable(computed) else row["baseline_seconds"]
        row["end_to_end_seconds"], row["bound_seconds"] = row["seconds"], bs
        if row["seconds"] is not None and bs:
            row["ratio_to_bound"] = round(row["seconds"] / bs, 4)
    ok = row["seconds"] is not None and all("error" not in s for s in sides.values())
    if ok:
        try:
            row["met"] = mod.judge(row)
            if hasattr(mod, "note"):
                row["details"]["note"] = mod.note(row)
        except Exception as e:  # noqa: BLE001
            row["details"]["judge_error"] = f"{type(e).__name__}: {e}"
    row["details"]["wall_seconds"] = round(time.perf_counter() - t0, 1)
    log(
        f"[bench] {name}: xlexec {_fmt_s(row['seconds'])}, baseline {_fmt_s(row['baseline_seconds'])}, "
        f"ratio {_fmt_ratio(row['ratio'])}, peak {row['peak_mb']} MB, target {row['target']}: "
        f"{_fmt_met(row['met'])} ({row['details']['wall_seconds']} s)"
    )
    return row


def _fmt_s(s) -> str:
    if s is None:
        return "n/a"
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def _fmt_ratio(r) -> str:
    if r is None:
        return "n/a"
    return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×"


def _fmt_met(m) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[m]


def table(rows: list[dict]) -> str:
    head = [
        "scenario",
        "size",
        "xlexec",
        "baseline",
        "ratio",
        "end to end",
        "bound",
        "ratio to bound",
        "peak MB",
        "target",
        "met",
        "notes",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r in rows:
        d = r["details"]
        notes = [f"baseline: {d['baseline_name']}"] if d.get("baseline_name") else []
        if d.get("note"):
            notes.append(d["note"])
        elif "library_seconds" in d:
            notes.append(
                f"{d.get('library_name', 'library')}: {_fmt_s(d['library_seconds'])} "
                f"(xlexec/library {d.get('ratio_vs_library', 'n/a')}×)"
            )
        errs = [f"{k}: {v}" for k, v in d.items() if k.endswith("error")]
        notes += errs
        lines.append(
            "| "
            + " | ".join(
                [
                    r["scenario"],
                    f"{r['size']:,} {d.get('unit', '')}".strip(),
                    _fmt_s(r["seconds"]),
                    _fmt_s(r["baseline_seconds"]),
                    _fmt_ratio(r["ratio"]),
                    _fmt_s(r.get("end_to_end_seconds")),
                    _fmt_s(r.get("bound_seconds")),
                    _fmt_ratio(r.get("ratio_to_bound")),
                    "n/a" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}",
                    r["target"],
                    _fmt_met(r["met"]),
                    "; ".join(n for n in notes if n).replace("|", "/"),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON list instead of the table")
    p.add_argument("--quick", action="store_true", help="every scenario at 1/10 size, fewer repeats")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this scenario (repeatable, or comma-separated): {', '.join(SCENARIOS)}",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per side, median reported (default 3; 2 with --quick; slow sides cap it)",
    )
    p.add_argument("--scale", type=float, default=None, help="size as a fraction of full (default 1; 0.1 with --quick)")
    p.add_argument(
        "--cache",
        default=None,
        help="where generated data is cached (default: $XLEXEC_BENCH_CACHE or <tmp>/xlexec-bench-cache)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    p.add_argument("--_prepare", help=argparse.SUPPRESS)
    p.add_argument("--side", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    cache = Path(a.cache) if a.cache else default_cache()

    if a._prepare:
        return prepare_main(a._prepare, a.size, cache)
    if a._worker:
        return worker_main(a._worker, a.side, a.size, a.repeat or 1, cache)

    if a.list:
        for n in SCENARIOS:
            m = scenario(n)
            print(f"{n:<15} {m.TITLE.format(size=m.FULL_SIZE)}  target: {m.TARGET}")
        return 0
    names = SCENARIOS
    if a.only:
        names = [n.strip() for o in a.only for n in o.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            p.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    scale = a.scale if a.scale is not None else (0.1 if a.quick else 1.0)
    repeat = a.repeat if a.repeat is not None else (2 if a.quick else 3)
    if scale <= 0 or repeat < 1:
        p.error("--scale must be > 0 and --repeat >= 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    rows = [run_scenario(n, scale=scale, repeat=repeat, cache=cache, log=log) for n in names]
    total = time.perf_counter() - t0
    log(f"[bench] done in {total:.1f} s")
    if a.json:
        print(json.dumps(rows, indent=1))
    else:
        cmd = "python -m bench" + (
            ""
            if argv is None and len(sys.argv) <= 1
            else " " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
        )
        print(
            f"`{cmd}` — {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}; median of up to {repeat} runs per side; "
            f"total {total:.0f} s\n"
        )
        print(table(rows))
        print("\nratio = xlexec / baseline (below 1: xlexec faster); peak MB = xlexec subprocess peak RSS.")
    failed = any(r["seconds"] is None or any(k.endswith("error") for k in r["details"]) for r in rows)
    missed = any(r["met"] is False for r in rows)
    return 1 if failed or (a.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

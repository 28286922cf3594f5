"""``xlexec demo``: a full trading day on the built-in paper broker, no keys needed.

It runs the very steps an operator's commands run (:mod:`xlexec.steps`: validate, approve,
convert, submit, status, import fills, reconcile, tca, monthly) in-process on a generated day,
so the demo, the CLI and the workbook are the same code path and show the same typed results.
The clock is pinned (09:40 New York for the morning steps, 16:05 after the close), which makes
the day reproducible; every step is idempotent, so running the demo twice duplicates nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from xlexec.core.money import usd
from xlexec.errors import XlexecError

NY = ZoneInfo("America/New_York")


@dataclass
class Step:
    name: str
    command: list[str]            # the CLI twin of the step (what an operator would type)
    rc: int                       # the exit code the step's result implies
    data: dict = field(default_factory=dict)   # the step result's to_json()
    stderr: str = ""


@dataclass
class DemoResult:
    dir: Path
    day: str                      # the last session run
    steps: list[Step] = field(default_factory=list)        # the last session's steps
    days: list[tuple[str, list[Step]]] = field(default_factory=list)  # every session, in order
    workbook: Path | None = None


def _pinned(day: str, hh: int, mm: int) -> str:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm), NY).astimezone(
        dt.UTC).isoformat()


@contextlib.contextmanager
def _env(**kv):
    old = {k: os.environ.get(k) for k in kv}
    os.environ.update({k: v for k, v in kv.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def write_demo_config(directory: Path, cash: float, base: dict | None = None) -> Path:
    cfg = dict(base or {})
    cfg["live_dir"] = "live"
    cfg.setdefault("user", "demo")
    cfg.setdefault("opening_cash", cash)  # the fund's first day starts from this cash ($)
    ex = dict(cfg.get("execution") or {})
    ex["broker"] = "paper"
    ex["paper_trading"] = True
    paper = dict(ex.get("paper") or {})
    paper["starting_cash"] = cash
    ex["paper"] = paper
    cfg["execution"] = ex
    path = directory / "config.yaml"
    from xlexec.formats.csvio import atomic_write_text
    atomic_write_text(path, "# written by `xlexec demo`: the demo day's configuration\n" +
                      yaml.safe_dump(cfg, sort_keys=False))
    return path


def demo_sessions(last: str, days: int) -> list[str]:
    """The ``days`` NYSE sessions ending on ``last`` (which must be a session)."""
    from xlexec.core import calendar as cal
    if days < 1:
        raise XlexecError("--days must be at least 1")
    try:
        if not cal.is_session(last):
            raise XlexecError(f"--date {last} is not an NYSE session (next: {cal.next_session(last)})")
        out = [last]
        while len(out) < days:
            out.append(cal.previous_session(out[-1]))
    except ValueError as e:
        raise XlexecError(f"--date: {e}") from None
    return out[::-1]


def run_demo(directory: str | Path = "demo", day: str = "2025-10-30", *, days: int = 1, echo=print,
             build_workbook: bool = True) -> DemoResult:
    """Run ``days`` consecutive sessions ending on ``day`` under ``directory``.

    Each session starts from the positions the previous one accepted (and its cash), with
    prices walking on from its closes; the paper broker keeps its state across sessions, as a
    real account does. A session whose ``trades.csv`` exists is not generated again, so a rerun
    repeats the same days and every step finds its work already done."""
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    res = DemoResult(d, day)
    for session in demo_sessions(day, days):
        res.steps = _run_session(d, session, res)
        res.days.append((session, res.steps))
        res.day = session
    if build_workbook:
        from xlexec.config import load_config
        from xlexec.excel.render import render_workbook
        from xlexec.steps.context import Context
        from xlexec.store.journal import current_user
        with _env(XLEXEC_NOW=_pinned(res.day, 16, 5)):
            cfg = load_config(d / "config.yaml", cwd=d)
            ctx = Context(cfg, cfg.user or current_user())
            try:
                res.workbook = render_workbook(ctx, res.day, d / f"xlexec_{res.day}.xlsm")
            finally:
                ctx.close()
    return res


def _day_inputs(d: Path, day: str):
    """Write the session's inputs unless they exist; returns the config path."""
    from xlexec.core import calendar as cal
    from xlexec.demo import sample
    from xlexec.formats.inputs import read_closes, read_positions
    from xlexec.store.day import Day
    live = d / "live"
    today = Day(live, day)
    cfg_path = d / "config.yaml"
    if today.trades.exists():
        return cfg_path
    if not today.current_positions.exists():  # the fund's first day
        s = sample.make_day(day)
        if not cfg_path.exists():
            write_demo_config(d, s.cash)
        sample.write_day(s, live, positions=True)
        return cfg_path
    prev = today.on(cal.previous_session(day))
    book = read_positions(today.current_positions)
    cash = json.loads(prev.reconciliation.read_text()).get("cash_after") if prev.reconciliation.exists() else None
    closes = read_closes(prev.closes)
    s = sample.make_day(day, book=book, cash=cash, prev_close=dict(zip(closes["symbol"], closes["close"], strict=True)))
    sample.write_day(s, live, positions=False)
    return cfg_path


def _run_session(d: Path, day: str, res: DemoResult) -> list[Step]:
    from xlexec.config import load_config
    from xlexec.execution.slicing import day_orders
    from xlexec.formats.csvio import atomic_write_bytes
    from xlexec.formats.trades import read_trades
    from xlexec.steps import convert as convert_step
    from xlexec.steps import execution as execution_steps
    from xlexec.steps import fills as fills_step
    from xlexec.steps import reconcile as reconcile_steps
    from xlexec.steps import tca as tca_steps
    from xlexec.steps import validate as validate_steps
    from xlexec.steps.context import Context
    from xlexec.store.approvals import find_approval
    from xlexec.store.day import Day
    from xlexec.store.journal import current_user

    cfg_path = _day_inputs(d, day)
    morning, close = _pinned(day, 9, 40), _pinned(day, 16, 5)
    with _env(XLEXEC_NOW=morning):
        cfg = load_config(cfg_path, cwd=d)
    ctx = Context(cfg, cfg.user or current_user())
    the_day = Day(cfg.live_dir, day)
    # the positions the day starts from, kept in the day folder: reruns start from them too
    positions_file = the_day.opening_positions
    if not positions_file.exists():
        atomic_write_bytes(positions_file, the_day.current_positions.read_bytes())
    trades = str(the_day.trades)
    steps: list[Step] = []

    def step(name: str, command: list[str], run, *, when: str, ok=(0,)) -> Step:
        with _env(XLEXEC_NOW=when):
            try:
                out = run()
            except XlexecError as e:
                msg = " ".join(str(e).split())
                raise XlexecError(f"demo {day} step {name} failed (exit {e.exit_code}): "
                                  f"xlexec {command[0]}: error: {msg}") from None
        st = Step(name, ["xlexec", *command], out.exit_code, out.to_json())
        steps.append(st)
        if st.rc not in ok:
            raise XlexecError(f"demo {day} step {name} failed (exit {st.rc}): {json.dumps(st.data, default=str)[:300]}")
        return st

    try:
        orders, sha = day_orders(read_trades(trades), cfg.execution.default_order_type, day)
        approved = find_approval(cfg.live_dir, day, sha)
        if approved is not None and the_day.validation.exists():
            # a rerun: the morning's checks were made and approved; the record stands as it was
            v = Step("validate", [], 0, json.loads(the_day.validation.read_text()))
            steps.append(v)
        else:
            v = step("validate", ["validate", trades, "--positions", str(positions_file), "--json"],
                     lambda: validate_steps.validate(ctx, the_day, positions=positions_file),
                     when=morning, ok=(0, 1))
        rec = v.data["decision"]
        decision = {"APPROVE": "APPROVED", "CONDITIONAL": "CONDITIONAL", "REJECT": "APPROVED"}[rec]
        reason = f"demo day: validation recommends {rec}"
        if approved is None:
            step("approve", ["approve", trades, "--by", "demo", "--decision", decision, "--reason", reason]
                 + (["--override"] if rec == "REJECT" else []),
                 lambda: validate_steps.approve(ctx, the_day, by="demo", decision=decision, reason=reason,
                                                override=rec == "REJECT"), when=morning)
        step("convert", ["convert", trades, "--broker", "ibkr"],
             lambda: convert_step.convert(ctx, the_day, broker="ibkr"), when=morning)
        step("submit", ["submit", trades, "--json"], lambda: execution_steps.submit(ctx, the_day), when=morning)
        step("status", ["status", "--date", day, "--json"], lambda: execution_steps.status(ctx, the_day),
             when=close)
        # fills: pulled from the broker after the close, as an operator would download them
        step("import_fills", ["import-fills", "--date", day],
             lambda: fills_step.import_fills(ctx, the_day, require_any=False), when=close)
        step("reconcile", ["reconcile", "--trades", trades, "--fills", str(the_day.fills),
                           "--current-positions", str(positions_file), "--json", "--accept"],
             lambda: reconcile_steps.reconcile(ctx, the_day, current_positions=positions_file, accept=True),
             when=close, ok=(0, 1))
        step("tca", ["tca", str(the_day.dir), "--json"], lambda: tca_steps.tca(ctx, the_day), when=close)
        step("monthly", ["monthly", "--month", day[:7], "--json"],
             lambda: tca_steps.monthly(ctx, the_day, month=day[:7]), when=close)
    finally:
        ctx.close()
    return steps


def summary(res: DemoResult) -> str:
    by = {s.name: s for s in res.steps}
    lines = [f"xlexec demo — trading day {res.day} on the built-in paper broker", ""]
    if len(res.days) > 1:
        lines[0] = (f"xlexec demo — {len(res.days)} trading days {res.days[0][0]} .. {res.day} "
                    "on the built-in paper broker")
        for day, steps in res.days[:-1]:
            b = {s.name: s for s in steps}
            rd, td = b["reconcile"].data, b["tca"].data
            lines.append(f"  {day}  {b['validate'].data['decision']:<11} {rd.get('execution_counts')}, "
                         f"cost {usd((td.get('total') or {}).get('usd', 0))}")
        lines += ["", f"  {res.day}:"]
    v = by.get("validate")
    if v and v.data:
        counts = v.data.get("summary", {})
        lines.append(f"  validate   {v.data['decision']}  ({_counts(counts)})")
    if "approve" in by:
        lines.append("  approve    recorded for user 'demo'")
    else:
        lines.append("  approve    already recorded (rerun)")
    sub = by.get("submit")
    if sub and sub.data:
        lines.append(f"  submit     sent {sub.data.get('sent', 0)}, already at broker "
                     f"{sub.data.get('already_sent', 0)}, refused {sub.data.get('refused', 0)}")
    r = by.get("reconcile")
    if r and r.data:
        lines.append(f"  reconcile  {r.data.get('execution_counts')}, "
                     f"breaks {len(r.data.get('breaks', []))}, slippage {r.data.get('slippage_bps_avg')} bps avg")
    t = by.get("tca")
    if t and t.data:
        tot = t.data.get("total", {})
        pct = tot.get("pct_notional")
        pct_s = f"{pct * 100:.3f}% of notional" if isinstance(pct, (int, float)) else "n/a"
        lines.append(f"  tca        total cost {usd(tot.get('usd'))} ({pct_s}; positive = cost)")
    m = by.get("monthly")
    if m and m.data and len(res.days) > 1:
        lines.append(f"  monthly    {m.data.get('month')}: net return {m.data.get('net_return', 0) * 100:.3f}%, "
                     f"commission {usd(m.data.get('total_commission', 0))}, "
                     f"slippage {m.data.get('avg_slippage_bps')} bps")
    lines += ["", f"  files      {res.dir / 'live' / res.day}"]
    if res.workbook:
        lines.append(f"  workbook   {res.workbook}")
    return "\n".join(lines)


def _counts(summary: dict) -> str:
    parts = []
    for k in ("fail", "warn", "pass"):
        for key in (k, f"n_{k}", f"{k}s"):
            if key in summary:
                parts.append(f"{summary[key]} {k}")
                break
    return ", ".join(parts) or "see validation.json"

"""``xlexec demo``: a full trading day on the built-in paper broker, no keys needed.

It drives the very commands an operator would run (``xlexec validate``, ``approve``, ``convert``,
``submit``, ``status``, ``reconcile``, ``tca``, ``monthly``) in-process on a generated day, so
the demo and the headless day are the same code path. The clock is pinned (09:40 New York for
the morning steps, 16:05 after the close), which makes the day reproducible; every step is
idempotent, so running the demo twice duplicates nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from xlexec.errors import XlexecError

NY = ZoneInfo("America/New_York")


@dataclass
class Step:
    name: str
    command: list[str]
    rc: int
    data: dict | None = None
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
        dt.timezone.utc).isoformat()


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


def _run(argv: list[str]) -> tuple[int, str, str]:
    from xlexec.cli.app import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _json(text: str) -> dict | None:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # tolerate a progress line before the JSON object
        start = text.find("{")
        return json.loads(text[start:]) if start >= 0 else None


def write_demo_config(directory: Path, cash: float, base: dict | None = None) -> Path:
    cfg = dict(base or {})
    cfg["live_dir"] = "live"
    cfg.setdefault("user", "demo")
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
        from xlexec.steps.context import Context
        from xlexec.excel.render import render_workbook
        with _env(XLEXEC_NOW=_pinned(res.day, 16, 5)):
            ctx = Context.load(d / "config.yaml")
            try:
                res.workbook = render_workbook(ctx, res.day, d / f"xlexec_{res.day}.xlsm")
            finally:
                ctx.close()
    return res


def _day_inputs(d: Path, day: str):
    """Write the session's inputs unless they exist; returns the config path."""
    import json as _json
    from xlexec.core import calendar as cal
    from xlexec.demo import sample
    from xlexec.formats.inputs import read_closes, read_positions
    live = d / "live"
    dd = live / day
    cfg_path = d / "config.yaml"
    if (dd / "trades.csv").exists():
        return cfg_path
    current = live / "current_positions.csv"
    if not current.exists():  # the fund's first day
        s = sample.make_day(day)
        if not cfg_path.exists():
            write_demo_config(d, s.cash)
        sample.write_day(s, live, positions=True)
        return cfg_path
    prev = cal.previous_session(day)
    book = read_positions(current)
    recon = live / prev / "reconciliation.json"
    cash = _json.loads(recon.read_text()).get("cash_after") if recon.exists() else None
    closes = read_closes(live / prev / "closes.csv")
    s = sample.make_day(day, book=book, cash=cash, prev_close=dict(zip(closes["symbol"], closes["close"])))
    sample.write_day(s, live, positions=False)
    return cfg_path


def _run_session(d: Path, day: str, res: DemoResult) -> list[Step]:
    from xlexec.store.approvals import find_approval
    from xlexec.execution.brokers import get_broker
    from xlexec.steps.context import Context
    from xlexec.formats.csvio import atomic_write_bytes
    from xlexec.formats.fills import fills_from_broker, write_fills_csv
    from xlexec.core.orders import orders_from_trades, orders_sha256
    from xlexec.formats.trades import read_trades

    live = d / "live"
    dd = live / day
    cfg_path = _day_inputs(d, day)
    # the positions the day starts from, kept in the day folder: reruns start from them too
    positions_file = dd / "opening_positions.csv"
    if not positions_file.exists():
        atomic_write_bytes(positions_file, (live / "current_positions.csv").read_bytes())
    trades = str(dd / "trades.csv")
    base = ["--config", str(cfg_path)]
    steps: list[Step] = []

    def step(name: str, args: list[str], *, when: str, ok=(0,)) -> Step:
        with _env(XLEXEC_NOW=when):
            rc, out, err = _run(args[:1] + base + args[1:])
        st = Step(name, ["xlexec", *args], rc, _json(out) if "--json" in args else None, err.strip())
        steps.append(st)
        if rc not in ok:
            raise XlexecError(f"demo {day} step {name} failed (exit {rc}): {err.strip() or out.strip()[:300]}")
        return st

    cwd = os.getcwd()
    os.chdir(d)
    try:
        morning, close = _pinned(day, 9, 40), _pinned(day, 16, 5)
        with _env(XLEXEC_NOW=morning):
            cfg = Context.load(cfg_path).config
        t = read_trades(trades)
        orders = orders_from_trades(t, default_order_type=cfg.execution.default_order_type, date=day)
        approved = find_approval(cfg.live_dir, day, orders_sha256(orders))
        if approved is not None and (dd / "validation.json").exists():
            # a rerun: the morning's checks were made and approved; the record stands as it was
            v = Step("validate", [], 0, json.loads((dd / "validation.json").read_text()))
            steps.append(v)
        else:
            v = step("validate", ["validate", trades, "--positions", str(positions_file), "--json"],
                     when=morning, ok=(0, 1))
        rec = v.data["decision"]
        decision = {"APPROVE": "APPROVED", "CONDITIONAL": "CONDITIONAL", "REJECT": "APPROVED"}[rec]
        approve = ["approve", trades, "--by", "demo", "--decision", decision,
                   "--reason", f"demo day: validation recommends {rec}"]
        if rec == "REJECT":
            approve.append("--override")
        if approved is None:
            step("approve", approve, when=morning)
        step("convert", ["convert", trades, "--broker", "ibkr"], when=morning)
        step("submit", ["submit", trades, "--json"], when=morning)
        step("status", ["status", "--date", day, "--json"], when=close)
        # fills: pulled from the broker after the close, as an operator would download them
        with _env(XLEXEC_NOW=close):
            broker = get_broker(cfg, cfg.live_dir, day=day)
            fills = fills_from_broker(broker.fills(day), day)
            broker.close()
        write_fills_csv(dd / "broker_fills.csv", fills)
        step("reconcile", ["reconcile", "--trades", trades, "--fills", str(dd / "broker_fills.csv"),
                           "--current-positions", str(positions_file), "--json", "--accept"],
             when=close, ok=(0, 1))
        step("tca", ["tca", str(dd), "--json"], when=close)
        step("monthly", ["monthly", "--month", day[:7], "--json"], when=close)
    finally:
        os.chdir(cwd)
    return steps


def summary(res: DemoResult) -> str:
    by = {s.name: s for s in res.steps}
    lines = [f"xlexec demo — trading day {res.day} on the built-in paper broker", ""]
    if len(res.days) > 1:
        lines[0] = (f"xlexec demo — {len(res.days)} trading days {res.days[0][0]} .. {res.day} "
                    "on the built-in paper broker")
        for day, steps in res.days[:-1]:
            b = {s.name: s for s in steps}
            r, t = b["reconcile"].data or {}, b["tca"].data or {}
            lines.append(f"  {day}  {b['validate'].data['decision']:<11} executed "
                         f"{r.get('trades_executed')}/{r.get('trades_recommended')}, "
                         f"cost ${(t.get('total') or {}).get('usd', 0):,.2f}")
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
        lines.append(f"  reconcile  executed {r.data.get('trades_executed')}/{r.data.get('trades_recommended')}, "
                     f"breaks {len(r.data.get('breaks', []))}, slippage {r.data.get('slippage_bps_avg')} bps avg")
    t = by.get("tca")
    if t and t.data:
        tot = t.data.get("total", {})
        pct = tot.get("pct_notional")
        pct_s = f"{pct * 100:.3f}% of notional" if isinstance(pct, (int, float)) else "n/a"
        lines.append(f"  tca        total cost ${tot.get('usd'):,.2f} ({pct_s}; positive = cost)")
    m = by.get("monthly")
    if m and m.data and len(res.days) > 1:
        lines.append(f"  monthly    {m.data.get('month')}: net return {m.data.get('net_return', 0) * 100:.3f}%, "
                     f"commission ${m.data.get('total_commission', 0):,.2f}, "
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

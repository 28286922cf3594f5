"""The kill switch: cancel every open order in one request and write the incident report.

:func:`cancel_all` writes ``live/KILL_SWITCH`` first (even when the broker cannot be
reached: nothing more is sent), sends ONE cancel-all request, verifies nothing is left open and
writes ``live/<today>/incident_<HHMMSS>.txt`` (:func:`kill_switch_report`: mode, account,
positions with the day's P&L ($), the day's orders; never contains keys).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from xlexec.config import secret_values
from xlexec.execution.brokers.base import Broker, BrokerFault, Order
from xlexec.execution.execution_log import NY
from xlexec.execution.mode import describe_mode
from xlexec.execution.pnl import day_pnl
from xlexec.formats.csvio import atomic_write_text
from xlexec.store import journal as J
from xlexec.store.day import Day


def _account_lines(broker: Broker) -> list[str]:
    """The account line of the report ($), or why it is unavailable."""
    try:
        a = broker.account()
    except BrokerFault as e:
        return [f"account: unavailable ({e})"]
    return [
        f"account: cash ${a.cash:,.2f}  buying power ${a.buying_power:,.2f}  "
        f"portfolio value ${a.portfolio_value:,.2f}  status {a.status}"
    ]


def _pnl_lines(ctx, broker: Broker, day: str) -> list[str]:
    """The day's P&L ($) and the positions (shares, mark $, P&L $), or why they are unavailable."""
    try:
        pnl = day_pnl(ctx, broker, day)
    except BrokerFault as e:
        return [f"positions / P&L: unavailable ({e})"]
    lines = [
        "",
        f"P&L today: ${pnl['total_pnl']:,.2f}",
        "positions:",
        f"  {'symbol':<8}{'shares':>10}{'mark':>12}{'pnl $':>12}",
    ]
    for r in pnl["by_symbol"]:
        lines.append(f"  {r['symbol']:<8}{r['shares']:>10g}{r['mark']:>12,.2f}{r['pnl']:>12,.2f}")
    if pnl["missing_marks"]:
        lines.append(f"  (no mark for {', '.join(pnl['missing_marks'])}: valued at the start-of-day price)")
    return lines


def _open_order_lines(broker: Broker) -> list[str]:
    """The broker's open orders now (the first 200), or why they are unavailable."""
    try:
        opens = broker.list_orders("open")
    except BrokerFault as e:
        return [f"open orders: unavailable ({e})"]
    lines = ["", f"open orders now: {len(opens)}"]
    for o in opens[:200]:
        lines.append(
            f"  {o.symbol} {o.side} {o.qty:g} @ {o.limit_price if o.limit_price is not None else 'MKT'} "
            f"{o.status} filled {o.filled_qty:g} ({o.client_order_id})"
        )
    return lines


def kill_switch_report(
    ctx,
    broker: Broker,
    *,
    cancelled: list[str] | None = None,
    still_open: list | None = None,
    reason: str | None = None,
) -> str:
    """The incident report: mode, account, positions with the day's P&L, orders of the day and
    what was cancelled. Plain text; never contains keys."""
    now = ctx.now()
    day = ctx.today()
    mode = describe_mode(broker)
    lines = [
        f"xlexec incident report — {now.isoformat(timespec='seconds')} ({day})",
        f"mode: {mode['text']}",
        f"operator: {ctx.user}",
    ]
    if reason:
        lines.append(f"reason: {' '.join(str(reason).split())}")
    lines.append("")
    lines += _account_lines(broker)
    lines += _pnl_lines(ctx, broker, day)
    lines += _open_order_lines(broker)
    if cancelled is not None:
        lines += ["", f"cancel-all: {len(cancelled)} order(s) accepted for cancellation"]
        lines += [f"  {i}" for i in cancelled[:500]]
    if still_open:
        lines += [f"STILL OPEN after cancel-all: {len(still_open)}"]
        lines += [f"  {o.symbol} {o.side} {o.qty:g} {o.status} ({o.client_order_id})" for o in still_open]
    jr = ctx.journal()
    latest = jr.latest_orders(day)
    if latest:
        lines += ["", f"orders journaled today: {len(latest)}"]
        for coid, p in latest.items():
            lines.append(
                f"  {p.get('symbol')} {p.get('side')} {float(p.get('qty') or 0):g} {p.get('status')} "
                f"filled {float(p.get('filled_qty') or 0):g} ({coid})"
            )
    text = "\n".join(lines) + "\n"
    for s in secret_values(ctx.config):
        text = text.replace(s, "***")
    return text


def cancel_all(
    ctx, broker: Broker, reason: str = "kill switch", *, verify_attempts: int = 5, verify_delay: float = 0.5
) -> dict[str, Any]:
    """Kill switch: ONE cancel-all request, verify nothing is left open, write ``live/KILL_SWITCH``
    and the incident report ``live/<today>/incident_<HHMMSS>.txt``.

    Returns ``{cancelled, still_open, ok, kill_switch, report_path, report}``. ``ok`` is False
    when orders are still open after ``verify_attempts`` listings. The kill-switch file is
    written even if the broker cannot be reached (then ``ok`` is False and ``error`` says why).
    """
    now = ctx.now()
    day = ctx.today()
    live = Path(ctx.live_dir)
    mode = describe_mode(broker)
    error = None
    cancelled: list[str] = []
    still: list[Order] = []
    ks = atomic_write_text(
        Day(live, day).kill_switch,
        f"TRIGGERED {now.isoformat(timespec='seconds')} by {ctx.user}: {' '.join(str(reason).split())}\n",
    )
    try:
        cancelled = broker.cancel_all()
        for i in range(max(1, verify_attempts)):
            still = broker.list_orders("open")
            if not still:
                break
            if i + 1 < verify_attempts:
                time.sleep(verify_delay)
    except BrokerFault as e:
        error = f"broker unreachable: {e}"
    report = kill_switch_report(ctx, broker, cancelled=cancelled, still_open=still, reason=reason)
    if error:
        report += f"\nERROR: {error}\n"
    path = atomic_write_text(Day(live, day).dir / f"incident_{now.astimezone(NY).strftime('%H%M%S')}.txt", report)
    ok = error is None and not still
    ctx.journal().append(
        J.KILL,
        now.isoformat(),
        {
            "reason": reason,
            "cancelled": cancelled,
            "still_open": [o.client_order_id for o in still],
            "ok": ok,
            "error": error,
            "report_path": str(path),
            "mode": mode["mode"],
        },
        day=day,
        actor=ctx.user,
    )
    return {
        "cancelled": cancelled,
        "still_open": [o.to_dict() for o in still],
        "ok": ok,
        "error": error,
        "kill_switch": str(ks),
        "report_path": str(path),
        "report": report,
        "mode": mode["text"],
    }

"""The kill switch: cancel every open order and write the incident report.

:func:`cancel_all` cancels FIRST (one cancel-all request, repeated until the broker reports
nothing open, bounded), writes ``live/KILL_SWITCH`` right after the first request (even when the
broker cannot be reached: nothing more passes the gate before the wire), and records after: a
``live/`` that cannot be written (read-only, full) never stops the cancel, it makes the result
not ok with one line saying what was not recorded. It writes
``live/<today>/incident_<HHMMSS>.txt`` (:func:`kill_switch_report`: mode, account, positions
with the day's P&L ($), the day's orders with their final status as the broker reports them
after the cancels; never contains keys). A second cancel-all keeps the first trigger time (the
file's first line; the journal's ``triggered_at``) and is recorded as a repeat (``repeat`` n).
A cancel-all at a moment the journal already holds (its ``kill_switch`` event, keyed by the
moment) that cancels nothing and finds nothing open is that act run again: the cancel request
still goes out, but nothing is rewritten (``KILL_SWITCH``, the incident report and the journal
stay as they are; ``already`` in the result).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Any

from xlexec.config import secret_values
from xlexec.core.money import usd
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
        f"account: cash {usd(a.cash)}  buying power {usd(a.buying_power)}  "
        f"portfolio value {usd(a.portfolio_value)}  status {a.status}"
    ]


def _pnl_lines(ctx, broker: Broker, day: str) -> list[str]:
    """The day's P&L ($) and the positions (shares, mark $, P&L $), or why they are unavailable."""
    try:
        pnl = day_pnl(ctx, broker, day)
    except BrokerFault as e:
        return [f"positions / P&L: unavailable ({e})"]
    total = pnl["total_pnl"]
    lines = [
        "",
        f"P&L today: {usd(total)}"
        if total is not None
        else f"P&L today: unknown for {', '.join(pnl['unknown'])}; the other symbols {usd(pnl['known_pnl'])}",
        "positions:",
        f"  {'symbol':<8}{'shares':>10}{'mark':>12}{'pnl':>14}",
    ]
    for r in pnl["by_symbol"]:
        mark = f"{usd(r['mark']):>12}" if r["mark"] is not None else f"{'no price':>12}"
        p = f"{usd(r['pnl']):>14}" if r["pnl"] is not None else f"  {r['basis']}"
        lines.append(f"  {r['symbol']:<8}{r['shares']:>10g}{mark}{p}")
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
    final: list[Order] | None = None,
    trigger: str | None = None,
) -> str:
    """The incident report: mode, account, positions with the day's P&L, orders of the day and
    what was cancelled. ``final``: the day's orders as the broker reports them after the
    cancels (each order's final status); ``trigger``: the kill switch line (first trigger time,
    repeats). Plain text; never contains keys."""
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
    if trigger:
        lines.append(trigger)
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
    if final is not None:
        lines += ["", f"orders of the day at the broker after cancel-all (final status): {len(final)}"]
        lines += [_order_line(o) for o in final[:500]]
    try:
        latest = ctx.journal().latest_orders(day)
    except (OSError, sqlite3.Error) as e:
        latest = {}
        lines += ["", f"orders journaled today: unavailable ({_why(e)})"]
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


def _order_line(o: Order) -> str:
    """One order as the broker reports it: symbol side qty @ limit, status, filled (coid)."""
    px = "MKT" if o.limit_price is None else usd(o.limit_price)
    avg = f" @ {usd(o.filled_avg_price)}" if o.filled_qty and o.filled_avg_price is not None else ""
    return (
        f"  {o.symbol} {o.side} {o.qty:g} @ {px} {o.status} filled {float(o.filled_qty or 0):g}{avg} "
        f"({o.client_order_id})"
    )


def _day_orders(broker: Broker, day: str) -> list[Order] | None:
    """The broker's orders submitted on ``day`` (New York), None when it cannot be asked."""
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0, 0), NY).astimezone(dt.UTC)
    try:
        return broker.list_orders("all", after=start.isoformat())
    except BrokerFault:
        return None


def first_trigger(ks: Path) -> tuple[str | None, int]:
    """(the first trigger time (ISO) of ``live/KILL_SWITCH``, the number the next cancel-all
    gets as a repeat: 1 + its ``again`` lines); (None, 0) without the file or its first line."""
    lines: list[str] = []
    with contextlib.suppress(OSError):
        lines = ks.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    parts = lines[0].split() if lines else []
    if len(parts) < 2 or parts[0] != "TRIGGERED":
        return None, 0
    return parts[1], 1 + sum(1 for ln in lines if ln.startswith("again "))


def _trigger_text(ks: Path, now_iso: str, user: str, reason: str) -> str:
    """The ``KILL_SWITCH`` file's text: a new trigger line, or the existing file (its first line,
    the first trigger time, kept) plus one line for this cancel-all."""
    line = f"{now_iso} by {user}: {' '.join(str(reason).split())}"
    old = ""
    with contextlib.suppress(OSError):
        old = ks.read_text(encoding="utf-8", errors="replace")
    if old.strip():
        return old.rstrip("\n") + f"\nagain {line}\n"
    return f"TRIGGERED {line}\n"


def _cancel_until_flat(broker: Broker, attempts: int, delay: float, between=None) -> tuple[list[str], list[Order]]:
    """Cancel-all, then list the open orders; repeat (at most ``attempts`` rounds) until the broker
    reports nothing open. ``between()`` runs after the first request (records the kill switch).
    Returns (ids accepted for cancellation, still open). Raises :class:`BrokerFault`."""
    cancelled: list[str] = []
    still: list[Order] = []
    for i in range(max(1, attempts)):
        for oid in broker.cancel_all():
            if oid not in cancelled:
                cancelled.append(oid)
        if i == 0 and between is not None:
            between()
        still = broker.list_orders("open")
        if not still:
            break
        if i + 1 < attempts:
            time.sleep(delay)
    return cancelled, still


def cancel_all(
    ctx, broker: Broker, reason: str = "kill switch", *, verify_attempts: int = 5, verify_delay: float = 0.5
) -> dict[str, Any]:
    """Kill switch: cancel FIRST (one cancel-all request, repeated until the broker reports nothing
    open, at most ``verify_attempts`` rounds), then record: ``live/KILL_SWITCH`` (written right
    after the first request, so no order passes the gate afterwards; a second cancel-all keeps
    the first trigger time and adds a line), the incident report
    ``live/<today>/incident_<HHMMSS>.txt`` and the journal.

    Returns ``{cancelled, still_open, ok, error, record_error, kill_switch, report_path, report,
    mode, triggered_at, repeat, already}``; ``already``: this moment's cancel-all was recorded
    before and this one cancelled nothing and found nothing open (nothing rewritten).
    ``ok`` is False when orders are still open, the broker cannot be reached (``error``) or
    ``live/`` cannot be written (``record_error``: the orders are cancelled all the same).
    """
    now = ctx.now()
    day = ctx.today()
    live = Path(ctx.live_dir)
    mode = describe_mode(broker)
    ks_path = Day(live, day).kill_switch
    first, repeats = first_trigger(ks_path)  # a cancel-all before this one (file kept): its time stands
    triggered_at = first or now.isoformat(timespec="seconds")
    # this very moment's cancel-all already recorded (the gate is closed: the file is triggered)
    same_act = _recorded_act(ctx, now.isoformat(), day) if first else None

    def trigger_line(n: int) -> str:
        return f"kill switch: triggered at {triggered_at}" + (f"; this cancel-all is repeat {n}" if first and n else "")

    error = None
    record_errors: list[str] = []
    cancelled: list[str] = []
    still: list[Order] = []
    written: list[bool] = []

    def write_kill_switch() -> None:
        written.append(True)
        if same_act is not None:  # written once cancelling showed something new (below)
            return
        try:
            atomic_write_text(ks_path, _trigger_text(ks_path, now.isoformat(timespec="seconds"), ctx.user, reason))
        except OSError as e:
            record_errors.append(f"{ks_path} not written ({_why(e)})")

    try:
        cancelled, still = _cancel_until_flat(broker, verify_attempts, verify_delay, between=write_kill_switch)
    except BrokerFault as e:
        error = f"broker unreachable: {e}"
    already = same_act is not None and not cancelled and not still and error is None
    if same_act is not None and not already:
        same_act = None  # something new at the broker: a new act after all, recorded as one
        written.clear()
    if already and same_act is not None:
        repeats = int(same_act.get("repeat") or 0)  # the act's own number, as first recorded
    trigger = trigger_line(repeats)
    if not written:
        write_kill_switch()  # the broker failed before the first request returned
    final = None if error else _day_orders(broker, day)
    report = kill_switch_report(
        ctx, broker, cancelled=cancelled, still_open=still, reason=reason, final=final, trigger=trigger
    )
    if error:
        report += f"\nERROR: {error}\n"
    path = Day(live, day).dir / f"incident_{now.astimezone(NY).strftime('%H%M%S')}.txt"
    if already:  # the same act again: its records stand as they are
        return _result(cancelled, still, None, None, ks_path, path, report, mode, triggered_at, repeats, True)
    try:
        atomic_write_text(path, report)
    except OSError as e:
        record_errors.append(f"incident report {path} not written ({_why(e)})")
    try:
        ctx.journal().append(
            J.KILL,
            now.isoformat(),
            {
                "reason": reason,
                "cancelled": cancelled,
                "still_open": [o.client_order_id for o in still],
                "ok": error is None and not still,
                "error": error,
                "report_path": str(path),
                "mode": mode["mode"],
                "triggered_at": triggered_at,  # the first trigger: a repeat keeps it
                "repeat": repeats,  # 0 = this cancel-all triggered the kill switch
                "final": [o.to_dict() for o in final or []],
            },
            day=day,
            actor=ctx.user,
        )
    except (OSError, sqlite3.Error) as e:
        record_errors.append(f"journal not written ({_why(e)})")
    record_error = None
    if record_errors:
        record_error = f"live/ ({live}) cannot be written: " + "; ".join(record_errors)
    return _result(cancelled, still, error, record_error, ks_path, path, report, mode, triggered_at, repeats, False)


def _recorded_act(ctx, key: str, day: str) -> dict[str, Any] | None:
    """The journal's ``kill_switch`` payload of the cancel-all at moment ``key`` (ISO), or None
    (none, or the journal unreadable: then this cancel-all is recorded as a new one)."""
    try:
        return next((e.payload for e in ctx.journal().events(J.KILL, day) if e.key == key), None)
    except (OSError, sqlite3.Error):
        return None


def _result(
    cancelled: list[str],
    still: list[Order],
    error: str | None,
    record_error: str | None,
    ks_path: Path,
    path: Path,
    report: str,
    mode: dict[str, Any],
    triggered_at: str,
    repeats: int,
    already: bool,
) -> dict[str, Any]:
    """The result of :func:`cancel_all` (its keys are documented there)."""
    return {
        "cancelled": cancelled,
        "still_open": [o.to_dict() for o in still],
        "ok": error is None and not still and record_error is None,
        "error": error,
        "record_error": record_error,
        "kill_switch": str(ks_path),
        "report_path": str(path),
        "report": report,
        "mode": mode["text"],
        "triggered_at": triggered_at,
        "repeat": repeats,
        "already": already,
    }


def _why(e: BaseException) -> str:
    """One line for an OS / SQLite error (no traceback)."""
    return " ".join(f"{type(e).__name__}: {e}".split())[:200]

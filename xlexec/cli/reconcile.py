"""``xlexec reconcile``, ``compare-positions``, ``sync-positions`` (thin shells over the pure core).

``reconcile`` (the guide's ``reconcile_positions.py``), in this order:

1. read trades, fills (any layout, :mod:`xlexec.formats.fills`; ``--from-broker`` pulls them from the
   configured broker), current positions, ``events.csv``, ``closes.csv``;
2. record every fill in the journal (kind ``fill``, deterministic key: broker fill id, else
   ``day|order id|n``) so a rerun deduplicates;
3. read order states from the journal (``latest_orders(day)``) and reconcile;
4. write ``live/DAY/positions_after_recon.csv``, ``reconciliation.json``,
   ``reconciliation_report.txt``, ``reconciliation_trades.csv`` (atomic writes), append each
   discrepancy line to ``live/discrepancies.log`` once per (day, line) even when rerun, and
   journal a ``reconciliation`` event with the summary;
5. ``--accept``: copy positions_after_recon over ``live/current_positions.csv`` (the previous
   file kept as ``live/current_positions.DAY.bak.csv``), journaled with who did it.

Exit code: 0 clean, 1 when there are breaks (over-fill, unplanned fill, oversell, position
mismatch), 2 bad input.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

from xlexec.formats.csvio import atomic_write_bytes, atomic_write_csv, atomic_write_text, read_table, read_text, split_comment_header, to_csv_text
from xlexec.errors import BrokerError, InputError, RefusedError
from xlexec.faults import crash_point
from xlexec.formats.fills import FILL_COLUMNS, FILL_ID, fill_keys, fills_from_broker, read_fills, write_fills_csv
from xlexec.formats.inputs import positions_from_frame, read_closes, read_events, read_positions
from xlexec.store.journal import DISCREPANCY, FILL, INTENT, POSITIONS, RECON, DayLock, Journal
from xlexec.core.positions import compare_positions, empty_positions
from xlexec.core.reconcile import ReconResult, reconcile, sent_orders
from xlexec.formats.trades import read_trades

POSITION_DECIMALS = {"avg_cost": 2, "current_value": 2, "weight": 4}


# ------------------------------------------------------------------ helpers

def _print(text: str) -> None:
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:  # legacy Windows console
        sys.stdout.write(text.replace("\u2705", "OK").replace("\u274c", "MISMATCH"))


def _first_existing(*paths: Path) -> Path | None:
    for p in paths:
        if p is not None and Path(p).exists():
            return Path(p)
    return None


def _fills_hash(fills: pd.DataFrame) -> str:
    cols = [c for c in FILL_COLUMNS + [FILL_ID] if c in fills.columns]
    if fills.empty:
        return hashlib.sha256(b"").hexdigest()
    h = pd.util.hash_pandas_object(fills[cols].astype(str), index=False).to_numpy().tobytes()
    return hashlib.sha256(h).hexdigest()


FILLS_CHUNK = 10_000  # fills journaled per transaction (keys are deterministic: a rerun dedupes)


def record_fills(journal: Journal, fills: pd.DataFrame, day: str, actor: str | None = None) -> int:
    """Journal every fill (kind ``fill``); returns how many were new (reruns add none).

    Committed in chunks of :data:`FILLS_CHUNK`: a crash part-way keeps the chunks already
    committed, and the rerun adds only the rest (deterministic keys)."""
    if fills.empty:
        return 0
    keys = fill_keys(fills, day)
    cols = [c for c in FILL_COLUMNS + [FILL_ID] if c in fills.columns]
    recs = fills[cols].to_dict("records")
    rows = [(k, {**r, "day": day}) for k, r in zip(keys, recs)]
    new = 0
    step = max(1, int(FILLS_CHUNK))
    for i in range(0, len(rows), step):
        new += journal.append_many(FILL, rows[i:i + step], day=day, actor=actor)
        crash_point("fills_import")  # test hook (xlexec.faults): some fills journaled
    return new


def previous_cash(journal: Journal, day: str) -> float | None:
    """Cash before ``day``: the same day's earlier reconciliation's ``cash_before`` (rerun),
    else the latest earlier day's ``cash_after``."""
    same, prior = None, None
    for e in journal.events(RECON):
        p = e.payload
        if e.day == day and p.get("cash_before") is not None:
            same = float(p["cash_before"])
        elif e.day < day and p.get("cash_after") is not None and (prior is None or e.day >= prior[0]):
            prior = (e.day, float(p["cash_after"]))
    if same is not None:
        return same
    return prior[1] if prior else None


def sliced_plan(ctx, trades, day: str) -> pd.DataFrame | None:
    """The orders actually planned for ``day`` when the journal holds an ADV slicing schedule
    (today's children of sliced parents + children carried from earlier days), else None (the
    plan is the trades' orders). The same planning function ``convert``/``submit --slice`` use."""
    from xlexec.store.journal import SLICE
    from xlexec.core.orders import orders_from_trades, orders_sha256
    from xlexec.core.slicing import carry_forward, recorded_parents
    from xlexec.store.slicing import plan_day
    prior = ctx.journal().payloads(SLICE)
    if not prior:
        return None
    orders = orders_from_trades(trades, default_order_type=ctx.config.execution.default_order_type, date=day)
    sha = orders_sha256(orders)
    sliced_today = bool(recorded_parents(prior, day, sha))
    if not sliced_today and not carry_forward(prior, day):
        return None
    return plan_day(orders, day=day, batch_sha256=sha, prior=prior, max_adv_pct=ctx.config.validation.max_adv_pct,
                    live_dir=ctx.live_dir, slice_new=sliced_today).orders


def cash_before_from_broker(ctx, day: str, fills: pd.DataFrame) -> float | None:
    """Cash before ``day`` when nothing recorded it: the configured broker's cash now, with the
    day's fills undone (+ buys' notional, - sells' notional, + commissions; $). Assumes ``fills``
    are all of the day's fills and no other cash moved. None when no broker can be asked
    (file-based brokers, no keys, unreachable)."""
    from xlexec.execution.brokers import get_broker
    from xlexec.execution.brokers.base import BrokerFault
    from xlexec.errors import XlexecError
    try:
        b = get_broker(ctx.config, ctx.live_dir, day=day, now=ctx.now)
        try:
            now_cash = float(b.account().cash)
        finally:
            b.close()
    except (BrokerFault, XlexecError, OSError):
        return None
    f = fills[fills["date"] == day] if "date" in fills.columns else fills
    signed = (f["shares"] * f["price"]).where(f["side"] == "buy", -(f["shares"] * f["price"]))
    return round(now_cash + float(signed.sum()) + float(f["commission"].sum()), 2)


def append_discrepancies(journal: Journal, live_dir: Path, day: str, lines: list[str], actor: str | None) -> int:
    """Append each line to ``live/discrepancies.log`` once per (day, line), atomically."""
    if not lines:
        return 0
    path = Path(live_dir) / "discrepancies.log"
    with journal.transaction():
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        present = set(old.splitlines())
        new = [ln for ln in dict.fromkeys(lines)
               if journal.append(DISCREPANCY, f"{day}|{ln}", {"line": ln}, day=day, actor=actor)
               and ln not in present]
        if new:
            sep = "" if (not old or old.endswith("\n")) else "\n"
            atomic_write_text(path, old + sep + "\n".join(new) + "\n")
    return len(new)


def accept_positions(live_dir: str | Path, day: str, by: str, now: str, journal: Journal | None = None) -> Path:
    """Make ``live/DAY/positions_after_recon.csv`` the current positions.

    The previous ``live/current_positions.csv`` is kept as ``live/current_positions.DAY.bak.csv``
    (an existing backup of that day is never overwritten: it holds the true previous file).
    Journaled (kind ``positions``) with who did it and when. Atomic.
    """
    live_dir = Path(live_dir)
    src = live_dir / day / "positions_after_recon.csv"
    if not src.exists():
        raise RefusedError(f"{src}: no reconciled positions for {day}; run `xlexec reconcile` first")
    data = src.read_bytes()
    cur = live_dir / "current_positions.csv"
    bak = live_dir / f"current_positions.{day}.bak.csv"
    if cur.exists() and not bak.exists():
        atomic_write_bytes(bak, cur.read_bytes())
    atomic_write_bytes(cur, data)
    j = journal or Journal.for_live_dir(live_dir)
    try:
        digest = hashlib.sha256(data).hexdigest()
        j.append(POSITIONS, f"{day}|accept|{digest[:16]}",
                 {"action": "accept_reconciliation", "by": by, "at": now, "source": str(src),
                  "backup": str(bak) if bak.exists() else None, "sha256": digest}, day=day, actor=by)
    finally:
        if journal is None:
            j.close()
    return cur


_SHARE_ALIASES = ["shares", "qty", "quantity", "qty (quantity)", "position", "net_shares"]
_COST_ALIASES = ["avg_cost", "avg_entry_price", "average_cost", "avg cost", "cost_basis_price", "costbasisprice"]


def read_broker_positions(path: str | Path) -> pd.DataFrame:
    """A broker positions export: ``symbol`` + shares (``shares|qty|quantity``) [+ ``avg_cost``
    or ``avg_entry_price``] -> ``symbol, shares, avg_cost``."""
    name = str(path)
    text = read_text(path, what="broker positions file")
    _, body, first = split_comment_header(text)
    if not body:
        raise InputError(name, "empty broker positions file: no header row", row=first)
    df = read_table("\n".join(body), name, first, ["symbol"], what="broker positions file")
    sh = next((c for c in _SHARE_ALIASES if c in df.columns), None)
    if sh is None:
        raise InputError(name, f"no shares column (one of {', '.join(_SHARE_ALIASES)}); header is: "
                         f"{','.join(df.columns)}", row=first)
    cost = next((c for c in _COST_ALIASES if c in df.columns), None)
    df = pd.DataFrame({"symbol": df["symbol"], "shares": df[sh], "avg_cost": df[cost] if cost else ""},
                      index=df.index)
    return positions_from_frame(df, name)


def broker_positions_frame(positions) -> pd.DataFrame:
    """``Broker.positions()`` (list of Position) -> ``symbol, shares, avg_cost``."""
    if not positions:
        return empty_positions()
    return pd.DataFrame({"symbol": [p.symbol.upper() for p in positions],
                         "shares": [float(p.qty) for p in positions],
                         "avg_cost": [float(p.avg_entry_price or 0.0) for p in positions]})


def _events(ctx, day: str | None, path: str | None) -> pd.DataFrame:
    if path:
        return read_events(path, missing_ok=False)
    p = _first_existing(ctx.day_dir(day) / "events.csv" if day else None, ctx.live_dir / "events.csv")
    return read_events(p) if p else read_events(ctx.live_dir / "events.csv")


def _broker(ctx, day: str | None = None):
    from xlexec.execution.brokers import get_broker
    try:
        return get_broker(ctx.config, ctx.live_dir, day=day, now=ctx.now)
    except ImportError as e:  # adapter module not available
        raise BrokerError(f"broker {ctx.config.execution.broker!r} unavailable: {e}") from None


# ------------------------------------------------------------------ reconcile

def run_reconcile(args, ctx) -> int:
    day_arg = args.date
    trades_path = Path(args.trades) if args.trades else (ctx.day_dir(day_arg) / "trades.csv" if day_arg else None)
    if trades_path is None:
        raise InputError("reconcile", "--trades is required (or --date to use live/DATE/trades.csv)")
    trades = read_trades(trades_path)
    day = day_arg or trades.date or ctx.today()
    day_dir = ctx.day_dir(day)

    if args.from_broker:
        b = _broker(ctx, day)
        try:
            fills = fills_from_broker(b.fills(day), day, name=f"{b.name} fills")
        finally:
            b.close()
        write_fills_csv(day_dir / "broker_fills.csv", fills)
    else:
        fills_path = Path(args.fills) if args.fills else day_dir / "broker_fills.csv"
        fills = read_fills(fills_path, format=args.format)
    pos_path = Path(args.current_positions) if args.current_positions else ctx.live_dir / "current_positions.csv"
    positions = read_positions(pos_path, missing_ok=not args.current_positions)
    events = _events(ctx, day, args.events)
    closes_path = Path(args.closes) if args.closes else _first_existing(day_dir / "closes.csv",
                                                                         ctx.live_dir / "closes.csv")
    closes = read_closes(closes_path, missing_ok=False) if closes_path else None
    broker_pos = read_broker_positions(args.broker_positions) if args.broker_positions else None

    res = reconcile_day(ctx, day, trades, fills, positions, events=events, closes=closes, cash=args.cash,
                        broker_positions=broker_pos, accept=args.accept, trades_path=str(trades_path))

    if args.json:
        out = res.to_json()
        out["accepted"] = bool(args.accept)
        print(json.dumps(out, sort_keys=False))
    else:
        _print(res.report_text())
        _print(f"\nWrote {day_dir / 'positions_after_recon.csv'}"
               + ("; accepted as live/current_positions.csv\n" if args.accept else
                  "\nReview it, then accept with `xlexec reconcile ... --accept`\n"))
    return 1 if res.breaks else 0


def reconcile_day(ctx, day: str, trades, fills: pd.DataFrame, positions: pd.DataFrame, *,
                  events: pd.DataFrame | None = None, closes: pd.DataFrame | None = None,
                  cash: float | None = None, broker_positions: pd.DataFrame | None = None,
                  accept: bool = False, trades_path: str = "") -> ReconResult:
    """The shell's steps 2-5 (shared by the CLI and the workbook's Reconcile button), under the
    day lock: journal the fills, reconcile with the journal's order states, write the day's
    files, log discrepancies once, journal the summary, optionally accept."""
    day_dir = ctx.day_dir(day)
    j = ctx.journal()
    with DayLock(day_dir, "reconcile"):
        record_fills(j, fills, day, actor=ctx.user)  # before anything else
        if j.events(INTENT, day):  # orders sent by xlexec: the execution log gains commissions
            from xlexec.execution.engine import write_execution_log
            write_execution_log(j, ctx.live_dir, day)
        crash_point("after_fills_journaled")  # test hook (xlexec.faults)
        states = j.latest_orders(day) or None  # none recorded (e.g. executed by file upload): unknown
        cash_before = cash if cash is not None else previous_cash(j, day)
        if cash_before is None:
            cash_before = cash_before_from_broker(ctx, day, fills)
        otype = ctx.config.execution.default_order_type
        planned = sliced_plan(ctx, trades, day)
        sent = sent_orders(j.payloads(INTENT, day))  # what was actually sent (matched first)
        res = reconcile(trades, fills, positions, day=day, order_states=states, events=events, closes=closes,
                        cash_before=cash_before, broker_positions=broker_positions,
                        default_order_type=otype, planned=planned, sent=sent,
                        target_slippage_bps=ctx.config.slippage_bps)
        write_outputs(res, day_dir)
        crash_point("reconcile_outputs_written")  # test hook (xlexec.faults)
        append_discrepancies(j, ctx.live_dir, day, res.discrepancy_lines, ctx.user)
        summary = res.summary()
        summary.update(fills_sha256=_fills_hash(fills), trades=trades_path)
        digest = hashlib.sha256(json.dumps(summary, sort_keys=True, default=str).encode()).hexdigest()
        summary.update(by=ctx.user, at=ctx.now().isoformat())
        j.append(RECON, f"{day}|{digest[:24]}", summary, day=day, actor=ctx.user)
        if accept:
            accept_positions(ctx.live_dir, day, ctx.user, ctx.now().isoformat(), journal=j)
    return res


def write_outputs(res: ReconResult, day_dir: Path) -> None:
    day_dir = Path(day_dir)
    atomic_write_csv(day_dir / "positions_after_recon.csv", res.positions_after, POSITION_DECIMALS)
    atomic_write_text(day_dir / "reconciliation.json", json.dumps(res.to_json(), indent=2) + "\n")
    atomic_write_text(day_dir / "reconciliation_report.txt", res.report_text())
    pt = res.per_trade.copy()
    atomic_write_text(day_dir / "reconciliation_trades.csv",
                      to_csv_text(pt, {"avg_price": 2, "slippage_bps": 2, "commission": 2, "signal_price": 2,
                                       "commission_est": 2}))


# ------------------------------------------------------------------ compare / sync

def pending_fills(journal: Journal) -> pd.DataFrame:
    """Net shares per symbol of fills journaled for days with no reconciliation yet."""
    done = {e.day for e in journal.events(RECON)}
    rows = [e.payload for e in journal.events(FILL) if e.day not in done]
    if not rows:
        return pd.DataFrame({"symbol": pd.Series(dtype=object), "shares": pd.Series(dtype=float)})
    df = pd.DataFrame(rows)
    sign = df["side"].map({"buy": 1.0, "sell": -1.0}).fillna(0.0)
    return pd.DataFrame({"symbol": df["symbol"], "shares": sign * df["shares"].astype(float)})


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.4f}".rstrip("0")


def _table(cmp: pd.DataFrame, only_diff: bool = True) -> str:
    rows = cmp[~cmp["matches"]] if only_diff else cmp
    lines = [f"{'symbol':<10}{'system':>14}{'broker':>14}{'difference':>14}  likely cause"]
    for r in rows.itertuples():
        d = ("+" if r.difference > 0 else "") + _fmt(r.difference)
        lines.append(f"{r.symbol:<10}{_fmt(r.system_shares):>14}{_fmt(r.broker_shares):>14}{d:>14}  {r.likely_cause}")
    return "\n".join(lines) + "\n"


def run_compare(args, ctx) -> int:
    system = read_positions(args.system or ctx.live_dir / "current_positions.csv")
    if args.broker:
        broker = read_broker_positions(args.broker)
    else:
        b = _broker(ctx, ctx.today())
        try:
            broker = broker_positions_frame(b.positions())
        finally:
            b.close()
    events = _events(ctx, None, args.events)
    cmp = compare_positions(system, broker, events=events, pending=pending_fills(ctx.journal()))
    n = int((~cmp["matches"]).sum())
    if args.json:
        print(json.dumps({"differences": n, "positions": [
            {"symbol": r.symbol, "system_shares": float(r.system_shares), "broker_shares": float(r.broker_shares),
             "difference": float(r.difference), "matches": bool(r.matches), "likely_cause": r.likely_cause}
            for r in cmp.itertuples()]}))
    elif n:
        _print(f"{n} position(s) differ:\n" + _table(cmp))
    else:
        _print(f"Positions match ({len(cmp)} symbols)\n")
    return 1 if n else 0


def run_sync(args, ctx) -> int:
    if args.source != "broker":
        raise InputError("sync-positions", "--source must be broker")
    if args.broker_file:
        broker = read_broker_positions(args.broker_file)
        source = str(args.broker_file)
    else:
        b = _broker(ctx, ctx.today())
        try:
            broker = broker_positions_frame(b.positions())
            source = f"broker:{b.name}"
        finally:
            b.close()
    cur = ctx.live_dir / "current_positions.csv"
    system = read_positions(cur, missing_ok=True)
    cmp = compare_positions(system, broker, events=_events(ctx, None, None))
    n = int((~cmp["matches"]).sum())
    if not args.force_update:
        _print((f"{n} position(s) differ:\n" + _table(cmp)) if n else "Positions already match the broker\n")
        raise RefusedError("nothing changed: pass --force-update to take the broker's positions as truth")
    day = ctx.today()
    stamp = ctx.now().strftime("%Y%m%dT%H%M%S")
    bak = ctx.live_dir / f"current_positions.{day}.sync-{stamp}.bak.csv"
    out = broker[["symbol", "shares", "avg_cost"]].sort_values("symbol").reset_index(drop=True)
    with ctx.journal().transaction():
        if cur.exists():
            atomic_write_bytes(bak, cur.read_bytes())
        text = to_csv_text(out, {"avg_cost": 2})
        ctx.journal().append(POSITIONS, f"{day}|sync|{stamp}|{hashlib.sha256(text.encode()).hexdigest()[:16]}",
                             {"action": "sync_from_broker", "by": ctx.user, "at": ctx.now().isoformat(),
                              "source": source, "backup": str(bak) if cur.exists() else None,
                              "differences": n, "positions": out.to_dict("records")},
                             day=day, actor=ctx.user)
        atomic_write_text(cur, text)
    if args.json:
        print(json.dumps({"synced": True, "differences": n, "by": ctx.user,
                          "backup": str(bak) if bak.exists() else None, "positions": len(out)}))
    else:
        _print(f"current_positions.csv replaced by the broker's positions ({len(out)} symbols, {n} changed) "
               f"by {ctx.user}" + (f"; previous kept as {bak.name}" if bak.exists() else "") + "\n")
    return 0


# ------------------------------------------------------------------ registration

def register(sub, common) -> None:
    p = sub.add_parser("reconcile", parents=[common], help="reconcile the day's fills with the trades and positions")
    p.add_argument("--trades", metavar="T", help="trades.csv (default live/DATE/trades.csv)")
    p.add_argument("--fills", metavar="F", help="fills file in any known layout (default live/DATE/broker_fills.csv)")
    p.add_argument("--from-broker", action="store_true", help="pull the day's fills from the configured broker")
    p.add_argument("--format", metavar="NAME", default=None,
                   help="fills layout: xlexec|alpaca|ibkr|schwab|fidelity (default: detect from the header)")
    p.add_argument("--current-positions", metavar="P", help="positions before the day (default live/current_positions.csv)")
    p.add_argument("--broker-positions", metavar="B", help="broker positions export to check positions against")
    p.add_argument("--events", metavar="E", help="events.csv (default live/DATE/events.csv or live/events.csv)")
    p.add_argument("--closes", metavar="C", help="closes.csv to value positions (symbol,close)")
    p.add_argument("--cash", type=float, default=None, metavar="USD",
                   help="cash before the day, $ (default: the last reconciliation's cash after)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="trading day (default: the trades header date)")
    p.add_argument("--accept", action="store_true", help="make the reconciled positions live/current_positions.csv")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_reconcile)

    c = sub.add_parser("compare-positions", parents=[common], help="compare system and broker positions")
    c.add_argument("--system", metavar="S", help="system positions (default live/current_positions.csv)")
    c.add_argument("--broker", metavar="B", help="broker positions export (default: ask the configured broker)")
    c.add_argument("--events", metavar="E", help="events.csv (splits) (default live/events.csv)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=run_compare)

    s = sub.add_parser("sync-positions", parents=[common], help="take the broker's positions as truth")
    s.add_argument("--source", choices=["broker"], required=True)
    s.add_argument("--force-update", action="store_true", help="really replace live/current_positions.csv")
    s.add_argument("--broker-file", metavar="B", help="broker positions export (default: ask the configured broker)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=run_sync)

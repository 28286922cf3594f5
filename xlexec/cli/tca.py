"""``xlexec tca DAYDIR`` (daily TCA) and ``xlexec monthly --month YYYY-MM`` (monthly costs)."""

from __future__ import annotations

import json
from pathlib import Path

from xlexec.formats.csvio import atomic_write_text
from xlexec.errors import InputError, RefusedError
from xlexec.core.monthly import DAY_RE, monthly_report
from xlexec.formats.monthly import upsert_monthly_costs
from xlexec.store.month import collect_month
from xlexec.core.tca import daily_tca
from xlexec.store.arrivals import arrivals_from_journal


def register(sub, common) -> None:
    p = sub.add_parser("tca", parents=[common],
                       help="transaction cost analysis of a day folder (writes tca.json, tca_report.txt)")
    p.add_argument("daydir", metavar="DAYDIR", help="the day folder live/YYYY-MM-DD (or just the date)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.add_argument("--fills", metavar="F", default=None, help="fills file (default: DAYDIR/broker_fills.csv)")
    p.add_argument("--format", metavar="NAME", default=None, help="fills layout (default: detected)")
    p.set_defaults(func=run_tca)

    m = sub.add_parser("monthly", parents=[common],
                       help="monthly cost summary; adds/updates live/monthly_costs.csv")
    m.add_argument("--month", metavar="YYYY-MM", default=None, help="the month (default: this month)")
    m.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    m.set_defaults(func=run_monthly)


def _journal_or_none(ctx):
    """The journal when one exists (never create ``live/journal.sqlite`` just to read it)."""
    return ctx.journal() if (Path(ctx.live_dir) / "journal.sqlite").exists() else None


def tca_document(day_dir: Path, ctx, *, fills_path: str | None = None, fmt: str | None = None):
    """Run the day's TCA from its folder; returns ``(result, document for tca.json)``."""
    from xlexec.formats.fills import read_fills
    from xlexec.formats.inputs import read_closes
    from xlexec.formats.trades import read_trades

    trades = read_trades(day_dir / "trades.csv")
    fp = Path(fills_path) if fills_path else day_dir / "broker_fills.csv"
    fills = read_fills(fp, format=fmt) if fmt else read_fills(fp)
    day = trades.date or (day_dir.name if DAY_RE.match(day_dir.name) else None)
    if day:  # Alpaca daily bars when keys are configured and closes.csv is missing
        from xlexec.execution.marketdata import refresh_closes_file
        refresh_closes_file(ctx.config, list(trades.df["symbol"]), day, day_dir / "closes.csv")
    closes = read_closes(day_dir / "closes.csv")
    journal = _journal_or_none(ctx)
    arrivals = arrivals_from_journal(journal, day) if journal is not None and day else None
    res = daily_tca(trades, fills, closes=closes, arrivals=arrivals,
                    portfolio_value=trades.header.portfolio_value,
                    default_order_type=ctx.config.execution.default_order_type, date=day)
    if not (day_dir / "closes.csv").exists() and res.unfilled_orders:
        res.notes.append(f"no {day_dir / 'closes.csv'}: closing prices unknown")
    if journal is None:
        res.notes.append("no journal: arrival prices (order_intent events) unknown")
    brokers = [b for b in (arrivals["broker"] if arrivals is not None else []) if b]
    broker = max(set(brokers), key=brokers.count) if brokers else ctx.config.execution.broker
    doc = {**res.to_json(), **res.record(), "broker": str(broker)}
    return res, doc


def run_tca(args, ctx) -> int:
    d = Path(args.daydir)
    if not d.is_dir() and DAY_RE.match(args.daydir):
        d = ctx.day_dir(args.daydir)
    if not d.is_dir():
        raise InputError(str(d), "day folder not found")
    res, doc = tca_document(d, ctx, fills_path=args.fills, fmt=args.format)
    text = json.dumps(doc, indent=2, allow_nan=False)
    atomic_write_text(d / "tca.json", text + "\n")
    atomic_write_text(d / "tca_report.txt", res.report_text())
    print(json.dumps(doc, allow_nan=False) if args.json else res.report_text(), end="" if not args.json else "\n")
    return 0


def run_monthly(args, ctx) -> int:
    month = args.month or ctx.today()[:7]
    journal = _journal_or_none(ctx)
    inputs = collect_month(ctx.live_dir, month, journal=journal, default_broker=ctx.config.execution.broker,
                           default_order_type=ctx.config.execution.default_order_type)
    if not inputs.days:
        raise RefusedError(f"{month}: no day folder with TCA under {ctx.live_dir} "
                           "(run xlexec tca on each day first)")
    res = monthly_report(inputs.days, month, opening_value=inputs.opening_value)
    res.notes = inputs.notes + res.notes
    upsert_monthly_costs(Path(ctx.live_dir) / "monthly_costs.csv", res)
    if args.json:
        print(json.dumps(res.to_json(), allow_nan=False))
    else:
        print(res.report_text(), end="")
    return 0

"""``xlexec reconcile``, ``compare-positions``, ``sync-positions``: parse, run the step
(:mod:`xlexec.steps.reconcile`), print.

Exit code: 0 clean, 1 when there are breaks (over-fill, unplanned fill, oversell, position
mismatch), 2 bad input.
"""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING

from xlexec.cli.days import day_for
from xlexec.cli.lazy import lazy
from xlexec.errors import InputError, RefusedError

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.steps import fills as fills_step
    from xlexec.steps import reconcile as steps
    from xlexec.store.day import Day
else:
    fills_step = lazy("xlexec.steps.fills")
    steps = lazy("xlexec.steps.reconcile")


def _print(text: str) -> None:
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:  # legacy Windows console
        sys.stdout.write(text.replace("\u2705", "OK").replace("\u274c", "MISMATCH"))


def _force_reason(args, command: str) -> str | None:
    """``--force --reason TEXT``: the reason to accept over open breaks (both or neither)."""
    reason = " ".join((args.reason or "").split())
    if args.force and not reason:
        raise InputError(command, "--force needs --reason TEXT (why the positions are accepted over open breaks)")
    if reason and not args.force:
        raise InputError(command, "--reason goes with --force (accepting over open breaks)")
    return reason or None


def run_reconcile(args, ctx) -> int:
    force_reason = _force_reason(args, "reconcile")
    if force_reason and not args.accept:
        raise InputError("reconcile", "--force goes with --accept")
    if args.broker_cash is not None and not math.isfinite(args.broker_cash):
        raise InputError("reconcile", f"--broker-cash must be a finite amount in $, got {args.broker_cash}")
    day = day_for(ctx, date=args.date)  # without --date: today's session (New York)
    if not args.trades and not day.trades.exists():
        raise InputError(
            str(day.trades),
            "trades file not found; pass --trades FILE, or --date YYYY-MM-DD for another day's live/DATE/trades.csv",
        )
    res = steps.reconcile(
        ctx,
        day,
        trades=args.trades,
        fills=args.fills,
        from_broker=args.from_broker,
        format=args.format,
        current_positions=args.current_positions,
        broker_positions=args.broker_positions,
        events=args.events,
        closes=args.closes,
        cash=args.cash,
        accept=args.accept,
        force_reason=force_reason,
        trades_date_wins=bool(args.trades) and not args.date,
        broker_cash=args.broker_cash,
    )
    if args.json:
        print(json.dumps(res.to_json(), sort_keys=False))
    else:
        _print(res.report_text())
        _print(
            f"\nWrote {res.day.positions_after_recon}"
            + (
                "; already accepted as live/current_positions.csv (nothing changed)\n"
                if res.already_accepted
                else "; accepted as live/current_positions.csv\n"
                if args.accept
                else "\nReview it, then accept with `xlexec reconcile ... --accept`\n"
            )
        )
    return res.exit_code


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:.4f}".rstrip("0")


def _table(cmp, only_diff: bool = True) -> str:
    rows = cmp[~cmp["matches"]] if only_diff else cmp
    lines = [f"{'symbol':<10}{'system':>14}{'broker':>14}{'difference':>14}  likely cause"]
    for r in rows.itertuples():
        d = ("+" if r.difference > 0 else "") + _fmt(r.difference)
        lines.append(f"{r.symbol:<10}{_fmt(r.system_shares):>14}{_fmt(r.broker_shares):>14}{d:>14}  {r.likely_cause}")
    return "\n".join(lines) + "\n"


def run_compare(args, ctx) -> int:
    res = steps.compare_positions(ctx, day_for(ctx), system=args.system, broker=args.broker, events=args.events)
    n = res.differences
    if args.json:
        print(json.dumps(res.to_json()))
    elif n:
        _print(f"{n} position(s) differ:\n" + _table(res.positions) + res.skipped_lines())
    else:
        _print(f"Positions match ({len(res.positions)} symbols)\n" + res.skipped_lines())
    return res.exit_code


def run_sync(args, ctx) -> int:
    if args.source != "broker":
        raise InputError("sync-positions", "--source must be broker")
    day: Day = day_for(ctx)
    res = steps.sync_positions(ctx, day, broker_file=args.broker_file, force_update=args.force_update)
    n = res.differences
    if not res.synced:
        _print(
            (
                (f"{n} position(s) differ:\n" + _table(res.compare.positions))
                if n
                else "Positions already match the broker\n"
            )
            + res.compare.skipped_lines()
        )
        raise RefusedError("nothing changed: pass --force-update to take the broker's positions as truth")
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        _print(
            f"current_positions.csv replaced by the broker's positions ({res.n_positions} symbols, {n} changed) "
            f"by {res.by}" + (f"; previous kept as {res.backup.name}" if res.backup else "") + "\n"
        )
    return 0


def run_import_fills(args, ctx) -> int:
    res = fills_step.import_fills(ctx, day_for(ctx, date=args.date))
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        print(res.message())
    return res.exit_code


def _cell(v) -> str:
    if isinstance(v, float):
        return _fmt(v) if v == v else ""
    return str(v)


def fills_text(res: fills_step.ReadFillsResult) -> str:
    """``xlexec fills FILE``: the layout, the fills (one line each) and every skipped row."""
    recs = res.records()
    head = f"{res.path}: {res.layout} layout" + (f", account {res.account}" if res.account else "")
    lines = [f"{head}; {len(recs)} fill(s), {len(res.skipped)} row(s) skipped"]
    if recs:
        cols = ["row", "symbol", "side", "shares", "price", "commission", "fees", "currency", "account"]
        cols += ["fill_time_ny", "fill_id", "order_id", "client_order_id"]
        table = [cols] + [[_cell(r.get(c, "")) for c in cols] for r in recs]
        widths = [max(len(t[j]) for t in table) for j in range(len(cols))]
        lines += ["  ".join(t[j].ljust(widths[j]) for j in range(len(cols))).rstrip() for t in table]
    for s in res.skipped:
        lines.append(f"skipped row {s['row']}: {s['reason']}")
    return "\n".join(lines) + "\n"


def run_fills(args, ctx) -> int:
    res = fills_step.read_fills_file(ctx, args.file, format=args.format, account=args.account)
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        _print(fills_text(res))
    return res.exit_code


def run_accept(args, ctx) -> int:
    res = steps.accept(ctx, day_for(ctx, date=args.date), force_reason=_force_reason(args, "accept-positions"))
    if args.json:
        print(json.dumps(res.to_json()))
    elif res.already:
        print(f"reconciled positions of {res.day} already accepted as {res.path} (nothing changed)")
    else:
        print(f"reconciled positions of {res.day} accepted as {res.path}" + (" over open breaks" if res.forced else ""))
    return res.exit_code


# ------------------------------------------------------------------ registration


def register(sub, common) -> None:
    p = sub.add_parser("reconcile", parents=[common], help="reconcile the day's fills with the trades and positions")
    p.add_argument("--trades", metavar="T", help="trades.csv (default live/DATE/trades.csv)")
    p.add_argument("--fills", metavar="F", help="fills file in any known layout (default live/DATE/broker_fills.csv)")
    p.add_argument(
        "--from-broker",
        action="store_true",
        help="pull the day's fills from the configured broker (saved as live/DATE/broker_fills.csv) and, "
        "for today, check the positions against the broker's",
    )
    p.add_argument(
        "--format",
        metavar="NAME",
        default=None,
        help="fills layout: xlexec|alpaca|ibkr|schwab|fidelity (default: detect from the header)",
    )
    p.add_argument(
        "--current-positions", metavar="P", help="positions before the day (default live/current_positions.csv)"
    )
    p.add_argument("--broker-positions", metavar="B", help="broker positions export to check positions against")
    p.add_argument("--events", metavar="E", help="events.csv (default live/DATE/events.csv or live/events.csv)")
    p.add_argument("--closes", metavar="C", help="closes.csv to value positions (symbol,close)")
    p.add_argument(
        "--cash",
        type=float,
        default=None,
        metavar="USD",
        help="cash before the day, $ (default: the last reconciliation's cash after, else config opening_cash)",
    )
    p.add_argument(
        "--broker-cash",
        type=float,
        default=None,
        metavar="USD",
        help="the broker's cash after the day, $ (its statement): the cash after must match it within $0.01 "
        "(default with --from-broker: the broker's account cash; else not checked)",
    )
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="trading day (default: the --trades file's header date, else today in New York)",
    )
    p.add_argument("--accept", action="store_true", help="make the reconciled positions live/current_positions.csv")
    _force_args(p)
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

    f = sub.add_parser(
        "import-fills",
        parents=[common],
        help="download the day's fills from the broker into live/DATE/broker_fills.csv",
    )
    f.add_argument("--date", metavar="YYYY-MM-DD", default=None, help="trading day (default: today in New York)")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=run_import_fills)

    r = sub.add_parser(
        "fills",
        parents=[common],
        help="show the fills a broker file holds (any layout) and every row skipped, writing nothing",
    )
    r.add_argument("file", metavar="FILE", help="fills file: xlexec|alpaca (CSV or saved JSON)|ibkr|schwab|fidelity")
    r.add_argument("--format", metavar="NAME", default=None, help="layout (default: detect from the header)")
    r.add_argument(
        "--account",
        metavar="ID",
        default=None,
        help="read only this account's rows (default: config broker.account; required for a multi-account file)",
    )
    r.add_argument("--json", action="store_true", help='print {"layout", "account", "fills", "skipped"}')
    r.set_defaults(func=run_fills)

    a = sub.add_parser(
        "accept-positions", parents=[common], help="make live/DATE/positions_after_recon.csv the current positions"
    )
    a.add_argument("--date", metavar="YYYY-MM-DD", default=None, help="trading day (default: today in New York)")
    _force_args(a)
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(func=run_accept)


def _force_args(p) -> None:
    p.add_argument("--force", action="store_true", help="accept over open breaks (needs --reason; journaled)")
    p.add_argument("--reason", metavar="TEXT", default=None, help="why the positions are accepted over open breaks")

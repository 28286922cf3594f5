"""CLI shell of order submission: ``submit``, ``status``, ``cancel-all``, ``kill-switch-report``, ``pnl``.

``submit --slice`` sends the day's slicing plan (the one ``convert --slice`` writes: today's child
of each order above ``validation.max_adv_pct`` of ADV, plus children carried from earlier days);
without it, a day whose orders were already sliced is refused.

Exit codes: ``submit`` 0 only when every order of the batch is at the broker (sent now or found
already sent), 1 when anything was refused or is still unknown (rerunning is always safe), 1 for
a refused batch (approval, kill switch, closed market, live without ``--live``), 2 bad input,
3 day locked by another submit. ``cancel-all`` 0 when nothing is left open, else 1.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd


def _broker(ctx, day: str | None, quotes=None):
    from xlexec.execution.brokers import get_broker
    return get_broker(ctx.config, ctx.live_dir, quotes=quotes, day=day, now=ctx.now)


def _jsonable(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def _frame_json(df: pd.DataFrame) -> list[dict]:
    return [{k: _jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]


def _print_table(df: pd.DataFrame, title: str, columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.markup import escape
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, justify="right" if pd.api.types.is_numeric_dtype(df[c].dtype) else "left")
    for r in df[columns].itertuples(index=False):
        t.add_row(*[escape("" if (isinstance(v, float) and math.isnan(v)) else
                           (f"{v:g}" if isinstance(v, float) else str(v))) for v in r])
    import shutil
    # a terminal's own width; piped or captured output gets a wide table instead of wrapped cells
    Console(width=shutil.get_terminal_size((160, 24)).columns).print(t)


def run_submit(args, ctx) -> int:
    from xlexec.formats.inputs import read_quotes
    from xlexec.execution.engine import describe_mode, submit_batch
    from xlexec.formats.trades import read_trades
    trades = read_trades(args.trades)
    day = trades.date or ctx.today()
    from xlexec.execution.marketdata import refresh_quotes_file  # the latest quotes for the collar (Alpaca keys)
    refresh_quotes_file(ctx.config, list(trades.df["symbol"]), Path(args.trades).parent / "quotes.csv")
    quotes = None
    for cand in (Path(args.trades).parent / "quotes.csv", ctx.day_dir(day) / "quotes.csv"):
        if cand.exists():
            quotes = read_quotes(cand)
            break
    broker = _broker(ctx, day, quotes)
    try:
        mode = describe_mode(broker)
        print(f"xlexec submit: mode {mode['text']}", file=sys.stderr)
        if args.json:
            res = submit_batch(ctx, trades, broker=broker, quotes=quotes, live=args.live,
                               allow_closed=args.allow_closed, fit_buying_power=args.fit_buying_power,
                               slice=args.slice)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            from rich.console import Console
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("submitting", total=None)

                def progress(done: int, total: int, msg: str) -> None:
                    bar.update(task, completed=done, total=total, description=msg[:40])

                res = submit_batch(ctx, trades, broker=broker, quotes=quotes, live=args.live,
                                   allow_closed=args.allow_closed, fit_buying_power=args.fit_buying_power,
                                   slice=args.slice, progress=progress)
    finally:
        broker.close()
    if args.json:
        print(json.dumps(res.to_json(), default=str))
    else:
        _print_table(res.orders, f"{res.day} orders", ["symbol", "side", "qty", "limit_price", "status",
                                                       "filled_qty", "outcome", "note"])
        for m in res.messages:
            print(m)
        print(res.summary())
        print(f"execution log: {res.execution_log}")
    return res.exit_code


def run_status(args, ctx) -> int:
    from xlexec.execution.engine import describe_mode, refresh_status
    day = args.date or ctx.today()
    broker = _broker(ctx, day)
    actions = None
    try:
        if args.enforce_timeouts:
            from xlexec.execution.engine import enforce_timeouts
            actions = enforce_timeouts(ctx, day, broker, ctx.now())
        df = refresh_status(ctx, day, broker)
        mode = describe_mode(broker)
    finally:
        broker.close()
    if actions is not None and len(actions) and not args.json:
        for a in actions.itertuples(index=False):
            print(f"{a.symbol}: {a.action}: {a.note}")
    if args.json:
        print(json.dumps({"day": day, "mode": mode["mode"], "broker": mode["broker"], "orders": _frame_json(df),
                          "timeout_actions": [] if actions is None else _frame_json(actions)}, default=str))
    else:
        print(f"[{mode['text']}] {day}: {len(df)} order(s)")
        if len(df):
            _print_table(df, f"{day} status", ["symbol", "side", "qty", "limit_price", "status", "filled_qty",
                                               "filled_avg_price", "remaining", "note"])
    return 0


def run_cancel_all(args, ctx) -> int:
    from xlexec.execution.engine import cancel_all
    broker = _broker(ctx, ctx.today())
    try:
        res = cancel_all(ctx, broker, args.reason)
    finally:
        broker.close()
    if args.json:
        print(json.dumps({k: v for k, v in res.items()}, default=str))
    else:
        print(res["report"])
        print(f"kill switch: {res['kill_switch']} (delete it to trade again)")
        print(f"incident report: {res['report_path']}")
        if not res["ok"]:
            print(f"WARNING: {len(res['still_open'])} order(s) still open" +
                  (f"; {res['error']}" if res["error"] else ""), file=sys.stderr)
    return 0 if res["ok"] else 1


def run_kill_switch_report(args, ctx) -> int:
    from xlexec.execution.engine import kill_switch_report
    broker = _broker(ctx, ctx.today())
    try:
        text = kill_switch_report(ctx, broker)
    finally:
        broker.close()
    if args.json:
        print(json.dumps({"report": text}))
    else:
        print(text, end="")
    return 0


def run_pnl(args, ctx) -> int:
    from xlexec.execution.engine import day_pnl
    day = args.date or ctx.today()
    broker = _broker(ctx, day)
    try:
        res = day_pnl(ctx, broker, day)
    finally:
        broker.close()
    if args.json:
        print(json.dumps(res, default=str))
    else:
        df = pd.DataFrame(res["by_symbol"], columns=["symbol", "start_shares", "shares", "prev", "mark", "basis", "pnl"])
        if len(df):
            _print_table(df, f"P&L {day}", list(df.columns))
        print(f"P&L {day}: ${res['total_pnl']:,.2f}")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("submit", parents=[common], help="send the approved orders to the broker, exactly once")
    p.add_argument("trades", metavar="TRADES", help="live/YYYY-MM-DD/trades.csv")
    p.add_argument("--live", action="store_true", help="required to send to a LIVE account (paper: false)")
    p.add_argument("--allow-closed", action="store_true", help="send even if the market is closed (DAY orders queue)")
    p.add_argument("--fit-buying-power", action="store_true",
                   help="drop the lowest-conviction buys until the batch fits the buying power")
    p.add_argument("--slice", action="store_true",
                   help="send today's child orders of the ADV slicing plan (as `xlexec convert --slice`) "
                        "plus the children carried from earlier days")
    p.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")
    p.set_defaults(func=run_submit)

    p = sub.add_parser("status", parents=[common], help="every order of the day: status, fills, remaining")
    p.add_argument("--date", metavar="D", default=None, help="YYYY-MM-DD (default: today in New York)")
    p.add_argument("--enforce-timeouts", action="store_true",
                   help="first cancel orders open longer than execution.order_timeout_minutes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_status)

    p = sub.add_parser("cancel-all", parents=[common],
                       help="kill switch: cancel every open order, write live/KILL_SWITCH and an incident report")
    p.add_argument("--reason", metavar="R", default="kill switch (operator)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_cancel_all)

    p = sub.add_parser("kill-switch-report", parents=[common],
                       help="incident report: positions, P&L, open and journaled orders")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_kill_switch_report)

    p = sub.add_parser("pnl", parents=[common], help="the day's P&L from positions, fills and quotes")
    p.add_argument("--today", action="store_true", help="today's P&L (the default)")
    p.add_argument("--date", metavar="D", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_pnl)

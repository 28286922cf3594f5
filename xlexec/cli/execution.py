"""CLI shell of order submission: ``submit``, ``status``, ``cancel-all``, ``kill-switch-report``, ``pnl``.

``submit --slice`` sends the day's slicing plan (the one ``convert --slice`` writes: today's child
of each order above ``validation.max_adv_pct`` of ADV, plus children carried from earlier days);
without it, a day whose orders were already sliced is refused.

Exit codes: ``submit`` 0 only when every order of the batch is at the broker (sent now or found
already sent, not rejected), 1 when anything was refused by a limit, dropped by
``--fit-buying-power``, rejected by the broker or is still unknown (each listed under "NOT at
the broker", and in ``--json`` as ``not_at_broker``; rerunning is always safe), 1 for
a refused batch (approval, kill switch, closed market, live without ``--live``), 2 bad input,
3 day locked by another submit. ``cancel-all`` 0 when nothing is left open and the kill switch,
report and journal are recorded, else 1 (it cancels even when ``live/`` cannot be written, and
then says so on one line).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from typing import TYPE_CHECKING

from xlexec.cli.days import day_for
from xlexec.cli.lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    import pandas as pd

    from xlexec.core import money
    from xlexec.steps import execution as steps
else:
    pd = lazy("pandas")
    money = lazy("xlexec.core.money")
    steps = lazy("xlexec.steps.execution")


def _print_table(df: pd.DataFrame, title: str, columns: list[str], right: set[str] | frozenset = frozenset()) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, justify="right" if c in right or pd.api.types.is_numeric_dtype(df[c].dtype) else "left")
    for r in df[columns].itertuples(index=False):
        t.add_row(
            *[
                escape(
                    "" if (isinstance(v, float) and math.isnan(v)) else (f"{v:g}" if isinstance(v, float) else str(v))
                )
                for v in r
            ]
        )
    # a terminal's own width; piped or captured output gets a wide table instead of wrapped cells
    Console(width=shutil.get_terminal_size((160, 24)).columns).print(t)


def run_submit(args, ctx) -> int:
    def on_mode(mode: dict) -> None:
        print(f"xlexec submit: mode {mode['text']}", file=sys.stderr)

    options = dict(
        trades=args.trades,
        live=args.live,
        allow_closed=args.allow_closed,
        fit_buying_power=args.fit_buying_power,
        slice=args.slice,
        on_mode=on_mode,
    )
    if args.json:
        res = steps.submit(ctx, day_for(ctx), **options)
        print(json.dumps(res.to_json(), default=str))
        return res.exit_code
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("submitting", total=None)

        def progress(done: int, total: int, msg: str) -> None:
            bar.update(task, completed=done, total=total, description=msg[:40])

        res = steps.submit(ctx, day_for(ctx), progress=progress, **options)
    _print_table(
        res.orders,
        f"{res.day} orders",
        ["symbol", "side", "qty", "limit_price", "status", "filled_qty", "outcome", "note"],
    )
    for m in res.messages:
        print(m)
    missing = res.not_at_broker()
    if missing:
        print(f"NOT at the broker ({len(missing)} order(s), exit 1):")
        for line in missing:
            print(f"  {line}")
    print(res.summary())
    print(f"execution log: {res.execution_log}")
    return res.exit_code


def run_status(args, ctx) -> int:
    res = steps.status(ctx, day_for(ctx, date=args.date), enforce_timeouts=args.enforce_timeouts)
    if res.refusal:  # one line on stderr, as every refusal; exit 1
        print(f"xlexec status: error: {res.refusal}", file=sys.stderr)
    if args.json:
        print(json.dumps(res.to_json(), default=str))
        return res.exit_code
    actions = res.timeout_actions
    if actions is not None and len(actions):
        for a in actions.itertuples(index=False):
            print(f"{a.symbol}: {a.action}: {a.note}")
    df = res.orders
    print(f"[{res.mode['text']}] {res.day}: {len(df)} order(s)")
    if len(df):
        _print_table(
            df,
            f"{res.day} status",
            ["symbol", "side", "qty", "limit_price", "status", "filled_qty", "filled_avg_price", "remaining", "note"],
        )
    return res.exit_code


def run_cancel_all(args, ctx) -> int:
    res = steps.cancel_all(ctx, day_for(ctx), reason=args.reason)
    d = res.data
    if args.json:
        print(json.dumps(res.to_json(), default=str))
    else:
        print(d["report"])
        print(f"kill switch: {d['kill_switch']} (delete it to trade again)")
        print(f"incident report: {d['report_path']}")
        if d.get("already"):
            print("this cancel-all was already recorded: nothing open, nothing changed")
        if d["still_open"] or d["error"]:
            print(
                f"WARNING: {len(d['still_open'])} order(s) still open" + (f"; {d['error']}" if d["error"] else ""),
                file=sys.stderr,
            )
    if d.get("record_error"):
        print(
            f"xlexec cancel-all: NOT RECORDED: {len(d['cancelled'])} order(s) cancelled at the broker, "
            f"{len(d['still_open'])} still open, but {d['record_error']}; nothing else can stop "
            "submit: fix live/ now",
            file=sys.stderr,
        )
    return res.exit_code


def run_kill_switch_report(args, ctx) -> int:
    res = steps.kill_switch_report(ctx, day_for(ctx))
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        print(res.report, end="")
    return res.exit_code


def run_pnl(args, ctx) -> int:
    day = day_for(ctx, date=args.date)
    res = steps.pnl(ctx, day)
    if args.json:
        print(json.dumps(res.to_json(), default=str))
    else:
        df = res.by_symbol()
        if len(df):
            cols = list(df.columns)
            if "pnl" in df.columns:  # $: the one money format, right-aligned (unknown: n/a)
                df = df.assign(pnl=df["pnl"].map(money.usd))
            _print_table(df, f"P&L {day.date}", cols, right={"pnl"})
        print(f"P&L today {day.date}: {res.total_text()}")
    return res.exit_code


def register(sub, common) -> None:
    p = sub.add_parser("submit", parents=[common], help="send the approved orders to the broker, exactly once")
    p.add_argument("trades", metavar="TRADES", help="live/YYYY-MM-DD/trades.csv")
    p.add_argument("--live", action="store_true", help="required to send to a LIVE account (paper: false)")
    p.add_argument("--allow-closed", action="store_true", help="send even if the market is closed (DAY orders queue)")
    p.add_argument(
        "--fit-buying-power",
        action="store_true",
        help="drop the lowest-conviction buys until the batch fits the buying power",
    )
    p.add_argument(
        "--slice",
        action="store_true",
        help="send today's child orders of the ADV slicing plan (as `xlexec convert --slice`) "
        "plus the children carried from earlier days",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")
    p.set_defaults(func=run_submit)

    p = sub.add_parser("status", parents=[common], help="every order of the day: status, fills, remaining")
    p.add_argument("--date", metavar="D", default=None, help="YYYY-MM-DD (default: today in New York)")
    p.add_argument(
        "--enforce-timeouts",
        action="store_true",
        help="first cancel orders open longer than execution.order_timeout_minutes",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_status)

    p = sub.add_parser(
        "cancel-all",
        parents=[common],
        help="kill switch: cancel every open order, write live/KILL_SWITCH and an incident report",
    )
    p.add_argument("--reason", metavar="R", default="kill switch (operator)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_cancel_all)

    p = sub.add_parser(
        "kill-switch-report", parents=[common], help="incident report: positions, P&L, open and journaled orders"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_kill_switch_report)

    p = sub.add_parser("pnl", parents=[common], help="the day's P&L from positions, fills and quotes")
    p.add_argument("--today", action="store_true", help="today's P&L (the default)")
    p.add_argument("--date", metavar="D", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_pnl)

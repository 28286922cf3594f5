"""``xlexec validate`` and ``xlexec approve`` (the Validate / Approve / Reject buttons' twins).

``validate TRADES`` prints the checks and the decision (exit 0 APPROVE or CONDITIONAL,
1 REJECT, 2 unusable input) and writes ``<trades dir>/validation.json`` atomically.
``approve TRADES --by NAME --decision ... --reason ...`` recomputes the validation for the
recommendation, builds the orders that would be sent and records the decision bound to their
hash in the journal and ``live/trade_approvals.csv``.

Default inputs, each used only when the file exists: positions ``live/current_positions.csv``,
quotes ``<trades dir>/quotes.csv``, events ``live/D/events.csv`` else ``live/events.csv``, reference
``live/reference.csv``; the kill switch is ``live/KILL_SWITCH``; the restricted list is always
submit's ``live/restricted.csv``. A path given explicitly must exist.

Quotes, in order of precedence: ``--quotes Q``; the broker's latest quotes when configured
(Alpaca with keys, Schwab with keys and a token file, IBKR: :mod:`xlexec.execution.marketdata`;
saved as ``<trades dir>/quotes.csv``, the day's snapshot); else ``<trades dir>/quotes.csv`` as
it is, which the workbook's Validate/Approve/Reject/Submit buttons first write from the Quotes
tab when the operator typed or pasted quotes there. ``validation.json`` records the sha256 of
the quotes file used (``summary.inputs.quotes_sha256``), so the workbook and the auditor can
tell whether the checks saw the quotes on disk now.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from xlexec.cli.days import day_for
from xlexec.cli.lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.core import money
    from xlexec.core.checks import ValidationResult
    from xlexec.steps import validate as steps
else:
    money = lazy("xlexec.core.money")
    steps = lazy("xlexec.steps.validate")


def register(sub, common) -> None:
    p = sub.add_parser(
        "validate",
        parents=[common],
        help="run the pre-trade checks and print the decision",
        description="Run the guide's pre-trade checks on TRADES. Exit 0 for APPROVE or "
        "CONDITIONAL, 1 for REJECT, 2 for unusable input.",
    )
    p.add_argument("trades", metavar="TRADES", help="trades.csv (live/YYYY-MM-DD/trades.csv)")
    _input_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.set_defaults(func=run_validate)

    a = sub.add_parser(
        "approve",
        parents=[common],
        help="record an approval decision bound to the exact orders",
        description="Record APPROVED, CONDITIONAL or REJECTED for the orders TRADES "
        "would send (bound to their sha256).",
    )
    a.add_argument("trades", metavar="TRADES", help="trades.csv (live/YYYY-MM-DD/trades.csv)")
    a.add_argument("--by", required=True, metavar="NAME", help="the approver's name")
    a.add_argument(
        "--decision",
        required=True,
        type=str.upper,
        choices=["APPROVED", "CONDITIONAL", "REJECTED"],
        help="APPROVED|CONDITIONAL|REJECTED",
    )
    a.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded)")
    a.add_argument(
        "--override",
        action="store_true",
        help="approve although validation recommends REJECT (recorded as an override)",
    )
    _input_args(a)
    a.add_argument("--json", action="store_true", help="print the recorded row as JSON")
    a.set_defaults(func=run_approve)


def _input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--positions", metavar="P", help="positions (default live/current_positions.csv)")
    p.add_argument("--quotes", metavar="Q", help="quotes (default <trades dir>/quotes.csv)")
    p.add_argument(
        "--events",
        metavar="E",
        help="splits, corporate, halt and macro events (default live/DATE/events.csv, else live/events.csv)",
    )
    p.add_argument("--reference", metavar="R", help="sectors and ADV (default live/reference.csv)")


def _inputs(args) -> dict:
    return {
        "trades": args.trades,
        "positions": args.positions,
        "quotes": args.quotes,
        "events": args.events,
        "reference": args.reference,
    }


def run_validate(args, ctx) -> int:
    res = steps.validate(ctx, day_for(ctx, trades=args.trades, folder=True), **_inputs(args))
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        print(report(res.result, args.trades))
    return res.exit_code


def report(result: ValidationResult, name: str = "trades") -> str:
    """The human report: a one-line summary, the checks (fails first) and the decision."""
    s = result.summary
    pv = s.get("portfolio_value")
    lines = [
        f"Validation of {name} ({s.get('date')}): {s.get('n_trades')} trade(s)"
        + (f", {s.get('n_excluded')} excluded" if s.get("n_excluded") else "")
        + f", notional {money.usd(s.get('notional', 0))}, est. costs {money.usd(s.get('est_costs', 0))}",
        "Portfolio value: "
        + (f"{money.usd(pv)} ({s.get('portfolio_value_source')})" if pv else "unknown")
        + (f", turnover {s['turnover'] * 100:.2f}%" if s.get("turnover") is not None else ""),
        "",
    ]
    rank = {"fail": 0, "warn": 1, "pass": 2}
    c = result.checks.assign(_r=result.checks["status"].map(rank)).sort_values("_r", kind="stable")
    w_check = max([len("CHECK")] + [len(x) for x in c["check"]])
    w_sym = max([len("SYMBOL")] + [len(x) for x in c["symbol"]])
    lines.append(f"{'STATUS':6}  {'CHECK':{w_check}}  {'SYMBOL':{w_sym}}  MESSAGE")
    for st, ck, sym, msg in zip(c["status"], c["check"], c["symbol"], c["message"], strict=True):
        lines.append(f"{st.upper():6}  {ck:{w_check}}  {sym:{w_sym}}  {msg}")
    lines.append("")
    lines.append(
        f"Decision: {result.decision} ({s.get('fail', 0)} fail, {s.get('warn', 0)} warn, {s.get('pass', 0)} pass)"
    )
    return "\n".join(lines)


def run_approve(args, ctx) -> int:
    res = steps.approve(
        ctx,
        day_for(ctx),
        by=args.by,
        decision=args.decision,
        reason=args.reason,
        override=args.override,
        **_inputs(args),
    )
    row = res.row
    if args.json:
        print(json.dumps(row))
    else:
        extra = " (OVERRIDE of a REJECT recommendation)" if row["override"] else ""
        already = ""
        if row.get("already"):
            already = f"already recorded at {row['timestamp_utc']} (#{row['seq']}; nothing changed): "
        print(
            f"{already}{row['decision']} {row['date']} by {row['approver']}: {row['n_orders']} order(s), "
            f"recommended {row['recommended']}{extra}"
        )
        print(f"orders_sha256 {row['orders_sha256']}")
    return res.exit_code

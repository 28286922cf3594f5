"""``xlexec validate`` and ``xlexec approve`` (the Validate / Approve / Reject buttons' twins).

``validate TRADES`` prints the checks and the decision (exit 0 APPROVE or CONDITIONAL,
1 REJECT, 2 unusable input) and writes ``<trades dir>/validation.json`` atomically.
``approve TRADES --by NAME --decision ... --reason ...`` recomputes the validation for the
recommendation, builds the orders that would be sent and records the decision bound to their
hash in the journal and ``live/trade_approvals.csv``.

Default inputs, each used only when the file exists: positions ``live/current_positions.csv``,
quotes ``<trades dir>/quotes.csv``, events ``live/events.csv``, reference
``live/reference.csv``; the kill switch is ``live/KILL_SWITCH``. A path given explicitly must
exist.

Quotes, in order of precedence: ``--quotes Q``; Alpaca market data when keys are configured
(saved as ``<trades dir>/quotes.csv``, the day's snapshot); else ``<trades dir>/quotes.csv`` as
it is, which the workbook's Validate/Approve/Reject/Submit buttons first write from the Quotes
tab when the operator typed or pasted quotes there. ``validation.json`` records the sha256 of
the quotes file used (``summary.inputs.quotes_sha256``), so the workbook and the auditor can
tell whether the checks saw the quotes on disk now.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from xlexec.store.approvals import record_approval
from xlexec.formats.csvio import atomic_write_text
from xlexec.formats.inputs import read_events, read_positions, read_quotes, read_reference
from xlexec.core.orders import orders_from_trades, orders_sha256
from xlexec.core.trades import Trades
from xlexec.formats.trades import read_trades
from xlexec.config import validation_thresholds
from xlexec.core.checks import ValidationResult, validate

VALIDATION_JSON = "validation.json"


def register(sub, common) -> None:
    p = sub.add_parser("validate", parents=[common], help="run the pre-trade checks and print the decision",
                       description="Run the guide's pre-trade checks on TRADES. Exit 0 for APPROVE or "
                                   "CONDITIONAL, 1 for REJECT, 2 for unusable input.")
    p.add_argument("trades", metavar="TRADES", help="trades.csv (live/YYYY-MM-DD/trades.csv)")
    _input_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.set_defaults(func=run_validate)

    a = sub.add_parser("approve", parents=[common], help="record an approval decision bound to the exact orders",
                       description="Record APPROVED, CONDITIONAL or REJECTED for the orders TRADES "
                                   "would send (bound to their sha256).")
    a.add_argument("trades", metavar="TRADES", help="trades.csv (live/YYYY-MM-DD/trades.csv)")
    a.add_argument("--by", required=True, metavar="NAME", help="the approver's name")
    a.add_argument("--decision", required=True, type=str.upper,
                   choices=["APPROVED", "CONDITIONAL", "REJECTED"], help="APPROVED|CONDITIONAL|REJECTED")
    a.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded)")
    a.add_argument("--override", action="store_true",
                   help="approve although validation recommends REJECT (recorded as an override)")
    _input_args(a)
    a.add_argument("--json", action="store_true", help="print the recorded row as JSON")
    a.set_defaults(func=run_approve)


def _input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--positions", metavar="P", help="positions (default live/current_positions.csv)")
    p.add_argument("--quotes", metavar="Q", help="quotes (default <trades dir>/quotes.csv)")
    p.add_argument("--events", metavar="E", help="corporate events (default live/events.csv)")
    p.add_argument("--reference", metavar="R", help="sectors and ADV (default live/reference.csv)")


def _pick(explicit: str | None, default: Path) -> Path | None:
    if explicit:
        return Path(explicit)  # must exist: the reader says so if not
    return default if default.exists() else None


def load_and_validate(args, ctx) -> tuple[Trades, ValidationResult]:
    """Read TRADES and the inputs named by ``args`` (or the defaults) and validate."""
    trades_path = Path(args.trades)
    trades = read_trades(trades_path, strict=False)
    live = ctx.live_dir
    pos = _pick(args.positions, live / "current_positions.csv")
    if not args.quotes:  # Alpaca market data when keys are configured, saved as the day's snapshot
        from xlexec.execution.marketdata import refresh_quotes_file
        refresh_quotes_file(ctx.config, list(trades.df["symbol"]), trades_path.parent / "quotes.csv")
    qts = _pick(args.quotes, trades_path.parent / "quotes.csv")
    evs = _pick(args.events, live / "events.csv")
    ref = _pick(args.reference, live / "reference.csv")
    result = validate(
        trades,
        positions=read_positions(pos) if pos else None,
        quotes=read_quotes(qts) if qts else None,
        events=read_events(evs, missing_ok=False) if evs else None,
        reference=read_reference(ref, missing_ok=False) if ref else None,
        thresholds=validation_thresholds(ctx.config), now=ctx.now(), kill_switch_file=(live / "KILL_SWITCH").exists(),
    )
    result.summary["inputs"] = {"trades": str(trades_path), "positions": str(pos) if pos else None,
                                "quotes": str(qts) if qts else None, "events": str(evs) if evs else None,
                                "reference": str(ref) if ref else None,
                                "quotes_sha256": _sha256(qts) if qts else None}
    return trades, result


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def run_validate(args, ctx) -> int:
    trades, result = load_and_validate(args, ctx)
    orders = orders_from_trades(trades, default_order_type=ctx.config.execution.default_order_type)
    doc = result.to_json()
    doc["orders_sha256"] = orders_sha256(orders)
    doc["n_orders"] = int(len(orders))
    out = Path(args.trades).parent / VALIDATION_JSON
    atomic_write_text(out, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    if args.json:
        print(json.dumps(doc))
    else:
        print(report(result, args.trades))
    return 1 if result.decision == "REJECT" else 0


def report(result: ValidationResult, name: str = "trades") -> str:
    """The human report: a one-line summary, the checks (fails first) and the decision."""
    s = result.summary
    pv = s.get("portfolio_value")
    lines = [
        f"Validation of {name} ({s.get('date')}): {s.get('n_trades')} trade(s)"
        + (f", {s.get('n_excluded')} excluded" if s.get("n_excluded") else "")
        + f", notional ${s.get('notional', 0):,.2f}, est. costs ${s.get('est_costs', 0):,.2f}",
        f"Portfolio value: " + (f"${pv:,.2f} ({s.get('portfolio_value_source')})" if pv else "unknown")
        + (f", turnover {s['turnover'] * 100:.2f}%" if s.get("turnover") is not None else ""),
        "",
    ]
    rank = {"fail": 0, "warn": 1, "pass": 2}
    c = result.checks.assign(_r=result.checks["status"].map(rank)).sort_values("_r", kind="stable")
    w_check = max([len("CHECK")] + [len(x) for x in c["check"]])
    w_sym = max([len("SYMBOL")] + [len(x) for x in c["symbol"]])
    lines.append(f"{'STATUS':6}  {'CHECK':{w_check}}  {'SYMBOL':{w_sym}}  MESSAGE")
    for st, ck, sym, msg in zip(c["status"], c["check"], c["symbol"], c["message"]):
        lines.append(f"{st.upper():6}  {ck:{w_check}}  {sym:{w_sym}}  {msg}")
    lines.append("")
    lines.append(f"Decision: {result.decision} ({s.get('fail', 0)} fail, {s.get('warn', 0)} warn, "
                 f"{s.get('pass', 0)} pass)")
    return "\n".join(lines)


def run_approve(args, ctx) -> int:
    trades, result = load_and_validate(args, ctx)
    date = trades.date or ctx.today()
    orders = orders_from_trades(trades, default_order_type=ctx.config.execution.default_order_type,
                                date=date)
    row = record_approval(ctx.live_dir, date=date, orders=orders, decision=args.decision,
                          reason=args.reason, approver=args.by, recommended=result.decision,
                          override=args.override, now=ctx.now())
    if args.json:
        print(json.dumps(row))
    else:
        extra = " (OVERRIDE of a REJECT recommendation)" if row["override"] else ""
        print(f"{row['decision']} {row['date']} by {row['approver']}: {row['n_orders']} order(s), "
              f"recommended {row['recommended']}{extra}")
        print(f"orders_sha256 {row['orders_sha256']}")
    return 0

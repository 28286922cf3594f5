"""``xlexec tca DAYDIR`` (daily TCA) and ``xlexec monthly --month YYYY-MM`` (monthly costs):
parse, run the step (:mod:`xlexec.steps.tca`), print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from xlexec.cli.days import day_for
from xlexec.cli.lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.steps import tca as steps
else:
    steps = lazy("xlexec.steps.tca")


def register(sub, common) -> None:
    p = sub.add_parser(
        "tca", parents=[common], help="transaction cost analysis of a day folder (writes tca.json, tca_report.txt)"
    )
    p.add_argument("daydir", metavar="DAYDIR", help="the day folder live/YYYY-MM-DD (or just the date)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.add_argument("--fills", metavar="F", default=None, help="fills file (default: DAYDIR/broker_fills.csv)")
    p.add_argument("--format", metavar="NAME", default=None, help="fills layout (default: detected)")
    p.set_defaults(func=run_tca)

    m = sub.add_parser("monthly", parents=[common], help="monthly cost summary; adds/updates live/monthly_costs.csv")
    m.add_argument("--month", metavar="YYYY-MM", default=None, help="the month (default: this month)")
    m.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    m.set_defaults(func=run_monthly)


def run_tca(args, ctx) -> int:
    d = Path(args.daydir)
    from xlexec.store.day import is_day_name

    if not d.is_dir() and is_day_name(args.daydir):
        d = ctx.day_dir(args.daydir)
    res = steps.tca(ctx, None, folder=d, fills=args.fills, format=args.format)
    if args.json:
        print(json.dumps(res.to_json(), allow_nan=False))
    else:
        print(res.report, end="")
    return res.exit_code


def run_monthly(args, ctx) -> int:
    res = steps.monthly(ctx, day_for(ctx), month=args.month)
    if args.json:
        print(json.dumps(res.to_json(), allow_nan=False))
    else:
        print(res.report_text(), end="")
    return res.exit_code

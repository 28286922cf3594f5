"""``xlexec convert``: approved orders -> a broker's upload file (the Convert button's twin).

    xlexec convert --list
    xlexec convert live/2025-10-30/trades.csv --broker ibkr [--output OUT] [--draft] [--slice]

* Refuses (exit 1) unless the day's exact orders are approved (``xlexec approve``), unless
  ``--draft`` (then the file name says DRAFT and nothing is recorded) or
  ``execution.require_human_approval`` is false.
* Default output: next to trades.csv, ``trades_<broker>.csv`` / ``orders_alpaca.json``
  (``..._DRAFT`` for drafts). Written atomically.
* ``--slice``: orders above ``validation.max_adv_pct`` of ADV (``live/reference.csv``:
  ``symbol,sector,adv_shares``) are cut to today's child; the schedule is recorded in the journal
  (kind SLICE) and printed. Children still due from earlier days are always added (as extra
  orders with their parent's approved limit), with or without ``--slice``. The plan is the one
  ``xlexec submit --slice`` sends (:func:`xlexec.execution.slicing.day_plan`): once a day's schedule is
  recorded it is reused as is; orders already sent whole through the API are not sliced.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from xlexec.cli.days import day_for
from xlexec.cli.lazy import lazy
from xlexec.errors import InputError
from xlexec.formats.upload import FORMATS, broker_format

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.steps import convert as steps
else:
    steps = lazy("xlexec.steps.convert")

NAME = "convert"


def register(sub, common) -> None:
    p = sub.add_parser(
        NAME,
        parents=[common],
        help="write approved orders in a broker's upload format",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("trades", nargs="?", metavar="TRADES", help="live/YYYY-MM-DD/trades.csv")
    p.add_argument("--broker", metavar="NAME", help=f"one of: {', '.join(FORMATS)}")
    p.add_argument("--output", "-o", metavar="OUT", help="output file (default: next to TRADES)")
    p.add_argument(
        "--draft",
        action="store_true",
        help="write a review copy of unapproved orders (file name says DRAFT; nothing recorded)",
    )
    p.add_argument(
        "--slice", action="store_true", help="split orders above validation.max_adv_pct of ADV into daily children"
    )
    p.add_argument("--list", action="store_true", help="list the broker formats and exit")
    p.add_argument("--basket-tag", metavar="TAG", help="batch tag (default XLX<date><sha8>)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    if args.list:
        if args.json:
            print(json.dumps({"formats": FORMATS}))
        else:
            width = max(len(n) for n in FORMATS)
            for n, d in FORMATS.items():
                print(f"{n:<{width}}  {d}")
        return 0
    if not args.trades:
        raise InputError("TRADES", "missing: give the trades file (live/YYYY-MM-DD/trades.csv), or --list")
    if not args.broker:
        raise InputError("--broker", f"missing: give --broker NAME ({', '.join(FORMATS)})")
    broker_format(args.broker)  # unknown names fail before anything is read
    res = steps.convert(
        ctx,
        day_for(ctx, trades=args.trades, folder=True),
        broker=args.broker,
        trades=args.trades,
        output=args.output,
        draft=args.draft,
        slice=args.slice,
        basket_tag=args.basket_tag,
    )
    if args.json:
        print(json.dumps(res.to_json()))
        return res.exit_code
    what = "DRAFT (not approved) " if res.draft else ""
    print(
        f"wrote {what}{res.orders} order(s) for {res.day} to {res.output} ({res.broker}, basket tag {res.basket_tag})"
    )
    if res.schedule:
        print("slicing schedule" + (" (draft: not recorded)" if res.draft else "") + ":")
        for line in res.schedule:
            print(f"  {line}")
    if res.no_adv:
        print(f"note: no ADV in reference.csv for {', '.join(res.no_adv)}: not checked for slicing")
    return res.exit_code

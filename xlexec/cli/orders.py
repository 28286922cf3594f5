"""``xlexec orders resolve DAY CLIENT_ORDER_ID (--order-id ID | --not-sent) --by NAME --reason TEXT [--json]``.

The operator's resolution of an ambiguous match (a broker without client order ids, Schwab,
where several of the account's orders fit one intent): ``--order-id`` that broker order is ours
(submit and status follow it, never resent); ``--not-sent`` none of the candidates is (the next
submit sends it once). Logic in :mod:`xlexec.steps.orders`; exit 0 recorded (or already), 1 refused.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from xlexec.cli.lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.steps import orders as steps
else:
    steps = lazy("xlexec.steps.orders")


def register(sub, common) -> None:
    p = sub.add_parser("orders", parents=[common], help="orders of a day: resolve an ambiguous match")
    osub = p.add_subparsers(dest="orders_action", metavar="ACTION")
    r = osub.add_parser(
        "resolve",
        parents=[common],
        help="record which broker order an ambiguous match is (--order-id) or that none is (--not-sent)",
    )
    r.add_argument("day", metavar="DAY", help="the day of the order (YYYY-MM-DD)")
    r.add_argument("client_order_id", metavar="CLIENT_ORDER_ID", help="the order's client order id (xlx-...)")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--order-id", metavar="ID", help="this broker order is ours: adopt it, never resend")
    what.add_argument("--not-sent", action="store_true", help="none of the candidates is ours: send it once")
    r.add_argument("--by", required=True, metavar="NAME", help="the operator's name (recorded)")
    r.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=run_resolve)
    p.set_defaults(func=lambda args, ctx: (p.print_help(), 0)[1])


def run_resolve(args, ctx) -> int:
    from xlexec.store.day import check_date

    check_date(args.day, "DAY")
    res = steps.resolve(
        ctx, args.day, args.client_order_id, by=args.by, reason=args.reason, order_id=args.order_id,
        not_sent=args.not_sent,
    )  # fmt: skip
    print(json.dumps(res.to_json()) if args.json else res.line())
    return res.exit_code

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
  ``xlexec submit --slice`` sends (:func:`xlexec.store.slicing.plan_day`): once a day's schedule is
  recorded it is reused as is; orders already sent whole through the API are not sliced.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from xlexec.formats.upload import FORMATS, broker_format, convert_orders, default_basket_tag, draft_path, output_name
from xlexec.formats.csvio import atomic_write_text
from xlexec.errors import InputError, RefusedError

NAME = "convert"
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def register(sub, common) -> None:
    p = sub.add_parser(NAME, parents=[common], help="write approved orders in a broker's upload format",
                       description=__doc__.splitlines()[0])
    p.add_argument("trades", nargs="?", metavar="TRADES", help="live/YYYY-MM-DD/trades.csv")
    p.add_argument("--broker", metavar="NAME", help=f"one of: {', '.join(FORMATS)}")
    p.add_argument("--output", "-o", metavar="OUT", help="output file (default: next to TRADES)")
    p.add_argument("--draft", action="store_true",
                   help="write a review copy of unapproved orders (file name says DRAFT; nothing recorded)")
    p.add_argument("--slice", action="store_true",
                   help="split orders above validation.max_adv_pct of ADV into daily children")
    p.add_argument("--list", action="store_true", help="list the broker formats and exit")
    p.add_argument("--basket-tag", metavar="TAG", help="batch tag (default XLX<date><sha8>)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def _day_of(trades, path: Path, ctx) -> str:
    if trades.date:
        return trades.date
    if _DAY_RE.match(path.parent.name):
        return path.parent.name
    return ctx.today()


def _check_approval(ctx, day: str, sha: str) -> dict | None:
    try:
        from xlexec.store.approvals import find_approval
    except ImportError as e:  # the approvals module ships with `xlexec approve`
        raise RefusedError(f"cannot check approvals ({e}); use --draft for a review copy") from None
    appr = find_approval(ctx.live_dir, day, sha)
    if not appr or str(appr.get("decision", "APPROVED")).upper() not in ("APPROVED", "CONDITIONAL"):
        raise RefusedError(f"the orders for {day} (sha256 {sha[:12]}) are not approved: run "
                           "`xlexec approve` first, or use --draft for a review copy")
    return appr


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
    from xlexec.store.journal import SLICE
    from xlexec.core.orders import orders_from_trades, orders_sha256
    from xlexec.formats.trades import read_trades

    cfg = ctx.config
    path = Path(args.trades)
    trades = read_trades(path)
    day = _day_of(trades, path, ctx)
    otype = cfg.execution.default_order_type
    orders = orders_from_trades(trades, default_order_type=otype,
                                date=day)
    sha = orders_sha256(orders)

    approval = None
    if not args.draft and cfg.execution.require_human_approval:
        approval = _check_approval(ctx, day, sha)

    journal_path = Path(ctx.live_dir) / "journal.sqlite"
    prior: list[dict] = []
    sent_whole: set[str] = set()
    if journal_path.exists():
        from xlexec.execution.engine import sent_whole as _sent_whole
        jr = ctx.journal()
        prior = jr.payloads(SLICE)
        if args.slice:   # orders already sent whole through the API are not sliced afterwards
            sent_whole = _sent_whole(jr, day, orders["client_order_id"].astype(str))
    schedule_lines: list[str] = []
    records: list = []
    no_adv: list[str] = []
    out_orders = orders
    from xlexec.core.slicing import recorded_parents, schedule_lines as _lines
    from xlexec.store.slicing import plan_day
    already = recorded_parents(prior, day, sha)
    if already and not args.slice:
        raise RefusedError(f"today's orders were already sliced ({len(already)} parent order(s) recorded "
                           f"for {day}); rerun with --slice so the file matches the recorded schedule")
    if args.slice or prior:
        # the same plan `xlexec submit --slice` sends (xlexec.store.slicing.plan_day)
        plan = plan_day(orders, day=day, batch_sha256=sha, prior=prior, max_adv_pct=cfg.validation.max_adv_pct,
                        live_dir=ctx.live_dir, slice_new=args.slice, sent_whole=sent_whole)
        out_orders, records, no_adv = plan.orders, plan.records, plan.no_adv
        schedule_lines = _lines(plan.schedule)

    tag = args.basket_tag or default_basket_tag(day, sha)
    text = convert_orders(out_orders, args.broker, basket_tag=tag, name=str(path))
    if args.output:
        out = Path(args.output)
        if args.draft:
            out = draft_path(out)
    else:
        out = path.parent / output_name(day, args.broker, args.draft)
    atomic_write_text(out, text)

    recorded = 0
    if records and not args.draft:
        recorded = ctx.journal().append_many(SLICE, records, day=day, actor=ctx.user)

    n = len(out_orders)
    if args.json:
        print(json.dumps({"ok": True, "output": str(out), "broker": args.broker, "day": day, "orders": n,
                          "draft": bool(args.draft), "basket_tag": tag, "orders_sha256": sha,
                          "approved_by": (approval or {}).get("approver"),
                          "decision": (approval or {}).get("decision"),
                          "schedule": schedule_lines, "slice_records_added": recorded,
                          "no_adv": no_adv}))
        return 0
    what = "DRAFT (not approved) " if args.draft else ""
    print(f"wrote {what}{n} order(s) for {day} to {out} ({args.broker}, basket tag {tag})")
    if schedule_lines:
        print("slicing schedule" + (" (draft: not recorded)" if args.draft else "") + ":")
        for line in schedule_lines:
            print(f"  {line}")
    if no_adv:
        print(f"note: no ADV in reference.csv for {', '.join(no_adv)}: not checked for slicing")
    return 0

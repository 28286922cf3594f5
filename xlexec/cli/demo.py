"""``xlexec demo``: a full paper trading day, no keys needed."""

from __future__ import annotations


def register(sub, common) -> None:
    p = sub.add_parser("demo", parents=[common], help="run a full trading day on the built-in paper broker")
    p.add_argument("--dir", default="demo", help="folder for the day's files and workbook (default: demo)")
    p.add_argument("--date", default="2025-10-30", help="the trading day to simulate (default: 2025-10-30)")
    p.add_argument(
        "--days", type=int, default=1, help="run this many consecutive NYSE sessions ending on --date (default: 1)"
    )
    p.add_argument("--no-workbook", action="store_true", help="skip the workbook")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from xlexec.demo.run import run_demo, summary

    res = run_demo(args.dir, args.date, days=args.days, build_workbook=not args.no_workbook)
    print(summary(res))
    return 0

"""``xlexec workbook build`` and ``xlexec button NAME --book FILE`` (the headless workbook).

``xlexec button NAME --book FILE`` runs the workbook button ``NAME`` (``validate``,
``approve``, ...; ``-`` or ``_`` alike) on a workbook file exactly as Excel's button would, then
re-renders the file (atomically; a failed step leaves it untouched). ``--live`` stands for the
confirmation dialog Excel shows before sending to a LIVE account. Exit codes: 0 ok, 1 refused,
2 bad input, 3 day locked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xlexec.errors import InputError

DEFAULT_OUTPUT = Path("workbook") / "xlexec.xlsm"
DEFAULT_OUTPUT_NO_MACROS = Path("workbook") / "xlexec.xlsx"  # for use with the add-in (xlexec.xlam)


def _button_names() -> list[str]:
    from xlexec.excel.layout import BUTTONS

    return [fn for _c, fn, _s in BUTTONS]


def run_build(args, ctx) -> int:
    from xlexec.excel.build import build_workbook

    out = Path(args.output or (DEFAULT_OUTPUT_NO_MACROS if args.no_macros else DEFAULT_OUTPUT))
    if out.suffix.lower() not in (".xlsm", ".xlsx"):
        raise InputError(str(out), "the workbook must end in .xlsm (with VBA and buttons) or .xlsx")
    if args.no_macros and out.suffix.lower() != ".xlsx":
        raise InputError(str(out), "--no-macros writes a plain .xlsx (the buttons are on the add-in's ribbon)")
    day = args.day
    path = build_workbook(out, ctx if day else None, day, config=_config_file(ctx))
    from xlexec.excel.bookconfig import read_ref_file

    ref = read_ref_file(path)
    if args.json:
        print(json.dumps({"workbook": str(path), "day": day, "config": ref}))
    else:
        print(f"workbook written: {path} (its buttons use {ref}, relative to its folder)")
    return 0


def _config_file(ctx) -> str | None:
    """The config file ``ctx`` was loaded from (``--config``, else ./config.yaml), else None."""
    source = getattr(getattr(ctx, "config", None), "source", None)
    return source if source and not source.startswith("<") else None


def run_button_cmd(args, ctx) -> int:
    from xlexec.excel.buttons import run_button

    name = args.name.replace("-", "_").lower()
    if name not in _button_names():
        raise InputError(
            "button",
            f"unknown button {args.name!r}; one of: " + ", ".join(n.replace("_", "-") for n in _button_names()),
        )
    book = Path(args.book)
    if not book.exists():
        if name == "load_trades":
            from xlexec.excel.build import build_workbook

            build_workbook(book, config=_config_file(ctx))
        else:
            raise InputError(
                str(book),
                "workbook not found (create it with `xlexec workbook build --output ...` "
                "or `xlexec button load-trades --book ...`)",
            )
    sets = {}
    for item in args.set or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise InputError("--set", f"expected KEY=VALUE, got {item[:40]!r}")
        sets[k.strip().lower()] = v
    # --config given: that config; else the one the book records, next to the book wherever
    # it is now (never ./config.yaml of the folder the command runs in)
    res = run_button(
        name,
        book,
        ctx=ctx if getattr(args, "config", None) else None,
        day=args.day,
        live=args.live,
        set_inputs=sets,
        echo=None if args.json else (lambda t: print(t, file=sys.stderr)),
    )
    if args.json:
        print(json.dumps(res.to_json(), default=str))
    elif res.ok:
        print(f"{name}: {res.message}")
    else:
        print(f"xlexec button {args.name}: {res.result}: {res.message}", file=sys.stderr)
    return res.exit_code if not res.ok else 0


def _button_parser(p) -> None:
    p.add_argument("name", metavar="NAME", help="one of: " + ", ".join(n.replace("_", "-") for n in _button_names()))
    p.add_argument("--book", required=True, metavar="FILE", help="the workbook file (.xlsm or .xlsx)")
    p.add_argument("--day", metavar="YYYY-MM-DD", default=None, help="trade date (default: Control's, else today)")
    p.add_argument("--live", action="store_true", help="confirm sending to a LIVE account (Submit)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="type a Control input first (approver, reason, decision, override, convert_to, "
        "trade_date); repeatable; kept in the workbook",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_button_cmd)


def register(sub, common) -> None:
    p = sub.add_parser("workbook", parents=[common], help="the operator workbook: build it, or press a button")
    wsub = p.add_subparsers(dest="workbook_action", metavar="ACTION")
    b = wsub.add_parser("build", parents=[common], help="build workbook/xlexec.xlsm (VBA from macros/*.bas)")
    b.add_argument("--output", "-o", metavar="P", default=None, help=f"output file (default {DEFAULT_OUTPUT})")
    b.add_argument("--day", metavar="YYYY-MM-DD", default=None, help="fill the tabs from this day's files")
    b.add_argument(
        "--no-macros",
        action="store_true",
        help=f"a plain .xlsx without VBA (default {DEFAULT_OUTPUT_NO_MACROS}), pressed from the "
        "xlexec ribbon of the add-in (`xlexec addin install`)",
    )
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=run_build)
    _button_parser(wsub.add_parser("button", parents=[common], help="run a button on a workbook file"))
    p.set_defaults(func=lambda args, ctx: (p.print_help(), 0)[1])
    _button_parser(sub.add_parser("button", parents=[common], help="run a workbook button headless on FILE"))

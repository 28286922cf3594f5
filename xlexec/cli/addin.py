"""``xlexec addin build`` and ``xlexec addin install``: the Excel add-in (ribbon tab + UDFs).

``build`` writes ``workbook/xlexec.xlam`` (or ``--output``). ``install`` writes it straight into
the folder Excel opens at start-up for this user (XLSTART on Windows, the Startup/Excel folder
of Office's group container on macOS); on any other system there is no Excel: it prints where
the add-in would go and exits 1. Exit codes: 0 ok, 1 no Excel here, 2 bad input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from xlexec.errors import RefusedError

DEFAULT_OUTPUT = Path("workbook") / "xlexec.xlam"
ADDIN_NAME = "xlexec.xlam"


def run_build(args, ctx) -> int:
    from xlexec.excel.addin import build_addin

    path = build_addin(Path(args.output or DEFAULT_OUTPUT), interpreter=args.interpreter)
    if args.json:
        print(json.dumps({"addin": str(path)}))
    else:
        print(f"add-in written: {path}")
    return 0


def run_install(args, ctx) -> int:
    from xlexec.excel.addin import build_addin, startup_folder

    where = startup_folder(sys.platform, dict(os.environ), Path.home())
    if where is None:
        mac = startup_folder("darwin", {}, Path("~"))
        raise RefusedError(
            f"no Excel on this system ({sys.platform}): the add-in would go to "
            f"%APPDATA%\\Microsoft\\Excel\\XLSTART\\{ADDIN_NAME} on Windows or {mac}/{ADDIN_NAME} on macOS; "
            "build it with `xlexec addin build --output FILE` and copy it there"
        )
    folder = Path(where)  # this system's own flavour of the path
    path = build_addin(folder / ADDIN_NAME, interpreter=args.interpreter or sys.executable)
    if args.json:
        print(json.dumps({"addin": str(path)}))
    else:
        print(f"add-in installed: {path} (restart Excel; the ribbon shows an 'xlexec' tab)")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("addin", parents=[common], help="the Excel add-in (xlexec ribbon tab, UDFs): build or install")
    asub = p.add_subparsers(dest="addin_action", metavar="ACTION")
    b = asub.add_parser("build", parents=[common], help=f"write {DEFAULT_OUTPUT}")
    b.add_argument("--output", "-o", metavar="P", default=None, help=f"output file (default {DEFAULT_OUTPUT})")
    b.add_argument(
        "--interpreter",
        metavar="PYTHON",
        default=None,
        help="the Python with xlexec installed that the ribbon runs (default: xlwings' own setting)",
    )
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=run_build)
    i = asub.add_parser("install", parents=[common], help="build the add-in into Excel's start-up folder")
    i.add_argument(
        "--interpreter",
        metavar="PYTHON",
        default=None,
        help="the Python with xlexec installed that the ribbon runs (default: this one)",
    )
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=run_install)
    p.set_defaults(func=lambda args, ctx: (p.print_help(), 0)[1])

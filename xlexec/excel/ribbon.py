"""The xlexec ribbon: its tab, groups and buttons, and what a ribbon button runs in Python.

The add-in (:mod:`xlexec.excel.addin`) draws :data:`RIBBON` as an "xlexec" tab with one group per
stage of the day. Each button's ``onAction`` callback is a VBA Sub of the add-in
(``Sub Ribbon_Validate(control As IRibbonControl)``) that calls :func:`press` through xlwings'
``RunPython``; :func:`press` runs the same entry point as the workbook's own button
(:data:`xlexec.excel.buttons.BUTTON_FUNCTIONS`) on the **active** workbook.

Why not ``xw.Book.caller()`` as the workbook buttons do: ``RunPython`` hands Python the workbook
that holds the VBA (``ThisWorkbook``), which for a ribbon button is the add-in itself, not the
blotter the operator is looking at.
"""

from __future__ import annotations

import contextlib

from xlexec.excel.layout import BUTTONS

#: ``(group label, [button function, ...])`` in the order of the day; each function is a
#: :data:`xlexec.excel.layout.BUTTONS` entry (the workbook's buttons, same captions).
STAGES: list[tuple[str, list[str]]] = [
    ("Review", ["load_trades", "validate"]),
    ("Approve", ["approve", "reject"]),
    ("Execute", ["convert", "submit", "refresh_status", "cancel_all"]),
    ("Reconcile", ["import_fills", "reconcile", "accept_positions"]),
    ("Costs", ["tca", "monthly_report"]),
]

#: Office's built-in icons (``imageMso``) per button.
ICONS = {
    "load_trades": "FileOpen",
    "validate": "AcceptInvitation",
    "approve": "ReviewAcceptChange",
    "reject": "ReviewRejectChange",
    "convert": "ExportTextFile",
    "submit": "FileSendAsAttachment",
    "refresh_status": "RefreshAll",
    "cancel_all": "CancelRequest",
    "import_fills": "ImportTextFile",
    "reconcile": "ReviewCompareMenu",
    "accept_positions": "AcceptTask",
    "tca": "ChartInsert",
    "monthly_report": "CalendarMonthDetailsSplitButton",
}

BLOTTER_SHEET = "Control"  # a workbook without this tab is not an xlexec blotter


def callback_name(fn: str) -> str:
    """The VBA Sub a ribbon button calls for button function ``fn``: ``Ribbon_LoadTrades``."""
    return "Ribbon_" + "".join(part.capitalize() for part in fn.split("_"))


def captions() -> dict[str, str]:
    """Button function -> caption, from the workbook's own buttons."""
    return {fn: caption for caption, fn, _sub in BUTTONS}


def _not_a_blotter(name: str, message: str):
    from xlexec.excel.buttons import ButtonResult

    return ButtonResult(name, "refused", message, 1)


def press(name: str, book=None):
    """Run workbook button ``name`` on ``book`` (default: Excel's active workbook).

    Refuses (one message box, nothing run) when no workbook is open or the active one has no
    ``Control`` tab; otherwise returns what the workbook's button returns.
    """
    from xlexec.excel.buttons import BUTTON_FUNCTIONS

    if name not in BUTTON_FUNCTIONS:
        raise ValueError(f"unknown button {name!r}")
    caller = None
    if book is None:
        import xlwings as xw

        caller = xw.Book.caller()  # the add-in: RunPython passes the workbook holding the VBA
        book = caller.app.books.active
    res = None
    if book is None or (caller is not None and book.fullname == caller.fullname):
        res = _not_a_blotter(name, "no workbook is active: open the day's blotter (xlexec.xlsx) first")
    elif BLOTTER_SHEET not in [s.name for s in book.sheets]:
        res = _not_a_blotter(
            name,
            f"{book.name} is not an xlexec blotter (no {BLOTTER_SHEET} tab): "
            "activate the blotter (build one with `xlexec workbook build --no-macros`)",
        )
    if res is not None:
        app = caller.app if caller is not None else getattr(book, "app", None)
        if app is not None:
            with contextlib.suppress(Exception):  # the message box is best effort; the result says it
                app.alert(res.message, title=f"xlexec: {name.replace('_', ' ')} refused", buttons="ok", mode="critical")
        return res
    return BUTTON_FUNCTIONS[name](book)

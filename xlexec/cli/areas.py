"""The CLI's areas and their commands: a table light enough to import for ``xlexec --help``.

One line per area module ``xlexec/cli/<area>.py``, in the order of the day: the commands it
registers and their one-line help as ``xlexec --help`` lists them. ``xlexec COMMAND ...`` imports
only COMMAND's area (its ``register(sub, common)`` defines the arguments and the ``run_*``); the
other commands are listed from this table without importing anything (no pandas for ``--help``).
Adding an area is one line here plus its module; ``tests/test_cli_lazy.py`` holds this table to
what the areas register.
"""

from __future__ import annotations

AREAS: tuple[tuple[str, dict[str, str]], ...] = (
    (
        "validate",
        {
            "validate": "run the pre-trade checks and print the decision",
            "approve": "record an approval decision bound to the exact orders",
        },
    ),
    ("convert", {"convert": "write approved orders in a broker's upload format"}),
    (
        "execution",
        {
            "submit": "send the approved orders to the broker, exactly once",
            "status": "every order of the day: status, fills, remaining",
            "cancel-all": "kill switch: cancel every open order, write live/KILL_SWITCH and an incident report",
            "kill-switch-report": "incident report: positions, P&L, open and journaled orders",
            "pnl": "the day's P&L from positions, fills and quotes",
        },
    ),
    ("orders", {"orders": "orders of a day: resolve an ambiguous match"}),
    (
        "reconcile",
        {
            "reconcile": "reconcile the day's fills with the trades and positions",
            "compare-positions": "compare system and broker positions",
            "sync-positions": "take the broker's positions as truth",
            "import-fills": "download the day's fills from the broker into live/DATE/broker_fills.csv",
            "fills": "show the fills a broker file holds (any layout) and every row skipped, writing nothing",
            "accept-positions": "make live/DATE/positions_after_recon.csv the current positions",
        },
    ),
    (
        "tca",
        {
            "tca": "transaction cost analysis of a day folder (writes tca.json, tca_report.txt)",
            "monthly": "monthly cost summary; adds/updates live/monthly_costs.csv",
        },
    ),
    (
        "workbook",
        {
            "workbook": "the operator workbook: build it, or press a button",
            "button": "run a workbook button headless on FILE",
        },
    ),
    ("addin", {"addin": "the Excel add-in (xlexec ribbon tab, UDFs): build or install"}),
    ("demo", {"demo": "run a full trading day on the built-in paper broker"}),
    ("journal", {"journal": "the journal: verify its chain, init or copy a shared one"}),
    ("policy", {"policy": "the policy in force: show it, approve a change"}),
)


def area_of(argv: list[str]) -> str | None:
    """The area whose command is the first known command name in ``argv`` (the top level takes
    no option with a value, so that token is the command), or None (``--help``, a typo)."""
    for token in argv:
        for area, commands in AREAS:
            if token in commands:
                return area
    return None

"""The Fills tab: what the day's fills import read (``broker_fills.csv``, through the same reader
as ``xlexec fills``, reconcile and TCA) and every source row it skipped with the reason
(``broker_fills_skipped.csv``), else the block the operator pasted and has not imported yet.

Layout from A4 (:data:`~xlexec.excel.layout.FILLS_PASTE_ROW`): the canonical fills (header
``date, symbol, side, shares, price, commission, fill_time, order_id, client_order_id, fill_id,
fees, currency, account, fill_time_ny``: shares, $/share, $ paid with negative = a rebate, fees
the part of commission that is fees, ``fill_time_ny`` the fill time in New York,
``client_order_id`` the broker's order reference), one blank row, then
:data:`~xlexec.excel.layout.FILLS_SKIPPED_TITLE` and a ``row, reason`` table (row = the row of
the source that was imported: the file's line, the pasted block's sheet row, the broker
record's position).

The tab is also the paste area: a press reads it from A4 down to the skipped rows' title
(:func:`xlexec.excel.reader.cut_skipped`). A block that is still the fills the tab was drawn
with (:func:`is_drawn`: the same canonical fills) is no paste: the tab keeps showing the import
and Import Fills leaves it as it is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from xlexec.errors import InputError
from xlexec.excel.layout import FILLS_PASTE_ROW, FILLS_SKIPPED_COLUMNS, FILLS_SKIPPED_TITLE
from xlexec.excel.sources import _rows
from xlexec.formats.csvio import to_csv_text
from xlexec.formats.fills import (
    DECIMALS,
    FILL_COLUMNS,
    FILL_DETAILS,
    FILL_ID,
    read_fills,
    read_fills_block,
    read_skipped_csv,
)
from xlexec.steps.fills import read_rules
from xlexec.store.day import Day

SHOWN_COLUMNS = [*FILL_COLUMNS, FILL_ID, *FILL_DETAILS]


def imported(ctx, day: Day) -> tuple[pd.DataFrame | None, list[dict[str, Any]], str]:
    """The day's imported fills (canonical frame; None before an import), the rows skipped, and
    '' or why ``broker_fills.csv`` / ``broker_fills_skipped.csv`` could not be read."""
    if not day.fills.exists():
        return None, [], ""
    try:
        fills = read_fills(day.fills, **read_rules(ctx))
    except InputError as e:
        return None, [], str(e)
    try:
        return fills, read_skipped_csv(day.fills_skipped), ""
    except InputError as e:
        return fills, [], str(e)


def fills_rows(fills: pd.DataFrame) -> list[list[Any]]:
    """The canonical fills as the tab shows them: the header row, then one row per fill."""
    return [list(SHOWN_COLUMNS)] + _rows(fills.reset_index(drop=True), SHOWN_COLUMNS)


def skipped_rows(skipped: list[dict[str, Any]]) -> list[list[Any]]:
    """The skipped rows' table under the fills: a blank row, the title, ``row, reason``, rows."""
    if not skipped:
        return []
    head: list[list[Any]] = [[None], [FILLS_SKIPPED_TITLE], list(FILLS_SKIPPED_COLUMNS)]
    return head + [[int(s["row"]), str(s["reason"])] for s in skipped]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = SHOWN_COLUMNS
    return to_csv_text(a.reindex(columns=cols).reset_index(drop=True), DECIMALS) == to_csv_text(
        b.reindex(columns=cols).reset_index(drop=True), DECIMALS
    )


def is_drawn(ctx, block: list[list[Any]], fills: pd.DataFrame | None) -> bool:
    """Whether the Fills tab's ``block`` (read from A4, the skipped rows cut) is the imported
    ``fills`` as the tab shows them: the same header and the same canonical fills."""
    if fills is None or not block or len(block) - 1 != len(fills):
        return False
    header = [("" if v is None else str(v)).strip() for v in block[0]]
    while header and header[-1] == "":
        header.pop()
    if header != SHOWN_COLUMNS:
        return False
    try:
        again = read_fills_block(block, first_row=FILLS_PASTE_ROW + 1, format="xlexec", **read_rules(ctx))
    except InputError:
        return False
    return _same(again, fills)


def fills_tab(ctx, day: Day, block: list[list[Any]]) -> tuple[list[list[Any]], str]:
    """(the block shown from A4, the note in A3): the import (fills, then the skipped rows)
    unless the operator pasted another block, which is kept as pasted."""
    fills, skipped, error = imported(ctx, day)
    if block and not is_drawn(ctx, block, fills):
        if fills is None and not error:
            return block, "Pasted block not imported yet: press Import Fills."
        if fills is None:
            return block, f"Pasted block not imported yet: press Import Fills (the imported fills: {error})."
        return block, f"{len(fills)} fills already imported; press Import Fills to replace them with this block."
    if fills is None:
        return [], (f"broker_fills.csv cannot be shown: {error}" if error else "")
    note = f"Imported: {len(fills)} fills in {day.fills} (shown in the xlexec layout)"
    if skipped:
        note += f"; {len(skipped)} source row(s) skipped, listed below the fills with the reason"
    if error:
        note += f"; the skipped rows cannot be shown: {error}"
    return fills_rows(fills) + skipped_rows(skipped), note + "."

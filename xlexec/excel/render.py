"""Draw the operator workbook for a day: collect the view model once, write it, swap atomically.

:func:`render_workbook` is the one entry: the day's files and the journal are read into a
:class:`~xlexec.excel.layout.BookData` by :func:`xlexec.excel.viewmodel.collect` (unless the
caller already holds it) with the operator's :class:`~xlexec.excel.layout.Inputs` carried
over, and written by :func:`xlexec.excel.writer.write_workbook` (temp file + ``os.replace``:
on any error the previous file is left as it was).

The names the buttons and the tests used from this module before the view was split
(``collect``, ``empty_book_data``, ``apply_blotter``, ``is_live``, ``mode_text``, the Quotes
helpers...) are re-exported from the modules that now hold them.
"""

from __future__ import annotations

from pathlib import Path

from xlexec.excel.blotter import apply_blotter
from xlexec.excel.bookconfig import ref_for_source
from xlexec.excel.journal_view import log_rows, orders_frame, workbook_actions
from xlexec.excel.layout import (
    LOG_COLUMNS,
    ORDER_COLUMNS,
    QUOTES_KINDS,
    BookData,
    Inputs,
)
from xlexec.excel.modes import is_live, mode_text
from xlexec.excel.operator_content import OperatorContent
from xlexec.excel.quotes_tab import (
    age_text,
    quote_columns,
    quotes_sheet,
    quotes_view,
    utc_text,
)
from xlexec.excel.sources import _rows
from xlexec.excel.viewmodel import collect, empty_book_data
from xlexec.excel.writer import write_workbook

__all__ = [
    "LOG_COLUMNS",
    "ORDER_COLUMNS",
    "QUOTES_KINDS",
    "_rows",
    "age_text",
    "apply_blotter",
    "collect",
    "empty_book_data",
    "is_live",
    "log_rows",
    "mode_text",
    "orders_frame",
    "quote_columns",
    "quotes_sheet",
    "quotes_view",
    "render_workbook",
    "utc_text",
    "workbook_actions",
]


def render_workbook(
    ctx,
    day: str,
    path: str | Path,
    *,
    inputs: Inputs | None = None,
    data: BookData | None = None,
    config_ref: str | None = None,
    operator: OperatorContent | None = None,
) -> Path:
    """Write the full workbook for ``day`` to ``path`` (``.xlsm``: with VBA and buttons; ``.xlsx``:
    without), every tab filled from the day's files and the journal, ``inputs`` carried over.
    ``data``: the view model already collected for this day and these inputs (a button that
    has just drawn it), so it is not collected a second time. The ``xlwings.conf`` rows of
    ``inputs`` (the book's own) are kept (:func:`xlexec.excel.xlwings_conf.merge_conf`). Atomic: on
    any error the previous file is left as it was. ``config_ref``: the config path the book records
    (:mod:`xlexec.excel.bookconfig`; default: ``ctx``'s config file, relative to ``path``).
    ``operator``: the operator's own sheets, cells and names the book held
    (:mod:`xlexec.excel.operator_content`), written back."""
    conf = inputs.xlwings_conf if inputs is not None else None
    ref = config_ref or ref_for_source(getattr(ctx.config, "source", None), path)
    data = data if data is not None else collect(ctx, day, inputs)
    return write_workbook(path, data, xlwings_conf=conf, config_ref=ref, operator=operator, created=ctx.now())

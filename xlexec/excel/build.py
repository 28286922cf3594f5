"""``xlexec workbook build``: the operator workbook, drawn for a day or as an empty template.

The workbook's pieces live in their own modules, each importing only the ones before it:

* :mod:`xlexec.excel.layout`: the schema (tabs, cells, columns; ``BookData``, ``Inputs``);
* :mod:`xlexec.excel.macros`: the VBA source (``macros/*.bas``);
* :mod:`xlexec.excel.reader`: the operator's inputs from a file or an xlwings book;
* :mod:`xlexec.excel.viewmodel`: the day's files and the journal -> ``BookData``;
* :mod:`xlexec.excel.writer`: ``BookData`` -> ``.xlsx`` / ``.xlsm`` (XlsxWriter, VBA included);
* :mod:`xlexec.excel.render`: read, collect, write, swap atomically;
* :mod:`xlexec.excel.book`: the adapters the buttons talk to (file, xlwings).

The layout and writer names other code imported from this module before that split
(``SHEETS``, ``CONTROL_CELLS``, ``Inputs``, ``write_workbook``, ``load_macros``...) are
re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from xlexec.excel.bookconfig import ref_for_source
from xlexec.excel.layout import (
    BLOTTER_COLUMNS,
    BLOTTER_INPUTS,
    BUTTON_COL,
    BUTTON_FIRST_ROW,
    BUTTONS,
    CF_ROWS,
    CODENAMES,
    CONTROL_CELLS,
    CONTROL_LABELS,
    DECISIONS,
    FILLS_MAX_COLS,
    FILLS_MAX_ROWS,
    FILLS_PASTE_ROW,
    FIRST_DATA_ROW,
    HEADER_ROW,
    INPUT_KEYS,
    MODE_BANNER,
    MONTHLY_TEXT_OFFSET,
    NUMBER_FORMATS,
    QUOTES_COLUMNS,
    QUOTES_HELP,
    QUOTES_MAX_COLUMNS,
    QUOTES_SHOWN_CELL,
    QUOTES_SIZE_COLUMNS,
    SELFTEST_CELL,
    SHEETS,
    STATUS_COLOURS,
    SUMMARY_ROW,
    TITLE_ROW,
    XLWINGS_CONF,
    XLWINGS_CONF_HELP,
    YES_NO,
    BookData,
    Inputs,
    SheetData,
    Table,
    a1,
    cell_value,
    monthly_layout,
    parse_a1,
    quotes_width,
    side_col,
)
from xlexec.excel.macros import load_macros, macros_dir
from xlexec.excel.viewmodel import collect, empty_book_data
from xlexec.excel.writer import (
    UNLOCKED,
    CellStyles,
    _fast_sst_strings,
    fast_writer_available,
    is_formula_like,
    shared_text,
    write_workbook,
)

__all__ = [
    "BLOTTER_COLUMNS",
    "BLOTTER_INPUTS",
    "BUTTONS",
    "BUTTON_COL",
    "BUTTON_FIRST_ROW",
    "CF_ROWS",
    "CODENAMES",
    "CONTROL_CELLS",
    "CONTROL_LABELS",
    "DECISIONS",
    "FILLS_MAX_COLS",
    "FILLS_MAX_ROWS",
    "FILLS_PASTE_ROW",
    "FIRST_DATA_ROW",
    "HEADER_ROW",
    "INPUT_KEYS",
    "MODE_BANNER",
    "MONTHLY_TEXT_OFFSET",
    "NUMBER_FORMATS",
    "QUOTES_COLUMNS",
    "QUOTES_HELP",
    "QUOTES_MAX_COLUMNS",
    "QUOTES_SHOWN_CELL",
    "QUOTES_SIZE_COLUMNS",
    "SELFTEST_CELL",
    "SHEETS",
    "STATUS_COLOURS",
    "SUMMARY_ROW",
    "TITLE_ROW",
    "UNLOCKED",
    "XLWINGS_CONF",
    "XLWINGS_CONF_HELP",
    "YES_NO",
    "BookData",
    "CellStyles",
    "Inputs",
    "SheetData",
    "Table",
    "_fast_sst_strings",
    "a1",
    "build_workbook",
    "cell_value",
    "fast_writer_available",
    "is_formula_like",
    "load_macros",
    "macros_dir",
    "monthly_layout",
    "parse_a1",
    "quotes_width",
    "shared_text",
    "side_col",
    "write_workbook",
]


def build_workbook(output: str | Path, ctx=None, day: str | None = None, config: str | Path | None = None) -> Path:
    """``xlexec workbook build``: the workbook (default ``workbook/xlexec.xlsm``), drawn for
    ``day`` when its files exist under ``ctx``'s live folder, else as an empty template.

    The book records ``config`` (default: ``ctx``'s config file; with neither, the
    ``config.yaml`` next to the book) relative to its own folder, as the defined name
    ``xlexec_config`` (:mod:`xlexec.excel.bookconfig`): its buttons and UDFs use that file."""
    data = collect(ctx, day, Inputs()) if ctx is not None and day else empty_book_data(day, ctx)
    source = str(config) if config is not None else getattr(getattr(ctx, "config", None), "source", None)
    created = ctx.now() if ctx is not None else None
    return write_workbook(output, data, config_ref=ref_for_source(source, output), created=created)

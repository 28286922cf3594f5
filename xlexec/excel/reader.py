"""The operator's inputs, read from a workbook file or a live ``xlwings.Book``.

Every button starts from the same :class:`~xlexec.excel.layout.Inputs`: the Control inputs
(B4:B21), the Blotter's Include/Limit per ``(symbol, side)``, the pasted Fills block (from A4)
and the Quotes tab (from A4, with the id of the quotes it was drawn with in H4).

* :func:`read_book_file`: a file on disk (headless mode), read with python-calamine; the
  pasted Fills block is normalised vectorially by :func:`normalise_block` (~0.1 x calamine's
  own read for 100,000 rows).
* :func:`read_xlwings_inputs` / :func:`read_xlwings_conf`: an ``xlwings.Book`` (desktop Excel
  or the JSON-backed Book of xlwings Server/Lite): whole-range reads, one call per block.
* :func:`inputs_from_grids`: the raw grids (from either) -> :class:`Inputs`.
* The Quotes tab: :func:`quotes_from_grid` parses it with the CLI's own quotes reader,
  :func:`quotes_digest` / :func:`shown_text` / :func:`parse_shown` tell typed quotes from the
  ones the tab was drawn with, :func:`pending_quotes` gives the typed ones that no button has
  saved yet.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import hashlib
import io
import itertools
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from xlexec.core.rows import exact_thousands
from xlexec.core.symbols import canonical_symbol
from xlexec.errors import InputError
from xlexec.excel.layout import (
    BLOTTER_COLUMNS,
    CONTROL_CELLS,
    CONTROL_FIRST,
    CONTROL_LAST,
    FILLS_MAX_COLS,
    FILLS_PASTE_ROW,
    FILLS_SKIPPED_TITLE,
    HEADER_ROW,
    INPUT_KEYS,
    QUOTES_COLUMNS,
    QUOTES_MAX_COLUMNS,
    QUOTES_SHOWN_CELL,
    XLWINGS_CONF,
    Inputs,
    cell_value,
    parse_a1,
    quotes_width,
)
from xlexec.excel.sheet_extent import (
    BLOCK_BYTES,
    Extent,
    ReadAhead,
    file_key,
    remember_extents,
    remembered_extents,
    sheet_extent,
    workbook_targets,
)
from xlexec.formats.inputs import quotes_from_text, read_quotes

# --------------------------------------------------------------------------- parsing inputs


def _text(v) -> str | None:
    v = cell_value(v)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _num(v, row: int | None = None) -> float | None:
    """A Blotter Limit ($, > 0) as typed; blank -> None. Anything else that is not a price
    raises :class:`InputError` naming the Blotter's ``row`` (1-based sheet row) and column."""
    v = cell_value(v)
    if v is None or v == "" or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        text = str(v).strip()
        if "," in text and not exact_thousands(text):
            raise InputError(
                "Blotter", f"Limit {text[:30]!r}: a decimal comma is refused (write 1.5)", row=row, column="Limit"
            )
        try:
            x = float(text.replace("$", "").replace(",", "").strip())
        except ValueError:
            raise InputError("Blotter", f"Limit {str(v)[:30]!r} is not a price in $", row=row, column="Limit") from None
    if not math.isfinite(x) or x <= 0:
        raise InputError(
            "Blotter",
            f"Limit {str(v)[:30]!r} is not a price in $ (> 0, or blank for the default)",
            row=row,
            column="Limit",
        )
    return x


def _date_text(v) -> str | None:
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    s = _text(v)
    return s[:40] if s else None  # as typed: xlexec.excel.tradedate reads it


def inputs_from_grids(
    control_col: list[Any],
    blotter: list[list[Any]],
    fills: list[list[Any]],
    quotes: list[list[Any]] | None = None,
    quotes_shown: Any = None,
) -> Inputs:
    """Build :class:`Inputs` from raw grids.

    ``control_col``: the values of Control!B4:B21 (top to bottom); ``blotter``: Blotter rows from
    the header row (row 4) down (a Limit that is not a price > 0 raises ``InputError`` naming
    its row); ``fills``: the Fills block from A4 (its row lists are taken
    over: normalised in place by :func:`normalise_block`); ``quotes``: the Quotes tab from its
    header row (A4) down (columns A:E; parsed later, by :func:`pending_quotes`);
    ``quotes_shown``: the value of Quotes!H4 (the id of the quotes the tab was drawn with).
    """
    first_row, _ = parse_a1(CONTROL_FIRST)
    vals = list(control_col) + [None] * 40
    inp = Inputs()
    for key in INPUT_KEYS:
        r, _c = parse_a1(CONTROL_CELLS[key])
        v = vals[r - first_row]
        setattr(inp, key, _date_text(v) if key == "trade_date" else _text(v))
    if blotter:
        header = [str(h).strip() if h is not None else "" for h in blotter[0]]
        idx = {h: i for i, h in enumerate(header)}
        if all(c in idx for c in ("Include", "Symbol", "Side", "Limit")):
            for k, raw in enumerate(blotter[1:], start=HEADER_ROW + 2):  # k: the sheet row (1-based)
                row = list(raw) + [None] * (len(header) - len(raw))
                sym, side = _text(row[idx["Symbol"]]), _text(row[idx["Side"]])
                if not sym or not side:
                    continue
                inp.blotter[(canonical_symbol(sym), side.lower())] = {
                    "include": _text(row[idx["Include"]]),
                    "limit": _num(row[idx["Limit"]], k),
                }
    inp.fills_block = cut_skipped(normalise_block(fills, inplace=True))
    inp.quotes_block = normalise_block(_quotes_columns(quotes or []), max_cols=QUOTES_MAX_COLUMNS)
    inp.quotes_shown = parse_shown(quotes_shown)
    return inp


# --------------------------------------------------------------------------- the Quotes tab

QUOTES_TAB = "Quotes tab"
_SHOWN_RE = re.compile(r"#([0-9a-f]{12})\b")


def shown_text(digest: str | None) -> str:
    """Quotes!H4: which quotes the tab was drawn with ('' when it was drawn without a file)."""
    return f"drawn from quotes.csv #{digest}" if digest else ""


def parse_shown(v: Any) -> str | None:
    m = _SHOWN_RE.search(str(cell_value(v) or ""))
    return m.group(1) if m else None


def _quotes_columns(block: list[list[Any]]) -> list[list[Any]]:
    """The Quotes tab's rows cut to its quote columns: A:E, plus F:G when the header row (the
    block's first row) names ``bid_size``/``ask_size`` there (see :func:`quotes_width`)."""
    if not block:
        return []
    w = quotes_width(block[0])
    return [list(r)[:w] for r in block]


def quotes_digest(q) -> str:
    """A short id of a quotes frame's content (``symbol, bid, ask, last, timestamp``; row order,
    number formatting and the timestamp's zone spelling do not matter; the optional sizes are
    left out, as the tab shows them outside its Table): 12 hex digits."""

    if q is None or not len(q):
        return ""
    parts = [q["symbol"].astype(str).to_numpy()]
    for c in ("bid", "ask", "last"):
        x = pd.to_numeric(q[c], errors="coerce").astype(float).round(8)
        parts.append(x.map(lambda v: "" if v != v else repr(v + 0.0)).to_numpy())
    ts = pd.to_datetime(q["timestamp"], utc=True, errors="coerce")
    parts.append(ts.map(lambda t: "" if pd.isna(t) else t.isoformat()).to_numpy())
    lines = sorted("\x1f".join(map(str, r)) for r in zip(*parts))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:12]


def _csv_cell(v: Any) -> str:
    v = cell_value(v)
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(v)
    return " ".join(str(v).splitlines())  # one sheet row = one CSV line, so rows stay numbered


def quotes_from_grid(block: list[list[Any]], name: str = QUOTES_TAB):
    """The Quotes tab (rows from its header row, A4, down) -> the frame
    :func:`xlexec.formats.inputs.read_quotes` gives for the same data (``symbol, bid, ask, last,
    timestamp`` UTC, ``mid``), indexed by sheet row; None when no row holds a value.

    The very same reader parses it (so the rules are the CLI's: symbols checked and
    upper-cased, prices >= 0 or blank, timestamps date-times, no duplicate symbol; a time
    without a zone is UTC); an error names ``name``, the sheet row and the column."""

    rows = normalise_block(_quotes_columns(block), max_cols=QUOTES_MAX_COLUMNS)
    if len(rows) < 2:
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([_csv_cell(v) for v in r] for r in rows)
    return quotes_from_text(buf.getvalue(), name, first_line=HEADER_ROW + 1, what=name)


def pending_quotes(inputs: Inputs, quotes_path: str | os.PathLike):
    """The quotes the operator typed or pasted in the Quotes tab when they are new, else None.

    New means: the tab holds quotes (parsed by :func:`quotes_from_grid`: a bad cell raises
    ``InputError`` naming the tab's row and column), they are not the quotes the tab was drawn
    with (``inputs.quotes_shown``: so a tab nobody edited never overwrites a ``quotes.csv`` that
    changed since), and they differ from ``quotes_path`` (or it is missing or unreadable)."""

    q = quotes_from_grid(inputs.quotes_block)
    if q is None:
        return None
    digest = quotes_digest(q)
    if inputs.quotes_shown and digest == inputs.quotes_shown:
        return None
    p = Path(quotes_path)
    if p.exists():
        try:
            if quotes_digest(read_quotes(p)) == digest:
                return None
        except InputError:
            pass  # a broken file: the typed quotes replace it
    return q


_PLAIN = (str, float, int, bool, type(None))


def cut_skipped(block: list[list[Any]]) -> list[list[Any]]:
    """The Fills block above the skipped rows' table the tab shows under imported fills (the
    first row holding :data:`~xlexec.excel.layout.FILLS_SKIPPED_TITLE` alone), trailing empty
    rows dropped: that table is xlexec's, never a pasted fill."""
    firsts = [r[0] if r else None for r in block]
    titles = {v for v in set(firsts) if isinstance(v, str) and v.strip() == FILLS_SKIPPED_TITLE}
    if not titles:  # the common case, found on the distinct first cells (100,000 rows: 0.14 s -> 5 ms)
        return block
    at = next((i for i, v in enumerate(firsts) if v in titles and not any(block[i][1:])), None)
    if at is None:
        return block
    out = block[:at]
    while out and not any(v is not None and v != "" for v in out[-1]):
        out.pop()
    return out


def normalise_block(rows, max_cols: int = FILLS_MAX_COLS, *, inplace: bool = False) -> list[list[Any]]:
    """A pasted block as read (calamine/xlwings rows, top row first) -> rows of cell values.

    Each cell as :func:`~xlexec.excel.layout.cell_value` gives it (empty text, NaN and infinities
    -> None, dates -> ISO text, numpy scalars -> Python), at most ``max_cols`` columns, trailing
    empty rows dropped, every row as wide as the right-most non-empty cell. Leading empty rows
    are kept (the sheet row of ``rows[0]`` stays the block's first row). ``inplace``: the row
    lists of ``rows`` are fixed and returned themselves (the caller owns them, as with a fresh
    calamine/xlwings read); otherwise ``rows`` is left as it was.

    Vectorised: the block is one numpy object array; each column's value types are checked
    once, and only the cells that change (empty, NaN, dates...) are touched one by one, so a
    100,000 x 9 block costs a few tens of ms on top of the read.
    """

    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return []
    lengths = set(map(len, rows))
    w = max(lengths)
    if len(lengths) == 1:  # rectangular (calamine, xlwings): one pass over the cells
        arr = np.fromiter(itertools.chain.from_iterable(rows), dtype=object, count=len(rows) * w)
        arr = arr.reshape(len(rows), w)
    else:  # ragged rows: pad cell by cell
        arr = np.empty((len(rows), w), dtype=object)
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                arr[i, j] = v
    if w > max_cols:
        arr, w = arr[:, :max_cols], max_cols
    if w == 0:
        return []
    blank = np.zeros(arr.shape, dtype=bool)
    # the top row (usually the header: text over numeric columns) cell by cell, so that each
    # column below it is usually of one type
    top: dict[int, Any] = {}
    for j, v in enumerate(arr[0]):
        value = cell_value(v)
        if value is None or value == "":
            blank[0, j] = True
        elif value is not v:
            top[j] = value
    body, body_blank = arr[1:], blank[1:]
    converted: dict[int, np.ndarray] = {}
    for j in range(w):
        col = body[:, j]
        kinds = set(map(type, col))
        if not kinds <= set(_PLAIN):  # dates, numpy scalars, pandas NA...: the general rule
            col = np.array([cell_value(v) for v in col] + [None], dtype=object)[:-1]
            converted[j] = col
            kinds = set(map(type, col))
        if type(None) in kinds:
            body_blank[:, j] |= np.equal(col, None)  # type: ignore[call-overload]
        if str in kinds:
            body_blank[:, j] |= col == ""
        if float in kinds and kinds <= {float, int}:  # NaN and infinities are no values
            try:
                body_blank[:, j] |= ~np.isfinite(col.astype(float))
            except OverflowError:  # an int beyond a double's range: compare cell by cell
                body_blank[:, j] |= (col != col) | (col == np.inf) | (col == -np.inf)
        elif float in kinds:
            body_blank[:, j] |= (col != col) | (col == np.inf) | (col == -np.inf)
    filled = ~blank
    keep_rows = np.flatnonzero(filled.any(axis=1))
    if not len(keep_rows):
        return []
    n = int(keep_rows[-1]) + 1
    keep_cols = np.flatnonzero(filled[:n].any(axis=0))
    width = int(keep_cols[-1]) + 1
    # the rows are fixed in place (no new row lists: allocating 100,000 lists costs more in
    # garbage-collector passes than the copy itself)
    out = rows[:n] if inplace and set(map(type, rows[:n])) == {list} else [list(r) for r in rows[:n]]
    if n < len(rows):
        lengths = set(map(len, out))
    if max(lengths) > width:
        for r in out:
            del r[width:]
    if min(lengths) < width:
        for r in out:
            if len(r) < width:
                r.extend([None] * (width - len(r)))
    for j, value in top.items():
        if j < width:
            out[0][j] = value
    for j, col in converted.items():
        if j < width:
            for r, v in zip(out[1:], col[: n - 1].tolist()):
                r[j] = v
    bi, bj = np.nonzero(blank[:n, :width])
    for i, j in zip(bi.tolist(), bj.tolist()):
        out[i][j] = None
    return out


# --------------------------------------------------------------------------- a workbook file


def _sheet_rows(wb, name: str) -> list[list[Any]]:
    try:
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - a missing tab is just no input
        return []


def _control_column(rows: list[list[Any]]) -> list[Any]:
    """Control!B4:B21 out of the tab's rows (top row = sheet row 1)."""
    r0, c0 = parse_a1(CONTROL_FIRST)
    r1, _ = parse_a1(CONTROL_LAST)
    return [(row[c0] if len(row) > c0 else None) for row in rows[r0 : r1 + 1]]


def _quotes_rows(rows: list[list[Any]]) -> tuple[list[list[Any]], Any]:
    """The Quotes tab's rows (top row = sheet row 1) -> (its block from the header row down,
    cut to its quote columns; the value of Quotes!H4)."""
    width = quotes_width(rows[HEADER_ROW]) if len(rows) > HEADER_ROW else len(QUOTES_COLUMNS)
    qr, qc = parse_a1(QUOTES_SHOWN_CELL)
    shown = rows[qr][qc] if len(rows) > qr and len(rows[qr]) > qc else None
    return [r[:width] for r in rows[HEADER_ROW:]], shown


#: a workbook file is refused before reading when a sheet claims more cells than this (the
#: reader allocates the whole claimed rectangle: ``A1:XFD1048576`` in 5 KB would abort the process)
MAX_SHEET_CELLS = 10_000_000
#: ... or when its zip members would unpack to more than this many bytes
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


def _sheet_members(z) -> set[str]:
    """The zip members a reader may take for a worksheet: everything under ``xl/worksheets/``
    and every target of the workbook's relationships (:func:`workbook_targets`), whatever its
    name or extension."""
    names = set(z.namelist())
    out = {n for n in names if n.startswith("xl/worksheets/")}
    try:
        info = z.getinfo("xl/_rels/workbook.xml.rels")
    except KeyError:
        return out
    if info.file_size > 16 << 20:  # no real workbook has 16 MB of relationships: check every member
        return names
    return out | (set(workbook_targets(z.read(info)).values()) & names)


def check_book_extent(path: str | os.PathLike) -> None:
    """Refuse, before the workbook reader sees it, a file whose zip would unpack to more than
    :data:`MAX_UNPACKED_BYTES` or a sheet claiming more than :data:`MAX_SHEET_CELLS` cells
    (one line naming the file and the sheet). A file that is not a zip is left to the reader.
    A file already found within the limits (same path, inode, size and modification time) is
    not read again."""
    import zipfile

    key = file_key(path)
    if remembered_extents(key) is not None:
        return
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    found: dict[str, Extent] = {}
    with z:
        infos = z.infolist()
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_UNPACKED_BYTES:
            raise InputError(
                str(path),
                f"the workbook would unpack to {unpacked:,} bytes (limit {MAX_UNPACKED_BYTES:,}): "
                "refused before reading; save a copy with only the xlexec tabs",
            )
        sheets = _sheet_members(z)
        for info in infos:
            if info.filename in sheets:
                found[info.filename] = _member_extent(path, z, info)
    if key is not None:
        remember_extents(key, found)


def _member_extent(path: str | os.PathLike, z, info) -> Extent:
    """The :class:`Extent` of worksheet member ``info`` of zip ``z``; refused (InputError) past
    :data:`MAX_SHEET_CELLS`."""
    import zipfile

    try:
        with z.open(info) as f:
            if info.file_size > 2 * BLOCK_BYTES:  # a big sheet: inflated while the block before is scanned
                ahead = ReadAhead(f)
                try:
                    ext = sheet_extent(ahead)
                finally:
                    ahead.close()
            else:
                ext = sheet_extent(f)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
        raise InputError(str(path), f"cannot open the workbook: {info.filename}: {e}") from None
    rows, cols = ext.rows, ext.cols
    if rows * cols > MAX_SHEET_CELLS:
        raise InputError(
            str(path),
            f"{info.filename} claims {rows:,} rows x {cols:,} columns ({rows * cols:,} cells, limit "
            f"{MAX_SHEET_CELLS:,}): refused before reading; in Excel, delete the unused rows and "
            "columns (Ctrl+Shift+End shows the last used cell) and save",
        )
    return ext


def read_book_file(path: str | os.PathLike) -> tuple[Inputs, dict[str, str]]:
    """The operator's inputs in workbook file ``path`` and its ``xlwings.conf`` settings
    (``{KEY: value}``, keys upper-cased). A missing tab gives no input; a file calamine cannot
    open raises :class:`InputError` naming it. The cyclic garbage collector is paused meanwhile
    (:func:`collector_paused`)."""
    with collector_paused():
        return _read_book_file(path)


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused for the block (as it was before, after it).
    A read of a pasted block builds about a million cell objects (100,000 rows x 9) that live
    on; each pass the collector makes over them meanwhile finds nothing to free and costs tens
    of ms (about 0.07 s of a 100,000-row read). Reference counting still frees everything else."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read_book_file(path: str | os.PathLike) -> tuple[Inputs, dict[str, str]]:
    check_book_extent(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as e:  # noqa: BLE001 - calamine raises its own types
        raise InputError(str(path), f"cannot open the workbook: {e}") from None
    col = _control_column(_sheet_rows(wb, "Control"))
    blotter = _sheet_rows(wb, "Blotter")[HEADER_ROW:]
    fills = _sheet_rows(wb, "Fills")[FILLS_PASTE_ROW:]
    quotes, shown = _quotes_rows(_sheet_rows(wb, "Quotes"))
    conf_rows = _sheet_rows(wb, "xlwings.conf")
    conf = {
        str(r[0]).strip().upper(): ("" if len(r) < 2 or r[1] is None else str(r[1])) for r in conf_rows if r and r[0]
    }
    inputs = inputs_from_grids(col, blotter, fills, quotes, shown)
    inputs.xlwings_conf = [
        (r[0], r[1] if len(r) > 1 and r[1] != "" else None) if r and r[0] not in (None, "") else None for r in conf_rows
    ]
    return inputs, conf


# --------------------------------------------------------------------------- an xlwings book


def used_extent(sheet) -> tuple[int, int]:
    """An xlwings sheet's used range: (last row, last column), 1-based."""
    lc = sheet.used_range.last_cell
    return lc.row, lc.column


def remote_values(sheet, remote: bool) -> list[list[Any]] | None:
    """The remote client's values as sent (xlwings' reader turns text that looks like an ISO
    time with an offset into an error), else None."""
    if not remote:
        return None
    try:
        vals = sheet.api["values"]
    except Exception:  # noqa: BLE001
        return None
    return [[(None if v == "" else v) for v in r] for r in (vals or [])]


def sheet_grid(sheet, first_row0: int, ncols: int | None = None, *, remote: bool = False) -> list[list[Any]]:
    """The rows of an xlwings sheet from 0-based row ``first_row0`` down (``ncols`` columns,
    default the used range's), in one read."""
    raw = remote_values(sheet, remote)
    if raw is not None:
        return [r[:ncols] if ncols else r for r in raw[first_row0:]]
    last_row, last_col = used_extent(sheet)
    if last_row <= first_row0:
        return []
    ncols = ncols or last_col
    v = sheet.range((first_row0 + 1, 1), (last_row, ncols)).options(ndim=2).value
    return v or []


def _xlwings_quotes(book, remote: bool) -> tuple[list[list[Any]], Any]:
    """The Quotes tab from its header row down (A:E) and Quotes!H4; nothing when a workbook
    built before the tab existed has none."""
    try:
        sheet = book.sheets["Quotes"]
    except Exception:  # noqa: BLE001 - an older workbook: no Quotes tab, no typed quotes
        return [], None
    raw = remote_values(sheet, remote)
    qr, qc = parse_a1(QUOTES_SHOWN_CELL)
    if raw is not None:
        width = quotes_width(raw[HEADER_ROW]) if len(raw) > HEADER_ROW else len(QUOTES_COLUMNS)
        shown = raw[qr][qc] if len(raw) > qr and len(raw[qr]) > qc else None
    else:
        header = sheet.range((HEADER_ROW + 1, 1), (HEADER_ROW + 1, QUOTES_MAX_COLUMNS)).options(ndim=1).value
        width = quotes_width(header)
        shown = sheet.range(QUOTES_SHOWN_CELL).value
    return sheet_grid(sheet, HEADER_ROW, width, remote=remote), shown


def read_xlwings_inputs(book, *, remote: bool = False) -> Inputs:
    """The operator's inputs in an ``xlwings.Book`` (``remote``: the JSON-backed Book)."""
    sh = book.sheets
    raw = remote_values(sh["Control"], remote)
    if raw is not None:
        col = _control_column(raw)
    else:
        col = sh["Control"].range(CONTROL_FIRST + ":" + CONTROL_LAST).options(ndim=1).value
    blotter = sheet_grid(sh["Blotter"], HEADER_ROW, len(BLOTTER_COLUMNS), remote=remote)
    fills = sheet_grid(sh["Fills"], FILLS_PASTE_ROW, remote=remote)
    quotes, shown = _xlwings_quotes(book, remote)
    return inputs_from_grids(col, blotter, fills, quotes, shown)


def read_xlwings_conf(book) -> dict[str, str]:
    """The ``xlwings.conf`` settings of an ``xlwings.Book`` (``{KEY: value}``); {} without the tab."""
    try:
        rows = book.sheets["xlwings.conf"].range((1, 1), (len(XLWINGS_CONF) + 50, 2)).options(ndim=2).value
    except Exception:  # noqa: BLE001
        return {}
    return {str(r[0]).strip().upper(): ("" if r[1] is None else str(r[1])) for r in rows if r and r[0]}

"""Book adapters: one interface for the buttons over live Excel, xlwings' JSON Book and a file.

A button function never touches Excel directly; it talks to a :class:`BookAdapter`:

* :class:`XlwingsBook` wraps an ``xlwings.Book``: the caller in desktop Excel
  (``xw.Book.caller()`` from ``RunPython``) or the JSON-backed Book of xlwings Server/Lite
  (``xw.Book(json=payload)``; its writes become the ``actions`` returned to the client).
  Reads are whole ranges, writes are whole ranges (one call per block, never cell by cell).
* :class:`FileBook` is the headless mode (``xlexec button NAME --book FILE``): the operator's
  inputs are read with python-calamine (the pasted Fills block normalised vectorially by
  :func:`normalise_block`: ~0.1 x calamine's own read for 100,000 rows), and
  :meth:`FileBook.commit` re-renders the whole workbook from the system of record with those
  inputs carried over (XlsxWriter, VBA project and buttons included), replacing the file
  atomically. A failed step never calls ``commit``: the file stays as it was.

The layout (which cell holds what) lives in :mod:`xlexec.excel.build`.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from xlexec.formats.csvio import safe_text
from xlexec.excel.build import BLOTTER_COLUMNS, CONTROL_CELLS, FILLS_MAX_COLS, FILLS_PASTE_ROW, FIRST_DATA_ROW, HEADER_ROW, INPUT_KEYS, QUOTES_COLUMNS, QUOTES_MAX_COLUMNS, QUOTES_SIZE_COLUMNS, SHEETS, SUMMARY_ROW, TITLE_ROW, XLWINGS_CONF, BookData, Inputs, SheetData, a1, cell_value, monthly_layout, parse_a1, QUOTES_SHOWN_CELL, quotes_width, side_col

CONTROL_FIRST, CONTROL_LAST = "B4", "B21"


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
    from xlexec.errors import InputError
    v = cell_value(v)
    if v is None or v == "" or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        try:
            x = float(str(v).replace("$", "").replace(",", "").strip())
        except ValueError:
            raise InputError("Blotter", f"Limit {str(v)[:30]!r} is not a price in $", row=row,
                             column="Limit") from None
    if not math.isfinite(x) or x <= 0:
        raise InputError("Blotter", f"Limit {str(v)[:30]!r} is not a price in $ (> 0, or blank for the default)",
                         row=row, column="Limit")
    return x


def _date_text(v) -> str | None:
    import datetime as dt
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    s = _text(v)
    return s[:10] if s else None


def inputs_from_grids(control_col: list[Any], blotter: list[list[Any]], fills: list[list[Any]],
                      quotes: list[list[Any]] | None = None, quotes_shown: Any = None) -> Inputs:
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
            for k, r in enumerate(blotter[1:], start=HEADER_ROW + 2):  # k: the sheet row (1-based)
                r = list(r) + [None] * (len(header) - len(r))
                sym, side = _text(r[idx["Symbol"]]), _text(r[idx["Side"]])
                if not sym or not side:
                    continue
                inp.blotter[(sym.upper(), side.lower())] = {"include": _text(r[idx["Include"]]),
                                                            "limit": _num(r[idx["Limit"]], k)}
    inp.fills_block = normalise_block(fills, inplace=True)
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
    import hashlib

    import pandas as pd
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
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
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
    import csv
    import io

    from xlexec.formats.inputs import quotes_from_text

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
    from xlexec.errors import InputError
    from xlexec.formats.inputs import read_quotes

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


def normalise_block(rows, max_cols: int = FILLS_MAX_COLS, *, inplace: bool = False) -> list[list[Any]]:
    """A pasted block as read (calamine/xlwings rows, top row first) -> rows of cell values.

    Each cell as :func:`~xlexec.excel.build.cell_value` gives it (empty text, NaN and infinities
    -> None, dates -> ISO text, numpy scalars -> Python), at most ``max_cols`` columns, trailing
    empty rows dropped, every row as wide as the right-most non-empty cell. Leading empty rows
    are kept (the sheet row of ``rows[0]`` stays the block's first row). ``inplace``: the row
    lists of ``rows`` are fixed and returned themselves (the caller owns them, as with a fresh
    calamine/xlwings read); otherwise ``rows`` is left as it was.

    Vectorised: the block is one numpy object array; each column's value types are checked
    once, and only the cells that change (empty, NaN, dates...) are touched one by one, so a
    100,000 x 9 block costs a few tens of ms on top of the read.
    """
    import itertools

    import numpy as np

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
            body_blank[:, j] |= np.equal(col, None)
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
            for r, v in zip(out[1:], col[:n - 1].tolist()):
                r[j] = v
    bi, bj = np.nonzero(blank[:n, :width])
    for i, j in zip(bi.tolist(), bj.tolist()):
        out[i][j] = None
    return out


# --------------------------------------------------------------------------- adapters

class BookAdapter:
    """What the buttons need from a workbook (see the module docstring)."""

    kind = "abstract"

    def inputs(self) -> Inputs:  # pragma: no cover - interface
        raise NotImplementedError

    def conf(self) -> dict[str, str]:
        return {}

    @property
    def path(self) -> Path | None:
        return None

    def status(self, text: str) -> None:
        pass

    def alert(self, message: str, title: str = "xlexec") -> None:
        pass

    def confirm(self, message: str, title: str = "xlexec") -> bool:
        return False

    def show(self, data: BookData, sheets: list[str]) -> None:
        """Write the given tabs of ``data`` back (xlwings books); files re-render in commit."""

    def commit(self, ctx, day: str) -> None:
        pass


class FileBook(BookAdapter):
    """A workbook file on disk (headless mode). ``live_confirmed`` is the CLI's ``--live``."""

    kind = "file"

    def __init__(self, path: str | os.PathLike, *, live_confirmed: bool = False, echo=None,
                 overrides: dict[str, str] | None = None):
        self._path = Path(path)
        self.overrides = dict(overrides or {})
        self.live_confirmed = live_confirmed
        self.messages: list[str] = []
        self.echo = echo
        self._inputs: Inputs | None = None

    @property
    def path(self) -> Path:
        return self._path

    def _sheet_rows(self, wb, name: str) -> list[list[Any]]:
        try:
            return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - a missing tab is just no input
            return []

    def inputs(self) -> Inputs:
        if self._inputs is not None:
            return self._inputs
        if not self._path.exists():
            self._inputs = Inputs()
            self._apply_overrides()
            return self._inputs
        from python_calamine import CalamineWorkbook
        from xlexec.errors import InputError
        try:
            wb = CalamineWorkbook.from_path(str(self._path))
        except Exception as e:  # noqa: BLE001 - calamine raises its own types
            raise InputError(str(self._path), f"cannot open the workbook: {e}") from None
        control = self._sheet_rows(wb, "Control")
        r0, c0 = parse_a1(CONTROL_FIRST)
        r1, _ = parse_a1(CONTROL_LAST)
        col = [(row[c0] if len(row) > c0 else None) for row in control[r0:r1 + 1]]
        blotter = self._sheet_rows(wb, "Blotter")[HEADER_ROW:]
        fills = self._sheet_rows(wb, "Fills")[FILLS_PASTE_ROW:]
        quotes = self._sheet_rows(wb, "Quotes")
        width = quotes_width(quotes[HEADER_ROW]) if len(quotes) > HEADER_ROW else len(QUOTES_COLUMNS)
        qr, qc = parse_a1(QUOTES_SHOWN_CELL)
        shown = quotes[qr][qc] if len(quotes) > qr and len(quotes[qr]) > qc else None
        quotes = [r[:width] for r in quotes[HEADER_ROW:]]
        self._conf = {str(r[0]).strip().upper(): ("" if len(r) < 2 or r[1] is None else str(r[1]))
                      for r in self._sheet_rows(wb, "xlwings.conf") if r and r[0]}
        self._inputs = inputs_from_grids(col, blotter, fills, quotes, shown)
        self._apply_overrides()
        return self._inputs

    def _apply_overrides(self) -> None:
        from xlexec.errors import InputError
        for key, value in self.overrides.items():
            if key not in INPUT_KEYS:
                raise InputError("--set", f"unknown Control input {key!r}; one of: {', '.join(INPUT_KEYS)}")
            setattr(self._inputs, key, value.strip() or None)

    def conf(self) -> dict[str, str]:
        self.inputs()
        return getattr(self, "_conf", {})

    def status(self, text: str) -> None:
        if self.echo:
            self.echo(text)

    def alert(self, message: str, title: str = "xlexec") -> None:
        self.messages.append(message)

    def confirm(self, message: str, title: str = "xlexec") -> bool:
        return bool(self.live_confirmed)

    def commit(self, ctx, day: str) -> None:
        from xlexec.excel.render import render_workbook
        render_workbook(ctx, day, self._path, inputs=self.inputs())


class XlwingsBook(BookAdapter):
    """An ``xlwings.Book``: desktop Excel (``xw.Book.caller()``) or the JSON-backed remote Book."""

    def __init__(self, book):
        self.book = book
        try:
            self.remote = book.app.engine.type == "remote"
        except Exception:  # noqa: BLE001
            self.remote = False
        self.kind = "json" if self.remote else "excel"
        self.alerts: list[str] = []

    # -- reading
    def _used(self, sheet) -> tuple[int, int]:
        ur = sheet.used_range
        lc = ur.last_cell
        return lc.row, lc.column

    def _raw(self, sheet) -> list[list[Any]] | None:
        """The remote client's values as sent (xlwings' reader turns text that looks like an ISO
        time with an offset into an error), else None."""
        if not self.remote:
            return None
        try:
            vals = sheet.api["values"]
        except Exception:  # noqa: BLE001
            return None
        return [[(None if v == "" else v) for v in r] for r in (vals or [])]

    def _grid(self, sheet, first_row0: int, ncols: int | None = None) -> list[list[Any]]:
        raw = self._raw(sheet)
        if raw is not None:
            return [r[:ncols] if ncols else r for r in raw[first_row0:]]
        last_row, last_col = self._used(sheet)
        if last_row <= first_row0:
            return []
        ncols = ncols or last_col
        v = sheet.range((first_row0 + 1, 1), (last_row, ncols)).options(ndim=2).value
        return v or []

    def inputs(self) -> Inputs:
        sh = self.book.sheets
        raw = self._raw(sh["Control"])
        if raw is not None:
            r0, c0 = parse_a1(CONTROL_FIRST)
            r1, _ = parse_a1(CONTROL_LAST)
            col = [(row[c0] if len(row) > c0 else None) for row in raw[r0:r1 + 1]]
        else:
            col = sh["Control"].range(CONTROL_FIRST + ":" + CONTROL_LAST).options(ndim=1).value
        blotter = self._grid(sh["Blotter"], HEADER_ROW, len(BLOTTER_COLUMNS))
        fills = self._grid(sh["Fills"], FILLS_PASTE_ROW)
        quotes, shown = self._quotes_grid()
        return inputs_from_grids(col, blotter, fills, quotes, shown)

    def _quotes_grid(self) -> tuple[list[list[Any]], Any]:
        """The Quotes tab from its header row down (A:E) and Quotes!H4; nothing when a workbook
        built before the tab existed has none."""
        try:
            sheet = self.book.sheets["Quotes"]
        except Exception:  # noqa: BLE001 - an older workbook: no Quotes tab, no typed quotes
            return [], None
        raw = self._raw(sheet)
        qr, qc = parse_a1(QUOTES_SHOWN_CELL)
        if raw is not None:
            width = quotes_width(raw[HEADER_ROW]) if len(raw) > HEADER_ROW else len(QUOTES_COLUMNS)
            shown = raw[qr][qc] if len(raw) > qr and len(raw[qr]) > qc else None
        else:
            header = sheet.range((HEADER_ROW + 1, 1), (HEADER_ROW + 1, QUOTES_MAX_COLUMNS)).options(ndim=1).value
            width = quotes_width(header)
            shown = sheet.range(QUOTES_SHOWN_CELL).value
        return self._grid(sheet, HEADER_ROW, width), shown

    def conf(self) -> dict[str, str]:
        try:
            rows = self.book.sheets["xlwings.conf"].range((1, 1), (len(XLWINGS_CONF) + 10, 2)).options(ndim=2).value
        except Exception:  # noqa: BLE001
            return {}
        return {str(r[0]).strip().upper(): ("" if r[1] is None else str(r[1])) for r in rows if r and r[0]}

    @property
    def path(self) -> Path | None:
        try:
            full = self.book.fullname
        except Exception:  # noqa: BLE001
            return None
        p = Path(full)
        return p if p.is_absolute() else None

    # -- feedback
    def status(self, text: str) -> None:
        try:
            self.book.app.status_bar = text
        except Exception:  # noqa: BLE001 - not available on every engine (Office.js)
            pass

    def alert(self, message: str, title: str = "xlexec") -> None:
        self.alerts.append(message)
        try:
            self.book.app.alert(message, title=title, buttons="ok", mode="critical")
        except Exception:  # noqa: BLE001
            pass

    def confirm(self, message: str, title: str = "xlexec") -> bool:
        if self.remote:
            # Office.js/Google Sheets dialogs are asynchronous: the answer cannot come back
            # inside this call, so live trading from the remote client is refused.
            return False
        try:
            return str(self.book.app.alert(message, title=title, buttons="yes_no", mode="critical")).lower() == "yes"
        except Exception:  # noqa: BLE001
            return False

    # -- writing (whole ranges)
    def _unprotect(self, sheet) -> bool:
        if self.remote:
            return False
        try:
            sheet.api.Unprotect()
            return True
        except Exception:  # noqa: BLE001
            return False

    def _protect(self, sheet) -> None:
        try:
            sheet.api.Protect(DrawingObjects=False, Contents=True, Scenarios=True, AllowFiltering=True,
                              AllowSorting=True, AllowFormattingColumns=True, AllowFormattingRows=True)
        except Exception:  # noqa: BLE001
            pass

    def show(self, data: BookData, sheets: list[str]) -> None:
        for name in sheets:
            if name not in SHEETS or name == "xlwings.conf":
                continue
            try:
                sheet = self.book.sheets[name]
            except Exception:  # noqa: BLE001 - a workbook built before this tab existed
                continue
            was = self._unprotect(sheet)
            try:
                for ref, values, clear in blocks_for(data, name, self._used(sheet)):
                    if clear:
                        sheet.range(ref).clear_contents()
                    elif values:
                        sheet.range(ref).value = values
                self._resize_table(sheet, data, name)
            finally:
                if was:
                    self._protect(sheet)

    def _resize_table(self, sheet, data: BookData, name: str) -> None:
        sd = data.sheets.get(name)
        if sd is None or sd.table is None:
            return
        try:
            t = sheet.tables[sd.table.name]
            n = max(1, len(sd.table.rows))
            t.resize(sheet.range((HEADER_ROW + 1, 1), (HEADER_ROW + 1 + n, len(sd.table.columns))))
        except Exception:  # noqa: BLE001 - the table may have been renamed/removed by the user
            pass


# --------------------------------------------------------------------------- grids for xlwings writes

def _safe(v):
    v = cell_value(v)
    return safe_text(v) if isinstance(v, str) else v


def _block(rows: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    return [[_safe(v) for v in r] + [None] * (width - len(r)) for r in rows]


def blocks_for(data: BookData, name: str, used: tuple[int, int]) -> list[tuple[str, list[list[Any]] | None, bool]]:
    """The whole-range writes that show tab ``name`` of ``data``: ``(ref, values, is_clear)``.

    ``used`` is the sheet's current (last row, last column), 1-based, so stale rows are cleared
    with one call before the new block is written with one call.
    """
    last_row, last_col = used
    out: list[tuple[str, list[list[Any]] | None, bool]] = []
    if name == "Control":
        r0, _ = parse_a1(CONTROL_FIRST)
        r1, _ = parse_a1(CONTROL_LAST)
        col = [[None] for _ in range(r1 - r0 + 1)]
        for key, ref in CONTROL_CELLS.items():
            r, _c = parse_a1(ref)
            col[r - r0][0] = data.control.get(key)
        out.append((f"{CONTROL_FIRST}:{CONTROL_LAST}", _block(col), False))
        return out
    if name == "Fills":
        if last_row > FILLS_PASTE_ROW:
            out.append((f"A{FILLS_PASTE_ROW + 1}:{a1(last_row - 1, max(last_col, 1) - 1)}", None, True))
        out.append(("A3", [[_safe(data.fills_note or "")]], False))
        if data.fills_block:
            out.append((f"A{FILLS_PASTE_ROW + 1}", _block(data.fills_block), False))
        return out
    sd: SheetData = data.sheets[name]
    out.append((f"A{TITLE_ROW + 1}:A{SUMMARY_ROW + 1}", _block([[sd.title], [sd.summary]]), False))
    if last_row > HEADER_ROW + 1:
        out.append((f"A{FIRST_DATA_ROW}:{a1(last_row - 1, max(last_col, 1) - 1)}", None, True))
    if sd.table is not None:
        out.append((f"A{HEADER_ROW + 1}", _block([sd.table.columns] + sd.table.rows), False))
    if name == "Monthly":
        col, text_col = monthly_layout(sd)
        if data.monthly_months is not None:
            m = data.monthly_months
            out.append((a1(HEADER_ROW, col), _block([m.columns] + m.rows), False))
        if sd.side:
            out.append((a1(HEADER_ROW, text_col), _block([[sd.side_title or "Report"]] + sd.side), False))
        return out
    rows = ([[sd.side_title]] if sd.side_title else []) + sd.side
    if name == "Quotes":  # the shown quotes' id sits next to the ages' title: one write for both
        sizes = any(len(r) > 2 for r in sd.side)  # bid_size/ask_size next to the ages (I:J)
        rows = [[sd.side_title or None, data.quotes_shown or None]
                + (list(QUOTES_SIZE_COLUMNS) if sizes else [None, None])] + sd.side
    if rows:
        out.append((a1(HEADER_ROW, side_col(sd)), _block(rows), False))
    return out


def open_book(book=None, *, live_confirmed: bool = False, echo=None,
              overrides: dict[str, str] | None = None) -> BookAdapter:
    """The adapter for ``book``: ``None`` -> ``xw.Book.caller()``; a path -> :class:`FileBook`;
    an ``xlwings.Book`` -> :class:`XlwingsBook`; an adapter is returned as is."""
    if isinstance(book, BookAdapter):
        return book
    if isinstance(book, (str, os.PathLike)):
        return FileBook(book, live_confirmed=live_confirmed, echo=echo, overrides=overrides)
    if book is None:
        import xlwings as xw
        book = xw.Book.caller()
    return XlwingsBook(book)

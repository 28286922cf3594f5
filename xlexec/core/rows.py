"""Row checks shared by the trades model and every reader: the first bad row raises, named.

A frame's index holds the source row numbers (1-based lines), so an :class:`InputError`
names the file, the row and the column of the first problem.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from xlexec.errors import InputError


def first_bad(mask) -> int:
    """Position of the first True in a boolean mask (Series or array)."""
    return int(np.flatnonzero(np.asarray(mask))[0])


def check_rows(bad, df: pd.DataFrame, name: str, column: str, message) -> None:
    """Raise :class:`InputError` at the first row where ``bad`` holds.

    ``df``'s index holds the source row numbers; ``message`` is text or ``f(position) -> text``.
    """
    if bad.any():
        i = first_bad(bad)
        raise InputError(name, message(i) if callable(message) else message, row=int(df.index[i]), column=column)


def via_uniques(s: pd.Series, fn) -> pd.Series:
    """Apply a vectorised ``fn`` (Series -> Series) to the distinct values only, map back
    (symbols and sides repeat a lot: 200,000 fills have a few hundred distinct symbols)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=False)
    u = fn(pd.Series(np.asarray(uniq, dtype=object), dtype=object))
    return pd.Series(np.asarray(u, dtype=object)[codes], index=s.index, dtype=object)


#: share counts: a comma in one is refused outright (``1,5`` is never 15, nor 1.5)
QUANTITY_COLUMNS = frozenset({"shares", "qty", "quantity", "filled_qty", "bid_size", "ask_size", "adv_shares"})
#: a number with exact thousands groups: ``1,234``, ``-$1,234,567.89``
GROUPED = re.compile(r"[+-]?\$?\d{1,3}(,\d{3})+(\.\d*)?")


def exact_thousands(text: str) -> bool:
    """True when ``text`` holds a comma only as exact thousands groups (``1,234.5``, not ``1,5``)."""
    return bool(GROUPED.fullmatch(text.strip().replace(" ", "")))


def check_commas(raw: pd.Series, df: pd.DataFrame, name: str, col: str) -> None:
    """Refuse a decimal comma: any comma in a share count (:data:`QUANTITY_COLUMNS`), and in
    any other number a comma that is not an exact thousands group. ``1,5`` is never read as 15."""
    has = raw.str.contains(",", regex=False).to_numpy(dtype=bool)
    if not has.any():
        return
    if col in QUANTITY_COLUMNS:
        bad = has
        why = "a share count takes no comma (decimal or thousands): write 1500 or 1.5"
    else:
        bad = has & ~via_uniques(raw, lambda u: u.map(exact_thousands)).to_numpy(dtype=bool)
        why = "a decimal comma is refused (write 1.5); commas only as exact thousands groups (1,234.50)"
    check_rows(bad, df, name, col, lambda i: f"{col} {str(raw.iloc[i])[:40]!r}: {why}")


def parse_numeric(
    df: pd.DataFrame, col: str, name: str, *, allow_empty: bool = False, integer: bool = False
) -> pd.Series:
    """Column ``col`` as float; first unparsable / NaN / inf value raises naming row+column.

    Accepts a leading ``$`` and exact thousands separators (``1,234.50``) in amounts; a comma
    in a share count, or a decimal comma anywhere (``1,5``), is refused (:func:`check_commas`).

    A column of plain numbers is converted at once (``pd.to_numeric``); only a column with a cell
    that is not one (``$``, commas, empty, text, NaN, inf) goes through the rules cell by cell,
    which give the same figures for the plain cells and name the first bad one.
    """
    raw = df[col]
    if raw.dtype == np.float64 and np.isfinite(raw.to_numpy()).all():
        vals = raw.copy()  # typed by the C parser (csvio.read_table's ``numbers``)
    else:
        vals = pd.to_numeric(raw, errors="coerce").astype(float)
    finite = np.isfinite(vals.to_numpy())
    if not finite.all() and not (allow_empty and _only_blanks_unparsed(raw, ~finite)):
        vals = _parse_numeric_cells(raw, df, name, col, allow_empty=allow_empty)
    if integer:
        frac = (vals % 1) != 0
        if frac.any():
            first = frac.to_numpy().nonzero()[0][0]
            raise InputError(
                name, f"{col} must be a whole number, got {raw.iloc[first]!r}", row=int(df.index[first]), column=col
            )
    return vals


def _only_blanks_unparsed(raw: pd.Series, unparsed: np.ndarray) -> bool:
    """Whether every ``unparsed`` cell (``pd.to_numeric`` gave no finite number) is empty text (a
    column of plain numbers and blanks, as an optional one mostly is: NaN there, no rule to apply)."""
    return raw.dtype != np.float64 and bool((raw[unparsed] == "").all())


def _parse_numeric_cells(raw: pd.Series, df: pd.DataFrame, name: str, col: str, *, allow_empty: bool) -> pd.Series:
    """:func:`parse_numeric` of a column some cell of which is not a plain number (``$``, thousands
    commas, empty, text): each rule in turn, the first breach raised naming its row."""
    check_commas(raw.astype(str), df, name, col)
    cleaned = raw.str.replace(",", "", regex=False).str.replace("$", "", regex=False).str.strip()
    vals = pd.to_numeric(cleaned, errors="coerce").astype(float)
    bad = ~np.isfinite(vals.to_numpy())
    if allow_empty:
        bad &= (cleaned != "").to_numpy()
    if bad.any():
        first = int(bad.nonzero()[0][0])
        val = raw.iloc[first]
        what = "empty" if val == "" else f"not a finite number: {val[:40]!r}"
        raise InputError(name, f"{col} is {what}", row=int(df.index[first]), column=col)
    return vals.astype(float)

"""Row checks shared by the trades model and every reader: the first bad row raises, named.

A frame's index holds the source row numbers (1-based lines), so an :class:`InputError`
names the file, the row and the column of the first problem.
"""

from __future__ import annotations

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


def parse_numeric(
    df: pd.DataFrame, col: str, name: str, *, allow_empty: bool = False, integer: bool = False
) -> pd.Series:
    """Column ``col`` as float; first unparsable / NaN / inf value raises naming row+column.

    Accepts thousands separators and a leading ``$`` (spreadsheet exports).
    """
    raw = df[col]
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
    vals = vals.astype(float)
    if integer:
        frac = (vals % 1) != 0
        if frac.any():
            first = frac.to_numpy().nonzero()[0][0]
            raise InputError(
                name, f"{col} must be a whole number, got {raw.iloc[first]!r}", row=int(df.index[first]), column=col
            )
    return vals

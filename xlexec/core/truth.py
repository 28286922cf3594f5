"""Include / yes truthiness, in one place: what an ``include`` cell (trades.csv column, the
workbook's Blotter ``Include``) means.

Rule (:func:`is_included`): blank, ``None`` or NaN = kept (no opinion); a bool is itself; a
number is kept unless 0; text (any case, blanks around ignored) is dropped only when it is one
of :data:`FALSE_WORDS` (``n, no, false, 0, exclude, excluded, off``), anything else is kept
(:data:`TRUE_WORDS` are the spellings the workbook writes and documents).
"""

from __future__ import annotations

import math

import pandas as pd

TRUE_WORDS = frozenset({"y", "yes", "true", "1", "x", "include", "included", "on"})
FALSE_WORDS = frozenset({"n", "no", "false", "0", "exclude", "excluded", "off"})


def is_included(value) -> bool:
    """True unless ``value`` says "leave this row out" (see the module docstring for the rule)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return math.isnan(value) or value != 0
    return str(value).strip().lower() not in FALSE_WORDS


def included_values(values: pd.Series) -> pd.Series:
    """:func:`is_included` over a column (bool Series, same index); computed per distinct value."""
    codes, uniq = pd.factorize(values.astype(object), use_na_sentinel=False)
    keep = [is_included(u) for u in uniq]
    return pd.Series([keep[c] for c in codes], index=values.index, dtype=bool)

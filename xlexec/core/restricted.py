"""The restricted-list rule, in one place: which symbols may not be traded, and why.

The list is ``live/restricted.csv`` (``symbol[,reason]``, read by
:func:`xlexec.formats.inputs.read_restricted`). A symbol is restricted when its canonical id
(:func:`xlexec.core.symbols.canonical_symbol`: ``BRK/B`` = ``brk-b`` = ``BRK.B``) is listed;
the first listing of a symbol gives its reason, an empty reason reads ``restricted``.
Validation (check ``restricted``: FAIL), convert (refuses the upload file) and submit (the
pre-trade limit ``restricted``: the order is refused) all ask :func:`restricted_reason`.
"""

from __future__ import annotations

import pandas as pd

from xlexec.core.symbols import canonical_column

DEFAULT_REASON = "restricted"


def restricted_reasons(restricted: pd.DataFrame | None) -> pd.Series:
    """canonical symbol -> reason (str) of every listed symbol; empty without a list."""
    if restricted is None or not len(restricted):
        return pd.Series(dtype=object)
    sym = canonical_column(restricted["symbol"])
    if "reason" in restricted.columns:
        why = restricted["reason"].fillna("").astype(str).str.strip()
    else:
        why = pd.Series("", index=restricted.index)
    why = why.where(why != "", DEFAULT_REASON)
    r = pd.Series(why.to_numpy(dtype=object), index=sym.to_numpy(dtype=object), dtype=object)
    return r[~r.index.duplicated(keep="first")]


def restricted_reason(symbols: pd.Series, restricted: pd.DataFrame | None) -> pd.Series:
    """The restriction reason of each of ``symbols`` (aligned with it), ``""`` when not restricted."""
    reasons = restricted_reasons(restricted)
    if not len(reasons) or not len(symbols):
        return pd.Series("", index=symbols.index, dtype=object)
    return canonical_column(symbols).map(reasons).fillna("").astype(object)

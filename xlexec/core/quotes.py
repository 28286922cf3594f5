"""Quote marks: the mid price ($) of each symbol from a quotes frame."""

from __future__ import annotations

import pandas as pd


def mid_map(quotes: pd.DataFrame | None) -> pd.Series:
    """Quote mid ($) by symbol: ``mid``, else (bid + ask) / 2 when both > 0, else ``last``; > 0 only."""
    if quotes is None or len(quotes) == 0 or "symbol" not in quotes.columns:
        return pd.Series(dtype=float)
    q = quotes.drop_duplicates("symbol", keep="last").set_index("symbol")
    if "mid" in q.columns:
        mid = pd.to_numeric(q["mid"], errors="coerce")
    else:
        bid = pd.to_numeric(q.get("bid"), errors="coerce")
        ask = pd.to_numeric(q.get("ask"), errors="coerce")
        mid = ((bid + ask) / 2).where((bid > 0) & (ask > 0), pd.to_numeric(q.get("last"), errors="coerce"))
    return mid.where(mid > 0).astype(float)

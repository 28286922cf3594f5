"""Quote marks: the mid price ($) of each symbol, the side a market order would trade at, and
how old a quote is (pure: the caller passes the time).

* :func:`mid_map` -> quote mid ($/share) by symbol (the price collar's reference, the arrival price).
* :func:`side_quotes` -> bid and ask ($/share, > 0 only) by symbol.
* :func:`market_value` -> $ value of market orders at the live quote: shares x ask for a buy,
  shares x bid for a sell (what the order would pay or receive now), NaN without that side.
* :func:`age_reference` -> the time a quote's age is measured from: ``now`` during the NYSE
  session, else the last session's close (a quote taken at or after that close is current).
* :func:`quote_age_problems` -> per symbol, why its quote is too old to use ("" = usable).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlexec.core import calendar as cal
from xlexec.core.ages import age_text

NEW_YORK = "America/New_York"


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


def _by_symbol(quotes: pd.DataFrame | None) -> pd.DataFrame | None:
    if quotes is None or len(quotes) == 0 or "symbol" not in quotes.columns:
        return None
    return quotes.drop_duplicates("symbol", keep="last").set_index("symbol")


def side_quotes(quotes: pd.DataFrame | None) -> pd.DataFrame:
    """``bid`` and ``ask`` ($/share) by symbol; a missing, zero or negative side is NaN (never
    ``last`` or the mid: a market order is valued at the side it trades against, or not at all)."""
    q = _by_symbol(quotes)
    if q is None:
        return pd.DataFrame({"bid": pd.Series(dtype=float), "ask": pd.Series(dtype=float)})
    out = pd.DataFrame(index=q.index)
    for c in ("bid", "ask"):
        v = pd.to_numeric(q[c], errors="coerce") if c in q.columns else pd.Series(np.nan, index=q.index)
        out[c] = v.where(v > 0).astype(float)
    return out


def market_value(qty, side, bid, ask) -> np.ndarray:
    """$ value of market orders at the live quote, to the cent: ``qty`` (shares) x ``ask`` ($)
    for a buy, x ``bid`` ($) for a sell (``side`` "buy"/"sell"); NaN where that side is missing or
    not > 0. Arrays of one length. Example: buy 50 at ask $1,600.00 = $80,000.00; sell 30 at bid
    $99.99 = $2,999.70."""
    q = np.asarray(qty, dtype=float)
    buy = np.asarray(side, dtype=object) == "buy"
    px = np.where(buy, np.asarray(ask, dtype=float), np.asarray(bid, dtype=float))
    with np.errstate(invalid="ignore"):
        px = np.where(px > 0, px, np.nan)
    return np.round(q * px, 2)


def age_reference(now) -> tuple[pd.Timestamp, bool]:
    """``(reference time UTC, in_session)``: ``now`` when it falls inside an NYSE session
    (open <= now <= close), else the close of the last session before ``now`` (so outside the
    session a quote counts as current when taken at most the allowed age before that close, or
    after it). A time outside the calendar's range is its own reference (the strictest rule)."""
    t = pd.Timestamp(now)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    try:
        d = t.tz_convert(NEW_YORK).date().isoformat()
        if cal.is_session(d):
            if cal.session_open_utc(d) <= t <= cal.session_close_utc(d):
                return t, True
            if t > cal.session_close_utc(d):
                return cal.session_close_utc(d), False
        return cal.session_close_utc(cal.previous_session(d)), False
    except ValueError:
        return t, True


def quote_times(quotes: pd.DataFrame | None) -> pd.Series:
    """Quote time (tz-aware UTC; NaT when missing or unreadable) by symbol."""
    q = _by_symbol(quotes)
    if q is None:
        return pd.Series(dtype="datetime64[ns, UTC]")
    if "timestamp" not in q.columns:
        return pd.Series(pd.NaT, index=q.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(q["timestamp"], utc=True, errors="coerce", format="mixed")


def _age_text(seconds: float) -> str:
    return age_text(seconds)  # the one age format (core/ages)


def quote_age_problems(quotes: pd.DataFrame | None, now, max_age_seconds: float) -> pd.Series:
    """Per quoted symbol, why its quote may not be used ("" = usable): no timestamp, older than
    ``max_age_seconds`` (seconds) at :func:`age_reference` of ``now``, or stamped more than
    ``max_age_seconds`` after ``now`` (a clock or file that cannot be trusted). ``now`` None:
    no clock to age it against, nothing is usable (fail closed)."""
    ts = quote_times(quotes)
    if now is None:
        return pd.Series("no clock to age the quote against", index=ts.index, dtype=object)
    ref, in_session = age_reference(now)
    t_now = pd.Timestamp(now)
    t_now = t_now.tz_localize("UTC") if t_now.tzinfo is None else t_now.tz_convert("UTC")
    lim = float(max_age_seconds)
    age = (ref - ts).dt.total_seconds()
    ahead = (ts - t_now).dt.total_seconds()
    where = "" if in_session else f" at the last close {ref:%Y-%m-%d %H:%M} UTC (market closed)"
    out = pd.Series("", index=ts.index, dtype=object)
    out[ts.isna()] = "quote has no timestamp"
    for i in ts.index[ts.notna() & (age > lim + 1e-9)]:
        out[i] = f"quote is {_age_text(age[i])} old{where} (max_quote_age_seconds {lim:g})"
    for i in ts.index[ts.notna() & (ahead > lim + 1e-9)]:
        out[i] = f"quote is stamped {_age_text(ahead[i])} after now (max_quote_age_seconds {lim:g})"
    return out

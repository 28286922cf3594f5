"""Readers of the small reference files under ``live/`` (pure parsing, clear errors).

* ``current_positions.csv``: ``symbol,shares,avg_cost[,total_cost]`` (shares signed, may be
  fractional; avg_cost $/share; total_cost $, the cost basis, signed like the shares). With
  ``total_cost`` (what reconcile writes) the basis is the total cost and avg_cost is
  total_cost / shares (an avg_cost more than half a cent a share away from it is refused: edit
  both, or delete the total_cost cell); without it (an older or hand-made file) the total cost
  is avg_cost x shares, exactly.
* ``quotes.csv``: ``symbol,bid,ask,last,timestamp`` (+ optional ``bid_size,ask_size`` shares)
* ``events.csv``: ``symbol,date,event[,ratio]``, one event a row (:mod:`xlexec.core.events`):
  per symbol earnings|ex_dividend|split|merger|halt (``ratio`` = new shares per old share for
  splits, required for a split: 2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split; the
  positions read for the split's date are adjusted by :mod:`xlexec.core.corporate_actions`);
  market-wide fomc|cpi|nfp (``jobs_report`` = nfp) with symbol ``*`` or empty (kept as ``*``).
  ``date`` is YYYY-MM-DD (the New York session date);
  ``event`` is case-blind, ``-``/space read as ``_`` (``Ex-Dividend`` = ``ex_dividend``)::

      symbol,date,event
      AAPL,2025-10-30,earnings
      XYZ,2025-10-30,halt
      *,2025-10-29,FOMC
* ``reference.csv``: ``symbol,sector,adv_shares``
* ``closes.csv``: ``symbol,close``
* ``restricted.csv``: ``symbol[,reason]``

Every reader returns a DataFrame indexed by source row; symbols upper-cased.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from xlexec.core.events import EVENT_ALIASES, EVENT_KINDS, MACRO_EVENTS, MARKET_WIDE
from xlexec.core.positions import bases
from xlexec.core.rows import check_rows, parse_numeric, via_uniques
from xlexec.core.trades import iso_date, symbols_of
from xlexec.errors import InputError
from xlexec.formats.csvio import own_copy, parse_table, read_text, split_comment_body


def _load(path, required, what, *, allow_empty: bool = False) -> tuple[pd.DataFrame, str]:
    """The file's rows as strings; ``allow_empty``: a header with no rows is a valid empty list."""
    return _parse(path, required, what, lambda df, name: (df, name), allow_empty=allow_empty)


def _parse(path, required, what, parse, *, numbers=(), allow_empty: bool = False):
    """``parse(frame, name)`` of the file's rows (:func:`csvio.parse_table`: the ``numbers``
    columns typed by the C parser when every cell is a plain number)."""
    name = str(path)
    text = read_text(path, what=what)
    _, body, first = split_comment_body(text)
    if not body:
        raise InputError(name, f"empty {what}: no header row ({','.join(required)})", row=first)
    return parse_table(
        body, name, first, required, lambda df: parse(df, name), numbers=numbers, what=what, allow_empty=allow_empty
    )


def _no_dupes(df: pd.DataFrame, name: str, cols=("symbol",)) -> None:
    check_rows(df.duplicated(list(cols)), df, name, "symbol", lambda i: f"duplicate {df['symbol'].iloc[i]}")


#: $/share: how far a file's avg_cost may be from its total_cost / shares (display rounding)
AVG_COST_TOLERANCE = 0.005


def positions_from_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """``symbol, shares, avg_cost ($/share), total_cost ($)`` (see the module docstring)."""
    out = pd.DataFrame(index=df.index)
    out["symbol"] = symbols_of(df, name)
    out["shares"] = parse_numeric(df, "shares", name)
    given_avg = parse_numeric(df, "avg_cost", name, allow_empty=True)
    out["avg_cost"] = given_avg.fillna(0.0)
    check_rows(out["avg_cost"] < 0, df, name, "avg_cost", "avg_cost must not be negative")
    total = (
        parse_numeric(df, "total_cost", name, allow_empty=True)
        if "total_cost" in df.columns
        else pd.Series(float("nan"), index=df.index)
    )
    out["total_cost"], derived = bases(out["shares"], out["avg_cost"], total)
    check_rows(  # shares x avg_cost beyond a float (1e200 x 1e200): no cost basis can be carried
        ~np.isfinite(out["total_cost"].to_numpy(dtype=float)),
        df,
        name,
        "total_cost" if "total_cost" in df.columns else "avg_cost",
        "the cost basis (shares x avg_cost, $) is too large to carry",
    )
    check_rows(
        total.notna() & (derived < 0),
        df,
        name,
        "total_cost",
        "total_cost must have the sign of the shares (avg cost = total_cost / shares must not be negative)",
    )
    check_rows(
        total.notna() & given_avg.notna() & ((derived - given_avg).abs() > AVG_COST_TOLERANCE),
        df,
        name,
        "avg_cost",
        lambda i: (
            f"avg_cost {given_avg.iloc[i]:g} is not total_cost / shares ({derived.iloc[i]:g}): edit both, "
            "or empty the total_cost cell to take the cost basis from avg_cost"
        ),
    )
    out["avg_cost"] = derived
    _no_dupes(out, name)
    return out


def read_positions(path: str | Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """``current_positions.csv`` -> ``symbol, shares, avg_cost, total_cost`` (other columns
    ignored; see the module docstring). A header with no rows is all cash (no positions): the
    file reconcile writes after selling everything."""
    if missing_ok and not Path(path).exists():
        return pd.DataFrame(
            {
                "symbol": pd.Series(dtype=str),
                "shares": pd.Series(dtype=float),
                "avg_cost": pd.Series(dtype=float),
                "total_cost": pd.Series(dtype=float),
            }
        )
    return _parse(
        path,
        ["symbol", "shares"],
        "positions file",
        _positions_of_table,
        numbers=("shares", "avg_cost", "total_cost"),
        allow_empty=True,
    )


def _positions_of_table(df: pd.DataFrame, name: str) -> pd.DataFrame:
    if "avg_cost" not in df.columns:
        df = df.assign(avg_cost="")
    return positions_from_frame(df, name)


def read_quotes(path: str | Path) -> pd.DataFrame:
    """quotes -> ``symbol, bid, ask, last, timestamp (UTC, tz-aware), mid[, bid_size, ask_size]``."""
    return quotes_from_text(read_text(path, what="quotes file"), str(path))


def quotes_from_text(text: str, name: str, first_line: int = 1, what: str = "quotes file") -> pd.DataFrame:
    """:func:`read_quotes` on text already in hand (e.g. a block pasted in the workbook);
    ``first_line`` is the row number of the text's first line, so errors name the right row.

    The same text read again (a press reads the day's quotes for its step, to compare the
    Quotes tab with, and to draw the tab) is parsed once: each call gets its own copy."""
    return own_copy(_quotes_parsed(text, name, first_line, what))


@functools.lru_cache(maxsize=8)
def _quotes_parsed(text: str, name: str, first_line: int, what: str) -> pd.DataFrame:
    _, body, first = split_comment_body(text)
    if not body:
        raise InputError(
            name, f"empty {what}: no header row (symbol,bid,ask,last,timestamp)", row=first + first_line - 1
        )
    return parse_table(
        body,
        name,
        first + first_line - 1,
        ["symbol", "bid", "ask", "last", "timestamp"],
        lambda df: _quotes_of_table(df, name),
        numbers=QUOTE_NUMBERS,
        what=what,
    )


#: the quotes' number columns, typed by the C parser when every cell is a plain number
QUOTE_NUMBERS = ("bid", "ask", "last", "bid_size", "ask_size")


def _quotes_of_table(df: pd.DataFrame, name: str) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    out["symbol"] = symbols_of(df, name)
    for c in ("bid", "ask", "last"):
        out[c] = parse_numeric(df, c, name, allow_empty=True)
        check_rows(out[c] < 0, df, name, c, f"{c} must not be negative")
    for c in ("bid_size", "ask_size"):
        if c in df.columns:
            out[c] = parse_numeric(df, c, name, allow_empty=True)
    ts = pd.to_datetime(df["timestamp"], errors="coerce", utc=True, format="mixed")
    check_rows(
        ts.isna() & (df["timestamp"] != ""),
        df,
        name,
        "timestamp",
        lambda i: f"timestamp {df['timestamp'].iloc[i][:40]!r} is not a date-time",
    )
    out["timestamp"] = ts
    both = out["bid"].gt(0) & out["ask"].gt(0)
    out["mid"] = ((out["bid"] + out["ask"]) / 2).where(both, out["last"])
    _no_dupes(out, name)
    return out


def _event_kind(text: str) -> str:
    """An event cell as its kind: lower case, ``-`` and spaces as ``_``, aliases resolved."""
    kind = text.lower().strip().replace("-", "_").replace(" ", "_")
    return EVENT_ALIASES.get(kind, kind)


def read_events(path: str | Path, *, missing_ok: bool = True) -> pd.DataFrame:
    """events -> ``symbol, date (YYYY-MM-DD), event, ratio`` (a header with no rows: no events)."""
    if missing_ok and not Path(path).exists():
        return pd.DataFrame(
            {
                "symbol": pd.Series(dtype=str),
                "date": pd.Series(dtype=str),
                "event": pd.Series(dtype=str),
                "ratio": pd.Series(dtype=float),
            }
        )
    df, name = _load(path, ["symbol", "date", "event"], "events file", allow_empty=True)
    out = pd.DataFrame(index=df.index)
    # each rule on the distinct texts only (a file of 300 events holds a handful of kinds and
    # dates: the column-wide string operations cost ~1 ms each, whatever the file's size)
    ev = via_uniques(df["event"], lambda u: u.map(_event_kind))
    check_rows(
        ~ev.isin(EVENT_KINDS),
        df,
        name,
        "event",
        lambda i: f"event {df['event'].iloc[i][:40]!r} is not one of {'|'.join(EVENT_KINDS)}",
    )
    macro = ev.isin(list(MACRO_EVENTS))
    wide = via_uniques(df["symbol"], lambda u: u.map(lambda v: v.strip() in ("", MARKET_WIDE))).to_numpy(dtype=bool)
    check_rows(
        macro & ~wide,
        df,
        name,
        "symbol",
        lambda i: (
            f"{ev.iloc[i]} is a market-wide event: its symbol must be {MARKET_WIDE!r} or empty, "
            f"got {df['symbol'].iloc[i][:40]!r}"
        ),
    )
    check_rows(
        ~macro & wide,
        df,
        name,
        "symbol",
        lambda i: f"a {ev.iloc[i]} event needs a ticker in symbol ({MARKET_WIDE!r} is for {'|'.join(MACRO_EVENTS)})",
    )
    out["symbol"] = MARKET_WIDE
    if (~macro).any():
        out.loc[~macro, "symbol"] = symbols_of(df[~macro], name)
    dates = via_uniques(df["date"], lambda u: u.map(iso_date))
    check_rows(dates.isna(), df, name, "date", lambda i: f"date {df['date'].iloc[i][:40]!r} is not YYYY-MM-DD")
    out["date"] = dates
    out["event"] = ev.astype(df["event"].dtype)
    if "ratio" in df.columns:
        r = parse_numeric(df, "ratio", name, allow_empty=True)
        check_rows(r <= 0, df, name, "ratio", "ratio must be positive")
        out["ratio"] = r
    else:
        out["ratio"] = float("nan")
    check_rows(  # fail closed: a split whose ratio is unknown cannot be applied to the positions
        (ev == "split") & out["ratio"].isna(),
        df,
        name,
        "ratio",
        "a split needs its ratio (new shares per old share: 2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split)",
    )
    return out


def read_reference(path: str | Path, *, missing_ok: bool = True) -> pd.DataFrame:
    """reference -> ``symbol, sector, adv_shares`` (average daily volume, shares)."""
    if missing_ok and not Path(path).exists():
        return pd.DataFrame(
            {"symbol": pd.Series(dtype=str), "sector": pd.Series(dtype=str), "adv_shares": pd.Series(dtype=float)}
        )
    return _parse(path, ["symbol"], "reference file", _reference_of_table, numbers=("adv_shares",))


def _reference_of_table(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """``adv_shares`` typed by the C parser when every cell is a plain number; otherwise (an empty
    cell, ``$``, thousands, text) the cells' rules of :func:`parse_numeric`, with their messages."""
    out = pd.DataFrame(index=df.index)
    out["symbol"] = symbols_of(df, name)
    out["sector"] = df["sector"] if "sector" in df.columns else ""
    out["adv_shares"] = (
        parse_numeric(df, "adv_shares", name, allow_empty=True) if "adv_shares" in df.columns else float("nan")
    )
    _no_dupes(out, name)
    return out


def read_closes(path: str | Path, *, missing_ok: bool = True) -> pd.DataFrame:
    if missing_ok and not Path(path).exists():
        return pd.DataFrame({"symbol": pd.Series(dtype=str), "close": pd.Series(dtype=float)})
    return _parse(path, ["symbol", "close"], "closes file", _closes_of_table, numbers=("close",))


def _closes_of_table(df: pd.DataFrame, name: str) -> pd.DataFrame:
    out = pd.DataFrame({"symbol": symbols_of(df, name), "close": parse_numeric(df, "close", name)}, index=df.index)
    _no_dupes(out, name)
    return out


def read_restricted(path: str | Path, *, missing_ok: bool = True) -> pd.DataFrame:
    """restricted list -> ``symbol, reason`` (a header with no rows: nothing restricted)."""
    if missing_ok and not Path(path).exists():
        return pd.DataFrame({"symbol": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
    df, name = _load(path, ["symbol"], "restricted list", allow_empty=True)
    out = pd.DataFrame(index=df.index)
    out["symbol"] = symbols_of(df, name)
    out["reason"] = df["reason"] if "reason" in df.columns else "restricted list"
    return out

"""``bars.csv``: the day's minute bars, the snapshot the market benchmarks are taken from.

Columns ``symbol,timestamp,open,high,low,close,volume,vwap`` (one row per symbol and minute):
``timestamp`` the bar's start (ISO 8601; a time without a zone is UTC), prices in $/share,
``volume`` in shares, ``vwap`` the bar's own volume-weighted price ($/share; empty: the close is
used). Rows may come in any order. Saved by the TCA step from Alpaca's minute bars when keys
are configured (:func:`xlexec.execution.marketdata.refresh_bars_file`), or written by hand / by
the demo. See :mod:`xlexec.core.benchmarks` for how they are used.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xlexec.core.benchmarks import BARS_COLUMNS
from xlexec.core.rows import check_rows, parse_numeric
from xlexec.core.trades import symbols_of
from xlexec.errors import InputError
from xlexec.formats.csvio import atomic_write_csv, parse_table, read_text, split_comment_body


def read_bars(path: str | Path) -> pd.DataFrame:
    """bars.csv -> ``BARS_COLUMNS`` (timestamp tz-aware UTC; vwap NaN when empty). A bad row
    raises :class:`InputError` naming the file, row and column. The prices and volumes are
    typed by the C parser when every cell is a plain number (:func:`csvio.parse_table`; any
    other cell: the column's text through :func:`parse_numeric`, the same figures)."""
    name = str(path)
    text = read_text(path, what="bars file")
    _, body, first = split_comment_body(text)
    if not body:
        raise InputError(name, f"empty bars file: no header row ({','.join(BARS_COLUMNS)})", row=first)
    return parse_table(
        body,
        name,
        first,
        BARS_COLUMNS[:7],
        lambda df: _bars_of_table(df, name),
        numbers=_NUMBERS,
        what="bars file",
        allow_empty=True,
    )


#: the bars' number columns ($/share, shares)
_NUMBERS = ("open", "high", "low", "close", "volume", "vwap")


def _bars_of_table(df: pd.DataFrame, name: str) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    out["symbol"] = symbols_of(df, name)
    ts = _timestamps(df["timestamp"])
    check_rows(
        ts.isna(), df, name, "timestamp", lambda i: f"timestamp {df['timestamp'].iloc[i][:40]!r} is not a date-time"
    )
    out["timestamp"] = ts
    for c in ("open", "high", "low", "close", "volume"):
        out[c] = parse_numeric(df, c, name)
        check_rows(out[c] < 0, df, name, c, f"{c} must not be negative")
    out["vwap"] = parse_numeric(df, "vwap", name, allow_empty=True) if "vwap" in df.columns else float("nan")
    check_rows(out["high"] < out["low"], df, name, "high", "high is below low")
    check_rows(
        out.duplicated(["symbol", "timestamp"]),
        df,
        name,
        "timestamp",
        lambda i: f"{out['symbol'].iloc[i]} has two bars at {df['timestamp'].iloc[i][:40]}",
    )
    return out[BARS_COLUMNS]


def _timestamps(text: pd.Series) -> pd.Series:
    """The bars' timestamps (UTC; NaT where not a date-time): ISO 8601, as Alpaca and the demo
    write them, parsed at the C parser's speed; any other value, and the column with it, as
    before by pandas' per-value (``mixed``) parser."""
    ts = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    if ts.isna().any():
        ts = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    return ts


def write_bars(df: pd.DataFrame, path: str | Path) -> Path:
    """Save bars (``BARS_COLUMNS``) as ``bars.csv`` (atomic), sorted by symbol and time."""
    out = df[BARS_COLUMNS].sort_values(["symbol", "timestamp"], kind="stable").copy()
    out["timestamp"] = pd.DatetimeIndex(out["timestamp"]).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    return atomic_write_csv(path, out, {"open": 4, "high": 4, "low": 4, "close": 4, "vwap": 4, "volume": 0})

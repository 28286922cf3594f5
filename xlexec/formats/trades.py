"""``trades.csv`` read and written: the text layout of :mod:`xlexec.core.trades`.

Leading ``# Key: Value`` rows form the header, then a CSV table with the columns of
:data:`xlexec.core.trades.COLUMNS`; written back with the same header and
:data:`~xlexec.core.trades.DECIMALS` (prices $ to 2 places, weight_change to 4).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from xlexec.core.trades import COLUMNS, DECIMALS, NUMERIC, Trades, TradesHeader, date_parses, parse_trades_frame
from xlexec.errors import InputError
from xlexec.formats.csvio import atomic_write_csv, own_copy, parse_table, read_text, split_comment_body


def parse_trades_text(text: str, name: str = "<trades>", *, strict: bool = True) -> Trades:
    """``trades.csv`` text -> :class:`Trades`. The same text read again (a press reads the
    day's trades for the Blotter edits, for its step and to draw the book) is parsed once:
    each call gets its own copy."""
    t = _trades_parsed(text, name, strict)
    return Trades(own_copy(t.df), TradesHeader(dict(t.header.raw)), t.path)


@functools.lru_cache(maxsize=8)
def _trades_parsed(text: str, name: str, strict: bool) -> Trades:
    comments, body, first = split_comment_body(text)
    header = TradesHeader()
    for line_no, c in comments:
        if ":" in c:
            k, v = c.split(":", 1)
            if k.strip():
                header.raw[k.strip()] = v.strip()
                _check_date(k, v, name, line_no)
    if not body.strip():
        raise InputError(name, f"empty trades file: no header row ({','.join(COLUMNS)})", row=first)
    df = parse_table(
        body,
        name,
        first,
        COLUMNS,
        lambda d: parse_trades_frame(d, name, strict=strict),
        numbers=NUMERIC,
        what="trades file",
    )
    return Trades(df, header, name)


def _check_date(key: str, value: str, name: str, row: int | None) -> None:
    """An unparseable ``# Date`` is an error (never ignored: the day would silently be today's)."""
    if key.strip().lower() == "date" and not date_parses(value):
        raise InputError(name, f"header '# Date: {value.strip()[:40]}' is not a date (YYYY-MM-DD)", row=row)


def read_trades(path: str | Path, *, strict: bool = True) -> Trades:
    """Read ``trades.csv``; any problem raises :class:`InputError` naming file, row, column."""
    return parse_trades_text(read_text(path, what="trades file"), str(path), strict=strict)


def trades_from_frame(
    df: pd.DataFrame, header: dict[str, str] | None = None, name: str = "<frame>", *, strict: bool = True
) -> Trades:
    """Trades from an in-memory frame (e.g. a workbook Blotter); values may be typed or text."""
    s = df.copy()
    s.columns = [str(c).strip().lower() for c in s.columns]
    missing = [c for c in COLUMNS if c not in s.columns]
    if missing:
        raise InputError(name, f"missing column(s) {', '.join(missing)}", row=1, column=missing[0])
    s = s.map(
        lambda v: (
            "" if v is None or (isinstance(v, float) and np.isnan(v)) else (repr(v) if isinstance(v, float) else str(v))
        )
    ).apply(lambda c: c.str.strip())
    if not isinstance(df.index, pd.RangeIndex) or df.index.name != "row":
        s.index = pd.RangeIndex(2, 2 + len(s), name="row")
    for k, v in (header or {}).items():
        _check_date(str(k), str(v), name, None)
    return Trades(parse_trades_frame(s, name, strict=strict), TradesHeader(dict(header or {})), name)


def write_trades(trades: Trades, path: str | Path) -> Path:
    """Write back in the same format (header comments first), atomically."""
    df = trades.df.copy()
    comments = [f"{k}: {v}" for k, v in trades.header.raw.items()]
    return atomic_write_csv(path, df.reset_index(drop=True), DECIMALS, comments)

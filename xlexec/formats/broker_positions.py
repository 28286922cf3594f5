"""A broker's positions: an export file (any of the usual layouts) or the broker API's positions,
as ``symbol, shares, avg_cost`` (shares signed, long > 0; avg_cost $ per share)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xlexec.core.positions import empty_positions
from xlexec.core.symbols import canonical_symbol
from xlexec.errors import InputError
from xlexec.formats.csvio import read_table, read_text, split_comment_header
from xlexec.formats.inputs import positions_from_frame

SHARE_ALIASES = ["shares", "qty", "quantity", "qty (quantity)", "position", "net_shares"]
COST_ALIASES = ["avg_cost", "avg_entry_price", "average_cost", "avg cost", "cost_basis_price", "costbasisprice"]


def read_broker_positions(path: str | Path) -> pd.DataFrame:
    """A broker positions export: ``symbol`` + shares (``shares|qty|quantity``) [+ ``avg_cost``
    or ``avg_entry_price``] -> ``symbol, shares, avg_cost``."""
    name = str(path)
    text = read_text(path, what="broker positions file")
    _, body, first = split_comment_header(text)
    if not body:
        raise InputError(name, "empty broker positions file: no header row", row=first)
    df = read_table("\n".join(body), name, first, ["symbol"], what="broker positions file")
    sh = next((c for c in SHARE_ALIASES if c in df.columns), None)
    if sh is None:
        raise InputError(
            name, f"no shares column (one of {', '.join(SHARE_ALIASES)}); header is: {','.join(df.columns)}", row=first
        )
    cost = next((c for c in COST_ALIASES if c in df.columns), None)
    df = pd.DataFrame({"symbol": df["symbol"], "shares": df[sh], "avg_cost": df[cost] if cost else ""}, index=df.index)
    return positions_from_frame(df, name)


def broker_positions_frame(positions) -> pd.DataFrame:
    """``Broker.positions()`` (objects with ``symbol``, ``qty``, ``avg_entry_price``) ->
    ``symbol, shares, avg_cost``."""
    if not positions:
        return empty_positions()
    return pd.DataFrame(
        {
            "symbol": [canonical_symbol(p.symbol) for p in positions],
            "shares": [float(p.qty) for p in positions],
            "avg_cost": [float(p.avg_entry_price or 0.0) for p in positions],
        }
    )

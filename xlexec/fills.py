"""Fills: every broker layout read into one canonical frame.

Canonical columns (the ``broker_fills.csv`` format): ``date`` (YYYY-MM-DD), ``symbol``,
``side`` (buy|sell), ``shares`` (> 0, shares), ``price`` ($/share), ``commission`` ($, >= 0),
``fill_time`` (HH:MM:SS or ISO), ``order_id``, ``client_order_id``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .csvio import parse_numeric, read_table, read_text, split_comment_header
from .errors import InputError
from .trades import SYMBOL_RE

FILL_COLUMNS = ["date", "symbol", "side", "shares", "price", "commission", "fill_time",
                "order_id", "client_order_id"]
DECIMALS = {"price": 2, "commission": 2}


def empty_fills() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("shares", "price", "commission") else object)
                         for c in FILL_COLUMNS})


def canonical_from_strings(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Type-check a string frame already in canonical column names."""
    out = pd.DataFrame(index=df.index)
    out["date"] = df["date"].str[:10] if "date" in df.columns else ""
    sym = df["symbol"].str.upper().str.strip()
    for i, s in enumerate(sym):
        if not SYMBOL_RE.match(s):
            raise InputError(name, f"symbol {df['symbol'].iloc[i][:40]!r} is not a ticker",
                             row=int(df.index[i]), column="symbol")
    out["symbol"] = sym
    side = df["side"].str.lower().str.strip().replace({"b": "buy", "s": "sell", "bot": "buy", "sld": "sell"})
    bad = ~side.isin(["buy", "sell"])
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(name, f"side must be buy or sell, got {df['side'].iloc[i][:20]!r}",
                         row=int(df.index[i]), column="side")
    out["side"] = side
    out["shares"] = parse_numeric(df, "shares", name)
    nonpos = out["shares"] <= 0
    if nonpos.any():
        i = int(nonpos.to_numpy().nonzero()[0][0])
        raise InputError(name, "shares must be positive", row=int(df.index[i]), column="shares")
    out["price"] = parse_numeric(df, "price", name)
    if (out["price"] <= 0).any():
        i = int((out["price"] <= 0).to_numpy().nonzero()[0][0])
        raise InputError(name, "price must be positive", row=int(df.index[i]), column="price")
    out["commission"] = (parse_numeric(df, "commission", name, allow_empty=True).fillna(0.0).abs()
                         if "commission" in df.columns else 0.0)
    for c in ("fill_time", "order_id", "client_order_id"):
        out[c] = df[c] if c in df.columns else ""
    return out


def read_fills(path: str | Path, format: str | None = None) -> pd.DataFrame:
    """Read a fills file (our ``broker_fills.csv`` layout) into the canonical frame."""
    name = str(path)
    text = read_text(path, what="fills file")
    _, body, first = split_comment_header(text)
    if not body:
        raise InputError(name, "empty fills file: no header row", row=first)
    df = read_table("\n".join(body), name, first, ["symbol", "side", "shares", "price"], what="fills file")
    return canonical_from_strings(df, name)


def aggregate_fills(fills: pd.DataFrame) -> pd.DataFrame:
    """Partial fills of one order -> one row: executed shares, share-weighted average price.

    Grouped by client order id when known, else order id, else symbol+side.
    Columns: ``key, symbol, side, shares, avg_price, commission, n_fills, order_id,
    client_order_id, first_fill, last_fill``.
    """
    if fills.empty:
        return pd.DataFrame(columns=["key", "symbol", "side", "shares", "avg_price", "commission",
                                     "n_fills", "order_id", "client_order_id", "first_fill", "last_fill"])
    f = fills.copy()
    coid = f["client_order_id"].fillna("").astype(str)
    oid = f["order_id"].fillna("").astype(str)
    f["key"] = np.where(coid != "", "c:" + coid, np.where(oid != "", "o:" + oid, "s:" + f["symbol"] + "|" + f["side"]))
    f["px_sh"] = f["price"] * f["shares"]
    g = f.groupby("key", sort=False)
    out = g.agg(symbol=("symbol", "first"), side=("side", "first"), shares=("shares", "sum"),
                px_sh=("px_sh", "sum"), commission=("commission", "sum"), n_fills=("shares", "size"),
                order_id=("order_id", "first"), client_order_id=("client_order_id", "first"),
                first_fill=("fill_time", "min"), last_fill=("fill_time", "max")).reset_index()
    out["avg_price"] = out["px_sh"] / out["shares"]
    return out.drop(columns="px_sh")

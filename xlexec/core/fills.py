"""The canonical fills frame (pure): its columns, the empty frame, per-order aggregation and
journal keys. Reading and writing every broker layout is :mod:`xlexec.formats.fills`.

Columns (:data:`FILL_COLUMNS`): ``date`` (YYYY-MM-DD, New York trade date), ``symbol``,
``side`` (buy|sell), ``shares`` (> 0), ``price`` ($/share), ``commission`` ($, >= 0),
``fill_time``, ``order_id`` (the broker's), ``client_order_id`` (ours, the broker's "order
reference"); plus ``fill_id`` (:data:`FILL_ID`, the broker's execution id, '' when unknown) and
the details of :data:`FILL_DETAILS`: ``fees`` ($, the part of ``commission`` that is exchange /
regulatory fees; 0 when the layout does not split them), ``currency`` (ISO code of price and
commission; always the fund's base currency once read), ``account`` (the broker account the
fill is in, '' when the layout does not say), ``fill_time_ny`` (the fill time in New York, ISO
8601 with its offset; '' when the broker gave no time zone).

Journal keys and fills hashes use :data:`FILL_COLUMNS` + ``fill_id`` only: the details never
change what a fill is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FILL_COLUMNS = ["date", "symbol", "side", "shares", "price", "commission", "fill_time", "order_id", "client_order_id"]
FILL_ID = "fill_id"
FILL_DETAILS = ["fees", "currency", "account", "fill_time_ny"]
NUMERIC_COLUMNS = ("shares", "price", "commission", "fees")


def empty_fills() -> pd.DataFrame:
    df = pd.DataFrame(
        {c: pd.Series(dtype=float if c in NUMERIC_COLUMNS else object) for c in FILL_COLUMNS + [FILL_ID] + FILL_DETAILS}
    )
    df.attrs.update(format="xlexec", skipped_rows=0, skipped=[], account="")
    return df


def aggregate_fills(fills: pd.DataFrame) -> pd.DataFrame:
    """Partial fills of one order -> one row: executed shares, share-weighted average price.

    Grouped by client order id when known, else order id, else symbol+side.
    Columns: ``key, symbol, side, shares, avg_price ($/share = sum(price x shares) / sum(shares)),
    commission ($, summed), n_fills, order_id, client_order_id, first_fill, last_fill``.
    """
    if fills.empty:
        return pd.DataFrame(
            columns=[
                "key",
                "symbol",
                "side",
                "shares",
                "avg_price",
                "commission",
                "n_fills",
                "order_id",
                "client_order_id",
                "first_fill",
                "last_fill",
            ]
        )
    f = fills.copy()
    coid = f["client_order_id"].fillna("").astype(str)
    oid = f["order_id"].fillna("").astype(str)
    f["key"] = np.where(coid != "", "c:" + coid, np.where(oid != "", "o:" + oid, "s:" + f["symbol"] + "|" + f["side"]))
    f["px_sh"] = f["price"] * f["shares"]
    f["fill_time"] = f["fill_time"].fillna("").astype(str)
    g = f.groupby("key", sort=False)
    out = g.agg(
        symbol=("symbol", "first"),
        side=("side", "first"),
        shares=("shares", "sum"),
        px_sh=("px_sh", "sum"),
        commission=("commission", "sum"),
        n_fills=("shares", "size"),
        order_id=("order_id", "first"),
        client_order_id=("client_order_id", "first"),
        first_fill=("fill_time", "min"),
        last_fill=("fill_time", "max"),
    ).reset_index()
    out["avg_price"] = out["px_sh"] / out["shares"]
    return out.drop(columns="px_sh")


def fill_keys(fills: pd.DataFrame, day: str) -> list[str]:
    """Deterministic journal keys, one per fill: the broker fill id when known, else
    ``day|order id (or client order id, or symbol:side)|n`` with n the fill's ordinal within
    that order in file order. Re-importing the same fills gives the same keys."""
    if fills.empty:
        return []
    fid = fills[FILL_ID].fillna("").astype(str) if FILL_ID in fills.columns else pd.Series("", index=fills.index)
    oid = fills["order_id"].fillna("").astype(str)
    coid = fills["client_order_id"].fillna("").astype(str)
    grp = oid.where(oid != "", coid.where(coid != "", "sym:" + fills["symbol"] + ":" + fills["side"]))
    d = fills["date"].fillna("").astype(str)
    d = d.where(d != "", day)
    n = grp.groupby([d, grp]).cumcount() + 1
    fallback = d + "|" + grp + "|" + n.astype(str)
    return list(("id:" + fid).where(fid != "", fallback))

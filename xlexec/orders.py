"""Orders: what will actually be sent, derived from trades (pure core).

An order is ``symbol, side, qty (whole shares), order_type (limit|market), limit_price ($,
rounded to the venue tick in the non-aggressive direction), time_in_force, client_order_id``.

* :func:`orders_sha256` is the fingerprint an approval binds to: it covers exactly symbol,
  side, shares, limit price and order type of every order, order-independent.
* :func:`client_order_id` is deterministic (date, symbol, side, batch hash; <= 128 chars), so a
  rerun finds what an earlier run sent instead of sending it again.
"""

from __future__ import annotations

import hashlib
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd

from .trades import Trades, limit_price_of, order_type_of

ORDER_COLUMNS = ["symbol", "side", "qty", "order_type", "limit_price", "time_in_force",
                 "client_order_id", "price", "notional"]
_FALSE = {"n", "no", "false", "0", "exclude", "excluded", "off"}


def tick_size(price: float) -> float:
    """US equities: $0.01 at or above $1, $0.0001 below (Reg NMS Rule 612)."""
    return 0.01 if price >= 1.0 else 0.0001


def round_to_tick(price: float, side: str) -> float:
    """Round a limit to the tick without making it more aggressive than approved.

    Buys round down (never pay more), sells round up (never accept less).
    """
    if price is None or (isinstance(price, float) and math.isnan(price)):
        return float("nan")
    tick = Decimal(str(tick_size(price)))
    d = Decimal(repr(float(price)))
    mode = ROUND_FLOOR if side == "buy" else ROUND_CEILING
    return float((d / tick).to_integral_value(rounding=mode) * tick)


def included_mask(trades: Trades) -> pd.Series:
    """Rows the operator kept (``include`` column, when present: blank/yes = kept)."""
    if "include" not in trades.df.columns:
        return pd.Series(True, index=trades.df.index)
    v = trades.df["include"].astype(str).str.strip().str.lower()
    return ~v.isin(_FALSE)


def orders_from_trades(trades: Trades, *, default_order_type: str = "limit",
                       date: str | None = None, time_in_force: str = "day") -> pd.DataFrame:
    """The orders to send for the included trades, indexed like ``trades.df`` (source rows)."""
    df = trades.df[included_mask(trades)]
    t = Trades(df, trades.header, trades.path)
    otype = order_type_of(t, default_order_type)
    lim = limit_price_of(t)
    out = pd.DataFrame(index=df.index)
    out["symbol"] = df["symbol"]
    out["side"] = df["side"]
    out["qty"] = df["shares"]
    out["order_type"] = otype
    out["limit_price"] = [round_to_tick(p, s) if ot != "market" else np.nan
                          for p, s, ot in zip(lim, df["side"], otype)]
    out["time_in_force"] = time_in_force
    out["price"] = df["price"]
    ref = out["limit_price"].where(out["limit_price"].notna(), df["price"])
    out["notional"] = (out["qty"] * ref).round(2)
    if "ml_score" in df.columns:
        out["ml_score"] = df["ml_score"]
    out["weight_change"] = df["weight_change"]
    h = orders_sha256(out)
    d = date or trades.date or "nodate"
    out["client_order_id"] = [client_order_id(d, s, sd, h) for s, sd in zip(out["symbol"], out["side"])]
    return out[[c for c in ORDER_COLUMNS if c in out.columns] +
               [c for c in out.columns if c not in ORDER_COLUMNS]]


def _canon_qty(q) -> str:
    q = float(q)
    return str(int(q)) if q.is_integer() else repr(q)


def canonical_lines(orders: pd.DataFrame) -> list[str]:
    lines = []
    for sym, side, qty, ot, lp in zip(orders["symbol"], orders["side"], orders["qty"],
                                      orders["order_type"], orders["limit_price"]):
        lim = "MKT" if ot == "market" or lp is None or (isinstance(lp, float) and math.isnan(lp)) \
            else f"{float(lp):.4f}"
        lines.append(f"{sym}|{side}|{_canon_qty(qty)}|{lim}|{ot}")
    return sorted(lines)


def orders_sha256(orders: pd.DataFrame) -> str:
    """sha256 over the exact orders (symbol, side, shares, limit price, order type)."""
    return hashlib.sha256("\n".join(canonical_lines(orders)).encode()).hexdigest()


def client_order_id(date: str, symbol: str, side: str, batch_hash: str) -> str:
    sym = symbol.replace(" ", "_").replace("/", ".")
    return f"xlx-{date}-{sym}-{side}-{batch_hash[:12]}"[:128]

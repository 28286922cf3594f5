"""Orders: what will actually be sent, derived from trades (pure core).

An order is ``symbol, side, qty (whole shares), order_type (limit|market), limit_price ($,
rounded to the venue tick in the non-aggressive direction), time_in_force, client_order_id``.

* :func:`orders_sha256` is the fingerprint an approval binds to: it covers exactly symbol,
  side, shares, limit price and order type of every order and the signal price of its trade,
  order-independent (:func:`canonical_line`).
* :func:`client_order_id` is deterministic (date, symbol, side, batch hash; <= 128 chars), so a
  rerun finds what an earlier run sent instead of sending it again.
* :func:`orders_from_trades_many` builds many days' orders in one vectorised pass (each day keeps
  its own batch hash and ids); :func:`orders_from_trades` is the one-day case of it.

No per-row pandas: tick rounding is numpy in integer ticks (:func:`round_to_ticks`), client ids
are built with array operations, the hash lines with one comprehension over plain values. The
scalar helpers (:func:`round_to_tick`, :func:`client_order_id`, :func:`canonical_line`) define
the rules; the vector versions agree with them exactly (the tests check it), falling
back to the scalar rule for the rare prices a float cannot decide on its own.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd

from xlexec.core.trades import Trades
from xlexec.core.truth import included_values

ORDER_COLUMNS = [
    "symbol",
    "side",
    "qty",
    "order_type",
    "limit_price",
    "time_in_force",
    "client_order_id",
    "price",
    "notional",
]
_EXACT_LIMIT = 1e12  # |price x ticks-per-$| below this: a float decides the tick exactly (see round_to_ticks)


def tick_size(price: float) -> float:
    """US equities: $0.01 at or above $1, $0.0001 below (Reg NMS Rule 612)."""
    return 0.01 if price >= 1.0 else 0.0001


def round_to_tick(price: float, side: str) -> float:
    """Round a limit to the tick without making it more aggressive than approved.

    Buys round down (never pay more), sells round up (never accept less). The price is taken
    as the decimal it prints as (``repr``), so 150.25 stays 150.25 for both sides.
    """
    if price is None or (isinstance(price, float) and math.isnan(price)):
        return float("nan")
    tick = Decimal(str(tick_size(price)))
    d = Decimal(repr(float(price)))
    mode = ROUND_FLOOR if side == "buy" else ROUND_CEILING
    return float((d / tick).to_integral_value(rounding=mode) * tick)


def round_to_ticks(prices, sides) -> np.ndarray:
    """Vector :func:`round_to_tick`: ``prices`` ($, NaN kept) and ``sides`` (``"buy"`` rounds
    down, anything else up), same length; returns float64 limits ($), equal to the scalar rule.

    Works in integer ticks (hundredths at or above $1, ten-thousandths below): ``x = price x
    ticks-per-$``. When ``round(x) / ticks-per-$`` is the price itself, the price's decimal is
    exactly that many ticks and is kept; otherwise a buy takes ``floor(x)``, a sell ``ceil(x)``.
    The few prices within a hair (1e-9 relative) of a tick without being on it, or too large
    for a float to hold the ticks exactly, go through the scalar :func:`round_to_tick`.
    """
    p = np.asarray(prices, dtype=float)
    buy = np.asarray(sides, dtype=object) == "buy"
    if p.shape != buy.shape:
        raise ValueError("prices and sides must have the same length")
    scale = np.where(p >= 1.0, 100.0, 10000.0)
    with np.errstate(invalid="ignore", over="ignore"):
        x = p * scale
        k = np.rint(x)
        on_tick = (k / scale) == p
        near = np.abs(x - k) <= 1e-9 * np.maximum(1.0, np.abs(x))
        ticks = np.where(on_tick, k, np.where(buy, np.floor(x), np.ceil(x)))
        out = ticks / scale
        odd = np.isfinite(p) & (~on_tick & near | (np.abs(x) >= _EXACT_LIMIT))
    for i in np.flatnonzero(odd):
        out[i] = round_to_tick(float(p[i]), "buy" if buy[i] else "sell")
    return out


def included_mask(trades: Trades) -> pd.Series:
    """Rows the operator kept (``include`` column, when present: :func:`xlexec.core.truth.is_included`)."""
    if "include" not in trades.df.columns:
        return pd.Series(True, index=trades.df.index)
    return included_values(trades.df["include"])


def _included(trades: Trades) -> pd.DataFrame:
    if "include" not in trades.df.columns:
        return trades.df
    return trades.df[included_mask(trades)]


def orders_from_trades(
    trades: Trades, *, default_order_type: str = "limit", date: str | None = None, time_in_force: str = "day"
) -> pd.DataFrame:
    """The orders to send for the included trades, indexed like ``trades.df`` (source rows).

    Columns: ``symbol, side, qty (shares), order_type, limit_price ($, NaN for market),
    time_in_force, client_order_id, price ($, signal), notional ($, qty x limit else price)``,
    then ``ml_score`` (when the trades have it) and ``weight_change``.
    """
    return _orders([(date, trades)], default_order_type, time_in_force, (), with_day=False)


def orders_from_trades_many(
    days: Sequence[tuple[str | None, Trades]],
    *,
    default_order_type: str = "limit",
    time_in_force: str = "day",
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """The orders of many days in one frame, one vectorised pass.

    ``days``: ``(date, trades)`` pairs; ``date`` ``None`` = the trades header's date (as in
    :func:`orders_from_trades`). Rows are the days' orders in the given order, indexed by source
    row; columns as :func:`orders_from_trades` (``ml_score`` when any day has it) plus ``keep``
    (trade columns carried along, e.g. ``commission_est``) and ``day`` (position of the day in
    ``days``). Each day has its own batch hash, so its client order ids equal
    ``orders_from_trades(trades, date=date)``'s.
    """
    return _orders(days, default_order_type, time_in_force, keep, with_day=True)


def _stacked(frames: list[pd.DataFrame], keep: Sequence[str]) -> pd.DataFrame:
    """The days' included trades in one frame (one frame: itself; none: an empty frame with the
    columns :func:`_orders` reads, ``symbol``/``side`` as strings and the rest as floats)."""
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="str" if c in ("symbol", "side") else float)
                for c in ("symbol", "side", "shares", "price", "weight_change", *keep)
            }
        )
    return frames[0] if len(frames) == 1 else pd.concat(frames)


def _orders(
    days: Sequence[tuple[str | None, Trades]],
    default_order_type: str,
    time_in_force: str,
    keep: Sequence[str],
    *,
    with_day: bool,
) -> pd.DataFrame:
    frames = [_included(t) for _, t in days]
    dates = [d or t.date or "nodate" for d, t in days]
    lens = np.fromiter((len(f) for f in frames), dtype=np.int64, count=len(frames))
    df = _stacked(frames, keep)
    day = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
    n = len(df)

    if "order_type" in df.columns:
        otype = df["order_type"].fillna(default_order_type).array
    else:
        otype = pd.array([default_order_type] * n, dtype="str")
    ot = np.asarray(otype, dtype=object)
    price = df["price"].to_numpy(dtype=float)
    lim = price
    if "limit_price" in df.columns:
        lp = df["limit_price"].to_numpy(dtype=float)
        lim = np.where(np.isnan(lp), price, lp)
    market = ot == "market"
    sym = df["symbol"].to_numpy(dtype=object)
    side = df["side"].to_numpy(dtype=object)
    if pd.isna(side).any():  # unchecked frames: a gap prints as the old f-string did
        side = np.array([str(x) for x in side.tolist()], dtype=object)
    limit = np.where(market, np.nan, round_to_ticks(np.where(market, np.nan, lim), side))
    qty = df["shares"].to_numpy(dtype=float)
    notional = np.round(qty * np.where(np.isnan(limit), price, limit), 2)

    lines = canonical_lines_of(sym.tolist(), side.tolist(), qty.tolist(), ot.tolist(), limit.tolist())
    short = _batch_hashes(lines, lens)
    ids = _ids(np.array([f"xlx-{d}-" for d in dates], dtype=object)[day], sym, side, np.array(short, dtype=object)[day])

    cols = {
        "symbol": df["symbol"].array,
        "side": df["side"].array,
        "qty": df["shares"].array,
        "order_type": otype,
        "limit_price": limit,
        "time_in_force": pd.array([time_in_force] * n, dtype="str"),
        "client_order_id": pd.array(ids, dtype="str"),
        "price": df["price"].array,
        "notional": notional,
    }
    if "ml_score" in df.columns:
        cols["ml_score"] = df["ml_score"].array
    cols["weight_change"] = df["weight_change"].array
    for c in keep:
        cols[c] = df[c].array
    if with_day:
        cols["day"] = day
    return pd.DataFrame(cols, index=df.index)


def _batch_hashes(lines: list[str], lens: np.ndarray) -> list[str]:
    """Each day's 12-character batch hash: sha256 of the day's sorted canonical order lines
    (``lines`` holds all days' lines in order, ``lens`` the number of lines of each day)."""
    bounds = np.concatenate([[0], np.cumsum(lens)])
    return [
        hashlib.sha256("\n".join(sorted(lines[bounds[i] : bounds[i + 1]])).encode()).hexdigest()[:12]
        for i in range(len(lens))
    ]


def _ids(prefix: np.ndarray, sym: np.ndarray, side: np.ndarray, suffix: np.ndarray) -> np.ndarray:
    """:func:`client_order_id` over arrays: ``prefix`` = ``"xlx-{date}-"``, ``suffix`` = the
    day's 12-character batch hash; symbols' blanks -> ``_`` and ``/`` -> ``.``; cut at 128."""
    if len(sym) == 0:
        return np.array([], dtype=object)
    joined = "\x00".join(sym.tolist())
    if " " in joined or "/" in joined:
        sym = np.array([s.replace(" ", "_").replace("/", ".") for s in sym.tolist()], dtype=object)
    ids = prefix + sym + "-" + side + "-" + suffix
    if max(map(len, ids.tolist())) > 128:
        ids = np.array([s[:128] for s in ids.tolist()], dtype=object)
    return ids


def canonical_line(symbol, side, qty, order_type, limit_price, price=None) -> str:
    """THE approval-hash line of one order: ``symbol|side|qty|limit|order_type|price``, the
    order line (:func:`canonical_lines_of`) plus the signal ``price`` ($, :func:`_signal_text`)."""
    return f"{canonical_lines_of([symbol], [side], [qty], [order_type], [limit_price])[0]}|{_signal_text(price)}"


def canonical_lines_of(symbols, sides, qtys, order_types, limit_prices) -> list[str]:
    """The order line of each order, what the broker is sent: ``symbol|side|qty|limit|order_type``
    (each day's client order ids carry the hash of these lines).

    ``qty`` in shares (a whole number prints without decimals, else its ``repr``); ``limit`` is
    the limit price ($) to 4 decimals, ``MKT`` for a market order or no limit (None/NaN).
    The approval line (:func:`canonical_line`) is this line plus the signal price. Sequences of
    plain Python values; one comprehension per field (formatting a float is per value, whatever
    the wrapper).
    """
    qs = [str(int(q)) if q.is_integer() else repr(q) for q in map(float, qtys)]
    lims = [
        "MKT" if o == "market" or v is None or v != v else f"{float(v):.4f}" for o, v in zip(order_types, limit_prices)
    ]
    return [f"{s}|{sd}|{q}|{lim}|{o}" for s, sd, q, lim, o in zip(symbols, sides, qs, lims, order_types)]


def _signal_text(price) -> str:
    """The signal price ($) as the approval line prints it: exactly as parsed (a whole number
    without decimals, else the float's shortest ``repr``, so any edit shows), ``-`` when missing."""
    try:
        v = float(price)
    except (TypeError, ValueError):
        return "-"
    if v != v:
        return "-"
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _lines(orders: pd.DataFrame) -> list[str]:
    """:func:`canonical_line` of each order (unsorted), over plain Python values (formatting a
    float is per value whatever the wrapper; ``map`` over lists is the fastest way here). A
    frame without a ``price`` column prints ``-`` for it."""
    if len(orders) == 0:
        return []
    base = canonical_lines_of(*(orders[c].tolist() for c in ("symbol", "side", "qty", "order_type", "limit_price")))
    prices = orders["price"].tolist() if "price" in orders.columns else [None] * len(orders)
    return [f"{b}|{_signal_text(p)}" for b, p in zip(base, prices)]


def canonical_lines(orders: pd.DataFrame) -> list[str]:
    """Sorted approval lines: ``symbol|side|qty|limit (4 decimals, MKT for market)|order_type|
    signal price ($, as parsed; - when missing)``."""
    return sorted(_lines(orders))


def orders_sha256(orders: pd.DataFrame) -> str:
    """sha256 over the exact orders (symbol, side, shares, limit price, order type) and the signal
    price each was sized and will be checked and costed against: a price edited after approval
    means no approval covers the orders."""
    return hashlib.sha256("\n".join(canonical_lines(orders)).encode()).hexdigest()


def client_order_id(date: str, symbol: str, side: str, batch_hash: str, account: str | None = None) -> str:
    """``xlx-<date>-<symbol>-<side>-<batch hash 12>`` (the plan id), or with ``account`` (an
    :func:`account_tag`) the id sent to the broker: ``xlx-<date>-<account>-<symbol>-<side>-<hash>``
    (= :func:`with_account` of the plan id). At most 128 characters (Alpaca's limit)."""
    sym = symbol.replace(" ", "_").replace("/", ".")
    acct = f"{account}-" if account else ""
    return f"xlx-{date}-{acct}{sym}-{side}-{batch_hash[:12]}"[:128]


# -- the account in a client order id ---------------------------------------------------------
# Plan ids (orders_from_trades, convert, the approval's view) name no account; the ids an API
# broker receives (and the journal records) carry the broker account's tag right after the
# date. The tag starts with a lower-case ``a``: symbols are upper-case, so a tag can never be
# mistaken for a symbol and the stable part of an order's id, ``xlx-<date>-<tag>-<symbol>-<side>-``
# (:func:`order_key`), is recognisable whatever batch hash (and slice / chase suffix) follows.

ACCOUNT_TAG_CHARS = 6
_HEAD = re.compile(r"^(xlx-(?:\d{4}-\d{2}-\d{2}|nodate)-)(a[0-9a-z]{1,6}-)?")
_KEY = re.compile(r"^xlx-(?:\d{4}-\d{2}-\d{2}|nodate)-a[0-9a-z]{1,6}-[A-Z0-9._]+-(?:buy|sell)-")
_CHILD = re.compile(r"^(.*)-s(\d+)$")


def account_tag(account_number: str) -> str:
    """The short, stable tag of a broker account in client order ids: ``a`` + the last 6 letters
    or digits of the account number, lower-case (``PA3XK0071234`` -> ``a071234``). ValueError
    for a number with no letter or digit."""
    alnum = re.sub(r"[^0-9A-Za-z]", "", str(account_number or ""))
    if not alnum:
        raise ValueError(f"no account number to tag client order ids with ({account_number!r})")
    return "a" + alnum[-ACCOUNT_TAG_CHARS:].lower()


def with_account(coid: str, tag: str) -> str:
    """The plan id ``coid`` as sent for the account ``tag`` (inserted after the date; an id that
    already carries a tag, or is not an xlexec id, is returned as is). At most 128 characters."""
    m = _HEAD.match(coid)
    if m is None or m.group(2):
        return coid
    return (m.group(1) + tag + "-" + coid[m.end() :])[:128]


def without_account(coid: str) -> str:
    """The plan id of a sent id (its account tag removed); other ids unchanged."""
    if coid[15:16] != "a" and coid[11:12] != "a":  # a tag's ``a`` follows ``xlx-YYYY-MM-DD-`` or ``xlx-nodate-``
        return coid
    m = _HEAD.match(coid)
    if m is None or not m.group(2):
        return coid
    return m.group(1) + coid[m.end() :]


def order_key(coid: str) -> str | None:
    """The stable part of a sent id, ``xlx-<date>-<tag>-<symbol>-<side>-``: one per order of a
    day and account whatever the batch hash; None for an id without it (not ours, no tag)."""
    m = _KEY.match(coid)
    return m.group(0) if m else None


_CHASE = re.compile(r"-c\d+$")  # a chase replacement's id: <id>-c<n> (execution.status.chase_client_order_id)


def chase_root(coid: str) -> str:
    """The order a chase replacement replaces (``<id>-c<n>`` -> ``<id>``); any other id as is."""
    return _CHASE.sub("", coid)


def slice_parent(coid: str) -> tuple[str, int] | None:
    """``(parent id, seq)`` of a slice child id (``<parent>-s<seq>``), None for any other id."""
    m = _CHILD.match(coid)
    return (m.group(1), int(m.group(2))) if m else None

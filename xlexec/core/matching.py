"""THE fill -> order matcher: reconciliation and TCA both call :func:`match_fills`.

Each fill is matched to at most one order **of its own day**, trying in order:

1. ``client_order_id``: the fill's client order id (blanks around it ignored) is an order's;
2. ``order_id``: the fill's broker order id is one the journal recorded for an order
   (``order_ids``: broker order id -> client order id), when given;
3. ``symbol+side``: the first order of the day with the fill's symbol and side.

A match by id must also agree on symbol and side, or it is not taken (the next step is tried):
an id typed on the wrong row never moves shares to another stock. Gaps (None/NaN/blank) never
match. Among orders sharing a key, the first (in frame order) wins.

Vectorised: keys are factorised once and looked up by hashing (no per-fill Python), so a year of
fills (hundreds of thousands of rows) matches in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlexec.core.orders import without_account

NONE, BY_CLIENT_ID, BY_ORDER_ID, BY_SYMBOL_SIDE = 0, 1, 2, 3
HOW = np.array(["", "client_order_id", "order_id", "symbol+side"], dtype=object)


@dataclass
class FillMatch:
    """``pos[i]``: position (0-based, frame order) of the order fill ``i`` matched, -1 for none;
    ``how[i]``: :data:`BY_CLIENT_ID`, :data:`BY_ORDER_ID`, :data:`BY_SYMBOL_SIDE` or :data:`NONE`."""

    pos: np.ndarray
    how: np.ndarray

    @property
    def matched(self) -> np.ndarray:
        return self.pos >= 0

    def how_text(self) -> np.ndarray:
        """``how`` as text: ``client_order_id``, ``order_id``, ``symbol+side`` or ``''``."""
        return HOW[self.how]


def text_array(values) -> np.ndarray:
    """Object array of a column's values (gaps stay NaN/None: they never match)."""
    return np.asarray(values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values, dtype=object)


def first_of(key_a: np.ndarray, key_b: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """For each of ``key_a``: ``rows_b`` at the first position of the same key in ``key_b``
    (int64 keys), -1 when absent."""
    if len(key_b) == 0 or len(key_a) == 0:
        return np.full(len(key_a), -1, dtype=np.int64)
    kb = pd.Index(key_b)
    first = ~kb.duplicated(keep="first")
    pos = kb[first].get_indexer(key_a)  # hash look-ups
    return np.where(pos >= 0, rows_b[first][np.maximum(pos, 0)], -1)


def first_match(day_a: np.ndarray, cols_a: list[np.ndarray], day_b: np.ndarray, cols_b: list[np.ndarray]) -> np.ndarray:
    """For each row of ``a``: the position in ``b`` of the first row of the same day with the
    same values (exact text) in every column; -1 when there is none. Gaps never match."""
    n_a, n_b = len(day_a), len(day_b)
    if n_a == 0 or n_b == 0:
        return np.full(n_a, -1, dtype=np.int64)
    key_a, key_b = day_a.astype(np.int64), day_b.astype(np.int64)
    ok_a, ok_b = np.ones(n_a, bool), np.ones(n_b, bool)
    for ca, cb in zip(cols_a, cols_b):
        codes, uniq = pd.factorize(np.concatenate([ca, cb]))
        m = len(uniq) + 1
        if (int(max(key_a.max(), key_b.max())) + 1) * m >= 2**62:  # keep the combined key in int64
            kc, _ = pd.factorize(np.concatenate([key_a, key_b]))
            key_a, key_b = kc[:n_a].astype(np.int64), kc[n_a:].astype(np.int64)
        key_a = key_a * m + codes[:n_a]
        key_b = key_b * m + codes[n_a:]
        ok_a &= codes[:n_a] >= 0
        ok_b &= codes[n_a:] >= 0
    where_b = np.flatnonzero(ok_b)
    return np.where(ok_a, first_of(key_a, key_b[where_b], where_b), -1)


def _id_match(
    fill_ids: np.ndarray, fday: np.ndarray, order_ids: np.ndarray, oday: np.ndarray, *, plain: bool = False
) -> np.ndarray:
    """Position of the first order of the fill's day whose id is the fill's (the fill's id
    stripped; blanks/gaps never match), -1 when none. Only distinct ids are stripped.
    ``plain``: the fills' ids are first taken without their account tag (:func:`plain_ids`,
    per distinct id: the same positions as ``_id_match(plain_ids(fill_ids), ...)``)."""
    codes, uniq = pd.factorize(fill_ids)
    if plain:
        uniq = [without_account(u) if isinstance(u, str) else u for u in uniq]
    clean = np.array([str(u).strip() for u in uniq], dtype=object)
    ccode, cuniq = pd.factorize(clean)  # ' X' and 'X' are one id
    fcode = np.where(codes >= 0, ccode[np.maximum(codes, 0)] if len(ccode) else -1, -1)
    if len(cuniq):
        blank = np.flatnonzero(np.asarray(cuniq, dtype=object) == "")
        if len(blank):
            fcode = np.where(fcode == blank[0], -1, fcode)
    fcode = np.where(fcode >= 0, fcode, len(cuniq))  # no id: a code no order has
    ocode = pd.Index(cuniq).get_indexer(order_ids)  # orders' ids no fill carries: -1
    rows = np.flatnonzero(ocode >= 0)
    m = len(cuniq) + 1
    return first_of(fday.astype(np.int64) * m + fcode, oday[rows].astype(np.int64) * m + ocode[rows], rows)


def plain_ids(ids: np.ndarray) -> np.ndarray:
    """Client order ids without the account tag (:func:`xlexec.core.orders.without_account`):
    the ids sent (and the fills') carry it, a plan's do not; None stays None."""
    codes, uniq = pd.factorize(ids, use_na_sentinel=True)
    plain = np.array([without_account(u) if isinstance(u, str) else u for u in uniq] + [None], dtype=object)
    return plain[codes]


def _column(fills: pd.DataFrame, name: str) -> np.ndarray:
    return text_array(fills[name]) if name in fills.columns else np.full(len(fills), None, dtype=object)


def _agree(pos: np.ndarray, fsym, fside, osym, oside) -> np.ndarray:
    """``pos`` where the order at ``pos`` has the fill's symbol and side, else -1."""
    ok = pos >= 0
    p = np.maximum(pos, 0)
    same = ok & (osym[p] == fsym) & (oside[p] == fside) if len(osym) else np.zeros(len(pos), bool)
    return np.where(same, pos, -1)


def match_fills(
    fills: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    fill_day: np.ndarray | None = None,
    order_day: np.ndarray | None = None,
    order_ids: Mapping[str, str] | None = None,
) -> FillMatch:
    """Match every fill to an order (see the module docstring for the rule).

    ``fills``: ``symbol, side`` and, when known, ``client_order_id``, ``order_id`` (canonical
    fills frame). ``orders``: ``symbol, side, client_order_id`` (e.g. the journaled intents, or
    :func:`xlexec.core.orders.orders_from_trades`). ``fill_day`` / ``order_day``: the day
    (any int code) of each row when several days are matched at once (default: one day).
    ``order_ids``: broker order id -> client order id (the journal's order snapshots).
    """
    nf, no = len(fills), len(orders)
    fday = np.zeros(nf, np.int64) if fill_day is None else np.asarray(fill_day, dtype=np.int64)
    oday = np.zeros(no, np.int64) if order_day is None else np.asarray(order_day, dtype=np.int64)
    how = np.zeros(nf, np.int8)
    if nf == 0 or no == 0:
        return FillMatch(np.full(nf, -1, dtype=np.int64), how)
    fsym, fside = _column(fills, "symbol"), _column(fills, "side")
    osym, oside = text_array(orders["symbol"]), text_array(orders["side"])
    coids = plain_ids(text_array(orders["client_order_id"].astype(str)))
    pos = _id_match(_column(fills, "client_order_id"), fday, coids, oday, plain=True)
    pos = _agree(pos, fsym, fside, osym, oside)
    how[pos >= 0] = BY_CLIENT_ID
    rest = np.flatnonzero(pos < 0)
    if order_ids and len(rest) and "order_id" in fills.columns:
        codes, uniq = pd.factorize(_column(fills, "order_id")[rest])
        to_coid = np.array([order_ids.get(str(u).strip()) for u in uniq] + [None], dtype=object)
        via = to_coid[codes]  # code -1 (no order id) -> the trailing None
        p2 = _agree(_id_match(via, fday[rest], coids, oday, plain=True), fsym[rest], fside[rest], osym, oside)
        pos[rest] = p2
        how[rest[p2 >= 0]] = BY_ORDER_ID
        rest = rest[p2 < 0]
    if len(rest):
        p3 = first_match(fday[rest], [fsym[rest], fside[rest]], oday, [osym, oside])
        pos[rest] = p3
        how[rest[p3 >= 0]] = BY_SYMBOL_SIDE
    return FillMatch(pos.astype(np.int64), how)

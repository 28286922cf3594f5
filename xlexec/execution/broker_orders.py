"""What the broker already has for a batch: exactly once without trusting the local journal.

The journal (``live/journal.sqlite``) says what *this* folder sent. It can be lost, restored from
an old copy, or be one of two ``live/`` folders pointed at one account. Before a batch is sent,
the engine therefore asks the broker itself for the day's orders (:func:`broker_day_orders`: one
listing, ``status=all``, submitted after :func:`listing_start`, every page) and matches the
batch against them (:func:`match_batch`):

* an order whose client order id the broker already has is **already sent**: never sent again
  (the engine checks it is the same order, else it is a client order id collision);
* an order whose *stable part* (:func:`xlexec.core.orders.order_key`: date, account tag, symbol,
  side) matches a broker order that is open or (partly) filled under another client order id
  (another batch hash: the batch changed; or the whole order beside its slice child) is
  **refused as a duplicate**, naming the broker's client order id. Children of one sliced parent
  (``<parent>-s1``, ``-s2``...) are the same schedule, not duplicates of each other; a chase
  replacement (``<id>-c<n>``) belongs to the order it replaces.

Units: times are ISO 8601; quantities shares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from xlexec.core.orders import chase_root, order_key, slice_parent
from xlexec.core.symbols import canonical_symbol
from xlexec.execution.brokers.base import OPEN_STATUSES, Broker, Order

NY = ZoneInfo("America/New_York")
LOOKBACK_DAYS = 4  # calendar days before the trading day: DAY orders queued ahead over a long weekend
DUPLICATE = "duplicate"


def listing_start(day: str) -> dt.datetime:
    """00:00 New York time ``LOOKBACK_DAYS`` calendar days before ``day`` (UTC): the listing's ``after``."""
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0, 0), NY) - dt.timedelta(days=LOOKBACK_DAYS)
    return start.astimezone(dt.UTC)


def broker_day_orders(broker: Broker, day: str) -> list[Order]:
    """The broker's orders with an xlexec client order id submitted since :func:`listing_start`
    (``GET /v2/orders?status=all&after=...``, all pages). Broker faults propagate."""
    listed = broker.list_orders("all", after=listing_start(day).isoformat())
    return [o for o in listed if str(o.client_order_id or "").startswith("xlx-")]


def _root(coid: str) -> str:
    """The order a chase replacement replaces (``<id>-c<n>`` -> ``<id>``)."""
    return chase_root(coid)


def _same_schedule(a: str, b: str) -> bool:
    """Two children of one sliced parent (different days of one schedule)."""
    pa, pb = slice_parent(_root(a)), slice_parent(_root(b))
    return pa is not None and pb is not None and pa[0] == pb[0]


@dataclass
class BrokerMatch:
    """``at_broker``: row index -> the broker's order under that row's client order id;
    ``duplicates``: row index -> ``("duplicate", note)``."""

    at_broker: dict[Any, Order] = field(default_factory=dict)
    duplicates: dict[Any, tuple[str, str]] = field(default_factory=dict)


def match_batch(orders: pd.DataFrame, listed: list[Order]) -> BrokerMatch:
    """Match the batch (``symbol, side, client_order_id`` per row) against the broker's orders."""
    out = BrokerMatch()
    by_coid = {o.client_order_id: o for o in listed}
    by_key: dict[str, list[Order]] = {}
    for o in listed:
        k = order_key(o.client_order_id)
        if k is not None:
            by_key.setdefault(k, []).append(o)
    for idx, r in zip(orders.index, orders.to_dict("records"), strict=True):
        coid = str(r["client_order_id"])
        if coid in by_coid:
            out.at_broker[idx] = by_coid[coid]
            continue
        key = order_key(coid)
        if key is None:
            continue
        sym, side = canonical_symbol(r["symbol"]), str(r["side"]).lower()
        for o in by_key.get(key, []):
            live = o.status in OPEN_STATUSES or float(o.filled_qty or 0) > 0
            mine = _root(o.client_order_id) == coid or _same_schedule(o.client_order_id, coid)
            same = canonical_symbol(o.symbol) == sym and str(o.side).lower() == side
            if live and same and not mine:
                out.duplicates[idx] = (
                    DUPLICATE,
                    f"duplicate: {sym} {side} already {o.status} today as {o.client_order_id} "
                    f"(at the broker: order {o.id}); not sent again",
                )
                break
    return out

"""Finding an order at Schwab by its fields: the Trader API carries no client order id.

After an unknown outcome (a lost 201, a timeout) the journaled intent (symbol, side, whole
shares, limit $/share or none for market, and the UTC moment it was journaled) is matched
against the account's orders entered since then. :func:`match_intent` is pure: given the
broker's orders (already mapped to :class:`~xlexec.execution.brokers.base.Order`) it returns

* ``("one", order)``: exactly one unclaimed order with the same symbol, side, quantity and
  price (within $0.00005), entered within ``[entered_at - skew, entered_at + window]``;
* ``("none", None)``: none: the order was not created (safe to send again);
* ``("ambiguous", [orders])``: two or more: which one is ours cannot be told. Never resent,
  never picked: reported for the operator to resolve.

``claimed`` are order ids already accounted for (returned by a 201, or matched to another
intent): they are never matched again, so two identical rows never map to one order.
Times are tz-aware datetimes; ``skew_seconds`` allows for the broker's clock running behind ours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from xlexec.execution.brokers.base import BrokerFault, Order

PRICE_TOLERANCE = 5e-5  # $/share


class AmbiguousOrderMatch(BrokerFault):
    """Two or more broker orders fit one intent: the operator decides; nothing is resent."""

    def __init__(self, message: str, order_ids: list[str]):
        super().__init__(message)
        self.order_ids = order_ids


@dataclass(frozen=True)
class Intent:
    symbol: str
    side: str  # buy | sell
    qty: int  # shares
    limit_price: float | None  # $/share; None = market
    entered_at: dt.datetime  # tz-aware: when the intent was journaled (before the send)


def _when(o: Order) -> dt.datetime | None:
    if not o.submitted_at:
        return None
    t = dt.datetime.fromisoformat(str(o.submitted_at).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def fits(o: Order, it: Intent, *, skew_seconds: float = 60.0, window_seconds: float = 3600.0) -> bool:
    """True when ``o`` has the intent's symbol, side, quantity, price and an entered time in the window."""
    if o.symbol.upper() != it.symbol.upper() or o.side.lower() != it.side.lower():
        return False
    if abs(float(o.qty) - float(it.qty)) > 1e-9:
        return False
    if it.limit_price is None:
        if o.order_type != "market":
            return False
    elif o.order_type != "limit" or o.limit_price is None or abs(o.limit_price - it.limit_price) > PRICE_TOLERANCE:
        return False
    t = _when(o)
    if t is None:
        return False
    lo = it.entered_at - dt.timedelta(seconds=skew_seconds)
    hi = it.entered_at + dt.timedelta(seconds=window_seconds)
    return lo <= t <= hi


def match_intent(
    orders: Iterable[Order],
    it: Intent,
    *,
    claimed: Iterable[str] = (),
    skew_seconds: float = 60.0,
    window_seconds: float = 3600.0,
) -> tuple[str, Order | list[Order] | None]:
    """``("one", order)``, ``("none", None)`` or ``("ambiguous", [orders])`` (see the module docstring)."""
    taken = {str(c) for c in claimed}
    hits = [
        o
        for o in orders
        if str(o.id) not in taken and fits(o, it, skew_seconds=skew_seconds, window_seconds=window_seconds)
    ]
    if not hits:
        return "none", None
    if len(hits) == 1:
        return "one", hits[0]
    return "ambiguous", sorted(hits, key=lambda o: str(o.id))

"""Order statuses (Alpaca's vocabulary, which the other adapters map onto): the one set of
*open* statuses, used by reconciliation and by every broker adapter and the sending engine.

An order is open while the broker may still fill it. ``replaced`` is **closed**: a replace
(the limit chase) closes the old order and its replacement, a new order, is the live one
(Alpaca: "replaced — the order was replaced by another order"). Counting ``replaced`` as open
would cancel or wait for an order the broker will never fill again.
"""

from __future__ import annotations

OPEN_STATUSES = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "partially_filled",
        "pending_cancel",
        "pending_replace",
        "accepted_for_bidding",
        "calculated",
        "held",
    }
)
FINAL_STATUSES = frozenset(
    {"filled", "canceled", "expired", "rejected", "done_for_day", "stopped", "suspended", "replaced"}
)


def is_open(status: str | None) -> bool:
    """True when ``status`` (any case, blanks ignored) is one of :data:`OPEN_STATUSES`."""
    return str(status or "").strip().lower() in OPEN_STATUSES

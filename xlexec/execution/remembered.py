"""Hand an adapter that finds orders by their fields (Schwab: no client order id) what the journal knows.

:func:`remember_journaled` passes each of the day's journaled intents (symbol, side, shares,
limit $/share, the UTC moment journaled) and the broker order id journaled for it, if any, to
``broker.remember_intent``; adapters without that method (Alpaca, paper) are left untouched.
:func:`ambiguous_note` is the one line an order gets when several broker orders fit its intent:
it is never resent.
"""

from __future__ import annotations

from xlexec.execution.brokers.base import Broker
from xlexec.execution.brokers.schwab_match import AmbiguousOrderMatch


def remember_journaled(broker: Broker, intents: dict[str, dict], latest: dict[str, dict]) -> None:
    """``intents``: the day's journaled intents by client order id; ``latest``: the day's last
    order snapshots by client order id (their ``id`` is the broker's order id)."""
    remember = getattr(broker, "remember_intent", None)
    if remember is None:
        return
    for coid, it in intents.items():
        remember(coid, it, order_id=str((latest.get(coid) or {}).get("id") or "") or None)


def ambiguous_note(err: BaseException | str) -> str | None:
    """``"ambiguous: resolve by hand (...)"`` when ``err`` is (or says) a several-orders match; else None."""
    if isinstance(err, AmbiguousOrderMatch) or "resolve by hand" in str(err):
        return f"ambiguous: resolve by hand ({err}); not resent"
    return None

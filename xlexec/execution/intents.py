"""The day's order intents as journaled (kind ``INTENT``, key = client order id). Numbers read
back from their payloads go through :func:`xlexec.core.money.finite_or_none` (missing stays
missing)."""

from __future__ import annotations

from xlexec.store import journal as J


def day_intents(jr: J.Journal, day: str) -> dict[str, dict]:
    """The intents of ``day`` by client order id (the first one journaled wins), in journal order."""
    out: dict[str, dict] = {}
    for p in jr.payloads(J.INTENT, day):
        out.setdefault(p["client_order_id"], p)
    return out

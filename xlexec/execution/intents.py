"""The day's order intents as journaled (kind ``INTENT``, key = client order id), and the
numbers read back from journal payloads."""

from __future__ import annotations

import math
from typing import Any

from xlexec.store import journal as J


def day_intents(jr: J.Journal, day: str) -> dict[str, dict]:
    """The intents of ``day`` by client order id (the first one journaled wins), in journal order."""
    out: dict[str, dict] = {}
    for p in jr.payloads(J.INTENT, day):
        out.setdefault(p["client_order_id"], p)
    return out


def num_or_none(v: Any) -> float | None:
    """``v`` as a float, or None when it is missing, not a number or NaN."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v

"""Hand an adapter that finds orders by their fields (Schwab: no client order id) what the journal knows.

:func:`remember_journaled` passes each of the day's journaled intents (symbol, side, shares,
limit $/share, the UTC moment journaled) and the broker order id journaled for it, if any, to
``broker.remember_intent``; adapters without that method (Alpaca, paper) are left untouched.
The operator's resolutions of ambiguous matches (:mod:`xlexec.store.resolutions`) are honoured
here: an adopted broker order id is the order's (followed, never resent); ``not_sent`` hides
the candidates from that intent's lookup and starts its window at the resolution, so the engine
sends it once and a later lookup finds that send.
:func:`ambiguous_note` is the one line an order gets when several broker orders fit its intent:
it is never resent; :func:`note_ambiguous` also journals the candidates (the resolution's basis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from xlexec.execution.brokers.base import Broker
from xlexec.execution.brokers.schwab_match import AmbiguousOrderMatch
from xlexec.store.resolutions import NOT_SENT, OURS, record_ambiguous


def remember_journaled(
    broker: Broker, intents: dict[str, dict], latest: dict[str, dict], resolved: dict[str, dict] | None = None
) -> None:
    """``intents``: the day's journaled intents by client order id; ``latest``: the day's last
    order snapshots by client order id (their ``id`` is the broker's order id); ``resolved``: the
    operator's resolutions by client order id (:func:`xlexec.store.resolutions.resolutions`)."""
    remember = getattr(broker, "remember_intent", None)
    if remember is None:
        return
    for coid, it in intents.items():
        res = (resolved or {}).get(coid) or {}
        oid = str((latest.get(coid) or {}).get("id") or "") or None
        if res.get("resolution") == OURS:
            oid = oid or str(res["order_id"])
        if res.get("resolution") == NOT_SENT:
            later = max(_utc(it["submitted_at"]), _utc(res.get("at") or it["submitted_at"])).isoformat()
            remember(coid, {**it, "submitted_at": later}, order_id=oid, not_ours=list(res.get("candidates") or []))
        else:
            remember(coid, it, order_id=oid)


def _utc(iso: Any) -> dt.datetime:
    t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def ambiguous_note(err: BaseException | str) -> str | None:
    """``"ambiguous: resolve by hand (...)"`` when ``err`` is (or says) a several-orders match; else None."""
    if isinstance(err, AmbiguousOrderMatch) or "resolve by hand" in str(err):
        return f"ambiguous: resolve by hand ({err}); not resent"
    return None


def note_ambiguous(append: Callable[[str, str, dict], Any], day: str, coid: str, err: Any) -> str | None:
    """:func:`ambiguous_note`, and when ``err`` is an :class:`AmbiguousOrderMatch` its candidates
    journaled for ``coid`` (``append``: the journal's ``append(kind, key, payload)`` for the day)."""
    note = ambiguous_note(err) if isinstance(err, BaseException | str) else None
    if note is not None and isinstance(err, AmbiguousOrderMatch):
        record_ambiguous(append, coid, err.order_ids, note)
        note += f"; xlexec orders resolve {day} {coid} --order-id ID | --not-sent --by NAME --reason TEXT"
    return note

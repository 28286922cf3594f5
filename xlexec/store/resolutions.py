"""Ambiguous matches and the operator's resolutions of them, in the journal.

A broker without client order ids (Schwab) finds an order of unknown outcome by its fields; when
two or more of the account's orders fit, the engine journals the ambiguity (kind
``order_ambiguous``, key ``coid|id,id,...``: the candidate broker order ids, sorted; payload
``client_order_id, candidates, note``) and never resends. The operator then records, once, what
happened (kind ``order_resolution``, key ``coid``; payload ``client_order_id, resolution``
(:data:`OURS` with ``order_id``: that broker order is ours, adopt it; :data:`NOT_SENT`: none of
the candidates is ours, the engine may send it once), ``candidates`` (the broker's candidates
when resolved, with the recorded ones), ``reason, operator`` (the name given), ``login`` (the
OS or database login), ``at`` (ISO UTC)). One resolution per client order id: the same one again
records nothing; a contradicting one is refused (:func:`existing_resolution`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xlexec.errors import RefusedError
from xlexec.store.journal import AMBIGUOUS, RESOLUTION, Journal

OURS = "ours"
NOT_SENT = "not_sent"


def ambiguous_key(coid: str, order_ids: list[str]) -> str:
    return f"{coid}|{','.join(sorted(str(i) for i in order_ids))}"


def record_ambiguous(append: Callable[[str, str, dict], Any], coid: str, order_ids: list[str], note: str) -> None:
    """Journal that several broker orders (``order_ids``) fit ``coid``'s intent (``append``: the
    journal's ``append(kind, key, payload)`` bound to the day); the same set again records nothing."""
    ids = sorted(str(i) for i in order_ids)
    append(AMBIGUOUS, ambiguous_key(coid, ids), {"client_order_id": coid, "candidates": ids, "note": note[:500]})


def ambiguities(jr: Journal, day: str) -> dict[str, list[dict]]:
    """The ambiguous matches journaled for ``day``, by client order id (in journal order)."""
    out: dict[str, list[dict]] = {}
    for p in jr.payloads(AMBIGUOUS, day):
        out.setdefault(str(p["client_order_id"]), []).append(p)
    return out


def resolutions(jr: Journal, day: str) -> dict[str, dict]:
    """The operator's resolutions recorded for ``day``, by client order id."""
    return {str(p["client_order_id"]): p for p in jr.payloads(RESOLUTION, day)}


def describe(p: dict) -> str:
    """``order 1002 is ours`` / ``not sent`` with who and when, for a message."""
    what = f"broker order {p.get('order_id')} is ours" if p.get("resolution") == OURS else "not sent (none is ours)"
    return f"{what}, by {p.get('operator')} ({p.get('login')}) at {p.get('at')}"


def existing_resolution(jr: Journal, day: str, coid: str, resolution: str, order_id: str | None) -> dict | None:
    """The resolution already recorded for ``coid`` when it says the same (None when there is
    none); :class:`RefusedError` when it says otherwise."""
    got = resolutions(jr, day).get(coid)
    if got is None:
        return None
    if got.get("resolution") == resolution and (resolution != OURS or str(got.get("order_id")) == str(order_id)):
        return got
    raise RefusedError(
        f"{day} {coid}: already resolved ({describe(got)}); a contradicting resolution is refused", rule="resolution"
    )

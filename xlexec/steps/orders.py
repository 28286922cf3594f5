"""Step ``resolve`` (``xlexec orders resolve DAY CLIENT_ORDER_ID``): the operator's resolution of
an ambiguous match.

A broker without client order ids (Schwab) finds an order of unknown outcome by its fields; when
several of the account's orders fit, the order is reported ``ambiguous`` and never resent
(:mod:`xlexec.execution.remembered`, journaled as kind ``order_ambiguous``). Here a named
operator says which it is:

* ``order_id``: that broker order is ours. It must be among the orders the broker lists now as
  fitting the intent (refused otherwise, or when it does not exist). Journaled with the order's
  snapshot: submit and status follow it from then on and never send the order again.
* ``not_sent``: none of the candidates is ours. The next submit sends the order once (the
  candidates are never matched to it again; its lookup window starts at the resolution).

Refused (:class:`RefusedError`, one line, nothing recorded): no intent of that client order id
journaled that day, no ambiguous outcome recorded for it, an empty reason or operator, both or
neither of ``order_id`` / ``not_sent``, or a resolution contradicting the one already recorded
(the same one again records nothing: ``already``). Runs under the day's lock (not beside a submit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from xlexec.errors import RefusedError
from xlexec.execution.brokers.base import BrokerFault, Order
from xlexec.execution.brokers.schwab_match import AmbiguousOrderMatch
from xlexec.execution.intents import day_intents
from xlexec.execution.remembered import remember_journaled
from xlexec.steps.context import Context
from xlexec.steps.execution import open_broker
from xlexec.store import journal as J
from xlexec.store.day import Day
from xlexec.store.journal import DayLock, current_user
from xlexec.store.resolutions import NOT_SENT, OURS, ambiguities, describe, existing_resolution, resolutions


@dataclass
class ResolveResult:
    """The resolution recorded (or found already recorded) for one client order id."""

    day: str
    client_order_id: str
    resolution: str  # ours | not_sent
    order_id: str | None
    candidates: list[str] = field(default_factory=list)
    operator: str = ""
    login: str = ""
    reason: str = ""
    at: str = ""
    already: bool = False
    exit_code: int = 0

    def line(self) -> str:
        said = describe(self.to_json() | {"operator": self.operator, "login": self.login, "at": self.at})
        then = (
            "submit and status follow it; never resent" if self.resolution == OURS else "the next submit sends it once"
        )
        pre = "already recorded: " if self.already else "recorded: "
        return f"{self.day} {self.client_order_id}: {pre}{said} ({self.reason}); {then}"

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "client_order_id": self.client_order_id,
            "resolution": self.resolution,
            "order_id": self.order_id,
            "candidates": list(self.candidates),
            "operator": self.operator,
            "login": self.login,
            "reason": self.reason,
            "at": self.at,
            "already": self.already,
        }


def _one_line(text: str | None) -> str:
    return " ".join(str(text or "").split())


def _result(day: str, p: dict, already: bool) -> ResolveResult:
    return ResolveResult(
        day,
        str(p["client_order_id"]),
        str(p["resolution"]),
        p.get("order_id"),
        list(p.get("candidates") or []),
        str(p.get("operator") or ""),
        str(p.get("login") or ""),
        str(p.get("reason") or ""),
        str(p.get("at") or ""),
        already,
    )


def _candidates(broker, coid: str) -> list[str]:
    """The broker orders fitting ``coid``'s intent now (not claimed by another journaled order)."""
    try:
        got = broker.get_order_by_client_id(coid)
    except AmbiguousOrderMatch as e:
        return sorted(str(i) for i in e.order_ids)
    return [str(got.id)] if isinstance(got, Order) else []


def resolve(
    ctx: Context,
    day: str,
    client_order_id: str,
    *,
    by: str,
    reason: str,
    order_id: str | None = None,
    not_sent: bool = False,
) -> ResolveResult:
    """Record the operator's resolution of ``client_order_id``'s ambiguous match on ``day`` (see
    the module docstring)."""
    coid, by, reason = str(client_order_id).strip(), _one_line(by), _one_line(reason)
    order_id = (str(order_id).strip() or None) if order_id is not None else None
    tag = f"{day} {coid}"
    if (order_id is None) == (not not_sent):
        raise RefusedError(f"{tag}: give exactly one of --order-id ID (that order is ours) or --not-sent")
    if not by:
        raise RefusedError(f"{tag}: the operator's name is required (--by NAME)")
    if not reason:
        raise RefusedError(f"{tag}: a reason is required (--reason TEXT)")
    resolution = OURS if order_id is not None else NOT_SENT
    with DayLock(ctx.day_dir(day), "resolve"):
        jr = ctx.journal()
        intents = day_intents(jr, day)
        if coid not in intents:
            raise RefusedError(f"{tag}: no order intent of that client order id is journaled that day")
        recorded = ambiguities(jr, day).get(coid)
        if not recorded:
            raise RefusedError(f"{tag}: no ambiguous outcome is recorded for it: nothing to resolve")
        same = existing_resolution(jr, day, coid, resolution, order_id)
        if same is not None:
            return _result(day, same, already=True)
        broker = open_broker(ctx, Day(ctx.live_dir, day))
        try:
            if getattr(broker, "remember_intent", None) is None:
                raise RefusedError(f"{tag}: broker {broker.name} finds orders by client order id: nothing to resolve")
            others = {c: it for c, it in intents.items() if c != coid}
            remember_journaled(broker, others, jr.latest_orders(day), resolutions(jr, day))
            broker.remember_intent(coid, intents[coid])
            try:
                now = _candidates(broker, coid)
                snap = broker.get_order(order_id) if order_id is not None and order_id in now else None
            except BrokerFault as e:
                raise RefusedError(f"{tag}: the broker could not list the candidates ({e}); nothing recorded") from None
        finally:
            broker.close()
        if order_id is not None and snap is None:
            raise RefusedError(
                f"{tag}: broker order {order_id} is not among the orders the broker lists for this intent "
                f"({', '.join(now) or 'none fit now'}); nothing recorded"
            )
        payload = {
            "client_order_id": coid,
            "resolution": resolution,
            "order_id": order_id,
            "candidates": sorted({*now, *(i for p in recorded for i in p.get("candidates") or [])}),
            "reason": reason,
            "operator": by,
            "login": current_user(),
            "at": ctx.now().astimezone(dt.UTC).isoformat(),
        }
        with jr.transaction():
            jr.append(J.RESOLUTION, coid, payload, day=day, actor=ctx.user)
            if snap is not None:
                snap.client_order_id = coid
                key = f"{coid}|{snap.status}|{float(snap.filled_qty or 0):g}"
                jr.append(J.ORDER, key, {**snap.to_dict(), "day": day}, day=day, actor=ctx.user)
        return _result(day, payload, already=False)

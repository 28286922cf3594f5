"""After submission: the status of the day's orders, order timeouts and the limit chase.

**Status** (:func:`refresh_status`): one listing from the broker, then per-order lookups for any
not listed; changes are journaled (kind ``ORDER``) and ``execution_log.csv`` is rewritten.

**Timeouts and chase** (:func:`enforce_timeouts`): an order still open ``order_timeout_minutes``
after its root's first submission is cancelled; with ``execution.chase.enabled`` an open limit is
moved by ``chase.step`` ($; buys up, sells down, on the tick) at most ``chase.max_moves`` times,
the remaining quantity going on a replacement with the deterministic client order id
``<root>-c<n>`` (:func:`chase_client_order_id`), journaled as an intent *before* the request so
a rerun or crash never chases twice. Before any replacement a call passes submit's checks, with
submit's functions (:func:`_chase_gate`): ``execution.enabled``, the kill switch
(``live/KILL_SWITCH``), the journal's hash chain, today's session (the orders' day must be it),
the account the broker reports (mode and ``execution.alpaca.account_number``) and the policy
(:mod:`xlexec.store.policy`: a config looser than the policy in force, or a policy looser than
the one the order was sent under). A refusal lists every due move as ``chase_refused`` and is
journaled (kind ``refusal``, :mod:`xlexec.store.refusals`); timeouts still cancel. Each
replacement passes the gate right before the wire (:func:`xlexec.execution.guards.wire_gate`). The move number is
bounded by the periods elapsed since the root order (``chase.minutes`` each) and at most one new
move per order is sent per call, so a rerun or a clock jump never fires more than one move per
period; each move is keyed in the journal (its client order id), so none is sent twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.ages import age_text
from xlexec.core.money import finite_or_none
from xlexec.core.orders import round_to_tick
from xlexec.core.policy import describe_all
from xlexec.errors import BrokerError, GateClosed, RefusedError
from xlexec.execution.brokers.base import (
    OPEN_STATUSES,
    Broker,
    BrokerFault,
    BrokerUnavailable,
    DuplicateClientOrderId,
    Order,
)
from xlexec.execution.engine import _lookup, _Recorder, require_account, require_session
from xlexec.execution.execution_log import NY, write_execution_log
from xlexec.execution.guards import gated, kill_switch_state, wire_gate
from xlexec.execution.intents import day_intents
from xlexec.execution.mode import describe_mode
from xlexec.execution.remembered import note_ambiguous, remember_journaled
from xlexec.store import journal as J
from xlexec.store.integrity import require_intact
from xlexec.store.policy import effective_policy, gate_check, policy_by_sha, require_in_force
from xlexec.store.refusals import record_refusal
from xlexec.store.resolutions import resolutions

STATUS_COLUMNS = [
    "client_order_id",
    "symbol",
    "side",
    "qty",
    "limit_price",
    "status",
    "filled_qty",
    "filled_avg_price",
    "remaining",
    "order_id",
    "submitted_at",
    "updated_at",
    "note",
]


def refresh_status(ctx, day: str, broker: Broker) -> pd.DataFrame:
    """Every order of ``day``: status, filled qty, average fill price ($), remaining (shares).

    Asks the broker (one listing, then per-order lookups for any not listed), journals changes
    and rewrites ``execution_log.csv``. Refused orders are listed with status ``refused``.
    """
    jr = ctx.journal()
    rec = _Recorder(jr, day, ctx.user)
    intents = day_intents(jr, day)
    listed: dict[str, Order] = {}
    note_all = ""
    remember_journaled(broker, intents, jr.latest_orders(day), resolutions(jr, day))
    if intents:
        start = dt.datetime.fromisoformat(day).replace(tzinfo=NY) - dt.timedelta(days=1)
        try:
            for one in broker.list_orders("all", after=start.isoformat()):
                listed[one.client_order_id] = one
        except BrokerFault as e:
            note_all = f"broker unreachable: {e}"
    rows = []
    for coid, it in intents.items():
        o: Order | None = listed.get(coid)
        note = ""
        if o is None and not note_all:
            try:
                o = broker.get_order_by_client_id(coid)
                if o is None:
                    note = "not at the broker (never arrived); rerun submit to send it"
            except BrokerFault as e:
                note = note_ambiguous(rec.append, day, coid, e) or f"broker unreachable: {e}"
        if o is not None:
            rec.order(o)
            rows.append(_broker_row(coid, o))
        else:
            rows.append(_last_known_row(coid, it, jr.latest_orders(day).get(coid) or {}, note or note_all))
    rows += [_refused_row(p) for p in jr.payloads(J.REFUSED, day) if p["client_order_id"] not in intents]
    df = pd.DataFrame(rows, columns=STATUS_COLUMNS).drop_duplicates("client_order_id", keep="last")
    for c in ("qty", "limit_price", "filled_qty", "filled_avg_price", "remaining"):
        df[c] = df[c].astype(float)
    write_execution_log(jr, ctx.live_dir, day)
    return df.reset_index(drop=True)


def _broker_row(coid: str, o: Order) -> dict:
    """The status row of an order as the broker reports it now (shares, $)."""
    return {
        "client_order_id": coid,
        "symbol": o.symbol,
        "side": o.side,
        "qty": float(o.qty),
        "limit_price": o.limit_price if o.limit_price is not None else np.nan,
        "status": o.status,
        "filled_qty": float(o.filled_qty or 0),
        "filled_avg_price": o.filled_avg_price if o.filled_avg_price is not None else np.nan,
        "remaining": o.remaining if o.is_open else 0.0,
        "order_id": o.id,
        "submitted_at": o.submitted_at or "",
        "updated_at": o.updated_at or "",
        "note": _status_note(o),
    }


def _last_known_row(coid: str, it: dict, last: dict, note: str) -> dict:
    """The status row of an order the broker did not report: its intent and last journaled
    snapshot (``last``, may be empty); remaining unknown (NaN)."""
    return {
        "client_order_id": coid,
        "symbol": it["symbol"],
        "side": it["side"],
        "qty": float(it["qty"]),
        "limit_price": finite_or_none(it.get("limit_price")) or np.nan,
        "status": last.get("status", "unknown"),
        "filled_qty": float(last.get("filled_qty") or 0),
        "filled_avg_price": finite_or_none(last.get("filled_avg_price")) or np.nan,
        "remaining": np.nan,
        "order_id": last.get("id", ""),
        "submitted_at": last.get("submitted_at") or "",
        "updated_at": last.get("updated_at") or "",
        "note": note,
    }


def _refused_row(p: dict) -> dict:
    """The status row of an order refused before it was sent (journal ``REFUSED`` payload)."""
    return {
        "client_order_id": p["client_order_id"],
        "symbol": p.get("symbol", ""),
        "side": p.get("side", ""),
        "qty": float(p.get("qty") or 0),
        "limit_price": np.nan,
        "status": "refused",
        "filled_qty": 0.0,
        "filled_avg_price": np.nan,
        "remaining": 0.0,
        "order_id": "",
        "submitted_at": "",
        "updated_at": "",
        "note": p.get("reason", ""),
    }


def _status_note(o: Order) -> str:
    if o.status == "partially_filled":
        return f"partial fill {o.filled_qty:g}/{o.qty:g}, {o.remaining:g} open"
    if o.status in ("expired", "done_for_day"):
        return f"DAY order {o.status} at the close ({o.filled_qty:g}/{o.qty:g} filled)"
    if o.status == "canceled":
        return f"canceled ({o.filled_qty:g}/{o.qty:g} filled)"
    return ""


def chase_limit(limit: float, side: str, step: float) -> float:
    """The next, more aggressive limit: buys up by ``step`` ($), sells down, on the tick.

    Exact decimal arithmetic on the prices as they print (518.05 + 0.05 is 518.10, not the
    float 518.0999... floored to 518.09); a step off the tick is then rounded to the tick
    (buys down, sells up: never more than ``step`` more aggressive)."""
    d_limit, d_step = Decimal(repr(float(limit))), Decimal(repr(float(step)))
    moved = d_limit + d_step if side == "buy" else d_limit - d_step
    return round_to_tick(float(moved), side) if moved > 0 else limit


def chase_moves_due(age_min: float, period_min: float, max_moves: int) -> int:
    """How many chase moves are due ``age_min`` minutes after the root order: one per elapsed
    period, at most ``max_moves`` (the caller sends at most one new move per call)."""
    if period_min <= 0:
        return int(max_moves)
    return max(0, min(int(max_moves), int(math.floor(age_min / period_min))))


def chase_client_order_id(root_coid: str, n: int) -> str:
    """Deterministic id of the n-th chase replacement of ``root_coid`` (<= 128 chars)."""
    return f"{root_coid[:120]}-c{n}"


def _parse_ts(v) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def enforce_timeouts(ctx, day: str, broker: Broker, now: dt.datetime) -> pd.DataFrame:
    """Cancel orders of ``day`` still open ``order_timeout_minutes`` after first submission, and
    (when ``execution.chase.enabled``) chase open limits.

    Chase: an order open ``chase.minutes`` since its last price gets its limit moved by
    ``chase.step`` ($; buys up, sells down, on the tick), at most ``chase.max_moves`` times per
    order; the remaining quantity goes on a replacement with the deterministic client order id
    ``<root>-c<n>``, journaled as an intent (``chase_of`` = root) *before* the request, so a rerun
    or crash never chases twice. The timeout counts from the root order's submission.
    Returns the actions taken (client_order_id, symbol, action, note). ``now`` is tz-aware UTC.
    A timeout of 0 disables the cancel.
    """
    ex = ctx.config.execution
    jr = ctx.journal()
    st = refresh_status(ctx, day, broker)
    rec = _Recorder(jr, day, ctx.user)
    intents = day_intents(jr, day)
    seen = jr.latest_orders(day)  # the broker's own timestamps
    live_dir = Path(ctx.live_dir)
    actions = []
    cache: dict[str, Any] = {}  # the policy, computed once per call when a chase move is due
    open_ = st[st["status"].isin(OPEN_STATUSES) & (st["order_id"] != "")]
    for r in open_.itertuples(index=False):
        it = intents.get(r.client_order_id, {})
        root = it.get("chase_of") or r.client_order_id
        # the broker's times; else (a broker that does not report when an order was sent, as
        # TWS for an order placed by an earlier connection) the journaled snapshot's, else the
        # intent's (our clock, journaled right before the send)
        first = _parse_ts((seen.get(root) or {}).get("submitted_at") or r.submitted_at) or _parse_ts(
            intents.get(root, {}).get("submitted_at")
        )
        last = (
            _parse_ts(r.submitted_at)
            or _parse_ts((seen.get(r.client_order_id) or {}).get("submitted_at"))
            or _parse_ts(it.get("submitted_at"))
        )
        if first is None or last is None:
            continue
        chased = [p for p in intents.values() if p.get("chase_of") == root]
        # the last move as journaled (our clock), whatever time the broker stamps on it
        ours = [t for t in (_parse_ts(p.get("submitted_at")) for p in chased) if t is not None]
        last = max([last, *ours])
        age_min = (now - first).total_seconds() / 60.0
        since_move = (now - last).total_seconds() / 60.0
        moves = len(chased)
        due = chase_moves_due(age_min, ex.chase.minutes, ex.chase.max_moves)
        if ex.order_timeout_minutes > 0 and age_min >= ex.order_timeout_minutes:
            actions.append(_timeout_cancel(broker, rec, r, age_min, ex.order_timeout_minutes, now))
        elif (
            ex.chase.enabled
            and since_move >= ex.chase.minutes
            and moves < due
            and not (isinstance(r.limit_price, float) and math.isnan(r.limit_price))
        ):
            why = _chase_refusal(ctx, jr, day, broker, cache) or _bound_refusal(
                ctx, jr, day, intents.get(root, {}), cache["policy"]
            )
            if why:
                actions.append(
                    {"client_order_id": r.client_order_id, "symbol": r.symbol, "action": "chase_refused", "note": why}
                )
                continue
            with gated(broker, live_dir, policy_check=cache.get("gate")):
                actions.append(_chase_one(broker, rec, r, root, moves + 1, ex.chase.step, now, live_dir))
    if actions:
        write_execution_log(jr, ctx.live_dir, day)
    return pd.DataFrame(actions, columns=["client_order_id", "symbol", "action", "note"])


def _chase_refusal(ctx, jr: J.Journal, day: str, broker: Broker, cache: dict[str, Any]) -> str | None:
    """Why every chase move of this call is refused (:func:`_chase_gate`, asked once per call),
    or None. A refusal is journaled (kind ``refusal``, :mod:`xlexec.store.refusals`); the line
    says when it could not be."""
    if "why" not in cache:
        rule, why = _chase_gate(ctx, jr, day, broker, cache)
        if why:
            why = _journaled(ctx, day, rule, why)
        cache["why"] = why
    return cache["why"]


def _journaled(ctx, day: str, rule: str, why: str) -> str:
    """``why``, journaled as a chase refusal; with a note when it could not be recorded."""
    trades = Path(ctx.live_dir) / day / "trades.csv"
    note = record_refusal(
        ctx.live_dir, step="chase", rule=rule, day=day, line=why, file=trades if trades.exists() else None,
        actor=ctx.user,
    )  # fmt: skip
    return f"{why}; {note}" if note else why


def _chase_gate(ctx, jr: J.Journal, day: str, broker: Broker, cache: dict[str, Any]) -> tuple[str, str | None]:
    """The checks submit passes, passed again before any replacement is sent: ``(rule, why)``,
    ``why`` None when the chase may go on (then ``cache`` holds the policy in force and the wire
    gate's check). In order: ``execution.enabled``; the kill switch (``live/KILL_SWITCH``); the
    journal's hash chain (:func:`xlexec.store.integrity.require_intact`); today's session
    (``day`` must be it: :func:`xlexec.execution.engine.require_session`); the account the
    broker reports (:func:`xlexec.execution.engine.require_account`); the policy in force (a
    config that loosens it is refused, :func:`xlexec.store.policy.require_in_force`)."""
    cfg, live_dir = ctx.config, Path(ctx.live_dir)
    if not cfg.execution.enabled:  # a chase move sends a replacement order: switched off too
        return "execution_enabled", "execution.enabled is false: limit not moved, nothing sent"
    if (ks := kill_switch_state(live_dir)) is not None:
        return "kill_switch", f"kill switch: {ks}; limit not moved, nothing sent"
    tag = f"[{describe_mode(broker)['text']}]"
    try:
        require_intact(live_dir, tag=tag)
        require_session(ctx, broker, day, tag, what="chased")
        try:
            acct = broker.account()
        except BrokerFault as e:
            raise BrokerError(f"{tag} broker unreachable (the account): {e}; nothing sent") from None
        require_account(ctx, broker, acct, tag)
        policy = require_in_force(jr, effective_policy(cfg), day=day, what="chase", source=cfg.source, tag=tag).current
    except RefusedError as e:
        return e.rule, f"{e}".replace("nothing sent", "limit not moved, nothing sent")
    except BrokerError as e:
        return "broker_unreachable", f"{e}".replace("nothing sent", "limit not moved, nothing sent")
    cache["gate"] = gate_check(live_dir, policy)
    cache["policy"] = policy
    return "", None


def _bound_refusal(ctx, jr: J.Journal, day: str, root_intent: dict, policy: dict[str, Any]) -> str | None:
    """Why a chase move is refused because the policy in force (passed by :func:`_chase_gate`)
    is looser than the one the root order was sent under (its intent's ``policy_sha256``;
    intents from before policies were recorded are judged by the policy in force alone), or
    None. Journaled as a chase refusal (rule ``policy_bound``)."""
    sent_under = root_intent.get("policy_sha256")
    if not sent_under:
        return None
    bound = policy_by_sha(jr, sent_under)
    if bound is None:
        why = f"policy: the policy {sent_under[:12]} the order was sent under is not in the journal; limit not moved"
        return _journaled(ctx, day, "policy_bound", why)
    changes = describe_all(bound, policy)
    if changes:
        why = (
            f"policy: looser than when the order was sent ({'; '.join(changes)}); limit not moved, nothing sent "
            "(cancel it and submit again under the policy in force)"
        )
        return _journaled(ctx, day, "policy_bound", why)
    return None


def _timeout_cancel(broker: Broker, rec: _Recorder, r, age_min: float, timeout_min: int, now: dt.datetime) -> dict:
    """Cancel an order open ``age_min`` >= ``timeout_min`` minutes; journals the action (``ACTION``)."""
    try:
        broker.cancel_order(r.order_id)
        note = f"open {age_text(age_min * 60)} >= order_timeout_minutes {timeout_min}: cancel requested"
        action = "cancel"
        with contextlib.suppress(BrokerFault):
            rec.order(broker.get_order(r.order_id))
    except BrokerFault as e:
        action, note = "cancel_failed", str(e)[:300]
    rec.append(
        J.ACTION,
        f"{now.isoformat()}|timeout_cancel|{r.client_order_id}",
        {"button": "timeout", "client_order_id": r.client_order_id, "result": action, "note": note},
    )
    return {"client_order_id": r.client_order_id, "symbol": r.symbol, "action": action, "note": note}


def _chase_one(
    broker: Broker, rec: _Recorder, r, root: str, n: int, step: float, now: dt.datetime, live_dir: Path
) -> dict:
    """Move ``r``'s limit (move ``n`` of ``root``): the intent is journaled before the request,
    and the gate (:func:`~xlexec.execution.guards.wire_gate`) is passed before both."""
    new_coid = chase_client_order_id(root, n)
    new_limit = chase_limit(float(r.limit_price), r.side, step)
    try:
        wire_gate(live_dir, what=f"chase {new_coid}")
    except GateClosed as e:
        return {"client_order_id": r.client_order_id, "symbol": r.symbol, "action": "chase_refused", "note": str(e)}
    intent = {
        "client_order_id": new_coid,
        "symbol": r.symbol,
        "side": r.side,
        "qty": float(r.remaining),
        "order_type": "limit",
        "limit_price": new_limit,
        "price": None,
        "arrival_price": None,
        "submitted_at": now.isoformat(),
        "chase_of": root,
        "replaces": r.client_order_id,
        "broker": getattr(broker, "name", ""),
    }
    fresh = rec.append(J.INTENT, new_coid, intent)
    note = f"chase {n}: limit {float(r.limit_price):g} -> {new_limit:g} for {r.remaining:g} remaining"
    o = None
    if not fresh:  # an earlier run journaled this move: did it reach the broker?
        o, _err = _lookup(broker, new_coid, backoff=())
    if o is None:
        try:
            o = broker.replace_order(r.order_id, limit_price=new_limit, client_order_id=new_coid)
        except GateClosed as e:
            return {"client_order_id": r.client_order_id, "symbol": r.symbol, "action": "chase_refused", "note": str(e)}
        except DuplicateClientOrderId:
            o, _err = _lookup(broker, new_coid)
        except BrokerUnavailable as e:
            o, _err = _lookup(broker, new_coid)
            if o is None:
                return {
                    "client_order_id": r.client_order_id,
                    "symbol": r.symbol,
                    "action": "chase_unknown",
                    "note": f"{note}: outcome unknown ({e}); the next run asks the broker",
                }
        except BrokerFault as e:
            rec.append(
                J.REFUSED,
                f"{new_coid}|chase",
                {"client_order_id": new_coid, "code": "chase_refused", "reason": str(e)[:300]},
            )
            return {
                "client_order_id": r.client_order_id,
                "symbol": r.symbol,
                "action": "chase_refused",
                "note": f"{note}: broker said {str(e)[:200]}",
            }
    if o is not None:
        rec.order(o)
        with contextlib.suppress(BrokerFault):
            rec.order(broker.get_order(r.order_id))  # the old one, now replaced
    return {"client_order_id": new_coid, "symbol": r.symbol, "action": "chase", "note": note}

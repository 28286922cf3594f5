"""Order submission: guards, pre-trade limits, exactly-once sending.

The engine behind ``xlexec submit`` and the workbook's Submit button. Works with any
:class:`Broker`. After submission: :mod:`xlexec.execution.status` (status, timeouts, the limit
chase), :mod:`xlexec.execution.killswitch` (cancel-all, incident report),
:mod:`xlexec.execution.execution_log` (``execution_log.csv``, rewritten at the end of a submit)
and :mod:`xlexec.execution.pnl` (the day's P&L).

**Exactly once.** Every order has a deterministic ``client_order_id`` (date, the broker
account's tag, symbol, side, batch hash: ``xlx-<date>-<acct>-<symbol>-<side>-<hash>``,
:func:`xlexec.core.orders.with_account`). The whole batch runs under the day's lock
(:class:`DayLock`; a second submit gets :class:`LockedError` naming the holder). Before anything
is sent, the broker's own list of the day's orders is read
(:mod:`xlexec.execution.broker_orders`), so a lost journal or a second ``live/`` folder cannot
send twice: an order the broker has under the same id is ``already_sent`` (its intent journaled
again), one of the same date, account, symbol and side live or filled under another id (a
changed batch) is refused as a ``duplicate`` naming the broker's id. For each order:

1. an intent (journal kind ``INTENT``, key = client order id) is written and committed
   *before* the request;
2. if an intent already existed (an earlier run, maybe killed), the broker is asked for that
   client order id first: found -> ``already_sent``, nothing sent;
3. a 422 "client_order_id must be unique" -> looked up -> ``already_sent``;
4. a timeout / 5xx / reset / garbled reply (outcome unknown) -> looked up (bounded retries with
   backoff): found -> sent; not there -> sent again (safe: the broker refuses a second order with
   the same client order id); still unknown -> ``unknown`` and exit code 1, so a rerun resolves it;
5. every broker reply is journaled (kind ``ORDER``, key ``coid|status|filled_qty``).

**Guards** (:class:`RefusedError`, nothing sent): ``execution.enabled`` (false refuses every
submit and every chase move), human approval of the exact order list
(``require_human_approval``), kill switch (trades header ``Kill Switch: TRIGGERED`` or the file
``live/KILL_SWITCH``), the header's ``Safety Checks: PASSED`` (anything else or no line refuses,
approval or not), market open (broker clock) unless ``allow_closed``, and ``live=True`` for a
live account, and the account the broker reports must fit the mode
(:func:`xlexec.execution.mode.check_account`: paper = ``PA...`` at Alpaca, ``DU...`` at IBKR;
``execution.alpaca.account_number`` / ``execution.ibkr.account_id`` when set). The trades file
must be dated today's session and its approval given that session
(:mod:`xlexec.execution.session`: the paper broker's clock is ``ctx.now()``, a real broker's its
own clock). The mode (PAPER/LIVE, broker, host) is part of every result and message. The kill
switch is checked again right before each order request (:func:`xlexec.execution.guards.wire_gate`,
installed on the broker for the batch by :func:`~xlexec.execution.guards.gated`; the adapters pass
it after their rate-limit wait): an order still waiting when cancel-all runs is refused, not sent.

**Policy and maker-checker** (:mod:`xlexec.store.policy`; :class:`RefusedError`, nothing sent): a
config that loosens the policy in force is refused until ``xlexec policy approve``; an approval
recorded under a tighter policy than today's is refused (approve again); with
``require_four_eyes`` the approval's OS login must not be the submitter's, and a non-empty
``approvers`` must list it. The gate right before the wire also closes when the restricted list
changes during the run.

**Pre-trade limits** (the classes of :mod:`xlexec.execution.guards`, per order; a refused order
gets a note, a journal ``REFUSED`` event and is not sent): restricted list,
``max_order_size_usd`` ($ notional = shares x limit; a market order at shares x ask for a buy,
x bid for a sell, never the signal price), quote age (``max_quote_age_seconds``: an order that
needs a quote is refused when it is older, or has no time), price
collar (``price_collar_pct``, fraction, vs the latest quote mid; fails closed without a quote),
duplicates (same symbol and side already live or filled under
another client order id, that day or in the account's session), buying power
(buys <= buying_power x (1 - buffer) + sells' notional;
``fit_buying_power`` drops the lowest ``ml_score`` first, else the smallest |weight_change|),
``max_daily_trades`` (counted per account over today's session: every intent of the journal
whatever trades file or date it came from, and every order the broker lists for the session
and account, so a lost journal or another ``live/`` does not reset the count). Orders already journaled as
intents skip the limits (they passed them when first sent and may be at the broker).

**Slicing** (``slice=True`` / ``xlexec submit --slice``): the plan of ``xlexec convert --slice``
(one recipe, :func:`xlexec.execution.slicing.day_plan`). Orders above ``validation.max_adv_pct`` of ADV
(``live/reference.csv``) are cut to today's child (client order id ``<parent id>-s1``,
:func:`xlexec.core.slicing.child_id`); the schedule is journaled (kind ``SLICE``, key ``parent|day``)
before any intent, or reused as recorded when ``convert --slice`` (or an earlier submit) already
journaled it. Children due today from earlier days' schedules (``-s<seq>``) are added: they are
covered by their parent's approval (checked against the origin day's approval when approval is
required). Children go through the same limits (size, collar, buying power, daily count...) and
the same exactly-once path as any order. Without ``slice``: a recorded schedule of today's
orders refuses the batch (the full quantity must not go out on top of it), and children due
from earlier days are not sent (a message says so).

**Test hook**: ``XLEXEC_CRASH_AT=<point>:<n>`` kills the process (SIGKILL) the n-th time it
reaches ``<point>`` (``before_intent``, ``after_intent_before_send``,
``after_send_before_response``); see :func:`xlexec.faults.crash_point`. Used by the crash tests only.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.corporate_actions import apply_splits
from xlexec.core.money import finite_or_none
from xlexec.core.orders import account_tag, orders_from_trades, orders_sha256, with_account
from xlexec.core.policy import policy_sha256
from xlexec.core.quotes import mid_map
from xlexec.core.slicing import SlicePlan, schedule_lines
from xlexec.core.symbols import canonical_symbol
from xlexec.core.trades import SAFETY_CHECKS_OK, header_sha256
from xlexec.errors import BrokerError, GateClosed, RefusedError
from xlexec.execution import session as _session
from xlexec.execution import slicing as _slicing
from xlexec.execution.broker_orders import broker_day_orders, match_batch
from xlexec.execution.brokers.base import (
    OPEN_STATUSES,
    Broker,
    BrokerFault,
    BrokerUnavailable,
    DuplicateClientOrderId,
    Order,
    OrderRejected,
    OrderRequest,
)
from xlexec.execution.brokers.schwab_match import AmbiguousOrderMatch
from xlexec.execution.execution_log import write_execution_log
from xlexec.execution.guards import gated, kill_switch_state, pretrade_checks, require_enabled, wire_gate
from xlexec.execution.intents import day_intents
from xlexec.execution.mode import check_account, configured_account, describe_mode
from xlexec.execution.ratelimit import RateLimiter
from xlexec.execution.read_ahead import ReadAhead
from xlexec.execution.remembered import note_ambiguous, remember_journaled
from xlexec.faults import crash_point
from xlexec.formats.inputs import read_events, read_positions, read_restricted
from xlexec.store import journal as J
from xlexec.store.approvals import find_approval
from xlexec.store.day import Day
from xlexec.store.integrity import require_intact
from xlexec.store.journal import DayLock, current_user
from xlexec.store.policy import check_approval, effective_policy, gate_check, require_in_force
from xlexec.store.resolutions import resolutions

__all__ = ["SubmitResult", "crash_point", "describe_mode", "sent_whole", "submit_batch"]

RESULT_COLUMNS = [
    "symbol",
    "side",
    "qty",
    "limit_price",
    "client_order_id",
    "order_id",
    "status",
    "filled_qty",
    "filled_avg_price",
    "note",
    "outcome",
]
CRASH_POINTS = ("before_intent", "after_intent_before_send", "after_send_before_response")

# bounded retries after an unknown outcome (seconds); module-level so tests can shorten them
LOOKUP_BACKOFF = (0.2, 0.5, 1.0, 2.0)
SEND_ATTEMPTS = 3


# ---------------------------------------------------------------------------------------------
# result


@dataclass
class SubmitResult:
    day: str
    mode: dict[str, Any]
    orders: pd.DataFrame
    sent: int = 0
    already_sent: int = 0
    refused: int = 0
    unknown: int = 0
    exit_code: int = 0
    execution_log: str | None = None
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"[{self.mode['text']}] {self.day}: {self.sent} sent, {self.already_sent} already at the "
            f"broker, {self.refused} refused, {self.unknown} unknown"
        )

    def not_at_broker(self) -> list[str]:
        """One line per order of the batch that is not at the broker (refused by a limit,
        dropped by ``--fit-buying-power``, rejected, or unknown): ``SYMBOL side qty: note``.
        Empty exactly when ``exit_code`` is 0 (with no other reason to fail)."""
        o = self.orders
        if not len(o):
            return []
        bad = ~_is_at_broker(o)
        return [
            f"{r['symbol']} {r['side']} {float(r['qty']):g} ({r['outcome']}): {r['note'] or r['status']}"
            for r in o[bad].to_dict("records")
        ]

    def to_json(self) -> dict[str, Any]:
        rows = []
        for r in self.orders.to_dict("records"):
            rows.append(
                {
                    k: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v))
                    for k, v in r.items()
                }
            )
        return {
            "day": self.day,
            "mode": self.mode["mode"],
            "broker": self.mode["broker"],
            "host": self.mode["host"],
            "sent": self.sent,
            "already_sent": self.already_sent,
            "refused": self.refused,
            "unknown": self.unknown,
            "exit_code": self.exit_code,
            "execution_log": self.execution_log,
            "summary": self.summary(),
            "not_at_broker": self.not_at_broker(),
            "messages": list(self.messages),
            "orders": rows,
        }


def _is_at_broker(orders: pd.DataFrame) -> pd.Series:
    """bool per result row: the order is at the broker (sent now or found already sent) and the
    broker did not reject it."""
    return orders["outcome"].isin(["sent", "already_sent"]) & (orders["status"] != "rejected")


# ---------------------------------------------------------------------------------------------
# journal and exactly-once sending


def _snapshot_key(o: Order) -> str:
    return f"{o.client_order_id}|{o.status}|{float(o.filled_qty or 0):g}"


class _Recorder:
    """Thread-safe journal writes for one batch, one transaction at a time (one lock).

    :meth:`intent` returns once the intent is committed (it is written before its request);
    intents of other threads waiting meanwhile go in the same transaction (group commit: one
    commit, one sync to disk, for all). ``defer_replies``: the broker's reply to a send
    (:meth:`reply`) is queued, never written by the sending thread on its own (no second commit
    per order on its way to the next one); the next intent's transaction takes it along, and
    :meth:`flush` writes the rest (the batch calls it before reading the journal back). A reply
    lost to a crash is found again by client order id on the rerun; an intent is never lost
    once :meth:`intent` has returned."""

    def __init__(self, jr: J.Journal, day: str, actor: str, *, defer_replies: bool = False):
        self.jr, self.day, self.actor = jr, day, actor
        self.lock = threading.Lock()
        self.defer_replies = defer_replies
        self._intents: list[tuple[str, dict, threading.Event]] = []
        self._replies: list[tuple[str, dict]] = []
        self._queue_lock = threading.Lock()

    def append(self, kind: str, key: str, payload: dict) -> bool:
        with self.lock:
            return self.jr.append(kind, key, payload, day=self.day, actor=self.actor)

    def order(self, o: Order) -> None:
        self.append(J.ORDER, _snapshot_key(o), {**o.to_dict(), "day": self.day})

    def intent(self, key: str, payload: dict) -> None:
        """Journal an intent; returns only once it is committed (raises when it could not be)."""
        done = threading.Event()
        with self._queue_lock:
            self._intents.append((key, payload, done))
        with self.lock:
            if not done.is_set():  # nobody took it along while this thread waited: write the queue
                self._write_queued()
        if not done.is_set():
            raise RuntimeError(f"intent {key}: not journaled; not sent")

    def reply(self, o: Order) -> None:
        """The broker's reply to a send: :meth:`order`, or queued when replies are deferred."""
        if not self.defer_replies:
            self.order(o)
            return
        with self._queue_lock:
            self._replies.append((_snapshot_key(o), {**o.to_dict(), "day": self.day}))

    def flush(self) -> None:
        """Write every queued reply (blocking)."""
        with self.lock:
            self._write_queued()

    def _write_queued(self) -> None:
        """Under :attr:`lock`: every queued intent and reply in one transaction; on failure they
        go back to the queue (the next holder tries again) and the error propagates."""
        with self._queue_lock:
            intents, self._intents = self._intents, []
            replies, self._replies = self._replies, []
        if not intents and not replies:
            return
        try:
            with self.jr.transaction():
                if intents:
                    self.jr.append_many(J.INTENT, [(k, p) for k, p, _ in intents], day=self.day, actor=self.actor)
                if replies:
                    self.jr.append_many(J.ORDER, replies, day=self.day, actor=self.actor)
        except BaseException:
            with self._queue_lock:
                self._intents[:0], self._replies[:0] = intents, replies
            raise
        for _k, _p, done in intents:
            done.set()


def _lookup(broker: Broker, coid: str, backoff=None) -> tuple[Order | None, str | AmbiguousOrderMatch | None]:
    """Ask the broker for ``coid`` with bounded retries. (order|None, None) or (None, error);
    several fitting orders (a broker without client order ids): the :class:`AmbiguousOrderMatch`
    itself, so the caller can journal its candidates."""
    err = None
    delays = (0.0,) + tuple(LOOKUP_BACKOFF if backoff is None else backoff)
    for d in delays:
        if d:
            time.sleep(d)
        try:
            return broker.get_order_by_client_id(coid), None
        except BrokerUnavailable as e:
            err = str(e)
        except AmbiguousOrderMatch as e:
            return None, e
        except BrokerFault as e:
            return None, str(e)
    return None, err


COLLISION = "client_order_id_collision"


def _refusal(row: dict, code: str) -> dict:
    return {
        "client_order_id": row["client_order_id"],
        "symbol": row["symbol"],
        "side": row["side"],
        "qty": float(row["qty"]),
        "code": code,
    }


def _differs(got: dict, row: dict) -> list[str]:
    """The fields (symbol, side, qty, limit_price) in which ``got`` (an intent or a broker order)
    is another order than ``row``: one client order id must never stand for two orders."""
    out = []
    if canonical_symbol(got.get("symbol") or "") != canonical_symbol(row.get("symbol") or ""):
        out.append("symbol")
    if str(got.get("side") or "").lower() != str(row.get("side") or "").lower():
        out.append("side")
    if _numbers_differ(got.get("qty"), row.get("qty"), 1e-9):
        out.append("qty")
    if _numbers_differ(got.get("limit_price"), row.get("limit_price"), 5e-5):
        out.append("limit_price")
    return out


def _absent(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and v != v)


def _numbers_differ(a: object, b: object, tol: float) -> bool:
    """Both given and more than ``tol`` apart, or one of them given but not a finite number
    (inf, text): a missing side (None, blank, NaN) is not compared."""
    if _absent(a) or _absent(b):
        return False
    x, y = finite_or_none(a), finite_or_none(b)
    return x is None or y is None or abs(x - y) > tol


def _collision_note(coid: str, what: str, fields: list[str]) -> str:
    return (
        f"client order id collision: {coid} already stands for another order ({what}: differs in "
        f"{', '.join(fields)}); not sent, never treated as already sent"
    )


def collisions(orders: pd.DataFrame, intents: dict[str, dict]) -> dict[Any, tuple[str, str]]:
    """Rows whose client order id collides (``{index: (code, note)}``): shared by two rows of
    the batch, or journaled earlier for a different order (symbol, side, qty or limit)."""
    out: dict[Any, tuple[str, str]] = {}
    coids = orders["client_order_id"].astype(str)
    for idx in orders.index[coids.duplicated(keep=False)]:
        rows = [str(i) for i in orders.index[coids == coids[idx]]]
        out[idx] = (COLLISION, f"client order id collision: {coids[idx]} is shared by rows {', '.join(rows)}")
    for idx, r in zip(orders.index, orders.to_dict("records"), strict=True):
        prior = intents.get(str(r["client_order_id"]))
        if idx not in out and prior is not None and (diff := _differs(prior, r)):
            out[idx] = (COLLISION, _collision_note(str(r["client_order_id"]), "journaled intent", diff))
    return out


def _place(broker: Broker, row: dict, rec: _Recorder, known: bool, intent: dict) -> dict:
    """Send one order exactly once. Returns the result row (outcome sent|already_sent|refused|unknown)."""
    coid = row["client_order_id"]
    res = {"order_id": "", "status": "", "filled_qty": 0.0, "filled_avg_price": np.nan, "note": "", "outcome": ""}

    def found(o: Order, outcome: str, note: str = "", *, ours: bool = False) -> dict:
        diff = [] if ours else _differs(o.to_dict(), row)
        if diff:
            why = _collision_note(coid, f"broker order {o.id}", diff)
            rec.append(J.REFUSED, f"{coid}|{COLLISION}", {**_refusal(row, COLLISION), "reason": why})
            res.update(status="refused", outcome="refused", note=why)
            return res
        rec.reply(o)
        res.update(
            order_id=o.id,
            status=o.status,
            filled_qty=float(o.filled_qty or 0),
            filled_avg_price=o.filled_avg_price if o.filled_avg_price is not None else np.nan,
            outcome=outcome,
            note=note,
        )
        return res

    if known:
        o, err = _lookup(broker, coid)
        if o is not None:
            return found(o, "already_sent", "already at the broker (earlier run)")
        if err is not None:
            res.update(
                status="unknown",
                outcome="unknown",
                note=note_ambiguous(rec.append, rec.day, coid, err)
                or f"earlier attempt unresolved, broker unreachable: {err}; rerun submit",
            )
            return res
    else:
        crash_point("before_intent")
        rec.intent(coid, intent)
        crash_point("after_intent_before_send")

    lim = finite_or_none(row.get("limit_price"))
    req = OrderRequest(
        symbol=row["symbol"],
        side=row["side"],
        qty=int(round(float(row["qty"]))),
        order_type=row.get("order_type") or "limit",
        limit_price=lim if row.get("order_type") != "market" else None,
        time_in_force=row.get("time_in_force") or "day",
        client_order_id=coid,
    )
    last_err = ""
    for attempt in range(SEND_ATTEMPTS):
        try:
            broker.before_wire(f"submit {coid}")  # adapters pass it again after their pacing wait
            o = broker.submit_order(req)
        except GateClosed as e:
            res.update(status="refused", outcome="refused", note=f"{e}"[:300])
            return res
        except DuplicateClientOrderId:
            o2, err = _lookup(broker, coid)
            if o2 is not None:
                return found(o2, "already_sent", "already at the broker (duplicate client_order_id)")
            res.update(
                status="unknown",
                outcome="unknown",
                note=f"broker says duplicate client_order_id but lookup failed: {err}; rerun submit",
            )
            return res
        except OrderRejected as e:
            reason = " ".join(str(e.reason).split())[:300]
            rec.append(
                J.REFUSED,
                f"{coid}|broker_rejected",
                {
                    "client_order_id": coid,
                    "symbol": req.symbol,
                    "side": req.side,
                    "qty": req.qty,
                    "code": "broker_rejected",
                    "reason": reason,
                },
            )
            res.update(status="rejected", outcome="refused", note=f"rejected by the broker: {reason}")
            return res
        except BrokerUnavailable as e:
            last_err = str(e)
            o2, err = _lookup(broker, coid)
            if o2 is not None:
                return found(o2, "sent", f"sent (reply lost: {last_err}; found by client_order_id)")
            if err is not None:
                res.update(
                    status="unknown",
                    outcome="unknown",
                    note=note_ambiguous(rec.append, rec.day, coid, err)
                    or f"outcome unknown ({last_err}); lookup failed ({err}); rerun submit",
                )
                return res
            continue  # definitely not at the broker: send again (same client order id: safe)
        else:
            crash_point("after_send_before_response")
            return found(o, "sent", "" if attempt == 0 else f"sent on attempt {attempt + 1} ({last_err})", ours=True)
    res.update(
        status="unknown",
        outcome="unknown",
        note=f"not accepted after {SEND_ATTEMPTS} attempts ({last_err}); rerun submit",
    )
    return res


# ---------------------------------------------------------------------------------------------
# submit


def _others_live(jr: J.Journal, day: str, batch: set[str], session: dict[str, dict] | None = None) -> pd.DataFrame:
    """Orders of the day, and of the account's session (``session``: snapshots by client order
    id, :func:`xlexec.execution.session.session_orders`), under client order ids outside this
    batch that are live or filled."""
    rows = []
    for coid, p in {**jr.latest_orders(day), **(session or {})}.items():
        if coid in batch:
            continue
        if p.get("status") in OPEN_STATUSES or float(p.get("filled_qty") or 0) > 0:
            rows.append(
                {
                    "symbol": canonical_symbol(p.get("symbol") or ""),
                    "side": p.get("side"),
                    "client_order_id": coid,
                    "status": p.get("status"),
                }
            )
    return pd.DataFrame(rows, columns=["symbol", "side", "client_order_id", "status"])


def _unresolved_others(jr: J.Journal, day: str, batch: set[str]) -> list[dict]:
    latest = jr.latest_orders(day)
    refused = {p["client_order_id"] for p in jr.payloads(J.REFUSED, day) if p.get("code") == "broker_rejected"}
    return [p for c, p in day_intents(jr, day).items() if c not in batch and c not in latest and c not in refused]


def sent_whole(jr: J.Journal, day: str, client_order_ids) -> set[str]:
    """Which of ``client_order_ids`` already went out whole on ``day``
    (:func:`xlexec.execution.slicing.sent_whole`)."""
    return _slicing.sent_whole(jr, Day(_live_dir_of(jr), day), client_order_ids)


def _live_dir_of(jr: J.Journal) -> Path:
    """The live folder of a journal (``live/journal.sqlite``)."""
    return Path(jr.path).parent


def _unsliced(state: _slicing.SlicingState, *, day: str, tag: str, messages: list[str]) -> None:
    """Without ``slice``: refuse the batch when today's orders have a recorded schedule (the full
    quantity must not go out on top of it); say which children due today are not sent."""
    recorded = state.recorded
    if recorded:
        what = ", ".join(f"{r['symbol']} {r['side']} {int(r['total_qty']):,}" for r in recorded[:10])
        raise RefusedError(
            f"{tag} the orders of {day} were sliced (schedule recorded in the journal for "
            f"{len(recorded)} parent order(s): {what}); rerun with --slice to send today's "
            "child orders instead of the full quantities; nothing sent",
            rule="sliced",
        )
    due = state.due
    if due:
        what = ", ".join(f"{r['symbol']} {r['side']} {int(r['child_qty']):,}" for r in due[:10])
        messages.append(
            f"not sent: {len(due)} child order(s) due today from earlier slicing schedules "
            f"({what}); rerun with --slice to send them"
        )


def _value_carried(out: pd.DataFrame, quotes: pd.DataFrame | None) -> None:
    """Carried market children recorded without a signal price: price them at the quote mid ($)
    and fill in their missing $ notional (shares x limit, or x that price for market orders)."""
    if "price" not in out.columns:
        return
    mids = out["symbol"].map(mid_map(quotes)).astype(float)
    px = pd.to_numeric(out["price"], errors="coerce").astype(float)
    out["price"] = px.where(px.notna(), mids)
    lim = pd.to_numeric(out["limit_price"], errors="coerce").astype(float)
    basis = lim.where(lim.notna() & (out["order_type"] != "market"), out["price"])
    missing = pd.to_numeric(out["notional"], errors="coerce").isna()
    out.loc[missing, "notional"] = (out.loc[missing, "qty"].astype(float) * basis[missing]).round(2)


def _unapproved_children(ctx, plan: SlicePlan, out: pd.DataFrame, day: str) -> dict[Any, tuple[str, str]]:
    """Carried children whose parent batch's approval (origin day) is missing or revoked:
    ``{index: ("parent_not_approved", note)}``. A carried child rides on its parent's approval."""
    refused: dict[Any, tuple[str, str]] = {}
    ok: dict[tuple[str, str], bool] = {}
    for idx, coid in zip(out.index, out["client_order_id"].astype(str), strict=True):
        r = plan.record_of(coid)
        if r is None or r["origin_day"] == day:
            continue
        k = (r["origin_day"], r.get("batch_sha256", ""))
        if k not in ok:
            ok[k] = find_approval(ctx.live_dir, k[0], k[1]) is not None
        if not ok[k]:
            refused[idx] = (
                "parent_not_approved",
                f"child {r['seq']}/{r['days']} of {r['parent_id']}: the approval of its "
                f"parent batch ({k[0]}, orders sha256 {k[1][:12]}) is missing or revoked",
            )
    return refused


def _apply_slicing(
    ctx,
    jr: J.Journal,
    orders: pd.DataFrame,
    *,
    day: str,
    sha: str,
    intents: dict[str, dict],
    quotes: pd.DataFrame | None,
    slice_: bool,
    tag: str,
    messages: list[str],
) -> tuple[pd.DataFrame, dict[Any, tuple[str, str]]]:
    """Today's orders after slicing (see "Slicing" in the module docstring), and the rows refused
    before the limits (``{index: (code, note)}``: carried children whose parent approval is gone).

    Journals the day's SLICE records (unless already there) before returning, i.e. before any
    child's intent. Raises :class:`RefusedError` when ``slice_`` is off and today's orders have a
    recorded schedule. Appends operator lines to ``messages``.
    """
    the_day = Day(ctx.live_dir, day)
    state = _slicing.slicing_state(jr, the_day, sha)
    if not slice_:
        _unsliced(state, day=day, tag=tag, messages=messages)
        return orders, {}

    whole = _slicing.sent_whole(jr, the_day, orders["client_order_id"].astype(str)) if intents else set()
    plan = _slicing.day_plan(
        state,
        orders,
        day=the_day,
        sha=sha,
        max_adv_pct=ctx.config.validation.max_adv_pct,
        slice_new=True,
        sent_whole=whole,
    )
    if plan.records:
        jr.append_many(J.SLICE, plan.records, day=day, actor=ctx.user)
    out = plan.orders
    lines = schedule_lines(plan.schedule)
    if lines:
        messages.append("slicing schedule" + (" (as recorded)" if plan.reused else "") + ":")
        messages += [f"  {x}" for x in lines]
    if plan.no_adv:
        messages.append(f"note: no ADV in reference.csv for {', '.join(plan.no_adv)}: not checked for slicing")
    _value_carried(out, quotes)
    if not ctx.config.execution.require_human_approval:
        return out, {}
    return out, _unapproved_children(ctx, plan, out, day)


# ---------------------------------------------------------------------------------------------
# submit: the phases (authorise, plan, limits, send, record)


@dataclass
class _Run:
    """One submit run under the day's lock, handed from phase to phase of :func:`submit_batch`."""

    ctx: Any
    broker: Broker
    day: str
    mode: dict[str, Any]
    tag: str
    jr: J.Journal
    rec: _Recorder
    intents: dict[str, dict]  # the day's intents before this run, by client order id
    messages: list[str] = field(default_factory=list)
    policy_sha256: str = ""  # the policy in force the run was authorised under (store/policy.py)
    session: str = ""  # today's session (YYYY-MM-DD): the file's day, checked
    account: str = ""  # the account the session's orders are counted for
    acct_tag: str = ""  # that account's tag in client order ids (``a`` + 6)
    listed: list[str] = field(default_factory=list)  # the broker's xlexec ids of the session, this account

    @property
    def live_dir(self) -> Path:
        return Path(self.ctx.live_dir)


def _unsent(status: str, note: str, outcome: str) -> dict:
    """The result row of an order that was not placed (refused, or outcome unknown)."""
    return {
        "order_id": "",
        "status": status,
        "filled_qty": 0.0,
        "filled_avg_price": np.nan,
        "note": note,
        "outcome": outcome,
    }


def _authorise(
    ctx,
    broker: Broker | ReadAhead,
    trades,
    *,
    day: str,
    sha: str,
    n_orders: int,
    allow_closed: bool,
    tag: str,
    policy: dict,
):
    """The batch guards under the lock (kill switch, approval and its policy, four-eyes, market
    open, account); returns the broker account and the approval (None when none is required).
    Raises :class:`RefusedError` / :class:`BrokerError`: nothing sent."""
    live_dir = Path(ctx.live_dir)  # the journal's chain was verified under this lock by the caller
    why = kill_switch_state(live_dir, trades.header.kill_switch)
    if why:
        raise RefusedError(f"{tag} kill switch: {why}; nothing sent", rule="kill_switch")
    safety = trades.header.safety_checks
    if safety != SAFETY_CHECKS_OK:  # fail closed as validation does, approval or not
        said = f"says Safety Checks: {safety}" if safety else "has no Safety Checks line"
        raise RefusedError(
            f"{tag} the trades header {said} (only {SAFETY_CHECKS_OK} passes); nothing sent", rule="safety_checks"
        )
    approval = find_approval(live_dir, day, sha) if ctx.config.execution.require_human_approval else None
    if ctx.config.execution.require_human_approval and approval is None:
        raise RefusedError(
            f"{tag} no approval for these {n_orders} orders of {day} "
            f"(orders sha256 {sha[:12]}); run `xlexec approve` first; nothing sent",
            rule="approval",
        )
    if approval and approval.get("header_sha256") and approval["header_sha256"] != header_sha256(trades.header):
        raise RefusedError(
            f"{tag} the trades header changed since it was approved (approval #{approval.get('seq')} by "
            f"{approval.get('approver')}): validate and approve again; nothing sent",
            rule="header_changed",
        )
    if approval:
        check_approval(approval, policy, login=current_user(), what="submit", tag=tag)
    try:
        if not allow_closed:
            clk = broker.clock()
            if not clk.is_open:
                raise RefusedError(
                    f"{tag} the market is closed (next open {clk.next_open}); "
                    "pass --allow-closed to queue DAY orders anyway; nothing sent",
                    rule="market_closed",
                )
        acct = broker.account()
    except BrokerFault as e:
        raise BrokerError(f"{tag} broker unreachable before sending anything: {e}") from None
    if getattr(acct, "trading_blocked", False):
        raise RefusedError(f"{tag} the broker account is blocked from trading; nothing sent", rule="account")
    return acct, approval


def _for_account(orders: pd.DataFrame, tag: str) -> pd.DataFrame:
    """The batch with the ids the broker gets: the account tag in every client order id (and in
    a slice child's ``parent_id``); the plan ids (and the SLICE records) name no account."""
    out = orders.copy()
    out["client_order_id"] = [with_account(str(c), tag) for c in out["client_order_id"]]
    if "parent_id" in out.columns:
        out["parent_id"] = [with_account(str(c), tag) if c else c for c in out["parent_id"]]
    return out


def _at_broker(
    run: _Run,
    orders: pd.DataFrame,
    known: set[str],
    refused: dict,
    listing: Callable[[Broker, str], list[Order]] = broker_day_orders,
) -> dict[Any, tuple[str, str]]:
    """The pre-send broker listing (:mod:`xlexec.execution.broker_orders`): orders the broker
    already has become known (their intent journaled if the journal lacks it: they are
    reported ``already_sent``, never sent again); another order of the same date, account,
    symbol and side live or filled at the broker refuses the row (``duplicate``); a broker
    order under the row's id that is another order refuses it (collision). Adds to ``known``;
    returns the refused rows. Broker unreachable -> :class:`BrokerError`, nothing sent.
    ``listing``: where the day's orders come from (the batch's :class:`ReadAhead`)."""
    try:
        listed = listing(run.broker, run.day)
    except BrokerFault as e:
        raise BrokerError(f"{run.tag} broker unreachable (listing the day's orders): {e}; nothing sent") from None
    mine = f"xlx-{run.day}-{run.acct_tag}-"  # the session's orders of this account, whatever live/ sent them
    run.listed = [str(o.client_order_id) for o in listed if run.acct_tag and str(o.client_order_id).startswith(mine)]
    match = match_batch(orders, listed)
    out: dict[Any, tuple[str, str]] = {}
    for idx, o in match.at_broker.items():
        if idx in refused:
            continue
        row = orders.loc[idx].to_dict()
        coid = str(row["client_order_id"])
        if diff := _differs(o.to_dict(), row):
            out[idx] = (COLLISION, _collision_note(coid, f"broker order {o.id}", diff))
            continue
        if coid not in run.intents:
            intent = {**_intent(run, row), "submitted_at": o.submitted_at or run.ctx.now().isoformat()}
            run.rec.append(J.INTENT, coid, {**intent, "recovered_from": "broker listing"})
        known.add(coid)
    out.update({i: v for i, v in match.duplicates.items() if i not in refused and i not in out})
    return out


def require_session(ctx, broker: Broker | ReadAhead, day: str, tag: str, *, what: str = "sent") -> str:
    """Today's session (:mod:`xlexec.execution.session`), which must be ``day`` (the trades
    file's date); else :class:`RefusedError`, nothing sent. Submit and the chase (``what``
    "chased") both pass it before anything goes to the broker."""
    try:
        session = _session.todays_session(ctx, broker)
    except BrokerFault as e:
        raise BrokerError(f"{tag} broker unreachable before sending anything: {e}") from None
    _session.require_file_day(day, session, what=what, tag=tag)
    return str(session)


def require_account(ctx, broker: Broker, acct, tag: str) -> str:
    """The live guard by what the broker says (:func:`xlexec.execution.mode.check_account`): the
    account ``acct`` the broker reports must fit the mode and, on Alpaca / Schwab, the configured
    ``execution.<broker>.account_number`` (IBKR: ``execution.ibkr.account_id``); returns its
    number. Submit and the chase both pass it."""
    key, expected = configured_account(ctx.config.execution, getattr(broker, "name", ""))
    return check_account(broker, acct, expected=expected, tag=tag, **({"key": key} if key else {}))


def _approved_today(broker: Broker, jr: J.Journal, approval: dict | None, *, session: str, tag: str) -> None:
    """The approval of these orders (the one :func:`_authorise` found) must be from today's
    session (:class:`RefusedError`)."""
    if approval is not None:
        paper = _session.is_paper(getattr(broker, "name", ""))
        _session.require_approval_session(jr, approval, session, paper=paper, tag=tag)


def _refresh_others(run: _Run, batch: set[str]) -> None:
    """Earlier intents of other batches without a recorded outcome: ask the broker now; and
    refresh the other batches' orders last seen open (the duplicate check uses them)."""
    stale = list(_unresolved_others(run.jr, run.day, batch))
    stale += [
        p for c, p in run.jr.latest_orders(run.day).items() if c not in batch and p.get("status") in OPEN_STATUSES
    ]
    for p in stale:
        o, _err = _lookup(run.broker, p["client_order_id"], backoff=())
        if o is not None:
            run.rec.order(o)


def _held(run: _Run) -> pd.Series | None:
    """Shares held when the day opened (``live/current_positions.csv``, the day's splits applied:
    :func:`xlexec.core.corporate_actions.apply_splits`), None without the file."""
    day = Day(run.live_dir, run.day)
    path = day.current_positions
    if not path.exists():
        return None
    ev = day.events_file()
    pos = apply_splits(read_positions(path), read_events(ev, missing_ok=False) if ev else None, run.day)
    return pos.groupby("symbol")["shares"].sum().astype(float) if len(pos) else pd.Series(dtype=float)


def _limits(
    run: _Run,
    orders: pd.DataFrame,
    pre_refused: dict[Any, tuple[str, str]],
    known: set[str],
    *,
    buying_power: float,
    quotes: pd.DataFrame | None,
    fit_buying_power: bool,
) -> pd.DataFrame:
    """``orders`` with ``arrival_price``, ``refusal`` (code, "" = may be sent) and ``note``: the
    pre-trade limits, plus the rows refused before them (``pre_refused``), in ``orders``' order."""
    ex = run.ctx.config.execution
    restricted = read_restricted(Day(run.live_dir, run.day).restricted)
    pre = [
        i
        for i in orders.index
        if i in pre_refused and (orders.at[i, "client_order_id"] not in known or pre_refused[i][0] == COLLISION)
    ]
    in_session = _session.session_intents(run.jr.events(J.INTENT), run.session, run.account)  # read once
    checked = pretrade_checks(
        orders.drop(index=pre),
        max_order_size_usd=ex.max_order_size_usd,
        max_daily_trades=ex.max_daily_trades,
        price_collar_pct=ex.price_collar_pct,
        buying_power=buying_power,
        buying_power_buffer=ex.buying_power_buffer,
        quotes=quotes,
        restricted=restricted,
        trades_used_today=_session.session_count(in_session, run.listed),
        others=_others_live(
            run.jr, run.day, set(orders["client_order_id"]), _session.session_orders(run.jr, in_session)
        ),
        known=known,
        fit_buying_power=fit_buying_power,
        held=_held(run),
        allow_short=run.ctx.config.validation.allow_short,
        now=run.ctx.now(),
        max_quote_age_seconds=ex.max_quote_age_seconds,
    )
    if pre:
        held = orders.loc[pre].copy()
        held["arrival_price"] = held["symbol"].map(mid_map(quotes)).astype(float)
        held["refusal"] = [pre_refused[i][0] for i in pre]
        held["note"] = [pre_refused[i][1] for i in pre]
        checked = pd.concat([checked, held[[c for c in held.columns if c in checked.columns]]]).loc[orders.index]
    return checked


def _journal_refusals(run: _Run, checked: pd.DataFrame) -> dict[Any, dict]:
    """Journal every refused order (kind ``REFUSED``); their result rows by index."""
    results: dict[Any, dict] = {}
    for idx, r in checked[checked["refusal"] != ""].iterrows():
        run.rec.append(
            J.REFUSED,
            f"{r['client_order_id']}|{r['refusal']}",
            {
                "client_order_id": r["client_order_id"],
                "symbol": r["symbol"],
                "side": r["side"],
                "qty": float(r["qty"]),
                "code": r["refusal"],
                "reason": r["note"],
            },
        )
        results[idx] = _unsent("refused", r["note"], "refused")
    return results


def _intent(run: _Run, row: dict) -> dict:
    """The intent journaled (kind ``INTENT``) before ``row`` is sent; $ prices, shares."""
    intent = {
        "client_order_id": row["client_order_id"],
        "symbol": row["symbol"],
        "side": row["side"],
        "qty": float(row["qty"]),
        "order_type": row.get("order_type"),
        "limit_price": finite_or_none(row.get("limit_price")),
        "price": finite_or_none(row.get("price")),
        "arrival_price": finite_or_none(row.get("arrival_price")),
        "submitted_at": run.ctx.now().isoformat(),
        "mode": run.mode["mode"],
        "broker": run.mode["broker"],
        "policy_sha256": run.policy_sha256,
        "session": run.session,
        "account": run.account,
    }
    if row.get("parent_id"):
        intent.update(parent_id=row["parent_id"], slice_seq=int(row.get("slice_seq") or 0))
    return intent


def _send_one(run: _Run, row: dict, known: set[str], header_ks: str | None, paced: RateLimiter | None) -> dict:
    """Place one order (paced; not when the kill switch was triggered during the batch: the gate
    is passed after the pacing wait, and again by the adapter right before the request)."""
    if paced is not None:
        paced.acquire()
    if row["client_order_id"] not in known:
        try:
            wire_gate(run.live_dir, header_ks, what=f"submit {row['client_order_id']}")
        except GateClosed as e:
            return _unsent("refused", f"kill switch triggered during the batch: not sent ({e})"[:300], "refused")
    intent = _intent(run, row)
    remember = getattr(run.broker, "remember_intent", None)
    if remember is not None and row["client_order_id"] not in known:  # known ones: remember_journaled
        remember(row["client_order_id"], intent)  # its fields and journaled moment (no client order id)
    try:
        return _place(run.broker, row, run.rec, row["client_order_id"] in known, intent)
    except Exception as e:  # noqa: BLE001 - one order's bug must not hide the others' state
        return _unsent("unknown", f"unexpected error: {type(e).__name__}: {e}"[:300], "unknown")


def _send(
    run: _Run,
    todo: pd.DataFrame,
    known: set[str],
    progress: Callable[[int, int, str], None] | None,
    header_ks: str | None = None,
) -> dict[Any, dict]:
    """Place the orders of ``todo`` exactly once; their result rows by index."""
    ex = run.ctx.config.execution
    broker = run.broker
    total = len(todo)
    paced = None
    if getattr(broker, "limiter", None) is None and getattr(broker, "name", "") != "paper":
        paced = RateLimiter.from_config(ex)
    results: dict[Any, dict] = {}
    done = 0
    # concurrent requests only for adapters that declare themselves thread-safe (Alpaca does;
    # the paper simulator shares one SQLite connection, so it gets one worker)
    conc = int(ex.max_concurrency) if getattr(broker, "thread_safe", False) else 1
    workers = max(1, min(conc, total or 1))
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="xlexec-submit") as pool:
            futs = {
                pool.submit(_send_one, run, r, known, header_ks, paced): idx
                for idx, r in zip(todo.index, todo.to_dict("records"), strict=True)
            }
            for fut in as_completed(futs):
                idx = futs[fut]
                placed = fut.result()
                results[idx] = placed
                done += 1
                if progress is not None:
                    r = todo.loc[idx]
                    progress(done, total, f"{r['symbol']} {r['side']} {placed['outcome']}")
    finally:
        run.rec.flush()  # the replies still queued (deferred), before anything reads the journal
    return results


def _record(run: _Run, checked: pd.DataFrame, results: dict[Any, dict]) -> SubmitResult:
    """The batch's result; rewrites ``execution_log.csv`` and journals the submit (kind ``ACTION``)."""
    out = checked[["symbol", "side", "qty", "limit_price", "client_order_id"]].copy()
    for c in ("order_id", "status", "filled_qty", "filled_avg_price", "note", "outcome"):
        out[c] = [results[i][c] for i in out.index]
    out["filled_qty"] = out["filled_qty"].astype(float)
    out["filled_avg_price"] = out["filled_avg_price"].astype(float)
    counts = out["outcome"].value_counts()
    res = SubmitResult(
        day=run.day,
        mode=run.mode,
        orders=out[RESULT_COLUMNS],
        sent=int(counts.get("sent", 0)),
        already_sent=int(counts.get("already_sent", 0)),
        refused=int(counts.get("refused", 0)),
        unknown=int(counts.get("unknown", 0)),
        messages=run.messages,
    )
    # 0 only when every order of the batch is at the broker: a refusal by a limit, an order
    # dropped by --fit-buying-power, a broker rejection or an unknown outcome is exit 1
    res.exit_code = 0 if bool(_is_at_broker(out).all()) else 1
    res.execution_log = str(write_execution_log(run.jr, run.live_dir, run.day))
    run.rec.append(
        J.ACTION,
        f"{run.ctx.now().isoformat()}|submit|{os.getpid()}",
        {"button": "submit", "result": {k: v for k, v in res.to_json().items() if k != "orders"}},
    )
    return res


# ---------------------------------------------------------------------------------------------
# submit


def submit_batch(
    ctx,
    trades,
    *,
    broker: Broker,
    quotes: pd.DataFrame | None,
    live: bool = False,
    allow_closed: bool = False,
    fit_buying_power: bool = False,
    slice: bool = False,  # noqa: A002
    progress: Callable[[int, int, str], None] | None = None,
) -> SubmitResult:
    """Send the approved orders of ``trades`` to ``broker`` exactly once (see module docstring).

    ``slice=True`` (``xlexec submit --slice``) sends the day's slicing plan (see "Slicing" in the
    module docstring) instead of the full quantities.
    """
    cfg = ctx.config
    ex = cfg.execution
    day = trades.date or ctx.today()
    mode = describe_mode(broker)
    tag = f"[{mode['text']}]"
    orders = orders_from_trades(trades, default_order_type=ex.default_order_type, date=day)
    sha = orders_sha256(orders)  # what an approval binds to: the parents, before any slicing

    require_enabled(ex.enabled, cfg.source, tag=tag)
    if not mode["mode"] == "PAPER" and not live:
        raise RefusedError(
            f"{tag} LIVE account (paper: false): nothing sent; pass --live (or confirm in Excel) to trade real money",
            rule="live_flag",
        )
    with contextlib.ExitStack() as held:
        held.enter_context(DayLock(ctx.day_dir(day), "submit"))
        # the clock, the account and the day's orders asked now, read by the guards below (a
        # pinned clock with a real broker is refused first, before the broker is asked anything)
        ctx.now()
        reads = held.enter_context(ReadAhead(broker, day))
        # one walk of the chain, under the lock: a journal that does not verify gets nothing
        # appended (not even the policy's first use or a tightening) and authorises nothing
        require_intact(Path(ctx.live_dir), tag=tag)
        policy = require_in_force(
            ctx.journal(), effective_policy(cfg), day=day, what="submit", source=cfg.source, tag=tag
        ).current
        check = gate_check(Path(ctx.live_dir), policy)  # the gate: the restricted list is still the policy's
        held.enter_context(gated(broker, Path(ctx.live_dir), trades.header.kill_switch, check))
        session = require_session(ctx, reads, day, tag)
        acct, approval = _authorise(
            ctx, reads, trades, day=day, sha=sha, n_orders=len(orders), allow_closed=allow_closed, tag=tag,
            policy=policy,
        )  # fmt: skip
        acct_tag = account_tag(require_account(ctx, broker, acct, tag))
        jr = ctx.journal()
        _approved_today(broker, jr, approval, session=session, tag=tag)
        rec = _Recorder(jr, day, ctx.user, defer_replies=True)
        run = _Run(ctx, broker, day, mode, tag, jr, rec, day_intents(jr, day))
        run.policy_sha256 = policy_sha256(policy)
        run.session, run.account, run.acct_tag = session, _session.account_key(acct, mode), acct_tag
        remember_journaled(broker, run.intents, jr.latest_orders(day), resolutions(jr, day))
        orders, pre_refused = _apply_slicing(
            ctx,
            jr,
            orders,
            day=day,
            sha=sha,
            intents=run.intents,
            quotes=quotes,
            slice_=slice,
            tag=tag,
            messages=run.messages,
        )
        orders = _for_account(orders, acct_tag)
        batch = set(orders["client_order_id"])
        known = {c for c in batch if c in run.intents}
        clash = collisions(orders, run.intents)
        clash.update(_at_broker(run, orders, known, clash, reads.day_orders))
        pre_refused.update(clash)
        run.messages += [f"{tag} REFUSED row {i}: {note}" for i, (_c, note) in clash.items()]
        _refresh_others(run, batch)
        checked = _limits(
            run,
            orders,
            pre_refused,
            known,
            buying_power=acct.buying_power,
            quotes=quotes,
            fit_buying_power=fit_buying_power,
        )
        results = _journal_refusals(run, checked)
        results.update(_send(run, checked[checked["refusal"] == ""], known, progress, trades.header.kill_switch))
        return _record(run, checked, results)

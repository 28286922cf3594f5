"""Order submission: guards, pre-trade limits, exactly-once sending, status, timeouts, kill switch.

The engine behind ``xlexec submit``/``status``/``cancel-all``/``kill-switch-report``/``pnl`` and
the workbook's Submit, Refresh and Kill Switch buttons. Works with any :class:`Broker`.

**Exactly once.** Every order has a deterministic ``client_order_id`` (date, symbol, side, batch
hash). The whole batch runs under the day's lock (:class:`DayLock`; a second submit gets
:class:`LockedError` naming the holder). For each order:

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
``live/KILL_SWITCH``), market open (broker clock) unless ``allow_closed``, and ``live=True`` for a
live account. The mode (PAPER/LIVE, broker, host) is part of every result and message.

**Pre-trade limits** (the classes of :mod:`xlexec.execution.guards`, per order; a refused order
gets a note, a journal ``REFUSED`` event and is not sent): restricted list,
``max_order_size_usd`` ($ notional = shares x limit, or x signal price for market orders), price
collar (``price_collar_pct``, fraction, vs the latest quote mid; fails closed without a quote),
duplicates (same day, symbol and side already live or filled under
another client order id), buying power (buys <= buying_power x (1 - buffer) + sells' notional;
``fit_buying_power`` drops the lowest ``ml_score`` first, else the smallest |weight_change|),
``max_daily_trades`` (counted over the whole day from the journal). Orders already journaled as
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

**execution_log.csv** (the guide's columns, written atomically from the journal):
``shares`` = ordered shares, ``fill_price`` = average fill price ($), ``commission`` ($, from
journaled fills when present, else 0), ``slippage`` ($, a cost when > 0, for buys and sells alike)
= side x (fill_price - reference) x filled shares with side = +1 buy / -1 sell and reference =
the limit price (limit orders) or the signal price (market orders). The guide's example:
buy 100 @ limit 150.25 filled 150.28 -> 3.00; sell 50 @ 380.50 filled 380.45 -> 2.50.

**Test hook**: ``XLEXEC_CRASH_AT=<point>:<n>`` kills the process (SIGKILL) the n-th time it
reaches ``<point>`` (``before_intent``, ``after_intent_before_send``,
``after_send_before_response``); see :func:`xlexec.faults.crash_point`. Used by the crash tests only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.core.orders import orders_from_trades, orders_sha256
from xlexec.errors import BrokerError, RefusedError
from xlexec.execution import slicing as _slicing
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
from xlexec.execution.guards import kill_switch_state, pretrade_checks, require_enabled
from xlexec.execution.guards import mid_map as _mid_map
from xlexec.formats.csvio import atomic_write_csv, atomic_write_text
from xlexec.store import journal as J
from xlexec.store.day import Day
from xlexec.store.journal import DayLock

NY = ZoneInfo("America/New_York")
EXECUTION_LOG_COLUMNS = [
    "date",
    "symbol",
    "side",
    "shares",
    "limit_price",
    "fill_price",
    "fill_time",
    "order_id",
    "commission",
    "slippage",
    "notes",
]
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
# test hook: the shared one (xlexec.faults); kept importable as xlexec.execution.engine.crash_point
from xlexec.faults import crash_point  # noqa: E402,F401

# ---------------------------------------------------------------------------------------------
# mode and guards


def describe_mode(broker: Broker) -> dict[str, Any]:
    """``{"mode": "PAPER"|"LIVE", "broker": name, "host": host, "text": one line}``."""
    mode = "PAPER" if getattr(broker, "paper", True) else "LIVE"
    host = getattr(broker, "host", None) or "local simulator"
    name = getattr(broker, "name", type(broker).__name__)
    return {"mode": mode, "broker": name, "host": host, "text": f"{mode} · {name} · {host}"}


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
            "messages": list(self.messages),
            "orders": rows,
        }


# ---------------------------------------------------------------------------------------------
# journal helpers


def _day_intents(jr: J.Journal, day: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for p in jr.payloads(J.INTENT, day):
        out.setdefault(p["client_order_id"], p)
    return out


def _num_or_none(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _snapshot_key(o: Order) -> str:
    return f"{o.client_order_id}|{o.status}|{float(o.filled_qty or 0):g}"


class _Recorder:
    """Thread-safe journal writes for one batch."""

    def __init__(self, jr: J.Journal, day: str, actor: str):
        self.jr, self.day, self.actor = jr, day, actor
        self.lock = threading.Lock()

    def append(self, kind: str, key: str, payload: dict) -> bool:
        with self.lock:
            return self.jr.append(kind, key, payload, day=self.day, actor=self.actor)

    def order(self, o: Order) -> None:
        self.append(J.ORDER, _snapshot_key(o), {**o.to_dict(), "day": self.day})


def _lookup(broker: Broker, coid: str, backoff=None) -> tuple[Order | None, str | None]:
    """Ask the broker for ``coid`` with bounded retries. (order|None, None) or (None, error)."""
    err = None
    delays = (0.0,) + tuple(LOOKUP_BACKOFF if backoff is None else backoff)
    for d in delays:
        if d:
            time.sleep(d)
        try:
            return broker.get_order_by_client_id(coid), None
        except BrokerUnavailable as e:
            err = str(e)
        except BrokerFault as e:
            return None, str(e)
    return None, err


def _place(broker: Broker, row: dict, rec: _Recorder, known: bool, intent: dict) -> dict:
    """Send one order exactly once. Returns the result row (outcome sent|already_sent|refused|unknown)."""
    coid = row["client_order_id"]
    res = {"order_id": "", "status": "", "filled_qty": 0.0, "filled_avg_price": np.nan, "note": "", "outcome": ""}

    def found(o: Order, outcome: str, note: str = "") -> dict:
        rec.order(o)
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
                note=f"earlier attempt unresolved, broker unreachable: {err}; rerun submit",
            )
            return res
    else:
        crash_point("before_intent")
        rec.append(J.INTENT, coid, intent)
        crash_point("after_intent_before_send")

    lim = _num_or_none(row.get("limit_price"))
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
            o = broker.submit_order(req)
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
                    note=f"outcome unknown ({last_err}); lookup failed ({err}); rerun submit",
                )
                return res
            continue  # definitely not at the broker: send again (same client order id: safe)
        else:
            crash_point("after_send_before_response")
            return found(o, "sent", "" if attempt == 0 else f"sent on attempt {attempt + 1} ({last_err})")
    res.update(
        status="unknown",
        outcome="unknown",
        note=f"not accepted after {SEND_ATTEMPTS} attempts ({last_err}); rerun submit",
    )
    return res


# ---------------------------------------------------------------------------------------------
# submit


def _others_live(jr: J.Journal, day: str, batch: set[str]) -> pd.DataFrame:
    """Orders of the day under client order ids outside this batch that are live or filled."""
    rows = []
    for coid, p in jr.latest_orders(day).items():
        if coid in batch:
            continue
        if p.get("status") in OPEN_STATUSES or float(p.get("filled_qty") or 0) > 0:
            rows.append(
                {"symbol": p.get("symbol"), "side": p.get("side"), "client_order_id": coid, "status": p.get("status")}
            )
    return pd.DataFrame(rows, columns=["symbol", "side", "client_order_id", "status"])


def _unresolved_others(jr: J.Journal, day: str, batch: set[str]) -> list[dict]:
    latest = jr.latest_orders(day)
    refused = {p["client_order_id"] for p in jr.payloads(J.REFUSED, day) if p.get("code") == "broker_rejected"}
    return [p for c, p in _day_intents(jr, day).items() if c not in batch and c not in latest and c not in refused]


def sent_whole(jr: J.Journal, day: str, client_order_ids) -> set[str]:
    """Which of ``client_order_ids`` already went out whole on ``day``
    (:func:`xlexec.execution.slicing.sent_whole`)."""
    return _slicing.sent_whole(jr, Day(_live_dir_of(jr), day), client_order_ids)


def _live_dir_of(jr: J.Journal) -> Path:
    """The live folder of a journal (``live/journal.sqlite``)."""
    return Path(jr.path).parent


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
    from xlexec.core.slicing import schedule_lines

    the_day = Day(ctx.live_dir, day)
    state = _slicing.slicing_state(jr, the_day, sha)
    pre_refused: dict[Any, tuple[str, str]] = {}
    recorded = state.recorded
    if not slice_:
        if recorded:
            what = ", ".join(f"{r['symbol']} {r['side']} {int(r['total_qty']):,}" for r in recorded[:10])
            raise RefusedError(
                f"{tag} the orders of {day} were sliced (schedule recorded in the journal for "
                f"{len(recorded)} parent order(s): {what}); rerun with --slice to send today's "
                "child orders instead of the full quantities; nothing sent"
            )
        due = state.due
        if due:
            what = ", ".join(f"{r['symbol']} {r['side']} {int(r['child_qty']):,}" for r in due[:10])
            messages.append(
                f"not sent: {len(due)} child order(s) due today from earlier slicing schedules "
                f"({what}); rerun with --slice to send them"
            )
        return orders, pre_refused

    ex = ctx.config.execution
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
    # carried market children recorded without a signal price: value them at the quote mid
    if "price" in out.columns:
        mids = out["symbol"].map(_mid_map(quotes)).astype(float)
        px = pd.to_numeric(out["price"], errors="coerce").astype(float)
        out["price"] = px.where(px.notna(), mids)
        lim = pd.to_numeric(out["limit_price"], errors="coerce").astype(float)
        basis = lim.where(lim.notna() & (out["order_type"] != "market"), out["price"])
        missing = pd.to_numeric(out["notional"], errors="coerce").isna()
        out.loc[missing, "notional"] = (out.loc[missing, "qty"].astype(float) * basis[missing]).round(2)
    # a carried child rides on its parent's approval (origin day): is it still there?
    if ex.require_human_approval:
        from xlexec.store.approvals import find_approval

        ok: dict[tuple[str, str], bool] = {}
        for idx, coid in zip(out.index, out["client_order_id"].astype(str), strict=True):
            r = plan.record_of(coid)
            if r is None or r["origin_day"] == day:
                continue
            k = (r["origin_day"], r.get("batch_sha256", ""))
            if k not in ok:
                ok[k] = find_approval(ctx.live_dir, k[0], k[1]) is not None
            if not ok[k]:
                pre_refused[idx] = (
                    "parent_not_approved",
                    f"child {r['seq']}/{r['days']} of {r['parent_id']}: the approval of its "
                    f"parent batch ({k[0]}, orders sha256 {k[1][:12]}) is missing or revoked",
                )
    return out, pre_refused


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
    live_dir = Path(ctx.live_dir)
    messages: list[str] = []

    require_enabled(ex.enabled, cfg.source, tag=tag)
    if not mode["mode"] == "PAPER" and not live:
        raise RefusedError(
            f"{tag} LIVE account (paper: false): nothing sent; pass --live (or confirm in Excel) to trade real money"
        )
    with DayLock(ctx.day_dir(day), "submit"):
        why = kill_switch_state(live_dir, trades.header.kill_switch)
        if why:
            raise RefusedError(f"{tag} kill switch: {why}; nothing sent")
        if ex.require_human_approval:
            from xlexec.store.approvals import find_approval

            if find_approval(live_dir, day, sha) is None:
                raise RefusedError(
                    f"{tag} no approval for these {len(orders)} orders of {day} "
                    f"(orders sha256 {sha[:12]}); run `xlexec approve` first; nothing sent"
                )
        try:
            if not allow_closed:
                clk = broker.clock()
                if not clk.is_open:
                    raise RefusedError(
                        f"{tag} the market is closed (next open {clk.next_open}); "
                        "pass --allow-closed to queue DAY orders anyway; nothing sent"
                    )
            acct = broker.account()
        except BrokerFault as e:
            raise BrokerError(f"{tag} broker unreachable before sending anything: {e}") from None
        if getattr(acct, "trading_blocked", False):
            raise RefusedError(f"{tag} the broker account is blocked from trading; nothing sent")

        jr = ctx.journal()
        rec = _Recorder(jr, day, ctx.user)
        intents = _day_intents(jr, day)
        orders, pre_refused = _apply_slicing(
            ctx, jr, orders, day=day, sha=sha, intents=intents, quotes=quotes, slice_=slice, tag=tag, messages=messages
        )
        batch = set(orders["client_order_id"])
        known = {c for c in batch if c in intents}
        # earlier intents of other batches without a recorded outcome: ask the broker now
        # and refresh the other batches' orders last seen open (duplicate check uses them)
        stale = [p for p in _unresolved_others(jr, day, batch)]
        stale += [p for c, p in jr.latest_orders(day).items() if c not in batch and p.get("status") in OPEN_STATUSES]
        for p in stale:
            o, _err = _lookup(broker, p["client_order_id"], backoff=())
            if o is not None:
                rec.order(o)
        from xlexec.formats.inputs import read_restricted

        restricted = read_restricted(Day(live_dir, day).restricted)
        pre = [i for i in orders.index if i in pre_refused and orders.at[i, "client_order_id"] not in known]
        checked = pretrade_checks(
            orders.drop(index=pre),
            max_order_size_usd=ex.max_order_size_usd,
            max_daily_trades=ex.max_daily_trades,
            price_collar_pct=ex.price_collar_pct,
            buying_power=acct.buying_power,
            buying_power_buffer=ex.buying_power_buffer,
            quotes=quotes,
            restricted=restricted,
            trades_used_today=sum(1 for p in intents.values() if not p.get("chase_of")),
            others=_others_live(jr, day, batch),
            known=known,
            fit_buying_power=fit_buying_power,
        )
        if pre:
            held = orders.loc[pre].copy()
            held["arrival_price"] = held["symbol"].map(_mid_map(quotes)).astype(float)
            held["refusal"] = [pre_refused[i][0] for i in pre]
            held["note"] = [pre_refused[i][1] for i in pre]
            checked = pd.concat([checked, held[[c for c in held.columns if c in checked.columns]]]).loc[orders.index]

        results: dict[Any, dict] = {}
        for idx, r in checked[checked["refusal"] != ""].iterrows():
            rec.append(
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
            results[idx] = {
                "order_id": "",
                "status": "refused",
                "filled_qty": 0.0,
                "filled_avg_price": np.nan,
                "note": r["note"],
                "outcome": "refused",
            }

        todo = checked[checked["refusal"] == ""]
        kill_file = Day(live_dir, day).kill_switch
        total = len(todo)
        paced = None
        if getattr(broker, "limiter", None) is None and getattr(broker, "name", "") != "paper":
            from xlexec.execution.ratelimit import RateLimiter

            paced = RateLimiter(ex.rate_limit_per_min)

        def work(idx, row: dict) -> tuple[Any, dict]:
            if paced is not None:
                paced.acquire()
            if row["client_order_id"] not in known and kill_file.exists():
                return idx, {
                    "order_id": "",
                    "status": "refused",
                    "filled_qty": 0.0,
                    "filled_avg_price": np.nan,
                    "note": "kill switch triggered during the batch: not sent",
                    "outcome": "refused",
                }
            intent = {
                "client_order_id": row["client_order_id"],
                "symbol": row["symbol"],
                "side": row["side"],
                "qty": float(row["qty"]),
                "order_type": row.get("order_type"),
                "limit_price": _num_or_none(row.get("limit_price")),
                "price": _num_or_none(row.get("price")),
                "arrival_price": _num_or_none(row.get("arrival_price")),
                "submitted_at": ctx.now().isoformat(),
                "mode": mode["mode"],
                "broker": mode["broker"],
            }
            if row.get("parent_id"):
                intent.update(parent_id=row["parent_id"], slice_seq=int(row.get("slice_seq") or 0))
            try:
                return idx, _place(broker, row, rec, row["client_order_id"] in known, intent)
            except Exception as e:  # noqa: BLE001 - one order's bug must not hide the others' state
                return idx, {
                    "order_id": "",
                    "status": "unknown",
                    "filled_qty": 0.0,
                    "filled_avg_price": np.nan,
                    "note": f"unexpected error: {type(e).__name__}: {e}"[:300],
                    "outcome": "unknown",
                }

        done = 0
        # concurrent requests only for adapters that declare themselves thread-safe (Alpaca does;
        # the paper simulator shares one SQLite connection, so it gets one worker)
        conc = int(ex.max_concurrency) if getattr(broker, "thread_safe", False) else 1
        workers = max(1, min(conc, total or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="xlexec-submit") as pool:
            futs = [pool.submit(work, idx, r) for idx, r in zip(todo.index, todo.to_dict("records"), strict=True)]
            for fut in as_completed(futs):
                idx, placed = fut.result()
                results[idx] = placed
                done += 1
                if progress is not None:
                    r = todo.loc[idx]
                    progress(done, total, f"{r['symbol']} {r['side']} {placed['outcome']}")

        out = checked[["symbol", "side", "qty", "limit_price", "client_order_id"]].copy()
        for c in ("order_id", "status", "filled_qty", "filled_avg_price", "note", "outcome"):
            out[c] = [results[i][c] for i in out.index]
        out["filled_qty"] = out["filled_qty"].astype(float)
        out["filled_avg_price"] = out["filled_avg_price"].astype(float)
        counts = out["outcome"].value_counts()
        res = SubmitResult(
            day=day,
            mode=mode,
            orders=out[RESULT_COLUMNS],
            sent=int(counts.get("sent", 0)),
            already_sent=int(counts.get("already_sent", 0)),
            refused=int(counts.get("refused", 0)),
            unknown=int(counts.get("unknown", 0)),
            messages=messages,
        )
        res.exit_code = 0 if res.refused == 0 and res.unknown == 0 else 1
        res.execution_log = str(write_execution_log(jr, live_dir, day))
        rec.append(
            J.ACTION,
            f"{ctx.now().isoformat()}|submit|{os.getpid()}",
            {"button": "submit", "result": {k: v for k, v in res.to_json().items() if k != "orders"}},
        )
        return res


# ---------------------------------------------------------------------------------------------
# execution log


def _fill_time_ny(ts: str | None) -> str:
    if not ts:
        return ""
    try:
        t = dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return str(ts)
    if t.tzinfo is None:
        return t.strftime("%H:%M:%S")
    return t.astimezone(NY).strftime("%H:%M:%S")


def execution_log_frame(jr: J.Journal, day: str) -> pd.DataFrame:
    """One row per order of ``day`` known to the journal, in the guide's columns (see module doc)."""
    intents = _day_intents(jr, day)
    latest = jr.latest_orders(day)
    refused: dict[str, dict] = {}
    for p in jr.payloads(J.REFUSED, day):
        refused[p["client_order_id"]] = p
    fills: dict[str, list[dict]] = {}
    for p in jr.payloads(J.FILL, day):
        for k in (p.get("client_order_id"), p.get("order_id")):
            if k:
                fills.setdefault(str(k), []).append(p)
    rows = []
    order = list(intents) + [c for c in refused if c not in intents]
    for coid in order:
        it = intents.get(coid)
        snap = latest.get(coid)
        ref = refused.get(coid)
        base = it or ref or {}
        qty = float(base.get("qty") or 0)
        lim = _num_or_none((snap or {}).get("limit_price")) if snap else None
        if lim is None and it:
            lim = _num_or_none(it.get("limit_price"))
        side = base.get("side", "")
        notes = []
        fill_price = fill_time = None
        filled = 0.0
        commission = 0.0
        order_id = ""
        if snap:
            order_id = snap.get("id") or ""
            filled = float(snap.get("filled_qty") or 0)
            fill_price = _num_or_none(snap.get("filled_avg_price")) if filled > 0 else None
            st = snap.get("status", "")
            if st == "partially_filled" or (filled > 0 and filled < qty):
                notes.append(f"Partial fill {filled:g}/{qty:g} ({st})")
            elif st == "filled":
                notes.append("Full fill")
            else:
                notes.append(st)
            fl = fills.get(coid) or fills.get(order_id) or []
            if fl:
                commission = round(sum(float(f.get("commission") or 0) for f in fl), 2)
                fill_time = _fill_time_ny(max(str(f.get("fill_time") or "") for f in fl))
            elif filled > 0:
                fill_time = _fill_time_ny(snap.get("updated_at"))
        elif ref and ref.get("code") == "broker_rejected":
            notes.append("Rejected by broker: " + str(ref.get("reason", "")))
        elif it:
            notes.append("sent, outcome unknown (run status or rerun submit)")
        elif ref:
            notes.append("Refused: " + str(ref.get("reason", "")))
        slippage = None
        if fill_price is not None and filled > 0:
            refp = lim if lim is not None else _num_or_none((it or {}).get("price"))
            if refp is not None:
                sign = 1.0 if side == "buy" else -1.0
                slippage = round(sign * (fill_price - refp) * filled, 2) + 0.0
        rows.append(
            {
                "date": day,
                "symbol": base.get("symbol", ""),
                "side": side,
                "shares": qty,
                "limit_price": lim if lim is not None else np.nan,
                "fill_price": fill_price if fill_price is not None else np.nan,
                "fill_time": fill_time or "",
                "order_id": order_id,
                "commission": commission,
                "slippage": slippage if slippage is not None else np.nan,
                "notes": "; ".join(notes),
            }
        )
    df = pd.DataFrame(rows, columns=EXECUTION_LOG_COLUMNS)
    for c in ("shares", "limit_price", "fill_price", "commission", "slippage"):
        df[c] = df[c].astype(float)
    return df


def write_execution_log(jr: J.Journal, live_dir: str | Path, day: str) -> Path:
    """Rewrite ``live/<day>/execution_log.csv`` from the journal (atomic)."""
    df = execution_log_frame(jr, day)
    return atomic_write_csv(
        Day(live_dir, day).execution_log, df, {"limit_price": 2, "fill_price": 2, "commission": 2, "slippage": 2}
    )


# ---------------------------------------------------------------------------------------------
# after submission

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
    intents = _day_intents(jr, day)
    listed: dict[str, Order] = {}
    note_all = ""
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
                note = f"broker unreachable: {e}"
        if o is not None:
            rec.order(o)
            rows.append(
                {
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
            )
        else:
            last = jr.latest_orders(day).get(coid) or {}
            rows.append(
                {
                    "client_order_id": coid,
                    "symbol": it["symbol"],
                    "side": it["side"],
                    "qty": float(it["qty"]),
                    "limit_price": _num_or_none(it.get("limit_price")) or np.nan,
                    "status": last.get("status", "unknown"),
                    "filled_qty": float(last.get("filled_qty") or 0),
                    "filled_avg_price": _num_or_none(last.get("filled_avg_price")) or np.nan,
                    "remaining": np.nan,
                    "order_id": last.get("id", ""),
                    "submitted_at": last.get("submitted_at") or "",
                    "updated_at": last.get("updated_at") or "",
                    "note": note or note_all,
                }
            )
    for p in jr.payloads(J.REFUSED, day):
        if p["client_order_id"] in intents:
            continue
        rows.append(
            {
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
        )
    df = pd.DataFrame(rows, columns=STATUS_COLUMNS).drop_duplicates("client_order_id", keep="last")
    for c in ("qty", "limit_price", "filled_qty", "filled_avg_price", "remaining"):
        df[c] = df[c].astype(float)
    write_execution_log(jr, ctx.live_dir, day)
    return df.reset_index(drop=True)


def _status_note(o: Order) -> str:
    if o.status == "partially_filled":
        return f"partial fill {o.filled_qty:g}/{o.qty:g}, {o.remaining:g} open"
    if o.status in ("expired", "done_for_day"):
        return f"DAY order {o.status} at the close ({o.filled_qty:g}/{o.qty:g} filled)"
    if o.status == "canceled":
        return f"canceled ({o.filled_qty:g}/{o.qty:g} filled)"
    return ""


def chase_limit(limit: float, side: str, step: float) -> float:
    """The next, more aggressive limit: buys up by ``step`` ($), sells down, on the tick."""
    from xlexec.core.orders import round_to_tick

    moved = limit + step if side == "buy" else limit - step
    return round_to_tick(moved, side) if moved > 0 else limit


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
    intents = _day_intents(jr, day)
    seen = jr.latest_orders(day)  # the broker's own timestamps
    actions = []
    open_ = st[st["status"].isin(OPEN_STATUSES) & (st["order_id"] != "")]
    for r in open_.itertuples(index=False):
        it = intents.get(r.client_order_id, {})
        root = it.get("chase_of") or r.client_order_id
        first = _parse_ts((seen.get(root) or {}).get("submitted_at") or r.submitted_at)
        last = _parse_ts(r.submitted_at)
        if first is None or last is None:
            continue
        age_min = (now - first).total_seconds() / 60.0
        since_move = (now - last).total_seconds() / 60.0
        moves = sum(1 for p in intents.values() if p.get("chase_of") == root)
        if ex.order_timeout_minutes > 0 and age_min >= ex.order_timeout_minutes:
            try:
                broker.cancel_order(r.order_id)
                note = f"open {age_min:.0f} min >= order_timeout_minutes {ex.order_timeout_minutes}: cancel requested"
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
            actions.append({"client_order_id": r.client_order_id, "symbol": r.symbol, "action": action, "note": note})
        elif (
            ex.chase.enabled
            and since_move >= ex.chase.minutes
            and moves < ex.chase.max_moves
            and not (isinstance(r.limit_price, float) and math.isnan(r.limit_price))
        ):
            if not ex.enabled:  # a chase move sends a replacement order: switched off too
                actions.append(
                    {
                        "client_order_id": r.client_order_id,
                        "symbol": r.symbol,
                        "action": "chase_refused",
                        "note": "execution.enabled is false: limit not moved, nothing sent",
                    }
                )
                continue
            actions.append(_chase_one(broker, rec, r, root, moves + 1, ex.chase.step, now))
    if actions:
        write_execution_log(jr, ctx.live_dir, day)
    return pd.DataFrame(actions, columns=["client_order_id", "symbol", "action", "note"])


def _chase_one(broker: Broker, rec: _Recorder, r, root: str, n: int, step: float, now: dt.datetime) -> dict:
    new_coid = chase_client_order_id(root, n)
    new_limit = chase_limit(float(r.limit_price), r.side, step)
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


# ---------------------------------------------------------------------------------------------
# P&L, kill switch


def pnl_today(
    positions: pd.DataFrame, quotes: pd.DataFrame | None, fills: pd.DataFrame | None, closes: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The day's P&L ($) per symbol and in total, marked to the quotes.

    ``positions``: symbol, shares (now), avg_cost ($/share). ``quotes``: symbol + mid (or bid/ask/
    last) = the mark. ``fills``: today's fills (symbol, side, shares, price, commission).
    ``closes``: symbol, close = the previous session's close (start-of-day mark); without it the
    position's avg_cost is used (flagged per symbol). Per symbol, with start = shares - net bought
    today: pnl = shares x mark - start x prev_close + sells' proceeds - buys' cost - commissions.
    """
    pos = positions[["symbol", "shares"] + (["avg_cost"] if "avg_cost" in positions.columns else [])].copy()
    pos["shares"] = pos["shares"].astype(float)
    f = (
        fills
        if fills is not None and len(fills)
        else pd.DataFrame(columns=["symbol", "side", "shares", "price", "commission"])
    )
    f = f.copy()
    sign = np.where(f["side"].astype(str) == "buy", 1.0, -1.0) if len(f) else np.array([])
    f["net"] = sign * f["shares"].astype(float) if len(f) else []
    f["cash"] = (
        (
            -sign * f["shares"].astype(float) * f["price"].astype(float)
            - (f["commission"].astype(float).fillna(0) if "commission" in f.columns else 0.0)
        )
        if len(f)
        else []
    )
    g = f.groupby("symbol")[["net", "cash"]].sum() if len(f) else pd.DataFrame(columns=["net", "cash"])
    syms = sorted(set(pos["symbol"]) | set(g.index))
    marks = _mid_map(quotes)
    prev = (
        closes.drop_duplicates("symbol").set_index("symbol")["close"].astype(float)
        if closes is not None and len(closes)
        else pd.Series(dtype=float)
    )
    pmap = pos.set_index("symbol")
    rows, missing = [], []
    total = 0.0
    for s in syms:
        shares = float(pmap["shares"].get(s, 0.0)) if s in pmap.index else 0.0
        net = float(g["net"].get(s, 0.0)) if s in g.index else 0.0
        cash = float(g["cash"].get(s, 0.0)) if s in g.index else 0.0
        start = shares - net
        basis = "prev_close"
        p0 = prev.get(s, np.nan)
        if p0 != p0:  # NaN
            p0 = float(pmap["avg_cost"].get(s, np.nan)) if "avg_cost" in pmap.columns and s in pmap.index else np.nan
            basis = "avg_cost"
        mark = marks.get(s, np.nan)
        if mark != mark:  # NaN
            missing.append(s)
            mark = p0
        if p0 != p0:  # NaN
            p0 = mark if mark == mark else 0.0
        if mark != mark:  # NaN
            mark = 0.0
        pnl = shares * mark - start * p0 + cash
        total += pnl
        rows.append(
            {
                "symbol": s,
                "shares": shares,
                "start_shares": float(start),
                "prev": round(float(p0), 4),
                "mark": round(float(mark), 4),
                "basis": basis,
                "pnl": round(float(pnl), 2),
            }
        )
    return {"total_pnl": round(float(total), 2), "by_symbol": rows, "missing_marks": missing}


def _positions_frame(broker: Broker) -> pd.DataFrame:
    ps = broker.positions()
    return pd.DataFrame(
        {
            "symbol": [p.symbol for p in ps],
            "shares": [float(p.qty) for p in ps],
            "avg_cost": [float(p.avg_entry_price) for p in ps],
            "current_price": [p.current_price if p.current_price is not None else np.nan for p in ps],
        }
    )


def _fills_frame(broker: Broker, day: str) -> pd.DataFrame:
    fl = broker.fills(day)
    return pd.DataFrame(
        {
            "symbol": [x.symbol for x in fl],
            "side": [x.side for x in fl],
            "shares": [float(x.qty) for x in fl],
            "price": [float(x.price) for x in fl],
            "commission": [float(x.commission or 0) for x in fl],
            "order_id": [x.order_id for x in fl],
        }
    )


def day_pnl(ctx, broker: Broker, day: str | None = None, quotes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Shell helper: today's P&L from the broker's positions and fills, marked to the quotes
    (``live/<day>/quotes.csv``, else the broker's current prices), start-of-day marks from the
    most recent earlier ``live/<D>/closes.csv`` (else avg cost)."""
    from xlexec.formats.inputs import read_closes, read_quotes

    day = day or ctx.today()
    pos = _positions_frame(broker)
    live = Path(ctx.live_dir)
    if quotes is None and Day(live, day).quotes.exists():
        quotes = read_quotes(Day(live, day).quotes)
    marks = pd.DataFrame({"symbol": pos["symbol"], "mid": pos["current_price"]})
    if quotes is not None and len(quotes):
        q = pd.DataFrame({"symbol": quotes["symbol"], "mid": _mid_map(quotes).reindex(quotes["symbol"]).to_numpy()})
        marks = pd.concat([marks[~marks["symbol"].isin(q["symbol"])], q], ignore_index=True)
    closes = None
    earlier = sorted(p for p in live.glob("????-??-??/closes.csv") if p.parent.name < day)
    if earlier:
        closes = read_closes(earlier[-1])
    out = pnl_today(pos, marks, _fills_frame(broker, day), closes)
    out["day"] = day
    return out


def kill_switch_report(
    ctx,
    broker: Broker,
    *,
    cancelled: list[str] | None = None,
    still_open: list | None = None,
    reason: str | None = None,
) -> str:
    """The incident report: mode, account, positions with the day's P&L, orders of the day and
    what was cancelled. Plain text; never contains keys."""
    now = ctx.now()
    day = ctx.today()
    mode = describe_mode(broker)
    lines = [
        f"xlexec incident report — {now.isoformat(timespec='seconds')} ({day})",
        f"mode: {mode['text']}",
        f"operator: {ctx.user}",
    ]
    if reason:
        lines.append(f"reason: {' '.join(str(reason).split())}")
    lines.append("")
    try:
        a = broker.account()
        lines += [
            f"account: cash ${a.cash:,.2f}  buying power ${a.buying_power:,.2f}  "
            f"portfolio value ${a.portfolio_value:,.2f}  status {a.status}"
        ]
    except BrokerFault as e:
        lines.append(f"account: unavailable ({e})")
    try:
        pnl = day_pnl(ctx, broker, day)
        lines += [
            "",
            f"P&L today: ${pnl['total_pnl']:,.2f}",
            "positions:",
            f"  {'symbol':<8}{'shares':>10}{'mark':>12}{'pnl $':>12}",
        ]
        for r in pnl["by_symbol"]:
            lines.append(f"  {r['symbol']:<8}{r['shares']:>10g}{r['mark']:>12,.2f}{r['pnl']:>12,.2f}")
        if pnl["missing_marks"]:
            lines.append(f"  (no mark for {', '.join(pnl['missing_marks'])}: valued at the start-of-day price)")
    except BrokerFault as e:
        lines.append(f"positions / P&L: unavailable ({e})")
    try:
        opens = broker.list_orders("open")
        lines += ["", f"open orders now: {len(opens)}"]
        for o in opens[:200]:
            lines.append(
                f"  {o.symbol} {o.side} {o.qty:g} @ {o.limit_price if o.limit_price is not None else 'MKT'} "
                f"{o.status} filled {o.filled_qty:g} ({o.client_order_id})"
            )
    except BrokerFault as e:
        lines.append(f"open orders: unavailable ({e})")
    if cancelled is not None:
        lines += ["", f"cancel-all: {len(cancelled)} order(s) accepted for cancellation"]
        lines += [f"  {i}" for i in cancelled[:500]]
    if still_open:
        lines += [f"STILL OPEN after cancel-all: {len(still_open)}"]
        lines += [f"  {o.symbol} {o.side} {o.qty:g} {o.status} ({o.client_order_id})" for o in still_open]
    jr = ctx.journal()
    latest = jr.latest_orders(day)
    if latest:
        lines += ["", f"orders journaled today: {len(latest)}"]
        for coid, p in latest.items():
            lines.append(
                f"  {p.get('symbol')} {p.get('side')} {float(p.get('qty') or 0):g} {p.get('status')} "
                f"filled {float(p.get('filled_qty') or 0):g} ({coid})"
            )
    text = "\n".join(lines) + "\n"
    from xlexec.config import secret_values

    for s in secret_values(ctx.config):
        text = text.replace(s, "***")
    return text


def cancel_all(
    ctx, broker: Broker, reason: str = "kill switch", *, verify_attempts: int = 5, verify_delay: float = 0.5
) -> dict[str, Any]:
    """Kill switch: ONE cancel-all request, verify nothing is left open, write ``live/KILL_SWITCH``
    and the incident report ``live/<today>/incident_<HHMMSS>.txt``.

    Returns ``{cancelled, still_open, ok, kill_switch, report_path, report}``. ``ok`` is False
    when orders are still open after ``verify_attempts`` listings. The kill-switch file is
    written even if the broker cannot be reached (then ``ok`` is False and ``error`` says why).
    """
    now = ctx.now()
    day = ctx.today()
    live = Path(ctx.live_dir)
    mode = describe_mode(broker)
    error = None
    cancelled: list[str] = []
    still: list[Order] = []
    ks = atomic_write_text(
        Day(live, day).kill_switch,
        f"TRIGGERED {now.isoformat(timespec='seconds')} by {ctx.user}: {' '.join(str(reason).split())}\n",
    )
    try:
        cancelled = broker.cancel_all()
        for i in range(max(1, verify_attempts)):
            still = broker.list_orders("open")
            if not still:
                break
            if i + 1 < verify_attempts:
                time.sleep(verify_delay)
    except BrokerFault as e:
        error = f"broker unreachable: {e}"
    report = kill_switch_report(ctx, broker, cancelled=cancelled, still_open=still, reason=reason)
    if error:
        report += f"\nERROR: {error}\n"
    path = atomic_write_text(Day(live, day).dir / f"incident_{now.astimezone(NY).strftime('%H%M%S')}.txt", report)
    ok = error is None and not still
    ctx.journal().append(
        J.KILL,
        now.isoformat(),
        {
            "reason": reason,
            "cancelled": cancelled,
            "still_open": [o.client_order_id for o in still],
            "ok": ok,
            "error": error,
            "report_path": str(path),
            "mode": mode["mode"],
        },
        day=day,
        actor=ctx.user,
    )
    return {
        "cancelled": cancelled,
        "still_open": [o.to_dict() for o in still],
        "ok": ok,
        "error": error,
        "kill_switch": str(ks),
        "report_path": str(path),
        "report": report,
        "mode": mode["text"],
    }

"""ADV slicing (pure core): orders too large for one day's volume become daily child orders.

An order of ``Q`` shares in a stock with average daily volume ``ADV`` (shares) is *large* when
``Q > ADV x max_adv_pct`` (``max_adv_pct`` a fraction, default 0.05 = 5%). It is then split into
whole-share daily children:

* ``cap  = floor(ADV x max_adv_pct)``   shares per day (the most one day may trade);
* ``days = ceil(Q / cap)``;
* children ``cap, cap, ..., Q - cap x (days - 1)`` (the last day takes the remainder).

This is the issue's ``days = ceil(Q / (ADV x max_pct))`` whenever ``ADV x max_pct`` is a whole
number of shares (e.g. ADV 500,000 x 5% = 25,000). When it is not, dividing by the fractional
cap would leave a last child above the cap (ADV 6,670 x 5% = 333.5: 1,000 shares would be
333 + 333 + 334), so we divide by the whole-share cap instead (333 + 333 + 333 + 1): no child ever
exceeds ``max_adv_pct`` of ADV.

Day 1's child replaces the parent in today's orders; the rest is a *schedule* recorded in the
journal (kind ``SLICE``, key ``parent_id|day``), and a later day's conversion takes the next child
from it (:func:`carry_forward`). Records are plain dicts (JSON payloads):

``parent_id`` (the parent's client order id), ``origin_day``, ``batch_sha256`` (the origin day's
approved orders), ``symbol``, ``side``, ``order_type``, ``limit_price`` ($, None for market; the
approved limit, never made more aggressive), ``time_in_force``, ``total_qty``, ``adv_shares``,
``max_adv_pct``, ``cap_qty``, ``days``, ``seq`` (1 = origin day), ``day`` (the day this child
trades), ``child_qty``, ``child_id``, ``done_qty`` (through this child), ``remaining_qty`` (after it)
and ``schedule`` (the children still to come, in order).

Records also carry the parent's ``price`` (signal $), ``ml_score`` and ``weight_change`` (None when
absent) so a carried child can be valued and ranked by the pre-trade limits.

Carried children are added as extra orders (not merged into a same-symbol order of the day): they
keep their own approved limit and client order id, so fills join back to the parent.

One plan for both shells: ``xlexec convert --slice`` and ``xlexec submit --slice`` call
:func:`xlexec.store.slicing.plan_day` (which reads the reference file and calls
:func:`plan_slices`). Once a day's schedule is in the journal (:func:`recorded_parents`), that schedule
is reused as recorded (the reference file is not read again), so the upload file and the API
submission of a day always carry the same children. Parents that already went out whole that day
(an intent under the parent's own client order id) are never sliced afterwards: slicing them
would schedule children on top of the full quantity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlexec.errors import InputError

SCHEDULE_COLUMNS = ["parent_id", "symbol", "side", "total_qty", "adv_shares", "cap_qty", "days", "seq", "qty", "status"]


def child_quantities(shares: int, adv_shares: float, max_adv_pct: float) -> list[int]:
    """Whole-share daily children of ``shares`` under a cap of ``floor(adv_shares x max_adv_pct)``.

    >>> child_quantities(12_000, 100_000, 0.05)
    [5000, 5000, 2000]
    """
    shares = int(shares)
    cap = math.floor(adv_shares * max_adv_pct + 1e-9)
    if cap < 1:
        raise ValueError(f"ADV {adv_shares} x {max_adv_pct} is less than one share a day")
    if shares <= cap:
        return [shares]
    days = -(-shares // cap)
    return [cap] * (days - 1) + [shares - cap * (days - 1)]


def child_id(parent_id: str, seq: int, limit: int = 48) -> str:
    """``<parent client order id>-s<seq>``, shortened to ``limit`` chars (Alpaca allows 48)."""
    suffix = f"-s{seq}"
    return parent_id[: limit - len(suffix)] + suffix


@dataclass
class SlicePlan:
    """Result of :func:`plan_slices`.

    ``orders``: today's orders (unsliced ones unchanged, large ones cut to today's child, carried
    children from earlier days appended; extra columns ``parent_id``, ``slice_seq``).
    ``schedule``: one row per child still to trade, today's included (``SCHEDULE_COLUMNS``).
    ``records``: ``[(journal key, payload)]`` for today (kind SLICE); append them unless a draft.
    ``no_adv``: symbols of large-looking orders we could not check (no ADV in the reference file).
    """

    orders: pd.DataFrame
    schedule: pd.DataFrame
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    no_adv: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)  # parent ids whose day-1 record came from the journal

    def record_of(self, client_order_id: str) -> dict[str, Any] | None:
        """The record of the child order ``client_order_id`` (None for an order that is not a child)."""
        for _, r in self.records:
            if r["child_id"] == client_order_id:
                return r
        return None


def _nan_to_none(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _record(parent: dict[str, Any], seq: int, day: str, plan: list[int]) -> dict[str, Any]:
    """The payload for child ``seq`` (1-based) of ``plan`` traded on ``day``."""
    done = sum(plan[:seq])
    rec = dict(parent)
    rec.update(
        seq=seq,
        day=day,
        child_qty=plan[seq - 1],
        child_id=child_id(parent["parent_id"], seq),
        done_qty=done,
        remaining_qty=parent["total_qty"] - done,
        schedule=plan[seq:],
    )
    return rec


def live_records(prior: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop records of superseded batches: for each origin day, only parents of the batch recorded
    last (the latest approved orders of that day) stay live. ``prior`` is in journal order."""
    prior = list(prior)
    latest_batch: dict[str | None, str] = {}  # origin day -> its last batch (a record may lack the day)
    for r in prior:
        if r.get("seq") == 1:
            latest_batch[r["origin_day"]] = r.get("batch_sha256", "")
    return [r for r in prior if latest_batch.get(r.get("origin_day")) == r.get("batch_sha256", "")]


def recorded_parents(prior: Iterable[dict[str, Any]], day: str, batch_sha256: str) -> list[dict[str, Any]]:
    """The day-1 records of ``day``'s batch ``batch_sha256`` already in the journal (live ones,
    journal order): non-empty once ``convert --slice`` or ``submit --slice`` sliced that batch."""
    return [
        r
        for r in live_records(prior)
        if r.get("seq") == 1 and r.get("origin_day") == day and r.get("batch_sha256") == batch_sha256
    ]


def carry_forward(prior: Iterable[dict[str, Any]], day: str) -> list[dict[str, Any]]:
    """The children that trade on ``day`` from parents that started on an earlier day.

    For each live parent: a record already made for ``day`` (a rerun) is returned as is; else the
    next child after the latest earlier record, if anything remains. Parents with records after
    ``day`` are left alone (``day`` is in the past for them).
    """
    by_parent: dict[str, list[dict[str, Any]]] = {}
    for r in live_records(prior):
        if r["origin_day"] < day:
            by_parent.setdefault(r["parent_id"], []).append(r)
    out = []
    for recs in by_parent.values():
        same = [r for r in recs if r["day"] == day]
        if same:
            out.append(same[-1])
            continue
        if any(r["day"] > day for r in recs):
            continue
        last = max(recs, key=lambda r: (r["seq"], r["day"]))
        if last["remaining_qty"] <= 0 or not last["schedule"]:
            continue
        out.append(_record(_parent_fields(last), last["seq"] + 1, day, _plan_of(last)))
    return sorted(out, key=lambda r: (r["symbol"], r["side"], r["parent_id"]))


def _plan_of(rec: dict[str, Any]) -> list[int]:
    """The full children list of a parent from one record: done part + remaining schedule."""
    return [int(rec["cap_qty"])] * (int(rec["seq"]) - 1) + [int(rec["child_qty"])] + [int(x) for x in rec["schedule"]]


_PARENT_KEYS = [
    "parent_id",
    "origin_day",
    "batch_sha256",
    "symbol",
    "side",
    "order_type",
    "limit_price",
    "time_in_force",
    "total_qty",
    "adv_shares",
    "max_adv_pct",
    "cap_qty",
    "days",
    "price",
    "ml_score",
    "weight_change",
]


def _parent_fields(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: rec.get(k) for k in _PARENT_KEYS}


def journal_key(rec: dict[str, Any]) -> str:
    return f"{rec['parent_id']}|{rec['day']}"


def plan_slices(
    orders: pd.DataFrame,
    reference: pd.DataFrame | None,
    max_adv_pct: float,
    *,
    day: str,
    batch_sha256: str,
    prior: Iterable[dict[str, Any]] = (),
    slice_new: bool = True,
    reference_name: str = "reference.csv",
    sent_whole: Iterable[str] = (),
) -> SlicePlan:
    """Today's orders after slicing, the schedule, and the journal records to append.

    ``orders``: :func:`xlexec.core.orders.orders_from_trades` output (qty in shares, client order ids).
    ``reference``: the frame of :func:`xlexec.formats.inputs.read_reference` (``symbol, adv_shares``;
    rows = file lines);
    ``None`` when not slicing new orders (or when the day's schedule is already recorded).
    ``max_adv_pct``: fraction (0.05 = 5%). ``batch_sha256``: ``orders_sha256(orders)`` (the
    approved batch). ``prior``: SLICE payloads already in the journal, in journal order.
    ``slice_new=False`` only carries earlier parents forward (today's orders are left whole).
    ``sent_whole``: client order ids of today's orders already sent unsliced (never sliced).

    When ``prior`` already holds day-1 records of this day's batch (:func:`recorded_parents`),
    today's slicing is exactly those records (same children, ids and schedule; ``reference`` is
    not consulted): a rerun, or ``submit`` after ``convert``, gives the same orders.
    """
    if not 0 < max_adv_pct <= 1:
        raise InputError("validation.max_adv_pct", f"must be a fraction in (0, 1], got {max_adv_pct}")
    prior = list(prior)
    st = _PlanState(orders.copy())
    st.out["parent_id"] = ""
    st.out["slice_seq"] = 0
    no_adv: list[str] = []
    reused: list[str] = []
    recorded = {r["parent_id"]: r for r in recorded_parents(prior, day, batch_sha256)} if slice_new else {}
    if recorded:
        reused = _reuse_recorded(st, recorded)  # the day's schedule is fixed, whatever reference.csv says now
    elif slice_new and reference is not None and len(st.out):
        no_adv = _slice_fresh(
            st,
            reference,
            max_adv_pct,
            day=day,
            batch_sha256=batch_sha256,
            whole=set(sent_whole),
            reference_name=reference_name,
        )
    _revalue_cut(st.out, st.cut_rows)
    out = _with_carried(st, carry_forward(prior, day))
    schedule = pd.DataFrame(st.sched_rows, columns=SCHEDULE_COLUMNS)
    return SlicePlan(out, schedule, st.records, no_adv, reused)


@dataclass
class _PlanState:
    """What :func:`plan_slices` builds up: the orders, journal records, schedule rows, cut rows."""

    out: pd.DataFrame
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sched_rows: list[dict[str, Any]] = field(default_factory=list)
    cut_rows: list = field(default_factory=list)

    def add_schedule(self, rec: dict[str, Any]) -> None:
        plan = _plan_of(rec)
        for k in range(rec["seq"], len(plan) + 1):
            self.sched_rows.append(
                {
                    "parent_id": rec["parent_id"],
                    "symbol": rec["symbol"],
                    "side": rec["side"],
                    "total_qty": rec["total_qty"],
                    "adv_shares": rec["adv_shares"],
                    "cap_qty": rec["cap_qty"],
                    "days": rec["days"],
                    "seq": k,
                    "qty": plan[k - 1],
                    "status": "today" if k == rec["seq"] else "pending",
                }
            )

    def cut(self, idx, rec: dict[str, Any]) -> None:
        """Row ``idx`` (the parent) becomes today's child of ``rec``."""
        self.records.append((journal_key(rec), rec))
        self.add_schedule(rec)
        self.out.at[idx, "qty"] = float(rec["child_qty"])
        self.out.at[idx, "client_order_id"] = rec["child_id"]
        self.out.at[idx, "parent_id"] = rec["parent_id"]
        self.out.at[idx, "slice_seq"] = 1
        self.cut_rows.append(idx)


def _reuse_recorded(st: _PlanState, recorded: dict[str, dict[str, Any]]) -> list[str]:
    """Cut today's orders exactly as the journal's day-1 records say; the parent ids reused."""
    reused = []
    for idx, coid in zip(st.out.index, st.out["client_order_id"].astype(str)):
        if coid in recorded:
            st.cut(idx, recorded[coid])
            reused.append(coid)
    return reused


def _slice_fresh(
    st: _PlanState,
    reference: pd.DataFrame,
    max_adv_pct: float,
    *,
    day: str,
    batch_sha256: str,
    whole: set[str],
    reference_name: str,
) -> list[str]:
    """Cut every order above ``max_adv_pct`` of its ADV (shares) into daily children; returns the
    symbols with no ADV in ``reference``."""
    out = st.out
    ref = reference.drop_duplicates("symbol").set_index("symbol")
    ref_rows = pd.Series(reference.index, index=reference["symbol"]).groupby(level=0).first()
    adv = out["symbol"].map(ref["adv_shares"]) if len(ref) else pd.Series(np.nan, index=out.index)
    adv = pd.to_numeric(adv, errors="coerce").astype(float)
    qty = pd.to_numeric(out["qty"], errors="coerce").astype(float)
    no_adv = sorted(out.loc[adv.isna(), "symbol"].astype(str).unique().tolist())
    large = adv.notna() & (qty > adv * max_adv_pct) & ~out["client_order_id"].astype(str).isin(whole)
    for idx in out.index[large.to_numpy()]:
        sym, a = out.at[idx, "symbol"], float(adv[idx])
        try:
            plan = child_quantities(int(qty[idx]), a, max_adv_pct)
        except ValueError as e:
            raise InputError(
                reference_name,
                f"{sym}: cannot slice: {e}",
                row=int(ref_rows[sym]) if sym in ref_rows.index else None,
                column="adv_shares",
            ) from None
        parent = _parent_of(out, idx, int(qty[idx]), a, max_adv_pct, plan, day=day, batch_sha256=batch_sha256)
        st.cut(idx, _record(parent, 1, day, plan))
    return no_adv


def _parent_of(
    out: pd.DataFrame,
    idx,
    total_qty: int,
    adv: float,
    max_adv_pct: float,
    plan: list[int],
    *,
    day: str,
    batch_sha256: str,
) -> dict[str, Any]:
    """The parent fields of a SLICE record for order row ``idx``."""

    def opt(c):
        return _nan_to_none(out.at[idx, c]) if c in out.columns else None

    return {
        "parent_id": str(out.at[idx, "client_order_id"]),
        "origin_day": day,
        "batch_sha256": batch_sha256,
        "symbol": out.at[idx, "symbol"],
        "side": out.at[idx, "side"],
        "order_type": out.at[idx, "order_type"],
        "limit_price": _nan_to_none(out.at[idx, "limit_price"]),
        "time_in_force": out.at[idx, "time_in_force"] if "time_in_force" in out.columns else "day",
        "total_qty": total_qty,
        "adv_shares": adv,
        "max_adv_pct": float(max_adv_pct),
        "cap_qty": plan[0],
        "days": len(plan),
        "price": opt("price"),
        "ml_score": opt("ml_score"),
        "weight_change": opt("weight_change"),
    }


def _revalue_cut(out: pd.DataFrame, cut_rows: list) -> None:
    """The notional ($) of cut rows: child shares x limit (the signal price for market orders)."""
    if "notional" in out.columns and cut_rows:
        ref_px = out["limit_price"].where(out["limit_price"].notna(), out.get("price"))
        out.loc[cut_rows, "notional"] = (out.loc[cut_rows, "qty"].astype(float) * ref_px[cut_rows].astype(float)).round(
            2
        )


def _carried_order(rec: dict[str, Any]) -> dict[str, Any]:
    """The order row of a child carried from an earlier day (its own approved limit and id)."""
    lp = _nan_to_none(rec["limit_price"])
    px = _nan_to_none(rec.get("price"))
    basis = lp if lp is not None and rec["order_type"] != "market" else px
    return {
        "symbol": rec["symbol"],
        "side": rec["side"],
        "qty": float(rec["child_qty"]),
        "order_type": rec["order_type"],
        "limit_price": np.nan if lp is None else lp,
        "time_in_force": rec["time_in_force"],
        "client_order_id": rec["child_id"],
        "price": np.nan if px is None else px,
        "notional": np.nan if basis is None else round(float(rec["child_qty"]) * basis, 2),
        "ml_score": np.nan if rec.get("ml_score") is None else float(rec["ml_score"]),
        "weight_change": (np.nan if rec.get("weight_change") is None else float(rec["weight_change"])),
        "parent_id": rec["parent_id"],
        "slice_seq": rec["seq"],
    }


def _with_carried(st: _PlanState, carried: list[dict[str, Any]]) -> pd.DataFrame:
    """Today's orders with the carried children appended (and their records and schedule)."""
    extra = []
    for rec in carried:
        if not any(k == journal_key(rec) for k, _ in st.records):
            st.records.append((journal_key(rec), rec))
        st.add_schedule(rec)
        extra.append(_carried_order(rec))
    out = st.out
    if extra:
        add = pd.DataFrame(extra, index=pd.Index([f"journal:{r['client_order_id']}" for r in extra]))
        add = add[[c for c in add.columns if c in out.columns]]
        out = pd.concat([out, add], axis=0)
    return out


def schedule_lines(schedule: pd.DataFrame) -> list[str]:
    """Human lines: ``BRK.B buy 12,000 (cap 5,000/day, 3 days): day 1 5,000 (today), day 2 5,000, day 3 2,000``."""
    lines = []
    for (_pid, sym, side), g in schedule.groupby(["parent_id", "symbol", "side"], sort=False):
        first = g.iloc[0]
        parts = [
            f"day {int(r.seq)} {int(r.qty):,}" + (" (today)" if r.status == "today" else "") for r in g.itertuples()
        ]
        lines.append(
            f"{sym} {side} {int(first.total_qty):,} (ADV {first.adv_shares:,.0f}, cap "
            f"{int(first.cap_qty):,}/day, {int(first.days)} days): " + ", ".join(parts)
        )
    return lines

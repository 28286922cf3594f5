"""Steps ``reconcile``, ``accept``, ``compare_positions`` and ``sync_positions`` (the Reconcile and
Accept Positions buttons; ``xlexec reconcile|compare-positions|sync-positions``).

``reconcile`` (the guide's ``reconcile_positions.py``), in this order:

1. read trades, fills (any layout, :mod:`xlexec.formats.fills`; ``from_broker`` pulls them from the
   configured broker, and for today its positions too), current positions, ``events.csv``,
   ``closes.csv``;
2. record every fill in the journal (kind ``fill``, deterministic key: broker fill id, else
   ``day|order id|n``) so a rerun deduplicates;
3. read order states from the journal (``latest_orders(day)``) and reconcile;
4. write ``live/DAY/positions_after_recon.csv``, ``reconciliation.json``,
   ``reconciliation_report.txt``, ``reconciliation_trades.csv`` (atomic writes), append each
   discrepancy line to ``live/discrepancies.log`` once per (day, line) even when rerun, and
   journal a ``reconciliation`` event with the summary;
5. ``accept``: copy positions_after_recon over ``live/current_positions.csv`` (the previous
   file kept as ``live/current_positions.DAY.bak.csv``), journaled with who did it; refused
   while the reconciliation has open breaks unless forced with a reason (journaled with the OS
   login); the same positions accepted again change nothing.

The day starts from its opening snapshot (:mod:`xlexec.store.opening`), taken at its first
reconcile: a rerun (reconcile, accept, both) reproduces the same files byte for byte.

Exit code: 0 clean, 1 when there are breaks (over-fill, unplanned fill, oversell, position
mismatch, cash mismatch: the cash after differs from the broker's by more than $0.01).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.core.positions import compare_positions as compare_frames
from xlexec.core.reconcile import ReconResult, sent_orders
from xlexec.core.reconcile import reconcile as reconcile_frames
from xlexec.errors import BrokerError, InputError, RefusedError
from xlexec.execution.brokers import get_broker
from xlexec.execution.brokers.base import BrokerFault
from xlexec.execution.execution_log import write_execution_log
from xlexec.execution.slicing import origin_trades, planned_orders
from xlexec.faults import crash_point
from xlexec.formats.broker_positions import broker_positions_frame, read_broker_positions
from xlexec.formats.csvio import atomic_write_bytes, atomic_write_csv, atomic_write_text, to_csv_text
from xlexec.formats.fills import FILL_COLUMNS, FILL_ID, fill_keys, fills_from_broker, read_fills, skipped_of
from xlexec.formats.inputs import read_closes, read_events, read_positions, read_quotes
from xlexec.formats.trades import read_trades
from xlexec.steps.context import Context
from xlexec.steps.fills import read_rules, save_fills
from xlexec.store import opening
from xlexec.store.day import Day
from xlexec.store.journal import DISCREPANCY, FILL, INTENT, POSITIONS, RECON, DayLock, Journal, current_user

POSITION_DECIMALS = {"avg_cost": 2, "current_value": 2, "weight": 4, "total_cost": 2}
FILLS_CHUNK = 10_000  # fills journaled per transaction (keys are deterministic: a rerun dedupes)
PathLike = str | Path | None


# ------------------------------------------------------------------ helpers


def _first_existing(*paths: Path | None) -> Path | None:
    for p in paths:
        if p is not None and Path(p).exists():
            return Path(p)
    return None


def fills_hash(fills: pd.DataFrame) -> str:
    """sha256 of the fills' canonical columns (what a reconciliation event is keyed on)."""
    cols = [c for c in FILL_COLUMNS + [FILL_ID] if c in fills.columns]
    if fills.empty:
        return hashlib.sha256(b"").hexdigest()
    h = pd.util.hash_pandas_object(fills[cols].astype(str), index=False).to_numpy().tobytes()
    return hashlib.sha256(h).hexdigest()


def record_fills(journal: Journal, fills: pd.DataFrame, day: str, actor: str | None = None) -> int:
    """Journal every fill (kind ``fill``); returns how many were new (reruns add none).

    Committed in chunks of :data:`FILLS_CHUNK`: a crash part-way keeps the chunks already
    committed, and the rerun adds only the rest (deterministic keys)."""
    if fills.empty:
        return 0
    keys = fill_keys(fills, day)
    cols = [c for c in FILL_COLUMNS + [FILL_ID] if c in fills.columns]
    recs = fills[cols].to_dict("records")
    rows = [(k, {**r, "day": day}) for k, r in zip(keys, recs, strict=True)]
    new = 0
    step = max(1, int(FILLS_CHUNK))
    for i in range(0, len(rows), step):
        new += journal.append_many(FILL, rows[i : i + step], day=day, actor=actor)
        crash_point("fills_import")  # test hook (xlexec.faults): some fills journaled
    return new


def previous_cash(journal: Journal, day: str) -> float | None:
    """Cash before ``day`` ($; :meth:`xlexec.store.day.Day.previous_cash`)."""
    return Day(Path(journal.path).parent, day).previous_cash(journal)


def append_discrepancies(journal: Journal, live_dir: Path, day: str, lines: list[str], actor: str | None) -> int:
    """Append each line to ``live/discrepancies.log`` once per (day, line), atomically."""
    if not lines:
        return 0
    path = Day(live_dir, day).discrepancies_log
    with journal.transaction():
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        present = set(old.splitlines())
        new = [
            ln
            for ln in dict.fromkeys(lines)
            if journal.append(DISCREPANCY, f"{day}|{ln}", {"line": ln}, day=day, actor=actor) and ln not in present
        ]
        if new:
            sep = "" if (not old or old.endswith("\n")) else "\n"
            atomic_write_text(path, old + sep + "\n".join(new) + "\n")
    return len(new)


ACCEPT = "accept_reconciliation"


def open_breaks(day: Day) -> list[dict]:
    """The breaks of the day's last reconciliation (``reconciliation.json``; [] without one)."""
    try:
        return list(json.loads(day.reconciliation.read_text(encoding="utf-8")).get("breaks") or [])
    except (OSError, ValueError):
        return []


def _breaks_text(breaks: list[dict]) -> str:
    shown = ", ".join(f"{b.get('symbol')} {b.get('kind')}" for b in breaks[:5])
    return shown + (f", +{len(breaks) - 5} more" if len(breaks) > 5 else "")


@dataclass(frozen=True)
class Accepted:
    """What :func:`accept_positions` did: ``path`` holds the day's positions; ``already``: the
    same positions were accepted before (nothing written); ``record``: the journaled accept."""

    path: Path
    already: bool
    record: dict[str, Any]


def accept_positions(
    live_dir: str | Path,
    day: str,
    by: str,
    now: str,
    journal: Journal | None = None,
    *,
    force_reason: str | None = None,
) -> Accepted:
    """Make ``live/DAY/positions_after_recon.csv`` the current positions.

    The previous ``live/current_positions.csv`` is kept as ``live/current_positions.DAY.bak.csv``
    (an existing backup of that day is never overwritten: it holds the true previous file).
    Journaled (kind ``positions``) with who did it and when. Atomic. Idempotent: positions of the
    day already accepted (same sha256) are not written again and nothing is journaled.

    Refused while the day's reconciliation has open breaks, unless ``force_reason`` (journaled
    with the OS login and the breaks), and once a later day took its opening snapshot.
    """
    d = Day(live_dir, day)
    src = d.positions_after_recon
    if not src.exists():
        raise RefusedError(f"{src}: no reconciled positions for {day}; run `xlexec reconcile` first")
    data = src.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    cur, bak = d.current_positions, d.positions_backup
    j = journal or Journal.for_live_dir(live_dir)
    try:
        for p in j.payloads(POSITIONS, day):
            if p.get("action") == ACCEPT and p.get("sha256") == digest:
                return Accepted(cur, True, p)
        later = opening.later_snapshot(j, d)
        if later:
            raise RefusedError(
                f"{day}: not accepted: {later} already started from the positions accepted before; "
                "accepting an earlier day now would overwrite them"
            )
        breaks = open_breaks(d)
        reason = " ".join((force_reason or "").split())
        if breaks and not reason:
            raise RefusedError(
                f"{d.reconciliation}: {len(breaks)} open break(s) ({_breaks_text(breaks)}); not accepted: "
                "resolve them, or accept anyway with a reason (--force --reason TEXT; workbook: Override Y "
                "and a Reason on Control), journaled with your login"
            )
        if cur.exists() and not bak.exists():
            atomic_write_bytes(bak, cur.read_bytes())
        atomic_write_bytes(cur, data)
        rec: dict[str, Any] = {
            "action": ACCEPT,
            "by": by,
            "at": now,
            "source": str(src),
            "backup": str(bak) if bak.exists() else None,
            "sha256": digest,
        }
        if breaks:  # accepted over open breaks: who (OS login), why, and what was open
            rec.update(forced=True, reason=reason, login=current_user(), breaks=breaks)
        j.append(POSITIONS, f"{day}|accept|{digest[:16]}", rec, day=day, actor=by)
    finally:
        if journal is None:
            j.close()
    return Accepted(cur, False, rec)


def _opening(
    ctx: Context,
    j: Journal,
    the_day: Day,
    positions: pd.DataFrame | None,
    cash: float | None,
    fills: pd.DataFrame,
    source: str,
) -> opening.Opening:
    """The day's opening snapshot: the journaled one (``positions`` / ``cash`` given must agree
    with it), else taken now from ``positions`` (default: the day's opening_positions.csv, else
    the accept backup, else live/current_positions.csv, missing = flat) and ``cash`` (default the
    previous reconciliation's cash after, else the config's ``opening_cash``, else unknown: never
    worked back from the broker's cash)."""
    snap = opening.load(j, the_day)
    if snap is not None:
        if positions is not None and not opening.same_positions(positions, snap.positions):
            raise RefusedError(
                f"{source or 'positions'}: differs from {the_day.date}'s opening snapshot "
                f"{the_day.opening_positions} (taken at the day's first reconcile); a rerun starts from "
                "the snapshot: leave out --current-positions"
            )
        if cash is not None and (snap.cash is None or abs(float(cash) - float(snap.cash)) > 0.005):
            raise RefusedError(
                f"--cash {float(cash):.2f} differs from {the_day.date}'s opening cash ({snap.cash}) in "
                f"{the_day.opening_cash}; a rerun starts from the snapshot: leave out --cash"
            )
        return snap
    if positions is None:
        p = the_day.opening_or_backup() or the_day.current_positions
        positions, source = read_positions(p, missing_ok=True), str(p)
    cash_before = cash if cash is not None else the_day.previous_cash(j)
    if cash_before is None:
        cash_before = ctx.config.opening_cash
    return opening.take(j, the_day, positions, cash_before, source=source, by=ctx.user, at=ctx.now().isoformat())


def _events(day: Day, path: PathLike, *, day_level: bool = True) -> pd.DataFrame:
    if path:
        return read_events(path, missing_ok=False)
    p = _first_existing(day.day_events if day_level else None, day.events)
    return read_events(p) if p else read_events(day.events)


def _broker(ctx: Context, day: Day):
    try:
        return get_broker(ctx.config, ctx.live_dir, day=day.date, now=ctx.now)
    except ImportError as e:  # adapter module not available
        raise BrokerError(f"broker {ctx.config.execution.broker!r} unavailable: {e}") from None


def write_outputs(res: ReconResult, day_dir: Path) -> None:
    """The day's reconciliation files (atomic): positions after, JSON, report, per-trade CSV."""
    d = Day(Path(day_dir).parent, Path(day_dir).name)
    atomic_write_csv(d.positions_after_recon, res.positions_after, POSITION_DECIMALS)
    atomic_write_text(d.reconciliation, json.dumps(res.to_json(), indent=2) + "\n")
    atomic_write_text(d.reconciliation_report, res.report_text())
    pt = res.per_trade.copy()
    atomic_write_text(
        d.reconciliation_trades,
        to_csv_text(pt, {"avg_price": 2, "slippage_bps": 2, "commission": 2, "signal_price": 2, "commission_est": 2}),
    )


# ------------------------------------------------------------------ reconcile


def reconcile_day(ctx: Context, day: str, trades, fills: pd.DataFrame, positions=None, **kw) -> ReconResult:
    """:func:`reconcile_and_accept` without the accept's outcome: the reconciliation."""
    return reconcile_and_accept(ctx, day, trades, fills, positions, **kw)[0]


def reconcile_and_accept(
    ctx: Context,
    day: str,
    trades,
    fills: pd.DataFrame,
    positions: pd.DataFrame | None = None,
    *,
    events: pd.DataFrame | None = None,
    closes: pd.DataFrame | None = None,
    cash: float | None = None,
    broker_positions: pd.DataFrame | None = None,
    accept: bool = False,
    trades_path: str = "",
    positions_source: str = "",
    force_reason: str | None = None,
    quotes: pd.DataFrame | None = None,
    broker_cash: tuple[float | None, str] = (None, ""),
) -> tuple[ReconResult, Accepted | None]:
    """Steps 2-5 on frames already read, under the day lock: take (or check) the day's opening
    snapshot, journal the fills, reconcile with the journal's order states, write the day's
    files, log discrepancies once, journal the summary, optionally accept (``force_reason``: over
    open breaks). ``positions`` / ``cash`` (cash before the day, $): the day's opening, used for
    the snapshot at the first reconcile and checked against it after (see :func:`_opening`).
    ``broker_cash``: the broker's cash after the day ($) and its source, checked within $0.01."""
    the_day = Day(ctx.live_dir, day)
    j = ctx.journal()
    with DayLock(the_day.dir, "reconcile"):
        snap = _opening(ctx, j, the_day, positions, cash, fills, positions_source)
        positions, cash_before = snap.positions, snap.cash
        record_fills(j, fills, day, actor=ctx.user)  # before anything else is written
        if j.events(INTENT, day):  # orders sent by xlexec: the execution log gains commissions
            write_execution_log(j, ctx.live_dir, day)
        crash_point("after_fills_journaled")  # test hook (xlexec.faults)
        states = j.latest_orders(day) or None  # none recorded (e.g. executed by file upload): unknown
        otype = ctx.config.execution.default_order_type
        planned = planned_orders(
            j, trades, the_day, default_order_type=otype, max_adv_pct=ctx.config.validation.max_adv_pct
        )
        sent = sent_orders(the_day.intents_list(j))  # what was actually sent (matched first)
        earlier = origin_trades(j, trades, the_day, default_order_type=otype)  # carried children's parents
        res = reconcile_frames(
            trades,
            fills,
            positions,
            day=day,
            order_states=states,
            events=events,
            closes=closes,
            cash_before=cash_before,
            broker_positions=broker_positions,
            default_order_type=otype,
            planned=planned,
            sent=sent,
            target_slippage_bps=ctx.config.slippage_bps,
            quotes=quotes,
            broker_cash=broker_cash[0],
            broker_cash_source=broker_cash[1],
            earlier_trades=earlier,
        )
        write_outputs(res, the_day.dir)
        crash_point("reconcile_outputs_written")  # test hook (xlexec.faults)
        append_discrepancies(j, ctx.live_dir, day, res.discrepancy_lines, ctx.user)
        summary = res.summary()
        summary.update(fills_sha256=fills_hash(fills), trades=trades_path)
        digest = hashlib.sha256(json.dumps(summary, sort_keys=True, default=str).encode()).hexdigest()
        summary.update(by=ctx.user, at=ctx.now().isoformat())
        j.append(RECON, f"{day}|{digest[:24]}", summary, day=day, actor=ctx.user)
        acc = None
        if accept:
            acc = accept_positions(ctx.live_dir, day, ctx.user, ctx.now().isoformat(), j, force_reason=force_reason)
    return res, acc


@dataclass
class ReconcileResult:
    """The reconciliation (figures, breaks, positions after) of ``day`` and whether it was accepted."""

    day: Day
    recon: ReconResult
    accepted: bool = False
    already_accepted: bool = False  # the same positions were accepted before: nothing changed
    #: rows of the broker positions export (``broker_positions``) not read as positions
    positions_skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def breaks(self) -> list[dict]:
        return self.recon.breaks

    @property
    def exit_code(self) -> int:
        """1 when there are breaks, else 0."""
        return 1 if self.recon.breaks else 0

    def report_text(self) -> str:
        text = self.recon.report_text()
        if self.positions_skipped:
            text = text.rstrip("\n") + "\n\nBroker positions export, rows not compared:\n"
            text += "".join(f"skipped row {x['row']}: {x['reason']}\n" for x in self.positions_skipped)
        return text

    def to_json(self) -> dict[str, Any]:
        out = self.recon.to_json()
        out["accepted"] = bool(self.accepted)
        out["already_accepted"] = bool(self.already_accepted)
        out["broker_positions_skipped"] = list(self.positions_skipped)
        return out


def reconcile(
    ctx: Context,
    day: Day,
    *,
    trades: PathLike = None,
    fills: PathLike = None,
    from_broker: bool = False,
    format: str | None = None,  # noqa: A002
    current_positions: PathLike = None,
    broker_positions: PathLike = None,
    events: PathLike = None,
    closes: PathLike = None,
    cash: float | None = None,
    accept: bool = False,
    force_reason: str | None = None,
    trades_date_wins: bool = False,
    broker_cash: float | None = None,
) -> ReconcileResult:
    """Reconcile the day's fills (``fills``, default ``live/D/broker_fills.csv``; or pulled from
    the broker and saved there) with its trades and the positions it started from: the day's
    opening snapshot (``live/D/opening_positions.csv`` + ``opening_cash.json``), taken at its
    first reconcile from ``current_positions`` (default the day's opening_positions.csv, else
    ``live/current_positions.csv``, missing = flat) and ``cash``; a rerun starts from it.
    ``trades_date_wins``: the trades header's date, when it has one, replaces ``day``.
    ``from_broker`` on today's session also compares the positions after with the broker's
    (its positions now; ``broker_positions``, an export file, wins). A missing fills file is
    refused naming ``--from-broker``. The cash after is checked against the broker's cash ($,
    within $0.01): ``broker_cash`` (from the broker's statement), else with ``from_broker`` the
    broker's account cash; else not checked. Positions are valued at ``closes`` (default the
    day's closes.csv), else the day's quotes.csv."""
    trades_path = Path(trades) if trades else day.trades
    t = read_trades(trades_path)
    if trades_date_wins:
        day = day.on(t.date)
    broker_pos = _read_positions_export(ctx, broker_positions) if broker_positions else None
    cash_check: tuple[float | None, str] = (None, "")
    if broker_cash is not None:
        cash_check = (float(broker_cash), "broker statement (--broker-cash)")
    if from_broker:
        b = _broker(ctx, day)
        try:
            fills_df = fills_from_broker(b.fills(day.date), day.date, name=f"{b.name} fills", **read_rules(ctx))
            if broker_pos is None and day.date == ctx.today():  # the broker's positions are today's
                broker_pos = broker_positions_frame(b.positions())
            if broker_cash is None:
                try:
                    cash_check = (float(b.account().cash), f"broker:{b.name} account")
                except BrokerFault:
                    cash_check = (None, "")
        finally:
            b.close()
        save_fills(day, fills_df)
    else:
        fills_path = Path(fills) if fills else day.fills
        if not fills_path.exists():
            raise InputError(
                str(fills_path),
                "fills file not found; pass --fills FILE, or --from-broker to pull the day's fills from the "
                "configured broker",
            )
        fills_df = read_fills(fills_path, format=format, **read_rules(ctx))
    positions = _given_positions(ctx, day, current_positions)
    events_df = _events(day, events)
    closes_path = Path(closes) if closes else _first_existing(day.closes, day.live_closes)
    closes_df = read_closes(closes_path, missing_ok=False) if closes_path else None
    quotes_df = read_quotes(day.quotes) if day.quotes.exists() else None
    res, acc = reconcile_and_accept(
        ctx,
        day.date,
        t,
        fills_df,
        positions,
        events=events_df,
        closes=closes_df,
        cash=cash,
        broker_positions=broker_pos,
        accept=accept,
        trades_path=str(trades_path),
        positions_source=str(current_positions or ""),
        force_reason=force_reason,
        quotes=quotes_df,
        broker_cash=cash_check,
    )
    skipped = skipped_of(broker_pos) if broker_pos is not None else []
    return ReconcileResult(day, res, bool(accept), bool(acc and acc.already), positions_skipped=skipped)


def _given_positions(ctx: Context, day: Day, path: PathLike) -> pd.DataFrame | None:
    """The opening positions named on the command line (None: the day's default). The live
    current_positions.csv holding this very day's accepted positions is the day's result, not
    its opening: None then too (a rerun of ``reconcile --accept`` names the same file)."""
    if not path:
        return None
    p = Path(path)
    try:
        same_file = p.resolve() == day.current_positions.resolve()
    except OSError:
        same_file = False
    if same_file:
        digest = opening.sha256_file(p)
        accepted = {x.get("sha256") for x in ctx.journal().payloads(POSITIONS, day.date) if x.get("action") == ACCEPT}
        if digest is not None and digest in accepted:
            return None
    return read_positions(p)


@dataclass
class AcceptResult:
    """The reconciled positions of the day became ``path`` (live/current_positions.csv);
    ``already``: they had been accepted before and nothing changed."""

    day: str
    path: Path
    already: bool = False
    forced: bool = False
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "path": str(self.path), "already_accepted": self.already, "forced": self.forced}


def accept(ctx: Context, day: Day, *, force_reason: str | None = None) -> AcceptResult:
    """Accept the day's reconciled positions (see :func:`accept_positions`), under the day lock."""
    if not day.positions_after_recon.exists():
        raise RefusedError(
            f"{day.positions_after_recon}: no reconciled positions for {day.date}; run `xlexec reconcile` first"
        )
    with DayLock(day.dir, "accept"):
        acc = accept_positions(
            ctx.live_dir, day.date, ctx.user, ctx.now().isoformat(), ctx.journal(), force_reason=force_reason
        )
    return AcceptResult(day.date, acc.path, acc.already, bool(acc.record.get("forced")))


# ------------------------------------------------------------------ compare / sync


def pending_fills(journal: Journal) -> pd.DataFrame:
    """Net shares per symbol of fills journaled for days with no reconciliation yet."""
    done = {e.day for e in journal.events(RECON)}
    rows = [e.payload for e in journal.events(FILL) if e.day not in done]
    if not rows:
        return pd.DataFrame({"symbol": pd.Series(dtype=object), "shares": pd.Series(dtype=float)})
    df = pd.DataFrame(rows)
    sign = df["side"].map({"buy": 1.0, "sell": -1.0}).fillna(0.0)
    return pd.DataFrame({"symbol": df["symbol"], "shares": sign * df["shares"].astype(float)})


def _read_positions_export(ctx: Context, path: str | Path) -> pd.DataFrame:
    """A broker positions export under the fund's rules (account, base currency); its
    ``attrs["skipped"]`` lists the rows not read as positions."""
    rules = read_rules(ctx)
    return read_broker_positions(path, account=rules["account"], base_currency=rules["base_currency"])


def _broker_positions(ctx: Context, day: Day, path: PathLike) -> tuple[pd.DataFrame, str]:
    if path:
        return _read_positions_export(ctx, path), str(path)
    b = _broker(ctx, day)
    try:
        return broker_positions_frame(b.positions()), f"broker:{b.name}"
    finally:
        b.close()


@dataclass
class CompareResult:
    """System vs broker positions (shares) per symbol, with the likely cause of each difference."""

    positions: pd.DataFrame  # symbol, system_shares, broker_shares, difference, matches, likely_cause
    #: rows of the broker's export not read as positions (options, funds, cash, totals, other
    #: accounts), ``[{"row": n, "reason": text}]``; [] for the broker API's positions
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def skipped_lines(self) -> str:
        """``skipped row N: reason`` per row set aside, one a line ('' when none)."""
        return "".join(f"skipped row {x['row']}: {x['reason']}\n" for x in self.skipped)

    @property
    def differences(self) -> int:
        return int((~self.positions["matches"]).sum())

    @property
    def exit_code(self) -> int:
        """1 when any position differs, else 0."""
        return 1 if self.differences else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "differences": self.differences,
            "positions": [
                {
                    "symbol": r.symbol,
                    "system_shares": float(r.system_shares),
                    "broker_shares": float(r.broker_shares),
                    "difference": float(r.difference),
                    "matches": bool(r.matches),
                    "likely_cause": r.likely_cause,
                }
                for r in self.positions.itertuples()
            ],
            "skipped": list(self.skipped),
        }


def compare_positions(
    ctx: Context, day: Day, *, system: PathLike = None, broker: PathLike = None, events: PathLike = None
) -> CompareResult:
    """Compare ``system`` positions (default live/current_positions.csv) with the broker's (an
    export file, else the configured broker), allowing for splits and unreconciled fills."""
    sys_pos = read_positions(system or day.current_positions)
    broker_pos, _source = _broker_positions(ctx, day, broker)
    cmp = compare_frames(
        sys_pos, broker_pos, events=_events(day, events, day_level=False), pending=pending_fills(ctx.journal())
    )
    return CompareResult(cmp, skipped_of(broker_pos))


@dataclass
class SyncResult:
    """``sync_positions``: the comparison, and (when forced) the file replaced and its backup."""

    compare: CompareResult
    synced: bool
    by: str
    backup: Path | None = None
    n_positions: int = 0
    exit_code: int = 0

    @property
    def differences(self) -> int:
        return self.compare.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "synced": self.synced,
            "differences": self.differences,
            "by": self.by,
            "backup": str(self.backup) if self.backup else None,
            "positions": self.n_positions,
        }


def sync_positions(ctx: Context, day: Day, *, broker_file: PathLike = None, force_update: bool = False) -> SyncResult:
    """Take the broker's positions as truth: replace live/current_positions.csv (previous kept as
    ``current_positions.DAY.sync-STAMP.bak.csv``, journaled) when ``force_update``; else only compare
    (``synced`` False, exit code 1: nothing changed)."""
    broker, source = _broker_positions(ctx, day, broker_file)
    cur = day.current_positions
    system = read_positions(cur, missing_ok=True)
    cmp = CompareResult(compare_frames(system, broker, events=_events(day, None, day_level=False)), skipped_of(broker))
    if not force_update:
        return SyncResult(cmp, False, ctx.user, exit_code=1)
    n = cmp.differences
    stamp = ctx.now().strftime("%Y%m%dT%H%M%S")
    bak = day.live_dir / f"current_positions.{day.date}.sync-{stamp}.bak.csv"
    out = broker[["symbol", "shares", "avg_cost"]].sort_values("symbol").reset_index(drop=True)
    with ctx.journal().transaction():
        if cur.exists():
            atomic_write_bytes(bak, cur.read_bytes())
        text = to_csv_text(out, {"avg_cost": 2})
        ctx.journal().append(
            POSITIONS,
            f"{day.date}|sync|{stamp}|{hashlib.sha256(text.encode()).hexdigest()[:16]}",
            {
                "action": "sync_from_broker",
                "by": ctx.user,
                "at": ctx.now().isoformat(),
                "source": source,
                "backup": str(bak) if cur.exists() else None,
                "differences": n,
                "positions": out.to_dict("records"),
            },
            day=day.date,
            actor=ctx.user,
        )
        atomic_write_text(cur, text)
    return SyncResult(cmp, True, ctx.user, bak if bak.exists() else None, len(out))

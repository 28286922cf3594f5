"""Steps ``validate`` and ``approve`` (the Validate / Approve / Reject buttons, ``xlexec validate|approve``).

``validate`` runs the pre-trade checks on the day's trades and writes ``validation.json`` next to
``trades.csv`` (atomically); ``approve`` recomputes the validation for the recommendation, builds
the orders that would be sent and records the decision bound to their sha256 (journal and
``live/trade_approvals.csv``).

Inputs, each used only when its file exists unless given explicitly (then it must exist):
positions the day's opening snapshot (``live/D/opening_positions.csv``, else Accept's backup)
once reconcile has taken it, else ``live/current_positions.csv`` (after Accept that file is
the next day's start: a rerun of the day's validation reads the positions the day started
from, so it gives the same decision), quotes ``<trades dir>/quotes.csv``, events
``live/D/events.csv`` else ``live/events.csv`` (the splits dated D adjust the positions),
reference ``live/reference.csv``; the kill switch is ``live/KILL_SWITCH``
and the restricted list is submit's, ``live/restricted.csv`` (always that file: the list
validation shows is the one submit refuses with).
With the broker's quotes configured (Alpaca, Schwab, IBKR: :func:`xlexec.execution.marketdata.quotes_configured`)
and no explicit quotes, the latest quotes are first saved as
``<trades dir>/quotes.csv`` (the day's snapshot). ``validation.json`` records the sha256 of the
quotes file used (``summary.inputs.quotes_sha256``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlexec.config import validation_thresholds
from xlexec.core.checks import ValidationResult
from xlexec.core.checks import validate as run_checks
from xlexec.core.orders import orders_from_trades, orders_sha256
from xlexec.core.trades import Trades, header_sha256
from xlexec.execution import session as trading_session
from xlexec.execution.marketdata import refresh_quotes_file
from xlexec.formats.csvio import atomic_write_text
from xlexec.formats.inputs import read_events, read_positions, read_quotes, read_reference, read_restricted
from xlexec.formats.trades import read_trades
from xlexec.steps.context import Context
from xlexec.store.approvals import record_approval
from xlexec.store.day import Day
from xlexec.store.journal import current_user, journal_exists
from xlexec.store.policy import check_approver, effective_policy, require_in_force

VALIDATION_JSON = "validation.json"
PathLike = str | Path | None


def _pick(explicit: PathLike, default: Path) -> Path | None:
    if explicit:
        return Path(explicit)  # must exist: the reader says so if not
    return default if default.exists() else None


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _cash_before(ctx: Context, date: str) -> float | None:
    """$ cash the day opens with: the journal's last reconciliation (``cash_after``), None when
    there is no journal or no reconciliation yet."""
    if not journal_exists(ctx.live_dir):
        return None
    return Day(Path(ctx.live_dir), date).previous_cash(ctx.journal())


def load_and_validate(
    ctx: Context,
    day: Day,
    *,
    trades: PathLike = None,
    positions: PathLike = None,
    quotes: PathLike = None,
    events: PathLike = None,
    reference: PathLike = None,
) -> tuple[Trades, ValidationResult]:
    """Read the day's trades (``trades``, default ``live/D/trades.csv``) and the inputs (explicit
    paths or the defaults) and run the checks. ``summary.inputs`` names the files used."""
    trades_path = Path(trades) if trades else day.trades
    t = read_trades(trades_path, strict=False)
    pos = _pick(positions, day.opening_or_backup() or day.current_positions)
    if not quotes:  # the broker's quotes when configured (marketdata.quotes_configured), saved as the day's snapshot
        refresh_quotes_file(ctx.config, list(t.df["symbol"]), trades_path.parent / "quotes.csv")
    qts = _pick(quotes, trades_path.parent / "quotes.csv")
    evs = Path(events) if events else day.events_file()  # its splits adjust the positions
    ref = _pick(reference, day.reference)
    rl = day.restricted if day.restricted.exists() else None
    result = run_checks(
        t,
        positions=read_positions(pos) if pos else None,
        quotes=read_quotes(qts) if qts else None,
        events=read_events(evs, missing_ok=False) if evs else None,
        reference=read_reference(ref, missing_ok=False) if ref else None,
        thresholds=validation_thresholds(ctx.config),
        now=ctx.now(),
        kill_switch_file=day.kill_switch.exists(),
        cash=_cash_before(ctx, t.date or day.date) if t.header.portfolio_value is None else None,
        restricted=read_restricted(rl, missing_ok=False) if rl else None,
    )
    result.summary["inputs"] = {
        "trades": str(trades_path),
        "positions": str(pos) if pos else None,
        "quotes": str(qts) if qts else None,
        "events": str(evs) if evs else None,
        "reference": str(ref) if ref else None,
        "restricted": str(rl) if rl else None,
        "quotes_sha256": _sha256(qts) if qts else None,
    }
    return t, result


@dataclass
class ValidateResult:
    """The checks, the decision (APPROVE / CONDITIONAL / REJECT) and the validation.json written."""

    trades_path: Path
    result: ValidationResult
    document: dict[str, Any]  # what validation.json holds (and ``--json`` prints)
    output: Path  # validation.json

    @property
    def decision(self) -> str:
        return self.result.decision

    @property
    def exit_code(self) -> int:
        """1 for REJECT, else 0."""
        return 1 if self.result.decision == "REJECT" else 0

    def to_json(self) -> dict[str, Any]:
        return self.document


def validate(
    ctx: Context,
    day: Day,
    *,
    trades: PathLike = None,
    positions: PathLike = None,
    quotes: PathLike = None,
    events: PathLike = None,
    reference: PathLike = None,
) -> ValidateResult:
    """Run the pre-trade checks; write ``<trades dir>/validation.json`` (with the orders' sha256)."""
    t, result = load_and_validate(
        ctx, day, trades=trades, positions=positions, quotes=quotes, events=events, reference=reference
    )
    orders = orders_from_trades(t, default_order_type=ctx.config.execution.default_order_type)
    doc = result.to_json()
    doc["orders_sha256"] = orders_sha256(orders)
    doc["n_orders"] = int(len(orders))
    trades_path = Path(trades) if trades else day.trades
    out = trades_path.parent / VALIDATION_JSON
    atomic_write_text(out, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    return ValidateResult(trades_path, result, doc, out)


@dataclass
class ApproveResult:
    """The approval row recorded (date, decision, approver, recommended, override, n_orders, orders_sha256...)."""

    row: dict[str, Any]
    recommended: str
    exit_code: int = 0
    validation: ValidationResult | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return self.row


def approve(
    ctx: Context,
    day: Day,
    *,
    by: str,
    decision: str,
    reason: str,
    override: bool = False,
    trades: PathLike = None,
    positions: PathLike = None,
    quotes: PathLike = None,
    events: PathLike = None,
    reference: PathLike = None,
) -> ApproveResult:
    """Record ``decision`` (APPROVED / CONDITIONAL / REJECTED) for the orders the trades would send.

    The date is the trades header's, else ``day``'s. APPROVED / CONDITIONAL are refused
    (:class:`RefusedError`, nothing written) unless that date is today's session (the rule
    submit and convert apply, :mod:`xlexec.execution.session`: ``ctx.now()`` and the NYSE
    calendar), while the config loosens the policy in force (``xlexec policy approve`` first)
    and for an OS login outside a non-empty ``execution.approvers``; they record the policy in
    force and the approver's OS login (:mod:`xlexec.store.policy`). REJECTED is never refused."""
    t, result = load_and_validate(
        ctx, day, trades=trades, positions=positions, quotes=quotes, events=events, reference=reference
    )
    date = t.date or day.date
    orders = orders_from_trades(t, default_order_type=ctx.config.execution.default_order_type, date=date)
    login, policy = current_user(), None
    if decision.upper() != "REJECTED":  # anyone may reject, under any config, any day
        trading_session.require_file_day(date, trading_session.todays_session(ctx), what="approved")
        policy = require_in_force(
            ctx.journal(), effective_policy(ctx.config), day=date, what="approve", source=ctx.config.source
        ).current
        check_approver(policy, login, what="approve")
    row = record_approval(
        ctx.live_dir,
        date=date,
        orders=orders,
        decision=decision.upper(),
        reason=reason,
        approver=by,
        recommended=result.decision,
        override=override,
        now=ctx.now(),
        header_sha256=header_sha256(t.header),
        policy=policy,
        approver_login=login,
    )
    return ApproveResult(row, result.decision, 0, result)

"""Step ``convert``: approved orders -> a broker's upload file (the Convert button, ``xlexec convert``).

* Refused (:class:`RefusedError`, nothing written) while the kill switch is triggered
  (``live/KILL_SWITCH`` or the trades header; the gate right before the wire,
  :func:`xlexec.execution.guards.wire_gate`, passed again right before the file is written) and
  for a symbol on the restricted list (``live/restricted.csv``, as submit refuses it), drafts
  included.
* Refused (:class:`~xlexec.errors.JournalBroken`, nothing written, drafts included) while the
  journal's hash chain does not verify (:func:`xlexec.store.integrity.require_intact`), naming
  the first bad event.
* A whole-batch refusal (not of a draft) is journaled, kind ``refusal``
  (:mod:`xlexec.store.refusals`).
* Refused (:class:`RefusedError`) unless the day's exact orders are approved, unless ``draft``
  (then the file name says DRAFT and nothing is recorded) or ``execution.require_human_approval``
  is false.
* Refused (:class:`RefusedError`, nothing written) unless ``draft`` while the config loosens the
  policy in force, when the policy in force is looser than the approval's, and under
  ``require_four_eyes`` when the approver's OS login is the one converting
  (:mod:`xlexec.store.policy`).
* Refused (:class:`RefusedError`, nothing written) unless the trades file is dated today's
  session (``ctx.now()`` in New York and the NYSE calendar; on a weekend or holiday there is
  none) and, when approval is required, the approval was given that session
  (:mod:`xlexec.execution.session`). A ``draft`` (a review copy, approval not required) may be
  written for any day, e.g. Monday's file on Sunday.
* Default output: next to trades.csv, ``trades_<broker>.csv`` / ``orders_alpaca.json``
  (``..._DRAFT`` for drafts). Written atomically.
* ``slice``: orders above ``validation.max_adv_pct`` (fraction) of ADV are cut to today's child;
  the schedule is journaled (kind SLICE). Children still due from earlier days are always added,
  with or without ``slice``. The plan is :func:`xlexec.execution.slicing.day_plan`, the one
  ``submit --slice`` sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlexec.core.restricted import restricted_reason
from xlexec.core.slicing import schedule_lines
from xlexec.errors import RefusedError
from xlexec.execution import session as trading_session
from xlexec.execution import slicing
from xlexec.execution.guards import kill_switch_state, wire_gate
from xlexec.formats.csvio import atomic_write_text
from xlexec.formats.inputs import read_restricted
from xlexec.formats.trades import read_trades
from xlexec.formats.upload import broker_format, convert_orders, default_basket_tag, draft_path
from xlexec.steps.context import Context
from xlexec.store.approvals import find_approval
from xlexec.store.day import Day
from xlexec.store.integrity import require_intact
from xlexec.store.journal import SLICE, current_user, journal_exists
from xlexec.store.policy import check_approval as bound_check
from xlexec.store.policy import effective_policy, require_in_force
from xlexec.store.refusals import journaled_refusals


@dataclass
class ConvertResult:
    """The upload file written: path, broker format, day, number of orders, tag, approval, schedule."""

    output: Path
    broker: str
    day: str
    orders: int
    draft: bool
    basket_tag: str
    orders_sha256: str
    approval: dict[str, Any] | None = None
    schedule: list[str] = field(default_factory=list)  # human lines of the slicing schedule
    slice_records_added: int = 0
    no_adv: list[str] = field(default_factory=list)  # symbols without ADV: not checked for slicing
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "output": str(self.output),
            "broker": self.broker,
            "day": self.day,
            "orders": self.orders,
            "draft": bool(self.draft),
            "basket_tag": self.basket_tag,
            "orders_sha256": self.orders_sha256,
            "approved_by": (self.approval or {}).get("approver"),
            "decision": (self.approval or {}).get("decision"),
            "schedule": self.schedule,
            "slice_records_added": self.slice_records_added,
            "no_adv": self.no_adv,
        }


def check_approval(ctx: Context, day: str, sha: str) -> dict[str, Any]:
    """The approval (APPROVED or CONDITIONAL) of ``day``'s orders ``sha``, else :class:`RefusedError`."""
    appr = find_approval(ctx.live_dir, day, sha)
    if not appr or str(appr.get("decision", "APPROVED")).upper() not in ("APPROVED", "CONDITIONAL"):
        raise RefusedError(
            f"the orders for {day} (sha256 {sha[:12]}) are not approved: run "
            "`xlexec approve` first, or use --draft for a review copy",
            rule="approval",
        )
    return appr


def check_sendable(ctx: Context, day: Day, orders, header_kill_switch: str | None) -> None:
    """Refuse (:class:`RefusedError`, nothing written) while the kill switch is triggered, and
    when an order's symbol is on the restricted list (``live/restricted.csv``)."""
    why = kill_switch_state(Path(ctx.live_dir), header_kill_switch)
    if why:
        raise RefusedError(f"kill switch: {why}; convert refused, no upload file written", rule="kill_switch")
    if len(orders):
        why = restricted_reason(orders["symbol"], read_restricted(day.restricted))
        hit = dict(zip(orders["symbol"].astype(str)[why != ""], why[why != ""]))
        if hit:
            what = ", ".join(f"{s} ({r})" for s, r in list(hit.items())[:10])
            raise RefusedError(
                f"restricted list ({day.restricted}): {what}; convert refused, no upload file written "
                "(remove the order from trades.csv and approve again)",
                rule="restricted",
            )


def convert(
    ctx: Context,
    day: Day,
    *,
    broker: str,
    trades: str | Path | None = None,
    output: str | Path | None = None,
    draft: bool = False,
    slice: bool = False,  # noqa: A002
    basket_tag: str | None = None,
) -> ConvertResult:
    """Write the day's approved orders (or ``draft``) in ``broker``'s upload format.

    The day is the trades header's date, else ``day``'s."""
    broker_format(broker)  # unknown names fail before anything is read
    path = Path(trades) if trades else day.trades
    t = read_trades(path)
    day = day.on(t.date)
    how: dict[str, Any] = {"broker": broker, "output": output, "slice": slice, "basket_tag": basket_tag}
    if draft:  # a draft is a review copy: nothing is recorded, its refusals neither
        return _convert(ctx, day, t, path, draft=True, **how)
    with journaled_refusals(ctx.live_dir, step="convert", day=day.date, file=path, actor=ctx.user):
        return _convert(ctx, day, t, path, draft=False, **how)


def _convert(
    ctx: Context,
    day: Day,
    t,
    path: Path,
    *,
    broker: str,
    output: str | Path | None,
    draft: bool,
    slice: bool,  # noqa: A002
    basket_tag: str | None,
) -> ConvertResult:
    """:func:`convert` once the trades are read (``t``, from ``path``; ``day`` is their day)."""
    cfg = ctx.config
    orders, sha = slicing.day_orders(t, cfg.execution.default_order_type, day.date)
    check_sendable(ctx, day, orders, t.header.kill_switch)
    if journal_exists(ctx.live_dir):  # an edited, deleted or moved event: nothing read from it is trusted
        require_intact(Path(ctx.live_dir), nothing="no upload file written")

    approval = None
    if not draft:  # a draft is a review copy: nothing is recorded, no policy is used
        session = trading_session.todays_session(ctx)
        trading_session.require_file_day(day.date, session, what="converted")
        policy = require_in_force(ctx.journal(), effective_policy(cfg), day=day.date, what="convert", source=cfg.source)
        if cfg.execution.require_human_approval:
            approval = check_approval(ctx, day.date, sha)
            paper = trading_session.is_paper(cfg.execution.broker)
            trading_session.require_approval_session(ctx.journal(), approval, day.date, paper=paper, what="written")
            bound_check(approval, policy.current, login=current_user(), what="convert")

    jr = ctx.journal() if journal_exists(ctx.live_dir) else None
    state = slicing.slicing_state(jr, day, sha)
    if state.recorded and not slice:
        raise RefusedError(
            f"today's orders were already sliced ({len(state.recorded)} parent order(s) recorded "
            f"for {day.date}); rerun with --slice so the file matches the recorded schedule",
            rule="sliced",
        )
    out_orders, records, no_adv, lines = orders, [], [], []
    if slice or state.prior:
        # orders already sent whole through the API are not sliced afterwards
        whole = (
            slicing.sent_whole(jr, day, orders["client_order_id"].astype(str)) if slice and jr is not None else set()
        )
        plan = slicing.day_plan(
            state, orders, day=day, sha=sha, max_adv_pct=cfg.validation.max_adv_pct, slice_new=slice, sent_whole=whole
        )
        out_orders, records, no_adv = plan.orders, plan.records, plan.no_adv
        lines = schedule_lines(plan.schedule)

    check_sendable(ctx, day, out_orders, t.header.kill_switch)  # carried children too
    tag = basket_tag or default_basket_tag(day.date, sha)
    text = convert_orders(out_orders, broker, basket_tag=tag, name=str(path))
    if output:
        out = Path(output)
        if draft:
            out = draft_path(out)
    else:
        out = path.parent / day.upload(broker, draft).name
    wire_gate(Path(ctx.live_dir), t.header.kill_switch, what=f"upload file {out.name}")
    atomic_write_text(out, text)

    recorded = 0
    if records and not draft:
        recorded = ctx.journal().append_many(SLICE, records, day=day.date, actor=ctx.user)
    return ConvertResult(
        out, broker, day.date, len(out_orders), bool(draft), tag, sha, approval, lines, recorded, no_adv
    )

"""Steps ``submit``, ``status``, ``cancel_all``, ``kill_switch_report`` and ``pnl`` (the Submit,
Refresh Status and Kill Switch buttons; ``xlexec submit|status|cancel-all|kill-switch-report|pnl``).

Thin over :mod:`xlexec.execution.engine` (submit), :mod:`xlexec.execution.status`,
:mod:`xlexec.execution.killswitch` and :mod:`xlexec.execution.pnl`: each opens the configured
broker for the day, runs the engine and closes the broker, and returns a typed result with the
exit code it implies. A whole-batch refusal of a submit is journaled (kind ``refusal``,
:mod:`xlexec.store.refusals`) before it is raised again; ``status`` exits 1 when a chase move
was refused (:attr:`StatusResult.refusal`, one line).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.core.money import usd
from xlexec.execution import engine, killswitch
from xlexec.execution import status as order_status
from xlexec.execution.brokers import get_broker
from xlexec.execution.engine import SubmitResult
from xlexec.execution.marketdata import refresh_quotes_file
from xlexec.execution.mode import describe_mode
from xlexec.execution.pnl import day_pnl
from xlexec.formats.inputs import read_quotes
from xlexec.formats.trades import read_trades
from xlexec.steps.context import Context
from xlexec.store.day import Day
from xlexec.store.refusals import journaled_refusals

__all__ = [
    "SubmitResult",
    "StatusResult",
    "CancelAllResult",
    "ReportResult",
    "PnlResult",
    "submit",
    "status",
    "cancel_all",
    "kill_switch_report",
    "pnl",
    "frame_json",
    "open_broker",
]


def _jsonable(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def frame_json(df: pd.DataFrame) -> list[dict]:
    """Rows of ``df`` as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    return [{k: _jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]


def open_broker(ctx: Context, day: Day, quotes: pd.DataFrame | None = None):
    """The configured broker for ``day`` (the caller closes it)."""
    return get_broker(ctx.config, ctx.live_dir, quotes=quotes, day=day.date, now=ctx.now)


def submit(
    ctx: Context,
    day: Day,
    *,
    trades: str | Path | None = None,
    live: bool = False,
    allow_closed: bool = False,
    fit_buying_power: bool = False,
    slice: bool = False,  # noqa: A002
    progress: Callable[[int, int, str], None] | None = None,
    on_mode: Callable[[dict[str, Any]], None] | None = None,
) -> SubmitResult:
    """Send the day's approved orders exactly once (:func:`xlexec.execution.engine.submit_batch`).

    Quotes for the price collar: refreshed from the broker's market data when configured
    (:func:`xlexec.execution.marketdata.quotes_configured`: Alpaca, Schwab, IBKR), then
    ``<trades dir>/quotes.csv``, else the day's ``quotes.csv``. ``on_mode`` is told the broker's
    mode (PAPER/LIVE, broker, host) before anything is sent. The day is the trades header's,
    else ``day``'s."""
    path = Path(trades) if trades else day.trades
    t = read_trades(path)
    day = day.on(t.date)
    refresh_quotes_file(ctx.config, list(t.df["symbol"]), path.parent / "quotes.csv")
    quotes = None
    for cand in (path.parent / "quotes.csv", day.quotes):
        if cand.exists():
            quotes = read_quotes(cand)
            break
    broker = open_broker(ctx, day, quotes)
    try:
        if on_mode is not None:
            on_mode(describe_mode(broker))
        with journaled_refusals(ctx.live_dir, step="submit", day=day.date, file=path, actor=ctx.user):
            return engine.submit_batch(
                ctx,
                t,
                broker=broker,
                quotes=quotes,
                live=live,
                allow_closed=allow_closed,
                fit_buying_power=fit_buying_power,
                slice=slice,
                progress=progress,
            )
    finally:
        broker.close()


@dataclass
class StatusResult:
    """Every order of the day (status, filled shares, remaining shares) and the timeout actions.

    ``exit_code`` is 1 when a chase move was refused (``chase_refused``): a refusal is never exit 0."""

    day: str
    mode: dict[str, Any]
    orders: pd.DataFrame
    timeout_actions: pd.DataFrame | None = None
    exit_code: int = 0

    @property
    def refusal(self) -> str | None:
        """One line naming why chase moves were refused (each distinct reason once), else None."""
        a = self.timeout_actions
        if a is None or not len(a):
            return None
        notes = list(dict.fromkeys(a.loc[a["action"] == "chase_refused", "note"].astype(str)))
        if not notes:
            return None
        n = int((a["action"] == "chase_refused").sum())
        return f"chase refused for {n} order(s): {' | '.join(notes)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "mode": self.mode["mode"],
            "broker": self.mode["broker"],
            "exit_code": self.exit_code,
            "refusal": self.refusal,
            "orders": frame_json(self.orders),
            "timeout_actions": [] if self.timeout_actions is None else frame_json(self.timeout_actions),
        }


def status(ctx: Context, day: Day, *, enforce_timeouts: bool = False) -> StatusResult:
    """Ask the broker for every order of the day; first cancel orders open longer than
    ``execution.order_timeout_minutes`` when ``enforce_timeouts``."""
    broker = open_broker(ctx, day)
    actions = None
    try:
        if enforce_timeouts:
            actions = order_status.enforce_timeouts(ctx, day.date, broker, ctx.now())
        df = order_status.refresh_status(ctx, day.date, broker)
        mode = describe_mode(broker)
    finally:
        broker.close()
    res = StatusResult(day.date, mode, df, actions)
    res.exit_code = 1 if res.refusal else 0
    return res


@dataclass
class CancelAllResult:
    """The kill switch: orders cancelled, still open, the KILL_SWITCH file and the incident report."""

    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.data["ok"])

    @property
    def exit_code(self) -> int:
        """0 when nothing is left open and everything was recorded, else 1."""
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)


def cancel_all(ctx: Context, day: Day, *, reason: str = "kill switch (operator)") -> CancelAllResult:
    """Cancel every open order, write ``live/KILL_SWITCH`` and an incident report."""
    broker = open_broker(ctx, day)
    try:
        return CancelAllResult(killswitch.cancel_all(ctx, broker, reason))
    finally:
        broker.close()


@dataclass
class ReportResult:
    """The incident report (plain text, no keys)."""

    report: str
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"report": self.report}


def kill_switch_report(ctx: Context, day: Day) -> ReportResult:
    """The incident report now: positions, P&L, open and journaled orders."""
    broker = open_broker(ctx, day)
    try:
        return ReportResult(killswitch.kill_switch_report(ctx, broker))
    finally:
        broker.close()


@dataclass
class PnlResult:
    """The day's P&L ($) in total and by symbol (start shares, shares, marks, basis)."""

    data: dict[str, Any]
    exit_code: int = 0
    columns: list[str] = field(
        default_factory=lambda: [
            "symbol",
            "start_shares",
            "shares",
            "prev",
            "mark",
            "basis",
            "pnl",
            "unrealised_since_purchase",
        ]
    )

    @property
    def total(self) -> float | None:
        """Today's P&L ($); None when a symbol's is unknown (no previous close or no mark)."""
        t = self.data["total_pnl"]
        return None if t is None else float(t)

    def total_text(self) -> str:
        """``$1,234.56``, or why today's P&L is unknown (and what the known symbols make)."""
        if self.total is not None:
            return usd(self.total)
        why = ", ".join(
            f"{r['symbol']} ({r['basis']})" for r in self.data["by_symbol"] if r["symbol"] in self.data["unknown"]
        )
        return f"unknown: no P&L today for {why}; the other symbols {usd(self.data['known_pnl'])}"

    def by_symbol(self) -> pd.DataFrame:
        return pd.DataFrame(self.data["by_symbol"], columns=self.columns)

    def to_json(self) -> dict[str, Any]:
        return self.data


def pnl(ctx: Context, day: Day) -> PnlResult:
    """The day's P&L from the broker's positions and fills and the latest quotes."""
    broker = open_broker(ctx, day)
    try:
        return PnlResult(day_pnl(ctx, broker, day.date))
    finally:
        broker.close()

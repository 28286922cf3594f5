"""``validate()``: build the shared context once, ask every registered check for its rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.checks.base import Findings, findings_frame
from xlexec.core.checks.context import CheckContext, build_context
from xlexec.core.checks.registry import VALIDATION, Registry
from xlexec.core.checks.result import ValidationResult, decide
from xlexec.core.checks.thresholds import Thresholds
from xlexec.core.costs import half_up
from xlexec.core.trades import Trades


def validate(
    trades: Trades,
    *,
    positions: pd.DataFrame | None = None,
    quotes: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    thresholds: Thresholds,
    now: dt.datetime,
    kill_switch_file: bool = False,
    cash: float | None = None,
    restricted: pd.DataFrame | None = None,
    registry: Registry = VALIDATION,
) -> ValidationResult:
    """Run every check of ``registry`` on the trades that will be sent (see :mod:`xlexec.core.checks`).

    ``positions``: ``symbol, shares, avg_cost`` (None = unknown, treated as no holdings);
    ``quotes``: ``symbol, bid, ask, last, timestamp (UTC), mid``; ``events``:
    ``symbol, date, event``; ``reference``: ``symbol, sector, adv_shares``; ``thresholds``: the
    limits (:func:`xlexec.config.validation_thresholds`); ``now``: tz-aware UTC time used for
    quote staleness and, without a ``# Date`` header, the trade date; ``kill_switch_file``:
    whether ``live/KILL_SWITCH`` exists; ``cash``: $ cash before the day (None = unknown), added
    to the positions when the header has no ``# Portfolio Value``; ``restricted``: the
    restricted list ``symbol, reason`` (None = not checked).
    """
    c = build_context(
        trades,
        positions=positions,
        quotes=quotes,
        events=events,
        reference=reference,
        thresholds=thresholds,
        now=now,
        kill_switch_file=kill_switch_file,
        cash=cash,
        restricted=restricted,
    )
    parts = []
    for check in registry.checks():
        out = Findings(check.id)
        check.rows(c, out)
        parts += out.parts
    checks = findings_frame(parts)
    order = {cid: i for i, cid in enumerate(registry.ids())}
    checks["_o"] = checks["check"].map(order).fillna(len(order))
    checks = checks.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    return ValidationResult(checks, decide(checks), summarize(c, checks))


def summarize(c: CheckContext, checks: pd.DataFrame) -> dict[str, Any]:
    """Counts by status and the run's figures ($ rounded to cents, fractions to 1e-6)."""
    counts = checks["status"].value_counts()
    t, valid, buy, pv_known = c.t, c.valid, c.buy, c.pv_known
    return {
        "pass": int(counts.get("pass", 0)),
        "warn": int(counts.get("warn", 0)),
        "fail": int(counts.get("fail", 0)),
        "date": c.trade_date,
        "date_source": c.date_source,
        "n_trades": int(c.n),
        "n_excluded": len(c.excluded),
        "n_buys": int((buy & valid).sum()),
        "n_sells": int((~buy & valid).sum()),
        "notional": half_up(c.send_total, 2),
        "buy_notional": half_up(float(np.abs(t.send[valid & buy]).sum()), 2),
        "sell_notional": half_up(float(np.abs(t.send[valid & ~buy]).sum()), 2),
        "portfolio_value": half_up(c.pv, 2) if pv_known else None,
        "portfolio_value_source": c.pv_source,
        "cash": half_up(c.cash, 2) if c.cash is not None else None,
        "turnover": half_up(c.turnover, 6) if pv_known else None,
        "turnover_header": c.header.turnover,
        "est_costs": half_up(c.est_costs, 2),
        "est_cost_pct": half_up(c.cost_pct, 6),
        "positions_after": c.n_after,
        "positions_given": c.positions is not None,
        "quotes_given": c.quotes is not None,
        "events_given": c.events is not None,
        "reference_given": c.reference is not None,
        "restricted_given": c.restricted is not None,
        "checked_at": c.now.astimezone(dt.UTC).isoformat(timespec="seconds"),
    }

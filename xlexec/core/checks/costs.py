"""Turnover and costs: the day's turnover, estimated costs vs notional, expensive and small
trades, and the file's cost estimates against ``costs_bps`` / ``slippage_bps``.

Turnover = (buy notional + sell notional) / portfolio value (both sides, as the header's
``Portfolio Turnover``). The threshold uses the included trades at the prices to be sent; the
header cross-check uses every trade of the file at its signal price (what the model described).
"""

from __future__ import annotations

import numpy as np

from xlexec.core.checks.base import EPS, Check, Findings, money, pct
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register


def file_turnover(c: CheckContext) -> float:
    """Every valid trade of the file at its signal price / portfolio value (fraction)."""
    shares = c.df_all["shares"].to_numpy(dtype=float)
    total = float((shares * c.df_all["price"].to_numpy(dtype=float))[shares > 0].sum())
    return total / c.pv if c.pv_known else float("nan")


@register
class Turnover(Check):
    """Turnover (fraction): warn above ``turnover_warn``, breach above ``turnover_fail``; warn
    when the header's turnover differs from the file's by more than ``turnover_header_tolerance``.
    Warns "not checked" when the portfolio value is unknown."""

    id = "turnover"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        th = c.th
        if not c.pv_known:
            out.add("warn", "", float("nan"), th.turnover_fail, "not checked: portfolio value unknown")
            return
        to, found = c.turnover, False
        if to > th.turnover_fail + EPS:
            out.add(self.breach, "", to, th.turnover_fail, f"turnover {pct(to, 2)} above {pct(th.turnover_fail)}")
            found = True
        elif to > th.turnover_warn + EPS:
            out.add(
                "warn",
                "",
                to,
                th.turnover_warn,
                f"turnover {pct(to, 2)} between {pct(th.turnover_warn)} and {pct(th.turnover_fail)}",
            )
            found = True
        hdr, ft = c.header.turnover, file_turnover(c)
        if hdr is not None and abs(hdr - ft) > th.turnover_header_tolerance + EPS:
            out.add(
                "warn",
                "",
                abs(hdr - ft),
                th.turnover_header_tolerance,
                f"header says turnover {pct(hdr, 2)} but the trades make {pct(ft, 2)} of {money(c.pv)}",
            )
            found = True
        if not found:
            out.add("pass", "", to, th.turnover_warn, f"turnover {pct(to, 2)}")


@register
class TotalCostPct(Check):
    """Estimated costs / notional to send (fraction) stays below ``max_cost_pct`` (breach at or
    above it)."""

    id = "total_cost_pct"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        lim, cost, total, share = c.th.max_cost_pct, c.est_costs, c.send_total, c.cost_pct
        if total > 0 and share >= lim - EPS:
            out.add(
                self.breach,
                "",
                share,
                lim,
                f"estimated costs {money(cost)} = {pct(share, 3)} of notional "
                f"{money(total)}, at or above {pct(lim, 2)}",
            )
        else:
            out.add("pass", "", share, lim, f"estimated costs {money(cost)} = {pct(share, 3)} of notional")


@register
class HighCostTrade(Check):
    """No trade's estimated cost (``total_cost_est``, $) exceeds ``high_cost_trade_usd``."""

    id = "high_cost_trade"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, lim = c.t, c.th.high_cost_trade_usd
        out.per_trade(
            c.valid & (t.total > lim + EPS),
            self.breach,
            t,
            t.total,
            lim,
            lambda i: f"{t.who(i)}: estimated cost {money(t.total[i])} above {money(lim)}",
            f"no trade costs more than {money(lim)}",
        )


@register
class SmallTrade(Check):
    """Every trade's notional to send (|shares x price|, $) is at least ``min_trade_usd``."""

    id = "small_trade"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, lim = c.t, c.th.min_trade_usd
        out.per_trade(
            c.valid & (np.abs(t.send) < lim - EPS),
            self.breach,
            t,
            np.abs(t.send),
            lim,
            lambda i: f"{t.who(i)}: {money(t.send[i])} is below the {money(lim)} minimum trade",
            f"every trade at least {money(lim)}",
        )


@register
class CostEstimate(Check):
    """commission_est = |shares x price| x ``costs_bps`` / 1e4, slippage_est = ... x
    ``slippage_bps`` / 1e4 and total_cost_est = commission + slippage, each within
    ``cost_tolerance_usd`` ($); value = the largest difference ($)."""

    id = "cost_estimate"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, th = c.t, c.th
        base = np.abs(c.calc)
        exp_c, exp_s = base * th.costs_bps / 1e4, base * th.slippage_bps / 1e4
        d_c, d_s = np.abs(t.comm - exp_c), np.abs(t.slip - exp_s)
        d_t = np.abs(t.total - (t.comm + t.slip))
        worst = np.maximum(np.maximum(d_c, d_s), d_t)
        tol = th.cost_tolerance_usd + EPS

        def msg(i: int) -> str:
            parts = []
            if d_c[i] > tol:
                parts.append(f"commission_est {money(t.comm[i])} vs {money(exp_c[i])} at {th.costs_bps:g} bps")
            if d_s[i] > tol:
                parts.append(f"slippage_est {money(t.slip[i])} vs {money(exp_s[i])} at {th.slippage_bps:g} bps")
            if d_t[i] > tol:
                parts.append(
                    f"total_cost_est {money(t.total[i])} != commission + slippage {money(t.comm[i] + t.slip[i])}"
                )
            return f"{t.who(i)}: " + "; ".join(parts)

        out.per_trade(
            c.valid & (worst > tol),
            self.breach,
            t,
            np.round(worst, 6),
            th.cost_tolerance_usd,
            msg,
            f"cost estimates match costs_bps={th.costs_bps:g} and slippage_bps={th.slippage_bps:g}",
        )

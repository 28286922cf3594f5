"""Trade integrity: share counts, whole shares, notional arithmetic, direction."""

from __future__ import annotations

import numpy as np

from xlexec.core.checks.base import EPS, Check, Findings, money, num
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register


@register
class SharesPositive(Check):
    """Every trade's share count is positive (shares > 0); row value = the shares, limit 0."""

    id = "shares_nonpositive"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t = c.t
        out.per_trade(
            ~c.valid,
            self.breach,
            t,
            t.shares,
            0.0,
            lambda i: f"{t.who(i)}: shares must be positive, got {num(t.shares[i])}",
            "all share counts positive",
        )


@register
class WholeShares(Check):
    """Every positive share count is a whole number (|shares - round(shares)| <= 1e-9 shares)."""

    id = "fractional_shares"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t = c.t
        frac = c.valid & (np.abs(t.shares - np.round(t.shares)) > EPS)
        out.per_trade(
            frac,
            self.breach,
            t,
            t.shares,
            float("nan"),
            lambda i: f"{t.who(i)}: {t.shares[i]:g} is not a whole number of shares",
            "whole shares only",
        )


@register
class NotionalMatches(Check):
    """notional = shares x signal price within ``notional_tolerance_usd`` ($); value = |difference|
    ($), the pass row's value = the largest difference."""

    id = "notional_mismatch"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, tol = c.t, c.th.notional_tolerance_usd
        calc = c.calc
        diff = np.abs(calc - t.notional)
        out.per_trade(
            diff > tol + EPS,
            self.breach,
            t,
            np.round(diff, 6),
            tol,
            lambda i: (
                f"{t.who(i)}: notional {money(t.notional[i])} != shares x price "
                f"{money(calc[i])} (off by {money(diff[i])})"
            ),
            "notional = shares x price for every trade",
            float(diff.max()) if c.n else 0.0,
            tol,
        )


@register
class Direction(Check):
    """A buy has weight_change >= 0 and a sell <= 0 (fraction of the portfolio); value =
    weight_change, limit 0."""

    id = "direction"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t = c.t
        m = (c.buy & (t.wc < 0)) | (~c.buy & (t.wc > 0))
        out.per_trade(
            m,
            self.breach,
            t,
            t.wc,
            0.0,
            lambda i: f"{t.who(i)}: weight_change {t.wc[i]:+.4f} points the other way",
            "every side agrees with the sign of weight_change",
        )

"""Liquidity: each trade's share of the average daily volume (``reference.csv`` ``adv_shares``).

Days needed = ceil(shares / (ADV x ``max_adv_pct``)) (the guide's snippet is wrong).
"""

from __future__ import annotations

import math

import numpy as np

from xlexec.core.checks.base import EPS, Check, Findings, num, pct
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register


@register
class AdvPct(Check):
    """shares / ADV (fraction) <= ``max_adv_pct`` per trade; the message says how many trading
    days the order takes at that participation. Trades without ADV data are counted, not checked."""

    id = "adv_pct"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, lim, valid = c.t, c.th.max_adv_pct, c.valid
        if not len(c.by_symbol("reference", "adv_shares")):
            out.add("pass", "", float("nan"), lim, "not checked: no ADV data (reference.csv)")
            return
        a = c.at_trades("reference", "adv_shares")
        ok = valid & np.isfinite(a) & (a > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(ok, t.shares / np.where(ok, a, 1.0), np.nan)

        def msg(i: int) -> str:
            days = math.ceil(t.shares[i] / (a[i] * lim) - EPS)
            return (
                f"{t.who(i)}: {num(t.shares[i])} shares = {pct(share[i], 2)} of ADV "
                f"{num(a[i])}; at {pct(lim)} of volume a day that takes {days} trading days"
            )

        out.per_trade(
            ok & (share > lim + EPS),
            self.breach,
            t,
            share,
            lim,
            msg,
            f"every trade within {pct(lim)} of ADV"
            + ("" if ok.all() else f" ({int((~ok & valid).sum())} without ADV data)"),
            float(np.nanmax(share)) if ok.any() else float("nan"),
            lim,
        )

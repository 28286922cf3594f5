"""Prices against the market: distance from the quote mid, quote age, trades without a quote.

The price checked is the one to be sent (the ``limit_price`` where given, else the signal
price; a market order's is the signal price)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlexec.core.ages import age_text
from xlexec.core.checks.base import EPS, Check, Findings, money, pct
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register


def _mid(c: CheckContext) -> tuple[np.ndarray, np.ndarray]:
    """Quote mid ($) per trade and whether it is usable (finite, > 0)."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        q = c.at_trades("quotes", "mid")
        with np.errstate(invalid="ignore"):
            mid = np.where(q > 0, q, np.nan)
        return mid, np.isfinite(mid) & (mid > 0)

    return c.memo("quote_mid_per_trade", compute)


@register
class PriceDeviation(Check):
    """|price to send - quote mid| / mid (fraction): warn above ``price_warn_pct``, breach
    (``policy``) above ``price_fail_pct``; trades without a usable quote are left to ``no_quote``."""

    id = "price_deviation"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        th, t = c.th, c.t
        if c.quotes is None:
            out.add("pass", "", float("nan"), th.price_warn_pct, "not checked: no quotes")
            return
        mid, has = _mid(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(has, np.abs(t.eff - mid) / np.where(has, mid, 1.0), np.nan)
        fail = has & (dev > th.price_fail_pct + EPS)
        warn = has & ~fail & (dev > th.price_warn_pct + EPS)
        status = np.where(fail, self.breach, "warn").astype(object)
        lim = np.where(fail, th.price_fail_pct, th.price_warn_pct)
        out.per_trade(
            fail | warn,
            status,
            t,
            dev,
            lim,
            lambda i: (
                f"{t.who(i)}: price {money(t.eff[i])} is {pct(dev[i], 2)} from "
                f"the quote mid {money(mid[i])} (limit {pct(lim[i])})"
            ),
            f"every price within {pct(th.price_warn_pct)} of the quote mid",
            float(np.nanmax(dev)) if has.any() else float("nan"),
            th.price_warn_pct,
        )


@register
class QuoteStale(Check):
    """Every quoted symbol's quote is at most ``quote_stale_minutes`` old at ``now`` (minutes);
    a quote without a timestamp is flagged too. Value = age in minutes."""

    id = "price_stale"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        lim, t = c.th.quote_stale_minutes, c.t
        if c.quotes is None:
            out.add("pass", "", float("nan"), lim, "not checked: no quotes")
            return
        ts = c.by_symbol("quotes", "timestamp")
        sym = c.sym
        qts = pd.to_datetime(sym.map(ts), utc=True, errors="coerce")
        age = ((pd.Timestamp(c.now) - qts).dt.total_seconds() / 60.0).to_numpy(dtype=float)
        quoted = sym.isin(ts.index).to_numpy()
        no_ts = quoted & ~np.isfinite(age)
        stale = quoted & np.isfinite(age) & (age > lim + EPS)
        out.per_trade(
            no_ts | stale,
            self.breach,
            t,
            age,
            lim,
            lambda i: (
                f"{t.sym[i]}: quote has no timestamp"
                if not np.isfinite(age[i])
                else f"{t.sym[i]}: quote is {age_text(age[i] * 60)} old (limit {lim:g} min)"
            ),
            f"every quote younger than {lim:g} min",
            float(np.nanmax(age)) if np.isfinite(age).any() else float("nan"),
            lim,
        )


@register
class NoQuote(Check):
    """Every trade has a usable quote (mid > 0), else its price is not checked against the market;
    without a quotes file one portfolio-level row counts the trades."""

    id = "no_quote"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, n = c.t, c.n
        if c.quotes is None:
            if n:
                out.add(
                    self.breach,
                    "",
                    float(n),
                    float("nan"),
                    f"no quotes file: the prices of {n} trade(s) are not checked against the market",
                )
            else:
                out.add("pass", "", 0.0, float("nan"), "no trades")
            return
        _, has = _mid(c)
        out.per_trade(
            ~has,
            self.breach,
            t,
            float("nan"),
            float("nan"),
            lambda i: f"{t.who(i)}: no usable quote; price not checked against the market",
            "every trade has a quote",
        )


def spread_bps(bid, ask) -> np.ndarray:
    """(ask - bid) / mid x 10,000 (bps), mid = (bid + ask) / 2; NaN unless bid > 0 and ask > 0
    (negative for a crossed quote, ask < bid)."""
    bid, ask = np.asarray(bid, dtype=float), np.asarray(ask, dtype=float)
    ok = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, (ask - bid) / np.where(ok, (bid + ask) / 2, 1.0) * 1e4, np.nan)


@register
class Spread(Check):
    """The quoted bid-ask spread of every traded symbol, (ask - bid) / mid in bps with mid =
    (bid + ask) / 2, one row per symbol: warn above ``spread_warn_bps``, breach (``policy``)
    above ``spread_fail_bps``. An unknown spread is never a pass: a symbol without a quote row,
    or whose quote lacks a positive bid or ask, warns, and so does a crossed quote (ask < bid,
    the quote is suspect); without a quotes file one portfolio-level row warns. Value = the
    spread (bps), limit = the tier it was held to (bps)."""

    id = "spread"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        th, t, n = c.th, c.t, c.n
        warn_at, fail_at = th.spread_warn_bps, th.spread_fail_bps
        if c.quotes is None:
            if n:
                out.add(
                    "warn",
                    "",
                    float(n),
                    warn_at,
                    f"no quotes file: the bid-ask spreads of {n} trade(s) are not checked",
                )
            else:
                out.add("pass", "", 0.0, warn_at, "no trades")
            return
        sym = c.sym
        bid = c.at_trades("quotes", "bid")
        ask = c.at_trades("quotes", "ask")
        quoted = c.listed("quotes")
        bps = spread_bps(bid, ask)
        known = np.isfinite(bps)
        first = ~sym.duplicated().to_numpy(dtype=bool)  # one row per symbol
        tol = 1e-6  # bps: float noise at the tier itself is not a breach
        fail = known & (bps > fail_at + tol)
        warn = known & ~fail & (bps > warn_at + tol)
        crossed = known & (bps < 0)
        status = np.where(fail, self.breach, "warn").astype(object)
        lim = np.where(fail, fail_at, warn_at)

        def msg(i: int) -> str:
            s = t.sym[i]
            if not quoted[i]:
                return f"{s}: no quote; bid-ask spread not checked"
            if not known[i]:
                return f"{s}: quote has no bid and ask (bid {bid[i]:g}, ask {ask[i]:g}); bid-ask spread not checked"
            quote = f"bid {money(bid[i])} / ask {money(ask[i])}"
            if crossed[i]:
                return f"{s}: crossed quote ({quote}: ask below bid); bid-ask spread not trustworthy"
            return f"{s}: bid-ask spread {bps[i]:.1f} bps ({quote}) is above {lim[i]:g} bps"

        out.per_trade(
            first & (~known | crossed | fail | warn),
            status,
            t,
            bps,
            lim,
            msg,
            f"every traded symbol's bid-ask spread within {warn_at:g} bps",
            float(np.nanmax(bps)) if known.any() else float("nan"),
            warn_at,
        )

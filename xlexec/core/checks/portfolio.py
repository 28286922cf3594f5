"""Sizes and concentration against the portfolio value ($): trade, position and sector shares,
the number of positions after the trades, and sales beyond the shares held."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlexec.core.checks.base import EPS, Check, Findings, money, num, pct
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register

PV_UNKNOWN = "not checked: portfolio value unknown (no '# Portfolio Value' header, no priced positions)"


@register
class PortfolioValue(Check):
    """Where the portfolio value ($) comes from: the header's ``# Portfolio Value``, else the
    positions at the marks plus the cash (the last reconciliation's ``cash_after``). Without
    either the cash, it warns: the positions alone are a lower bound, never silently the value."""

    id = "portfolio_value"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        src, pv = c.pv_source, c.pv
        if src == "header":
            out.add("pass", "", pv, float("nan"), f"portfolio value {money(pv)} from the '# Portfolio Value' header")
        elif src == "positions+cash":
            out.add(
                "pass",
                "",
                pv,
                float("nan"),
                f"no '# Portfolio Value' header: computed {money(pv)} = positions x prices"
                f" + cash {money(c.cash or 0.0)}",
            )
        elif src.startswith("positions"):
            out.add(
                self.breach,
                "",
                pv,
                float("nan"),
                f"no '# Portfolio Value' header and the cash is unknown (no reconciliation yet): {money(pv)} "
                "is the positions alone, a lower bound",
            )
        else:
            out.add(self.breach, "", float("nan"), float("nan"), PV_UNKNOWN)


@register
class MaxTradePct(Check):
    """|shares x price to send| / portfolio value <= ``max_trade_pct`` (fraction) per trade; warns
    "not checked" when the portfolio value is unknown."""

    id = "max_trade_pct"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t, lim, pv = c.t, c.th.max_trade_pct, c.pv
        if not c.pv_known:
            out.add("warn", "", float("nan"), lim, PV_UNKNOWN)
            return
        tp = np.where(c.valid, np.abs(t.send) / pv, 0.0)
        out.per_trade(
            tp > lim + EPS,
            self.breach,
            t,
            tp,
            lim,
            lambda i: (
                f"{t.who(i)}: {money(t.send[i])} is {pct(tp[i], 2)} of the portfolio ({money(pv)}), above {pct(lim)}"
            ),
            f"largest trade {pct(tp.max() if c.n else 0.0, 2)} of the portfolio",
            float(tp.max()) if c.n else 0.0,
            lim,
        )


@register
class PositionPct(Check):
    """|position after the trades at the marks| / portfolio value <= ``max_position_pct``
    (fraction) per symbol; warns "not checked" when the portfolio value is unknown."""

    id = "position_pct"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        lim = c.th.max_position_pct
        if not c.pv_known:
            out.add("warn", "", float("nan"), lim, PV_UNKNOWN)
            return
        ppct = (c.post_val.abs() / c.pv).dropna()
        bad = ppct[ppct > lim + EPS]
        if len(bad):
            out.add(
                self.breach,
                bad.index.to_numpy(dtype=object),
                bad.to_numpy(),
                lim,
                [
                    f"{s}: position after the trades {money(c.post_val[s])} = {pct(p, 2)} of the "
                    f"portfolio, above {pct(lim)}"
                    for s, p in bad.items()
                ],
            )
        else:
            mx = float(ppct.max()) if len(ppct) else 0.0
            out.add("pass", "", mx, lim, f"largest position after the trades {pct(mx, 2)} of the portfolio")


def sector_sums(sectors: pd.Series, post_val: pd.Series) -> pd.Series | None:
    """Sum of |``post_val``| ($) per sector (``sectors``: by symbol; a blank or missing sector,
    or a symbol without one, is left out), sectors sorted; None when no symbol has a sector
    that is not blank or there are no positions. The sectors are factorized once and the sums
    grouped by their codes (the same sums, in the same order, as grouping by the names)."""
    codes, uniq = pd.factorize(sectors.to_numpy())
    if pd.api.types.infer_dtype(uniq, skipna=False) != "string":  # not all text: by the names
        sectors = sectors[sectors.astype(str).str.strip() != ""] if len(sectors) else sectors
        if not (len(sectors) and len(post_val)):
            return None
        sec = post_val.index.map(sectors)
        known = pd.notna(sec)
        return post_val[known].abs().groupby(np.asarray(sec[known], dtype=object)).sum()
    blank = np.array([u.strip() == "" for u in uniq.tolist()] + [False], dtype=bool)  # [-1]: missing
    if not ((~blank[codes]).any() and len(post_val)):
        return None
    where = sectors.index.get_indexer(post_val.index)
    code = np.where(where >= 0, codes[where], -1)
    known = (code >= 0) & ~blank[code]
    order = sorted(range(len(uniq)), key=uniq.tolist().__getitem__)
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    sums = post_val[known].abs().groupby(rank[code[known]]).sum()
    names = np.asarray(uniq, dtype=object)[order][sums.index.to_numpy(dtype=np.intp)]
    return pd.Series(sums.to_numpy(dtype=float), index=pd.Index(names, dtype=object))


@register
class SectorPct(Check):
    """Sum of |positions after the trades| per sector (reference.csv) / portfolio value <=
    ``max_sector_pct`` (fraction); "not checked" without sector data or portfolio value."""

    id = "sector_pct"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        lim = c.th.max_sector_pct
        if not c.pv_known:
            out.add("warn", "", float("nan"), lim, PV_UNKNOWN)
            return
        by = sector_sums(c.by_symbol("reference", "sector"), c.post_val)
        if by is None:
            out.add("pass", "", float("nan"), lim, "not checked: no sector data (reference.csv)")
            return
        by = by / c.pv
        bad = by[by > lim + EPS]
        if len(bad):
            out.add(
                self.breach,
                "",
                bad.to_numpy(),
                lim,
                [
                    f"sector {s}: {pct(p, 2)} of the portfolio after the trades, above {pct(lim)}"
                    for s, p in bad.items()
                ],
            )
        else:
            mx = float(by.max()) if len(by) else 0.0
            out.add("pass", "", mx, lim, f"largest sector {pct(mx, 2)} of the portfolio")


@register
class PositionCount(Check):
    """The number of positions after the trades is ``top_k`` +/- ``position_count_tolerance``."""

    id = "position_count"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        n_after, k, tol = c.n_after, c.th.top_k, c.th.position_count_tolerance
        if abs(n_after - k) > tol:
            out.add(
                self.breach,
                "",
                float(n_after),
                float(k),
                f"{n_after} positions after the trades, expected {k} +/- {tol}",
            )
        else:
            out.add("pass", "", float(n_after), float(k), f"{n_after} positions after the trades (target {k})")


@register
class Oversell(Check):
    """No sale leaves a short: shares held + the day's net flow >= 0 (shares) for every sold
    symbol; value = shares after. A breach fails unless ``allow_short`` (then it warns). Not
    checked without a positions file."""

    id = "oversell"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        if c.positions is None:
            out.add("pass", "", float("nan"), 0.0, "not checked: no positions file")
            return
        t = c.t
        after = c.at_symbols(c.after_all)
        held = np.nan_to_num(c.at_symbols(c.pre), nan=0.0)
        m = c.valid & ~c.buy & (after < -EPS)
        allowed = (
            " (validation.allow_short: true)" if c.th.allow_short else " (set validation.allow_short: true to allow)"
        )
        out.per_trade(
            m,
            "warn" if c.th.allow_short and self.breach == "fail" else self.breach,
            t,
            after,
            0.0,
            lambda i: (
                f"{t.who(i)}: selling {num(t.shares[i])} of {num(held[i])} held leaves {num(after[i])} (a short)"
                + allowed
            ),
            "no sale exceeds the shares held",
        )


@register
class BuyAndSell(Check):
    """One symbol is not both bought and sold in one file (the model nets its trades; both sides
    of one symbol is a broken file, and the broker would see a wash)."""

    id = "buy_and_sell"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t = c.t
        sym = t.sym
        twice = set(sym[c.valid & c.buy].tolist()) & set(sym[c.valid & ~c.buy].tolist())
        both = c.valid & (np.fromiter((s in twice for s in sym.tolist()), dtype=bool, count=c.n) if twice else False)
        out.per_trade(
            both,
            self.breach,
            t,
            t.shares,
            float("nan"),
            lambda i: f"{t.who(i)}: {t.sym[i]} is both bought and sold in this file",
            "no symbol is both bought and sold",
        )

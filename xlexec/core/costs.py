"""THE cost and sign convention, in one place: every bps and $ cost of xlexec comes from here.

* ``side``: +1 for a buy, -1 for a sell (:func:`side_sign`).
* cost bps = ``side x (fill - benchmark) / benchmark x 10,000`` (:func:`cost_bps`): **> 0 is a
  cost** for buys and sells alike (a buy filled above its benchmark, a sell below it).
* cost $ = ``side x shares x (fill - benchmark)`` (:func:`cost_usd`), same sign.
* bps of a $ amount over a notional: ``usd / notional x 10,000`` (:func:`bps_of`).
* $ from bps: ``notional x bps / 10,000`` (:func:`usd_from_bps`); a bps rate as a fraction:
  ``bps / 10,000`` (:func:`fraction_from_bps`).

Scalars or numpy arrays / pandas Series in, the same out (no rounding here).

The figures (one definition each, used by reconcile, TCA, the month, the execution log, the
workbook and the UDFs): :func:`slippage_usd` / :func:`slippage_bps` per fill or trade,
:func:`aggregate_slippage` (sum of $, sum of benchmark notional, the benchmark-notional-weighted
bps = sum $ / sum benchmark notional x 10^4, and the plain per-trade mean bps, each labelled by
:data:`WEIGHTINGS`), :func:`commission_paid` (every fill's commission; a rebate is negative),
the benchmark names :data:`BENCHMARKS`, and :func:`half_up` (rounding for display only: stored
figures are sums of unrounded values). See docs/accounting.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np

BPS = 1e4  # basis points per unit (1 bp = 0.0001 = 0.01%)
_NOISE = Decimal("1e-9")  # binary noise below this is dropped before a figure is rounded to show
_HUGE = Decimal("1e15")  # $; from here a float has no cents to round


def side_sign(side):
    """+1.0 where ``side`` is ``"buy"``, -1.0 otherwise (sell); scalar or array-like of text."""
    if isinstance(side, str):
        return 1.0 if side == "buy" else -1.0
    return np.where(np.asarray(side, dtype=object) == "buy", 1.0, -1.0)


def cost_bps(side, fill, benchmark):
    """``side x (fill - benchmark) / benchmark x 10,000`` (bps; > 0 = cost). ``side`` is +1/-1."""
    return side * (fill - benchmark) / benchmark * BPS


def cost_usd(side, shares, fill, benchmark):
    """``side x shares x (fill - benchmark)`` ($; > 0 = cost). ``side`` is +1/-1, shares >= 0."""
    return side * shares * (fill - benchmark)


def bps_of(usd, notional):
    """``usd / notional x 10,000``: a $ amount as bps of a notional ($)."""
    return usd / notional * BPS


def usd_from_bps(notional, bps):
    """``notional x bps / 10,000`` ($): what ``bps`` of ``notional`` ($) costs."""
    return notional * bps / BPS


def fraction_from_bps(bps):
    """``bps / 10,000``: a rate in bps as a fraction (25 bps -> 0.0025)."""
    return bps / BPS


# ---------------------------------------------------------------------------------------------
# The figures: one definition each. Reconcile, TCA, the month, the execution log, the workbook
# and the UDFs all take their slippage and commission from here.
# ---------------------------------------------------------------------------------------------

#: The benchmarks a slippage is measured against (key -> what it is).
BENCHMARKS = {
    "signal": "signal price (the trades.csv price the plan was made at)",
    "arrival": "arrival price (quote mid recorded when the order was submitted)",
    "close": "close (the day's closing price)",
    "limit": "limit price (the order's limit; market orders: the signal price)",
}
#: The weightings of an aggregate bps figure (key -> formula).
WEIGHTINGS = {
    "benchmark_notional": "sum of slippage $ / sum of benchmark notional (shares x benchmark price) x 10^4",
    "plain_mean": "plain mean of the trades' bps (every trade counts once, whatever its size)",
}
SIGN = "positive = a cost, negative = a saving, for buys and sells alike"
COMMISSION_RULE = "what was paid on every fill of the day, planned or not; a broker rebate counts as a negative cost"


def figure_definitions(benchmark: str = "signal") -> dict[str, str]:
    """What a report's figures mean, for its JSON / text: ``benchmark``, ``weighting`` (of the
    aggregate bps), ``mean_weighting`` (of the plain-mean bps), ``sign``, ``commission``."""
    return {
        "benchmark": BENCHMARKS[benchmark],
        "weighting": WEIGHTINGS["benchmark_notional"],
        "mean_weighting": WEIGHTINGS["plain_mean"],
        "sign": SIGN,
        "commission": COMMISSION_RULE,
    }


def slippage_usd(side, shares, fill, benchmark):
    """Slippage $ of a fill (or a trade at its average fill price): ``side x shares x (fill -
    benchmark)``, > 0 = cost. Summing it over a trade's fills gives the trade's slippage $."""
    return cost_usd(side, shares, fill, benchmark)


def slippage_bps(side, fill, benchmark):
    """Slippage bps of a fill or trade: ``side x (fill - benchmark) / benchmark x 10,000``, > 0 = cost."""
    return cost_bps(side, fill, benchmark)


def benchmark_notional(shares, benchmark):
    """``shares x benchmark`` ($): the notional an aggregate bps is taken over."""
    return shares * benchmark


@dataclass(frozen=True)
class Slippage:
    """Aggregate slippage of several trades (or fills) against one benchmark, unrounded.

    ``usd``: sum of slippage $ (> 0 = cost); ``notional``: sum of benchmark notional $;
    ``bps``: ``usd / notional x 10^4`` (the benchmark-notional-weighted mean; None when nothing
    was filled); ``mean_bps``: plain mean of the trades' bps (None when none); ``trades``: how
    many trades count.
    """

    usd: float
    notional: float
    bps: float | None
    mean_bps: float | None
    trades: int


def aggregate_slippage(side, shares, fill, benchmark) -> Slippage:
    """The one aggregate: trades (arrays, one per trade; ``side`` +1/-1, ``shares`` filled,
    ``fill`` average fill $, ``benchmark`` $) with no shares or no known benchmark are left out."""
    sd = np.asarray(side, dtype=float)
    sh = np.asarray(shares, dtype=float)
    px = np.asarray(fill, dtype=float)
    bm = np.asarray(benchmark, dtype=float)
    ok = (sh > 0) & np.isfinite(px) & np.isfinite(bm) & (bm > 0)
    if not ok.any():
        return Slippage(0.0, 0.0, None, None, 0)
    usd = float(slippage_usd(sd[ok], sh[ok], px[ok], bm[ok]).sum())
    notional = float(benchmark_notional(sh[ok], bm[ok]).sum())
    mean = float(np.mean(slippage_bps(sd[ok], px[ok], bm[ok])))
    return Slippage(
        usd + 0.0, notional, float(bps_of(usd, notional)) + 0.0 if notional > 0 else None, mean, int(ok.sum())
    )


def commission_paid(commission) -> float:
    """Commission $ of fills: the plain sum of what each fill paid (a rebate is negative);
    unknown (NaN) counts as 0."""
    c = np.asarray(commission, dtype=float)
    return float(np.nansum(c)) + 0.0 if c.size else 0.0


def half_up(x, places: int = 2) -> float | None:
    """``x`` rounded half-up (away from zero at exactly half) to ``places`` decimals, for
    showing a figure: ``2.675 -> 2.68``, ``-0.004 -> 0.0`` (never ``-0.0``). The decimal text of
    the float (its shortest repr; a ``Decimal`` or a numeric string as given) is what is
    rounded, after binary noise below 1e-9 is dropped (a float 10.074999999999999 is 10.075 and
    shows 10.08). From 10^15 up a float has no cents: returned as is. None / NaN / inf -> None.
    The one rounding rule of every figure shown (:func:`xlexec.core.corporate_actions.cents` is
    this at 2 places)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        d = Decimal(str(x)) if isinstance(x, (Decimal, str)) else Decimal(repr(float(x)))
    except (TypeError, ValueError, ArithmeticError):
        return None
    if not d.is_finite():
        return None
    return _shown(d, Decimal(1).scaleb(-places), places < 9)


#: the context :func:`half_up` rounds in (40 digits: a figure below 10^15 to 9 places fits)
_ROUNDING = Context(prec=40, rounding=ROUND_HALF_UP)


def _shown(d: Decimal, exp: Decimal, noise: bool) -> float:
    """A finite ``d`` rounded half-up to the places of ``exp`` (binary noise below 1e-9 dropped
    first when ``noise``), as :func:`half_up` shows it."""
    if abs(d) >= _HUGE:  # beyond a float's cents: nothing to round
        return float(d) + 0.0
    if noise:
        d = d.quantize(_NOISE, context=_ROUNDING)
    return float(d.quantize(exp, context=_ROUNDING)) + 0.0


def half_up_floats(values, places: int = 2) -> list[float | None]:
    """:func:`half_up` of each float of ``values`` (a list of floats, e.g. a column's
    ``tolist()``): the same figures. Those that no rounding rule can tell apart are rounded at
    once in numpy (:func:`_nearest_shown`); only the ones near a half, and the huge, go through
    the decimal rule one by one (a day's by-symbol costs are some hundreds of figures)."""
    exp, noise, fin = Decimal(1).scaleb(-places), places < 9, math.isfinite
    a = np.asarray(values, dtype=np.float64).ravel()
    fast = _nearest_shown(a, places)
    shown, ok = fast if fast is not None else (np.full(len(a), np.nan), np.zeros(len(a), dtype=bool))
    out: list[float | None] = shown.tolist()
    for i in np.flatnonzero(~ok).tolist():
        x = float(a[i])
        out[i] = _shown(Decimal(repr(x)), exp, noise) if fin(x) else None
    return out


def _nearest_shown(a: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(figures, ok)``: where ``ok``, :func:`half_up` of ``a`` at ``places`` (0 to 15), found as
    the nearest integer of ``|a| x 10**places`` over ``10**places``; None for other places.

    :func:`half_up` rounds the decimal ``d`` of a float (its shortest repr, noise below 1e-9
    dropped), which is within ``ulp(a) / 2 + 5e-10`` of it; the float product is within half
    its own ulp of ``|a| x 10**places``. When the product's fraction is farther from a half than
    four times the sum of these (times ``10**places``), every rounding of ``d`` and of the
    product lands on the same integer ``k``, half-up or to nearest; ``k / 10**places`` (both
    exact floats) is then the correctly rounded quotient, as ``float(Decimal)`` of the rounded
    ``d`` is. The rest (near a half, from 10**15 up, NaN and infinities) are left out of
    ``ok``."""
    if not 0 <= places <= 15:
        return None
    scale = 10.0**places
    noise = 1e-9 if places < 9 else 0.0
    with np.errstate(all="ignore"):
        m = np.abs(a)
        y = m * scale
        frac = y - np.floor(y)
        err = np.spacing(y) + (np.spacing(m) + noise) * scale
        ok = np.isfinite(a) & (m < 1e15) & (np.abs(frac - 0.5) > 4 * err)
        k = np.floor(y + 0.5)
        shown = np.where(ok, np.copysign(k, a) / scale + 0.0, np.nan)
    return shown, ok


def turnover(traded_notional, average_value):
    """Turnover (fraction): ``sum |traded notional| / average portfolio value``. ``traded_notional``
    ($, one per trade or day; the sign is dropped), ``average_value`` ($, > 0; else None)."""
    v = float(average_value) if average_value is not None else float("nan")
    if not (math.isfinite(v) and v > 0):
        return None
    return float(np.nansum(np.abs(np.asarray(traded_notional, dtype=float)))) / v + 0.0

"""THE cost and sign convention, in one place: every bps and $ cost of xlexec comes from here.

* ``side``: +1 for a buy, -1 for a sell (:func:`side_sign`).
* cost bps = ``side x (fill - benchmark) / benchmark x 10,000`` (:func:`cost_bps`): **> 0 is a
  cost** for buys and sells alike (a buy filled above its benchmark, a sell below it).
* cost $ = ``side x shares x (fill - benchmark)`` (:func:`cost_usd`), same sign.
* bps of a $ amount over a notional: ``usd / notional x 10,000`` (:func:`bps_of`).
* $ from bps: ``notional x bps / 10,000`` (:func:`usd_from_bps`); a bps rate as a fraction:
  ``bps / 10,000`` (:func:`fraction_from_bps`).

Scalars or numpy arrays / pandas Series in, the same out (no rounding here).
"""

from __future__ import annotations

import numpy as np

BPS = 1e4  # basis points per unit (1 bp = 0.0001 = 0.01%)


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

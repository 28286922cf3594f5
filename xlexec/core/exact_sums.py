"""Exact Decimal sums of float columns done in whole units (int64), proven equal to summing
:func:`xlexec.core.corporate_actions.exact` of every cell (each float as the Decimal of its
shortest repr: ``20.15 -> Decimal('20.15')``).

Why it is equal. For a column ``x`` and ``k`` places, ``m = rint(x * 10**k)``. When every
``|m| < 2**51`` and ``m / 10**k == x`` (float division of two exactly held numbers, correctly
rounded), the decimal ``m / 10**k`` rounds to ``x``; the rounding interval of ``x`` is narrower
than ``0.5 * 10**-k`` (``|x| < 2**51 / 10**k``), so it holds one ``k``-place decimal at most,
and the shortest repr (never more digits than ``m / 10**k``, hence at most ``k`` places) is that
one: ``exact(x) == m * 10**-k``. Products and sums of such integers are exact in int64 while
every magnitude stays below ``2**63``, checked before summing; there the Decimal arithmetic (28
significant digits) was exact too, so the value is the same. Otherwise ``None``: the caller
keeps its cell-by-cell Decimal loop.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

#: places tried for a column (prices $ to 4, shares to 6, commissions to 4 in practice)
MAX_PLACES = 9
_LIMIT = 2**51
_I64 = 2**63 - 1


def scaled(x) -> tuple[np.ndarray, int] | None:
    """``(m, k)``: int64 ``m`` with ``exact(x[i]) == m[i] * 10**-k`` for every cell, ``k`` the
    fewest places that hold; ``None`` when a cell is not finite or needs more than
    :data:`MAX_PLACES` places or more than 15 digits."""
    a = np.asarray(x, dtype=float)
    if not np.isfinite(a).all():
        return None
    for k in range(MAX_PLACES + 1):
        s = 10.0**k
        m = np.rint(a * s)
        if (np.abs(m) < _LIMIT).all() and (m / s == a).all():
            return m.astype(np.int64), k
    return None


def _fits(*bounds: int) -> bool:
    prod = 1
    for b in bounds:
        prod *= max(int(b), 1)
    return prod <= _I64


def as_decimal(units: int, k: int) -> Decimal:
    """``units * 10**-k`` as a Decimal (exact)."""
    return Decimal(int(units)).scaleb(-k)


def product_sums(q, px, groups: np.ndarray, n_groups: int) -> tuple[list[Decimal], list[Decimal]] | None:
    """Per group ``g`` (``groups[i]`` in ``0..n_groups-1``): the exact sums of ``q`` and of
    ``q x px``, as Decimals; ``None`` when the whole-unit path cannot prove equality."""
    sq, sp = scaled(q), scaled(px)
    if sq is None or sp is None:
        return None
    (mq, kq), (mp, kp) = sq, sp
    n = len(mq)
    if n == 0:
        return [Decimal(0)] * n_groups, [Decimal(0)] * n_groups
    amq, amp = int(np.abs(mq).max()), int(np.abs(mp).max())
    if not (_fits(amq, amp, n) and _fits(amq, n)):
        return None
    prod = mq * mp
    tq = np.zeros(n_groups, dtype=np.int64)
    tp = np.zeros(n_groups, dtype=np.int64)
    np.add.at(tq, groups, mq)
    np.add.at(tp, groups, prod)
    return [as_decimal(v, kq) for v in tq.tolist()], [as_decimal(v, kq + kp) for v in tp.tolist()]


def column_sum(x) -> Decimal | None:
    """The exact sum of ``exact(x[i])``, or ``None`` when the whole-unit path cannot prove it."""
    s = scaled(x)
    if s is None:
        return None
    m, k = s
    if len(m) and not _fits(int(np.abs(m).max()), len(m)):
        return None
    return as_decimal(int(m.sum()), k)

"""THE money format of every text report and CLI line: :func:`usd`.

``$1,234.57`` / ``-$1,234.57``: the minus before the dollar sign, thousands separators, two
decimals rounded half-up (:func:`xlexec.core.costs.half_up`: ``-1234.565 -> -$1,234.57``), and
never ``-$0.00`` (``-0.004 -> $0.00``). The minus is the ASCII hyphen-minus, as the workbook's
``$#,##0.00;-$#,##0.00`` number format shows it (and every console can print it).
"""

from __future__ import annotations

import math
from typing import Any

from xlexec.core.costs import half_up


def usd(x: Any, *, sign: bool = False, missing: str = "n/a") -> str:
    """``x`` ($) as text: ``$1,234.57``, ``-$1,234.57``, ``$0.00`` (never ``-$0.00``).

    ``sign``: a ``+`` before an amount above zero (``+$3.50``; zero stays ``$0.00``).
    ``missing``: the text for None / NaN / inf / not a number."""
    v = half_up(x, 2)
    if v is None:
        return missing
    text = f"${abs(v):,.2f}"
    if v < 0:
        return "-" + text
    return ("+" + text) if sign and v > 0 else text


def finite_or_none(x: Any) -> float | None:
    """``x`` as a finite float, or None (None, a bool, text that is not a number, NaN, inf): a
    figure read back from a file, where missing must stay missing."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v + 0.0 if math.isfinite(v) else None

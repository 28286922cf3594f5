"""THE age / duration format of every text report and CLI line: :func:`age_text`.

Two units at most, whole units, read at a glance: ``45 s``, ``61 s``, ``9 min``, ``6 h 28 min``,
``2 h 05 min``, ``6 d 17 h``, ``3 d 0 h``; a negative age is ``10 min in the future``.
"""

from __future__ import annotations

import math
from typing import Any

MINUTE, HOUR, DAY = 60, 3_600, 86_400
SECONDS_SHOWN_BELOW = 120  # under 2 minutes the seconds are shown (61 s against a 60 s limit)


def age_text(seconds: Any, *, missing: str = "unknown") -> str:
    """An age of ``seconds`` (s) in words: under 120 s ``N s``; under an hour ``N min``
    (whole minutes, rounded down); under a day ``H h MM min``; else ``D d H h``. Negative:
    ``... in the future``. None / NaN / inf / not a number: ``missing``."""
    try:
        v = float(seconds)
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(v):
        return missing
    s = int(math.floor(abs(v) + 0.5))  # whole seconds, half-up
    if v < 0 and s:
        return f"{age_text(s)} in the future"
    if s < SECONDS_SHOWN_BELOW:
        return f"{s} s"
    if s < HOUR:
        return f"{s // MINUTE} min"
    if s < DAY:
        h, rest = divmod(s, HOUR)
        return f"{h} h {rest // MINUTE:02d} min"
    d, rest = divmod(s, DAY)
    return f"{d} d {rest // HOUR} h"

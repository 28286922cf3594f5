"""Symbols the desk may not trade: the restricted list (``live/restricted.csv``), shown by validation.

The rule is :func:`xlexec.core.restricted.restricted_reason`, the one submit's pre-trade limit
``restricted`` and convert refuse with; validation names the same orders beforehand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlexec.core.checks.base import Check, Findings
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register
from xlexec.core.restricted import restricted_reason, restricted_reasons

NAN = float("nan")


@register
class Restricted(Check):
    """No trade to send is in a symbol on the restricted list (canonical symbols: ``BRK/B`` on
    the list restricts ``BRK.B``); one row per such trade with the list's reason. Submit would
    refuse the order (its limit ``restricted``). Value = count of listed symbols."""

    id = "restricted"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        t = c.t
        if c.restricted is None:
            out.add("pass", "", NAN, NAN, "no restricted list: no symbol is restricted")
            return
        listed = float(len(restricted_reasons(c.restricted)))
        why = restricted_reason(pd.Series(t.sym, dtype=object), c.restricted).to_numpy(dtype=object)
        out.per_trade(
            np.asarray(why != "", dtype=bool),
            self.breach,
            t,
            listed,
            NAN,
            lambda i: f"{t.who(i)}: on the restricted list ({why[i]}); submit would refuse it",
            f"no trade in a restricted symbol ({listed:.0f} listed)",
            listed,
        )

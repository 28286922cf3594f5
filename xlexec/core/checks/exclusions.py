"""Trades the operator excluded (``include`` = no/false/0/excluded): listed, not sent, not checked."""

from __future__ import annotations

from xlexec.core.checks.base import Check, Findings
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register

NAN = float("nan")


@register
class Excluded(Check):
    """One logged row per excluded trade (policy ``log``: recorded as ``pass``, decides nothing);
    a warning when every trade is excluded (nothing to send). Value = count of exclusions."""

    id = "excluded"
    policy = "log"

    def rows(self, c: CheckContext, out: Findings) -> None:
        excl = c.excluded
        if not len(excl):
            out.add("pass", "", 0.0, NAN, "no trades excluded")
            return
        out.add(
            self.breach,
            excl["symbol"].to_numpy(dtype=object),
            NAN,
            NAN,
            [
                f"{s} {sd} (row {r}): excluded by the operator; not sent, not checked"
                for s, sd, r in zip(excl["symbol"], excl["side"], excl.index)
            ],
        )
        if c.n == 0:
            out.add("warn", "", float(len(excl)), NAN, "every trade is excluded: nothing to send")

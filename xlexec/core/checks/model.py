"""The model's own statements (the trades file's header): IC, kill switch, safety checks, regime."""

from __future__ import annotations

from xlexec.core.checks.base import EPS, Check, Findings
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register
from xlexec.core.trades import KILL_SWITCH_OK, SAFETY_CHECKS_OK

NAN = float("nan")


def kill_switch_triggered(header_value: str | None) -> bool:
    """Whether the trades header's ``Kill Switch`` stops trading: fail closed, anything but
    ``ACTIVE`` (any case) does -- ``TRIGGERED``, ``TRIPPED``, ``HALTED``, ``OFF``, garbage or a
    missing line. The one reading of that header line, shared with the submission guard."""
    return str(header_value or "").strip().upper() != KILL_SWITCH_OK


def kill_switch_reason(header_value: str | None) -> str:
    """Why the header's kill switch stops trading (for the operator), "" when it is ``ACTIVE``."""
    if not kill_switch_triggered(header_value):
        return ""
    v = str(header_value or "").strip().upper()
    if not v:
        return f"the trades header has no '# Kill Switch: {KILL_SWITCH_OK}' line"
    if v.startswith("TRIGGER"):
        return "the trades header says Kill Switch: TRIGGERED"
    return f"the trades header says Kill Switch: {v[:40]} (only {KILL_SWITCH_OK} passes)"


@register
class InformationCoefficient(Check):
    """The header's ``# IC`` is above ``ic_pass`` (pass), between ``ic_fail`` and ``ic_pass``
    inclusive (warn) or below ``ic_fail`` (breach); unknown IC warns."""

    id = "ic"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        ic, th = c.header.ic, c.th
        if ic is None:
            out.add("warn", "", NAN, th.ic_pass, "IC unknown (no '# IC' header)")
        elif ic > th.ic_pass:
            out.add("pass", "", ic, th.ic_pass, f"IC {ic:.4f} above {th.ic_pass:g}")
        elif ic >= th.ic_fail:
            out.add("warn", "", ic, th.ic_pass, f"IC {ic:.4f} between {th.ic_fail:g} and {th.ic_pass:g}")
        else:
            out.add(self.breach, "", ic, th.ic_fail, f"IC {ic:.4f} below {th.ic_fail:g}")


@register
class KillSwitch(Check):
    """Trading is not stopped: the header says ``Kill Switch: ACTIVE`` (anything else, or no such
    line, fails closed) and there is no ``live/KILL_SWITCH`` file."""

    id = "kill_switch"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        ks = c.header.kill_switch
        header = kill_switch_reason(ks)
        if header or c.kill_switch_file:
            why = []
            if header:
                why.append(header)
            if c.kill_switch_file:
                why.append("live/KILL_SWITCH is present")
            out.add(self.breach, "", NAN, NAN, "kill switch triggered: " + " and ".join(why))
        else:
            out.add("pass", "", NAN, NAN, f"kill switch {ks}, no KILL_SWITCH file")


@register
class SafetyChecks(Check):
    """The header says ``Safety Checks: PASSED``; anything else (``FAILED``, ``FAIL``, ``ERROR``,
    garbage) or no such line fails closed."""

    id = "safety_checks"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        sc = c.header.safety_checks
        if not sc:
            out.add(self.breach, "", NAN, NAN, f"the trades header has no '# Safety Checks: {SAFETY_CHECKS_OK}' line")
        elif sc != SAFETY_CHECKS_OK:
            out.add(
                self.breach,
                "",
                NAN,
                NAN,
                f"the model's safety checks say {sc[:40]} (header; only {SAFETY_CHECKS_OK} passes)",
            )
        else:
            out.add("pass", "", NAN, NAN, f"safety checks {sc}")


@register
class Regime(Check):
    """The header states a regime, and its risk multiplier (when given) lies within
    [``regime_multiplier_min``, ``regime_multiplier_max``]."""

    id = "regime"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        regime, mult, th = c.header.regime, c.header.risk_multiplier, c.th
        lo, hi = th.regime_multiplier_min, th.regime_multiplier_max
        value = mult if mult is not None else NAN
        if not regime:
            out.add(self.breach, "", value, hi, "regime missing from the header")
        elif mult is not None and not (lo - EPS <= mult <= hi + EPS):
            out.add(
                self.breach,
                "",
                mult,
                lo if mult < lo else hi,
                f"regime {regime}: risk multiplier {mult:g} outside [{lo:g}, {hi:g}]",
            )
        else:
            out.add(
                "pass", "", value, hi, f"regime {regime}" + (f" (risk multiplier {mult:g})" if mult is not None else "")
            )

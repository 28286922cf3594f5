"""The base of every check: a stable id, a rule (the class docstring) and a policy.

A check is a small class (in the style of zipline's ``TradingControl``)::

    @register
    class Direction(Check):
        \"\"\"Every side agrees with the sign of ``weight_change`` (fraction): ...\"\"\"

        id = "direction"
        policy = "fail"

        def rows(self, c, out):
            out.per_trade(mask, self.breach, c.t, ...)

``policy`` is what a breach does: ``fail`` (the row fails: REJECT / the order is refused),
``warn`` (the row warns: CONDITIONAL / the order is sent with a note) or ``log`` (recorded as a
``pass`` row, decides nothing). An instance may be given another policy (``Check("warn")``).
A check with a softer tier (``price_deviation``, ``turnover``...) reports its hard breach at
``policy`` and the soft one as ``warn``; its docstring says so.

The same base carries the pre-trade limits of :mod:`xlexec.execution.guards`: only the context
and the collector differ (trades vs orders).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from xlexec.core.arrays import filled
from xlexec.core.money import usd

CHECK_COLUMNS = ["check", "status", "symbol", "value", "limit", "message"]
STATUSES = ("pass", "warn", "fail")
POLICIES = ("fail", "warn", "log")
BREACH_STATUS = {"fail": "fail", "warn": "warn", "log": "pass"}
EPS = 1e-9


class Check:
    """Base class: set ``id`` and ``policy``, state the rule and its units in the docstring,
    implement :meth:`rows`."""

    id: ClassVar[str] = ""
    policy: str = "fail"

    def __init__(self, policy: str | None = None) -> None:
        if policy is not None:
            if policy not in POLICIES:
                raise ValueError(f"check {self.id}: policy must be one of {POLICIES}, got {policy!r}")
            self.policy = policy

    @property
    def breach(self) -> str:
        """The row status of a breach under this check's policy (``log`` -> ``pass``)."""
        return BREACH_STATUS[self.policy]

    def rows(self, c: Any, out: Any) -> None:
        """Add this check's findings for context ``c`` to the collector ``out``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, policy={self.policy!r})"


def _arr(x, n: int, dtype=object) -> np.ndarray:
    if isinstance(x, (list, np.ndarray, pd.Series)):
        return np.asarray(x, dtype=dtype)
    return filled(n, x) if dtype is object else np.full(n, x, dtype=dtype)


class Findings:
    """The rows of one check, collected as column arrays (cheap for thousands of rows)."""

    def __init__(self, check: str) -> None:
        self.check = check
        self.parts: list[dict[str, Any]] = []

    def add(self, status, symbol, value, limit, message) -> None:
        """Rows with the given columns; array arguments give one row per element."""
        n = len(message) if isinstance(message, (list, np.ndarray, pd.Series)) else 1
        if n == 0:
            return
        self.parts.append(
            {
                "check": _arr(self.check, n),
                "status": _arr(status, n),
                "symbol": _arr(symbol, n),
                "value": _arr(value, n, float),
                "limit": _arr(limit, n, float),
                "message": _arr(message, n),
            }
        )

    def per_trade(
        self,
        mask,
        status,
        t,
        value,
        limit,
        fmt,
        pass_message: str,
        pass_value: float = float("nan"),
        pass_limit: float = float("nan"),
    ) -> None:
        """Rows for the trades ``t`` where ``mask`` (``fmt(i)`` = message); one pass row when none."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            idx = np.flatnonzero(mask)
            st = status[idx] if isinstance(status, np.ndarray) else status
            val = value[idx] if isinstance(value, np.ndarray) else value
            lim = limit[idx] if isinstance(limit, np.ndarray) else limit
            self.add(st, t.sym[idx], val, lim, [fmt(i) for i in idx])
        else:
            self.add("pass", "", pass_value, pass_limit, pass_message)


def findings_frame(parts: list[dict[str, Any]]) -> pd.DataFrame:
    """One frame of :data:`CHECK_COLUMNS` from the collected parts (typed even when empty)."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "limit") else object) for c in CHECK_COLUMNS})
    df = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in CHECK_COLUMNS})
    for c in ("check", "status", "symbol", "message"):
        df[c] = df[c].astype(str)
    return df


def money(x: Any) -> str:
    """``$1,234.50`` / ``-$3.00`` (:func:`xlexec.core.money.usd`, the one money format)."""
    return usd(x)


def pct(x: Any, d: int = 1) -> str:
    """A fraction as a percentage: ``pct(0.1038, 2)`` -> ``10.38%``."""
    return f"{x * 100:.{d}f}%"


def num(x: Any) -> str:
    """A share count: whole numbers with thousands separators, else 4 significant digits."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"

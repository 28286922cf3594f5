"""The outcome of a validation: rows of findings, the decision they imply, summary figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass
class ValidationResult:
    """Rows of findings, the decision they imply and summary figures."""

    checks: pd.DataFrame
    decision: str
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        """``{"decision", "checks": [row dicts], "summary"}`` with NaN as ``None``."""
        rows = []
        for rec in self.checks.to_dict("records"):
            rows.append({k: _jsonable(v) for k, v in rec.items()})
        return {
            "decision": self.decision,
            "checks": rows,
            "summary": {k: _jsonable(v) for k, v in self.summary.items()},
        }

    @property
    def non_pass(self) -> pd.DataFrame:
        return self.checks[self.checks["status"] != "pass"]


def _jsonable(v):
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def decide(checks: pd.DataFrame) -> str:
    """The guide's matrix: any fail -> REJECT, any warn -> CONDITIONAL, else APPROVE."""
    st = set(checks["status"])
    if "fail" in st:
        return "REJECT"
    if "warn" in st:
        return "CONDITIONAL"
    return "APPROVE"


def worst_by_symbol(checks: pd.DataFrame) -> dict[str, str]:
    """Worst status per symbol (for colouring Blotter rows); portfolio-level rows are skipped."""
    c = checks[checks["symbol"].astype(str) != ""]
    if c.empty:
        return {}
    rank = c["status"].map(_RANK)
    worst = rank.groupby(c["symbol"].astype(str)).max()
    inv = {v: k for k, v in _RANK.items()}
    return {str(s): inv[int(r)] for s, r in worst.items()}

"""How a day's planned orders ended, counted one way everywhere (reconciliation, TCA).

A planned order is **fully executed** when its filled shares reach its planned shares,
**partially** when some but not all are filled, **not executed** when none is; an over-fill counts
as fully executed (and is a break elsewhere). Percentages are of the planned orders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExecutionCounts:
    """Orders (counts): ``full + partial + not_executed == planned``."""

    planned: int
    full: int
    partial: int
    not_executed: int

    def pct(self, n: int) -> float | None:
        """``n`` as a % of the planned orders, to 0.1 (None with no planned order)."""
        return round(100.0 * n / self.planned, 1) if self.planned else None

    def text(self, partial_detail: str = "") -> str:
        """``Fully executed 6, partially 1 (JPM 5/11), not executed 1 of 8``."""
        detail = f" ({partial_detail})" if partial_detail else ""
        return (
            f"Fully executed {self.full}, partially {self.partial}{detail}, "
            f"not executed {self.not_executed} of {self.planned}"
        )

    def to_json(self) -> dict:
        return {
            "trades_fully_executed": self.full,
            "trades_partial": self.partial,
            "trades_not_executed": self.not_executed,
            "execution_counts": self.text(),
        }

"""Step ``import_fills`` (the Import Fills button): the day's fills into ``live/D/broker_fills.csv``.

From a pasted block (rows of cells in any known fills layout, :mod:`xlexec.formats.fills`), else
from the configured broker's fills of the day. Written atomically in the canonical layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.errors import RefusedError
from xlexec.execution.brokers import get_broker
from xlexec.formats.fills import fills_from_broker, read_fills_block, write_fills_csv
from xlexec.steps.context import Context
from xlexec.store.day import Day


@dataclass
class ImportFillsResult:
    """How many fills were imported, from where, into which file."""

    path: Path
    source: str
    fills: pd.DataFrame
    exit_code: int = 0

    @property
    def count(self) -> int:
        return int(len(self.fills))

    def to_json(self) -> dict[str, Any]:
        return {"fills": self.count}


def import_fills(
    ctx: Context,
    day: Day,
    *,
    block: list[list[Any]] | None = None,
    block_name: str = "Fills tab",
    first_row: int = 1,
    require_any: bool = True,
) -> ImportFillsResult:
    """Read the fills (``block`` when given, its first row being sheet row ``first_row``; else
    the broker's) and write them as the day's ``broker_fills.csv``. ``require_any``: no fills is
    refused (nothing written)."""
    if block:
        fills = read_fills_block(block, name=block_name, first_row=first_row)
        source = f"the {block_name}"
    else:
        broker = get_broker(ctx.config, ctx.live_dir, day=day.date, now=ctx.now)
        try:
            fills = fills_from_broker(broker.fills(day.date), day.date)
        finally:
            close = getattr(broker, "close", None)
            if close:
                close()
        source = f"the broker ({ctx.config.execution.broker})"
    if require_any and len(fills) == 0:
        raise RefusedError(f"no fills found in {source}: nothing imported")
    write_fills_csv(day.fills, fills)
    return ImportFillsResult(day.fills, source, fills)

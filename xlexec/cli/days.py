"""Which day a command works on: ``--date``, else the trades file's folder, else today (New York)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xlexec.steps.context import Context
    from xlexec.store.day import Day


def day_for(ctx: Context, *, date: str | None = None, trades: str | Path | None = None, folder: bool = False) -> Day:
    """``Day(live, date)``; without ``date``: the trades file's folder name when ``folder`` and it
    is a date (``live/YYYY-MM-DD/trades.csv``), else today. The trades header's date, when it
    has one, still wins inside the steps that read it."""
    from xlexec.store.day import Day, is_day_name

    if date:
        return Day(ctx.live_dir, date)
    if folder and trades is not None and is_day_name(Path(trades).parent.name):
        return Day(ctx.live_dir, Path(trades).parent.name)
    return Day(ctx.live_dir, ctx.today())

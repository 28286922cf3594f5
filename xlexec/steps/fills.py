"""Fills steps: ``read_fills_file`` (``xlexec fills FILE``: what a broker file holds, writing
nothing) and ``import_fills`` (the Import Fills button: the day's fills into
``live/D/broker_fills.csv``).

Every reader is :mod:`xlexec.formats.fills` under the fund's rules (:func:`read_rules`: config
``base_currency`` and ``broker.account``, ``--account`` winning), the same for reconcile, TCA,
the Fills tab and this command. Import reads a pasted block (rows of cells in any known fills
layout), else the configured broker's fills of the day, and writes them atomically in the
canonical layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from xlexec.errors import RefusedError
from xlexec.execution.brokers import get_broker
from xlexec.formats.fills import (
    FILL_ID,
    fills_from_broker,
    read_fills,
    read_fills_block,
    skipped_of,
    write_fills_csv,
    write_skipped_csv,
)
from xlexec.steps.context import Context
from xlexec.store.day import Day


class Rules(TypedDict):
    base_currency: str
    account: str | None
    flex_time_zone: str | None


def read_rules(ctx: Context, account: str | None = None) -> Rules:
    """The fund's fill-reading rules as keyword arguments of the readers: ``base_currency``
    (config), ``account`` (``account`` given, else config ``broker.account``, else None) and
    ``flex_time_zone`` (config ``broker.flex_time_zone``: the zone of IBKR Flex times)."""
    chosen = (account or "").strip() or (ctx.config.broker.account or "").strip() or None
    zone = ctx.config.broker.flex_time_zone
    return Rules(base_currency=ctx.config.base_currency, account=chosen, flex_time_zone=zone)


#: what ``xlexec fills --json`` prints for each fill (canonical names; ``client_order_id`` is the
#: broker's order reference; ``fill_time_ny`` the fill time in New York)
SHOWN = ["symbol", "side", "shares", "price", "commission", "fees", "currency", "account", "date"]
SHOWN += ["fill_time_ny", "fill_time", FILL_ID, "order_id", "client_order_id"]
NUMBERS = ("shares", "price", "commission", "fees")


@dataclass
class ReadFillsResult:
    """What a fills file holds: the canonical fills, the layout read, the account, and every
    row skipped with the reason. Nothing written."""

    path: Path
    fills: pd.DataFrame
    exit_code: int = 0

    @property
    def layout(self) -> str:
        return str(self.fills.attrs.get("format", ""))

    @property
    def account(self) -> str:
        return str(self.fills.attrs.get("account", ""))

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return skipped_of(self.fills)

    def records(self) -> list[dict[str, Any]]:
        cols = [c for c in SHOWN if c in self.fills.columns]
        out = []
        for row, r in zip(self.fills.index, self.fills[cols].to_dict("records"), strict=True):
            out.append({"row": int(row), **{k: (float(v) if k in NUMBERS else str(v)) for k, v in r.items()}})
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "layout": self.layout,
            "account": self.account,
            "fills": self.records(),
            "skipped": self.skipped,
        }


def read_fills_file(
    ctx: Context,
    path: str | Path,
    *,
    format: str | None = None,
    account: str | None = None,  # noqa: A002
) -> ReadFillsResult:
    """Read ``path`` (any layout of :data:`xlexec.formats.fills.FORMATS`, or a saved Alpaca
    activities JSON) under the fund's rules; nothing is written. A file that cannot be read
    raises :class:`~xlexec.errors.InputError` (exit 2) naming file, row, column and the fix."""
    p = Path(path)
    return ReadFillsResult(p, read_fills(p, format=format, **read_rules(ctx, account)))


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

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """The rows of the source not imported, with the reason (``[{"row", "reason"}]``)."""
        return skipped_of(self.fills)

    def message(self) -> str:
        """One line for the operator: how many fills, from where, into which file, and the
        first rows skipped with their reasons."""
        text = f"{self.count} fills imported from {self.source} into {self.path}"
        if self.skipped:
            shown = "; ".join(f"row {x['row']}: {x['reason']}" for x in self.skipped[:5])
            more = f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f"; {len(self.skipped)} row(s) skipped ({shown}{more})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"fills": self.count, "skipped": self.skipped}


def save_fills(day: Day, fills: pd.DataFrame) -> None:
    """The day's ``broker_fills.csv`` and the rows its read skipped (``broker_fills_skipped.csv``,
    written first: the Fills tab shows both), each atomically."""
    write_skipped_csv(day.fills_skipped, fills)
    write_fills_csv(day.fills, fills)


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
        the broker's) and write them as the day's ``broker_fills.csv`` (and the rows skipped,
    :func:`save_fills`). ``require_any``: no fills is
        refused (nothing written)."""
    if block:
        fills = read_fills_block(block, name=block_name, first_row=first_row, **read_rules(ctx))
        source = f"the {block_name}"
    else:
        broker = get_broker(ctx.config, ctx.live_dir, day=day.date, now=ctx.now)
        try:
            fills = fills_from_broker(broker.fills(day.date), day.date, **read_rules(ctx))
        finally:
            close = getattr(broker, "close", None)
            if close:
                close()
        source = f"the broker ({ctx.config.execution.broker})"
    if require_any and len(fills) == 0:
        raise RefusedError(f"no fills found in {source}: nothing imported")
    save_fills(day, fills)
    return ImportFillsResult(day.fills, source, fills)

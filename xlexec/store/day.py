"""``Day(live_dir, date)``: the one place that knows a trading day's file names and journal queries.

Day folder ``live/YYYY-MM-DD/``: ``trades.csv``, ``trades.model.csv``, ``validation.json``,
``quotes.csv``, ``closes.csv``, ``events.csv``, ``broker_fills.csv``, ``opening_positions.csv``,
``opening_cash.json``, ``execution_log.csv``, ``positions_after_recon.csv``, ``reconciliation.json``,
``reconciliation_report.txt``, ``reconciliation_trades.csv``, ``tca.json``, ``tca_report.txt``,
``trades_<broker>.csv`` (upload files). Live folder ``live/``: ``current_positions.csv`` (and its
backups), ``events.csv``, ``reference.csv``, ``restricted.csv``, ``closes.csv``,
``KILL_SWITCH``, ``discrepancies.log``, ``monthly_costs.csv``, ``journal.sqlite``.

Journal queries of the day: its order intents, approvals, slicing records, latest order states,
and the cash the day starts from (``previous_cash``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlexec.errors import InputError
from xlexec.formats.upload import output_name
from xlexec.store import journal as J

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_date(date: str, where: str = "date") -> str:
    """``date`` when it is a real YYYY-MM-DD day, else :class:`InputError` naming ``where``."""
    text = str(date)
    if not DATE_RE.match(text):
        raise InputError(where, f"must be YYYY-MM-DD, got {text[:20]!r}")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(where, f"not a calendar day: {text!r}") from None
    return text


def is_day_name(name: str) -> bool:
    """True when ``name`` (a folder name) looks like a day folder (YYYY-MM-DD)."""
    return bool(DATE_RE.match(str(name)))


@dataclass(frozen=True)
class Day:
    """One trading day under ``live_dir``: its file names and its journal queries."""

    live_dir: Path
    date: str

    def __init__(self, live_dir: str | os.PathLike, date: str):
        object.__setattr__(self, "live_dir", Path(live_dir))
        object.__setattr__(self, "date", check_date(date))

    def on(self, date: str | None) -> Day:
        """The same live folder on ``date`` (this day when ``date`` is empty or the same)."""
        return self if not date or date == self.date else Day(self.live_dir, date)

    # ------------------------------------------------------------------ the day folder
    @property
    def dir(self) -> Path:
        return self.live_dir / self.date

    @property
    def trades(self) -> Path:
        return self.dir / "trades.csv"

    @property
    def trades_model(self) -> Path:
        """The model's original trades.csv, kept once before the first Blotter edit."""
        return self.dir / "trades.model.csv"

    @property
    def validation(self) -> Path:
        return self.dir / "validation.json"

    @property
    def quotes(self) -> Path:
        return self.dir / "quotes.csv"

    @property
    def closes(self) -> Path:
        return self.dir / "closes.csv"

    @property
    def day_events(self) -> Path:
        return self.dir / "events.csv"

    @property
    def fills(self) -> Path:
        return self.dir / "broker_fills.csv"

    @property
    def fills_skipped(self) -> Path:
        """The rows the day's fills import skipped, with the reason (``row,reason``; written with
        ``broker_fills.csv``)."""
        return self.dir / "broker_fills_skipped.csv"

    @property
    def opening_positions(self) -> Path:
        """The positions the day started from (kept by Load Trades and the demo; the opening
        snapshot of the day's first reconcile, :mod:`xlexec.store.opening`)."""
        return self.dir / "opening_positions.csv"

    @property
    def opening_cash(self) -> Path:
        """The cash the day started from ($, JSON; the opening snapshot's other half)."""
        return self.dir / "opening_cash.json"

    @property
    def execution_log(self) -> Path:
        return self.dir / "execution_log.csv"

    @property
    def positions_after_recon(self) -> Path:
        return self.dir / "positions_after_recon.csv"

    @property
    def reconciliation(self) -> Path:
        return self.dir / "reconciliation.json"

    @property
    def reconciliation_report(self) -> Path:
        return self.dir / "reconciliation_report.txt"

    @property
    def reconciliation_trades(self) -> Path:
        return self.dir / "reconciliation_trades.csv"

    @property
    def tca(self) -> Path:
        return self.dir / "tca.json"

    @property
    def tca_report(self) -> Path:
        return self.dir / "tca_report.txt"

    def upload(self, broker: str, draft: bool = False) -> Path:
        """The default upload file: ``trades_<broker>.csv`` (``orders_alpaca.json``; ``_DRAFT`` for drafts)."""
        return self.dir / output_name(self.date, broker, draft)

    # ------------------------------------------------------------------ the live folder
    @property
    def current_positions(self) -> Path:
        return self.live_dir / "current_positions.csv"

    @property
    def positions_backup(self) -> Path:
        """The previous current_positions.csv, kept when this day's reconciliation was accepted."""
        return self.live_dir / f"current_positions.{self.date}.bak.csv"

    @property
    def events(self) -> Path:
        return self.live_dir / "events.csv"

    @property
    def reference(self) -> Path:
        return self.live_dir / "reference.csv"

    @property
    def restricted(self) -> Path:
        return self.live_dir / "restricted.csv"

    @property
    def live_closes(self) -> Path:
        return self.live_dir / "closes.csv"

    @property
    def kill_switch(self) -> Path:
        return self.live_dir / "KILL_SWITCH"

    @property
    def discrepancies_log(self) -> Path:
        return self.live_dir / "discrepancies.log"

    @property
    def monthly_costs(self) -> Path:
        return self.live_dir / "monthly_costs.csv"

    @property
    def journal_file(self) -> Path:
        return self.live_dir / "journal.sqlite"

    def events_file(self) -> Path | None:
        """The events the day reads (its splits adjust the positions): the day's own
        ``live/D/events.csv``, else ``live/events.csv``; None when neither exists."""
        for p in (self.day_events, self.events):
            if p.exists():
                return p
        return None

    def opening_or_backup(self) -> Path | None:
        """The positions the day started from: ``opening_positions.csv``, else the backup Accept made."""
        for p in (self.opening_positions, self.positions_backup):
            if p.exists():
                return p
        return None

    # ------------------------------------------------------------------ journal queries
    def intents(self, journal: J.Journal) -> dict[str, dict[str, Any]]:
        """The day's order intents by client order id (the first one of each id)."""
        out: dict[str, dict[str, Any]] = {}
        for p in journal.payloads(J.INTENT, self.date):
            out.setdefault(p["client_order_id"], p)
        return out

    def intents_list(self, journal: J.Journal) -> list[dict[str, Any]]:
        """Every order intent journaled on the day, in journal order (chase replacements included)."""
        return journal.payloads(J.INTENT, self.date)

    def approvals(self, journal: J.Journal) -> list[dict[str, Any]]:
        """The day's approval records (oldest first)."""
        return journal.payloads(J.APPROVAL, self.date)

    def slice_records(self, journal: J.Journal) -> list[dict[str, Any]]:
        """Every slicing record of the journal (all days: schedules carry across days)."""
        return journal.payloads(J.SLICE)

    def latest_orders(self, journal: J.Journal) -> dict[str, dict[str, Any]]:
        return journal.latest_orders(self.date)

    def previous_cash(self, journal: J.Journal) -> float | None:
        """Cash before the day ($): the same day's earlier reconciliation's ``cash_before``
        (a rerun), else the latest earlier day's ``cash_after``; None when neither exists. The
        unrounded figure (the payload's ``exact`` block) when recorded, else the shown one."""
        same, prior = None, None
        for e in journal.events(J.RECON):
            p = {**e.payload, **{k: v for k, v in (e.payload.get("exact") or {}).items() if v is not None}}
            if e.day == self.date and p.get("cash_before") is not None:
                same = float(p["cash_before"])
            elif e.day < self.date and p.get("cash_after") is not None and (prior is None or e.day >= prior[0]):
                prior = (e.day, float(p["cash_after"]))
        if same is not None:
            return same
        return prior[1] if prior else None

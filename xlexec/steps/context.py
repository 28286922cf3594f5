"""What every shell (CLI command, Excel button) hands to the core: config, clock, user, journal.

The core never reads the clock itself; shells pass ``ctx.now()``. ``XLEXEC_NOW`` (ISO time)
pins the clock for reproducible runs (the demo and the tests use it), with the paper broker
only: with another ``execution.broker`` it is refused (:func:`xlexec.execution.clock.env_now`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from xlexec.config import Config, load_config
from xlexec.execution.clock import env_now
from xlexec.store import calendar_cache
from xlexec.store.journal import Journal, current_user, use_journal


@dataclass
class Context:
    config: Config
    user: str = field(default_factory=current_user)
    fixed_now: dt.datetime | None = None  # pins the clock (demo, tests); else XLEXEC_NOW, else real
    _journal: Journal | None = None

    def __post_init__(self) -> None:
        use_journal(self.config.live_dir, self.config.journal)  # the store opens the config's journal
        calendar_cache.install()  # another exchange_calendars than the shipped table's: a table made once

    @classmethod
    def load(cls, config_path: str | os.PathLike | None = None, user: str | None = None) -> Context:
        cfg = load_config(config_path)
        use_journal(cfg.live_dir, cfg.journal)  # before current_user(): a database login names the user
        return cls(cfg, user or cfg.user or current_user())

    @property
    def live_dir(self) -> Path:
        return self.config.live_dir

    def day_dir(self, day: str) -> Path:
        """``live/DAY`` for a real YYYY-MM-DD ``day`` (anything else, ``../x`` too, is refused)."""
        return self.config.day_dir(day)

    def now(self) -> dt.datetime:
        return self.fixed_now if self.fixed_now is not None else env_now(self.config.execution.broker)

    def today(self) -> str:
        """Today's date in New York (the exchange's calendar day)."""
        from zoneinfo import ZoneInfo

        return self.now().astimezone(ZoneInfo("America/New_York")).date().isoformat()

    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal.for_live_dir(self.config.live_dir)
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

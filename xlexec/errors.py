"""Errors the operator sees.

Every error caused by input carries the file, the 1-based row number (as a spreadsheet or
text editor counts lines, header included) and the column, so one line on stderr (CLI, exit
code 2) or one message box (Excel) says exactly what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass


class XlexecError(Exception):
    """Base class of every error xlexec raises on purpose (never shown as a traceback)."""

    exit_code = 2


@dataclass
class InputError(XlexecError):
    """Bad input: names the file, the row (1-based line number) and the column."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:  # one line, always
        where = [str(self.file)]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        msg = " ".join(str(self.message).split())
        return f"{', '.join(where)}: {msg}"


class ConfigError(XlexecError):
    """Bad configuration: names the key path (e.g. ``execution.max_daily_trades``)."""


class RefusedError(XlexecError):
    """An action was refused by a guard (approval missing, kill switch, live mode...)."""

    exit_code = 1


class GateClosed(RefusedError):
    """The gate right before the wire refused one request (kill switch): nothing was sent."""


class BrokerError(XlexecError):
    """The broker could not be reached or answered something we cannot use."""

    exit_code = 1


class LockedError(XlexecError):
    """Another process holds the day's lock."""

    exit_code = 3

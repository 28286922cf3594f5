"""Errors the operator sees.

Every error caused by input carries the file, the 1-based row number (as a spreadsheet or
text editor counts lines, header included) and the column, so one line on stderr (CLI, exit
code 2) or one message box (Excel) says exactly what to fix.
"""

from __future__ import annotations

import errno
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
    """An action was refused by a guard (approval missing, kill switch, live mode...).

    ``rule`` names the control that refused (``kill_switch``, ``policy``, ``session``...): a
    whole-batch refusal is journaled under it (kind ``refusal``, :mod:`xlexec.store.refusals`)."""

    exit_code = 1
    rule = "refused"

    def __init__(self, *args: object, rule: str | None = None) -> None:
        super().__init__(*args)
        if rule:
            self.rule = rule


class GateClosed(RefusedError):
    """The gate right before the wire refused one request (kill switch): nothing was sent."""

    rule = "wire_gate"


class JournalBroken(RefusedError):
    """The journal's hash chain does not verify (an event edited, deleted or moved): nothing that
    reads it may authorise anything until an auditor has looked (``xlexec journal verify``)."""

    rule = "journal_chain"


class BrokerError(XlexecError):
    """The broker could not be reached or answered something we cannot use."""

    exit_code = 1


class LockedError(XlexecError):
    """Another process holds the day's lock."""

    exit_code = 3


#: OS errors that are the machine's state, not a bug: errno -> (what happened, what to do)
OS_PROBLEMS = {
    errno.ENOSPC: ("the disk is full", "free some space and rerun"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space and rerun"),
    errno.EROFS: ("the file system is read-only", "make the folder writable (or point live_dir elsewhere) and rerun"),
    errno.EACCES: ("permission denied", "give this user write access to the folder and rerun"),
    errno.EPERM: ("operation not permitted", "give this user write access to the folder and rerun"),
    errno.ENOTDIR: ("a file stands where a folder should be", "move that file away and rerun"),
    errno.EEXIST: ("a file stands where a folder should be", "move that file away and rerun"),
    errno.EISDIR: ("a folder stands where a file should be", "move that folder away and rerun"),
    errno.EIO: ("input/output error", "check the disk and rerun"),
}


def os_problem(e: OSError) -> str:
    """One line for an OS error that is the machine's state: what happened, where, what to do."""
    what, todo = OS_PROBLEMS.get(e.errno or 0, (e.strerror or type(e).__name__, "fix it and rerun"))
    where = f"{e.filename}: " if e.filename is not None else ""
    return f"{where}{what} ({errno.errorcode.get(e.errno or 0, 'OSError')}); {todo}"

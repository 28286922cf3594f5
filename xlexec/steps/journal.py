"""Step ``journal_verify``: walk the journal's hash chain (``xlexec journal verify``).

OK: how many events, where the chain starts (events written before it are unchained and counted),
the head seq and hash (for the auditor to note down and later pass as ``expect_head``). Broken:
the first broken seq and why (:mod:`xlexec.store.chain`: edited, gap, reordered, bad_prev,
unchained, truncated, head), exit code 1 (:class:`xlexec.errors.JournalBroken`'s code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from xlexec.errors import InputError, JournalBroken
from xlexec.steps.context import Context
from xlexec.store.chain import ChainReport
from xlexec.store.day import Day
from xlexec.store.integrity import verify_journal
from xlexec.store.journal import journal_label

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class JournalVerifyResult:
    journal: str  # the journal file's path
    report: ChainReport
    exit_code: int = 0

    def line(self) -> str:
        return f"{self.journal}: {self.report.line()}"

    def to_json(self) -> dict[str, Any]:
        return {"journal": self.journal, **self.report.to_json(), "exit_code": self.exit_code}


def journal_verify(ctx: Context, day: Day | None = None, *, expect_head: str | None = None) -> JournalVerifyResult:
    """Verify ``live/journal.sqlite`` (``day`` is not used: the chain is the whole journal).

    ``expect_head``: a head hash (64 hex digits) noted earlier, which must still be in the chain."""
    if expect_head is not None:
        expect_head = expect_head.strip().lower()
        if not _HEX64.fullmatch(expect_head):
            raise InputError("--expect-head", f"must be a sha256 (64 hex digits), got {expect_head[:70]!r}")
    rep = verify_journal(ctx.live_dir, expect_head)
    path = journal_label(ctx.live_dir)
    return JournalVerifyResult(path, rep, 0 if rep.ok else JournalBroken.exit_code)

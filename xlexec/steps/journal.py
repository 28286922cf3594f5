"""Step ``journal_verify``: walk the journal's hash chain (``xlexec journal verify``).

OK: how many events, where the chain starts (events written before it are unchained and counted),
the head seq and hash (for the auditor to note down and later pass as ``expect_head``). Broken:
the first broken seq and why (:mod:`xlexec.store.chain`: edited, gap, reordered, bad_prev,
unchained, truncated, head), exit code 1 (:class:`xlexec.errors.JournalBroken`'s code).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xlexec.errors import InputError, JournalBroken
from xlexec.steps.context import Context
from xlexec.store import pg_journal
from xlexec.store.chain import ChainReport
from xlexec.store.day import Day
from xlexec.store.integrity import verify_journal
from xlexec.store.journal import Journal, journal_label
from xlexec.store.pg_journal import CopyResult, InitResult

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


@dataclass
class JournalInitResult:
    """What ``journal init`` did: the schema version, the migrations applied now, the logins given a role."""

    init: InitResult
    exit_code: int = 0

    def line(self) -> str:
        i = self.init
        done = f"applied migration(s) {', '.join(map(str, i.applied))}" if i.applied else "schema already current"
        who = "".join(
            f"; {role}: {', '.join(names)}"
            for role, names in (("xlexec_trader", i.traders), ("xlexec_approver", i.approvers))
            if names
        )
        return f"{i.url}: journal schema version {i.version} ({done}){who}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.init), "line": self.line(), "exit_code": self.exit_code}


def journal_init(url: str, *, traders: tuple[str, ...] = (), approvers: tuple[str, ...] = ()) -> JournalInitResult:
    """Create or migrate the PostgreSQL journal at ``url`` (``xlexec journal init``); a rerun changes nothing."""
    if not pg_journal.is_url(url):
        raise InputError("--url", f"must be a postgresql:// URL, got {pg_journal.redacted(url)[:80]!r}")
    return JournalInitResult(pg_journal.init_schema(url, traders=traders, approvers=approvers))


@dataclass
class JournalCopyResult:
    copy: CopyResult
    exit_code: int = 0

    def line(self) -> str:
        c = self.copy
        return (
            f"{c.source} -> {c.target}: {c.n_copied} of {c.n_source} events copied "
            f"({c.n_source - c.n_copied} already there); chain verified, head seq {c.head_seq} sha256 {c.head_sha256}"
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.copy), "line": self.line(), "exit_code": self.exit_code}


def journal_copy(source: str, target: str) -> JournalCopyResult:
    """Copy the SQLite journal ``source`` (``sqlite:///path`` or a path) into the PostgreSQL
    journal ``target`` (``xlexec journal copy``); a rerun copies nothing."""
    path = Path(source.removeprefix("sqlite://")) if source.startswith("sqlite://") else Path(source)
    if not path.is_file():
        raise InputError("--from", f"no SQLite journal at {path}")
    if not pg_journal.is_url(target):
        raise InputError("--to", f"must be a postgresql:// URL, got {pg_journal.redacted(target)[:80]!r}")
    with Journal(path) as src:
        return JournalCopyResult(pg_journal.copy_journal(src, target))

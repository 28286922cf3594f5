"""Whole-batch refusals, journaled: the auditor sees every refused attempt, not only the sent ones.

When ``submit``, ``convert`` or a chase move is refused as a whole (the kill switch, a loosened
policy, today's session, the account the broker reports, a broken journal chain, a header
changed since approval...), :func:`record_refusal` appends one journal event, kind ``refusal``
(:data:`xlexec.store.journal.REFUSAL`), payload ``step, rule, day, line, file, file_sha256,
login``, key ``step|day|rule|file sha256|sha256 of the line (16 hex)``.

**Reruns.** The key is deterministic: the same refusal of the same file (same rule, same line)
is one event, however often it is retried (its ``ts_utc`` is the first attempt's); a different
file, rule or line is a new event. A rerun of a refused step therefore changes nothing.

**When it cannot be recorded.** A refusal because the journal's chain is broken
(``journal_chain``) is not added to that journal (a record in a chain that does not verify
proves nothing; the refusal line and exit code are the record). A journal that cannot be
written (read-only disk, locked, corrupt file) does not turn the refusal into anything else.
In both cases :func:`record_refusal` returns the reason, and the caller adds it to the
refusal line; the refusal stands.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xlexec.errors import RefusedError, XlexecError
from xlexec.store.journal import REFUSAL, Journal, current_user

NOT_RECORDED_BROKEN = "the refusal is not recorded: the journal does not verify"


def file_sha256(path: str | os.PathLike | None) -> str:
    """The SHA-256 (hex) of the file's bytes, "" when there is no such file."""
    if not path:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def refusal_key(step: str, day: str, rule: str, sha: str, line: str) -> str:
    """The journal key of a refusal: one event per step, day, rule, file and refusal line."""
    return f"{step}|{day}|{rule}|{sha}|{hashlib.sha256(line.encode()).hexdigest()[:16]}"


def record_refusal(
    live_dir: str | os.PathLike,
    *,
    step: str,
    rule: str,
    day: str,
    line: str,
    file: str | os.PathLike | None = None,
    actor: str | None = None,
    **extra: object,
) -> str | None:
    """Journal one whole-batch refusal (see the module docstring); ``None`` when it is in the
    journal (now or from an earlier identical attempt), else why it could not be recorded."""
    if rule == "journal_chain":
        return NOT_RECORDED_BROKEN
    if not Path(live_dir).is_dir():  # a refusal never creates the desk's folder
        return f"the refusal is not recorded: there is no live folder {live_dir}"
    sha = file_sha256(file)
    payload = {
        "step": step,
        "rule": rule,
        "day": day,
        "line": line,
        "file": str(file) if file else "",
        "file_sha256": sha,
        "login": current_user(),
        **extra,
    }
    try:
        with Journal.for_live_dir(live_dir) as jr:
            jr.append(REFUSAL, refusal_key(step, day, rule, sha, line), payload, day=day, actor=actor)
    except (sqlite3.Error, OSError, XlexecError) as e:
        why = " ".join(str(e).split())[:120]
        return f"the refusal could not be recorded in the journal ({type(e).__name__}: {why})"
    return None


def with_note(e: Exception, note: str | None) -> Exception:
    """``e`` with ``; note`` added to its one line (when there is a note)."""
    if note:
        e.args = (f"{e.args[0] if e.args else e}; {note}", *e.args[1:])
    return e


@contextmanager
def journaled_refusals(
    live_dir: str | os.PathLike, *, step: str, day: str, file: str | os.PathLike | None = None, actor: str | None = None
) -> Iterator[None]:
    """Run a step; a :class:`RefusedError` escaping it is journaled (:func:`record_refusal`,
    under the error's ``rule``) and raised again, its line saying when it could not be recorded."""
    try:
        yield
    except RefusedError as e:
        note = record_refusal(live_dir, step=step, rule=e.rule, day=day, line=str(e), file=file, actor=actor)
        raise with_note(e, note) from None

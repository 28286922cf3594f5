"""The one test hook for the reliability suite: named crash points.

``crash_point(name)`` does nothing unless the environment variable ``XLEXEC_CRASH_AT`` is set
to ``<name>:<n>``: then the process kills itself with ``SIGKILL`` (no cleanup, no ``finally``,
no flush, exactly like ``kill -9`` or a power cut) the n-th time it passes that point
(``n`` defaults to 1). Names may contain ``:`` (``before_rename:broker_fills.csv``); the count
is the part after the last ``:`` when it is a number.

Points in the code (each a one-line call):

===============================  ===============================================================
``before_intent``                submit: before the order intent is journaled
``after_intent_before_send``     submit: intent committed, request not sent
``after_send_before_response``   submit: the broker accepted the order, reply not journaled
``fills_import``                 reconcile: after each committed chunk of journaled fills
``after_fills_journaled``        reconcile: every fill journaled, nothing reconciled yet
``reconcile_outputs_written``    reconcile: the day's files written, summary not journaled
``before_rename:<file name>``    every atomic write (:func:`xlexec.formats.csvio.atomic_write_bytes`):
                                 the temp file is complete and fsynced, not yet renamed
===============================  ===============================================================

Used by ``tests/reliability`` and ``tests/test_submit_crash.py`` only; costs one environment
lookup per call otherwise.
"""

from __future__ import annotations

import os
import signal
import threading
import time

ENV = "XLEXEC_CRASH_AT"

_counts: dict[str, int] = {}
_lock = threading.Lock()


def parse_spec(spec: str) -> tuple[str, int]:
    """``"before_intent:5"`` -> ``("before_intent", 5)``; ``"before_rename:x.csv"`` -> (..., 1)."""
    point, sep, n = spec.strip().rpartition(":")
    if sep and n.strip().isdigit():
        return point, max(1, int(n))
    return spec.strip(), 1


def crash_point(name: str) -> None:
    """TEST HOOK: ``XLEXEC_CRASH_AT=<name>:<n>`` -> SIGKILL this process at the n-th pass here."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, n = parse_spec(spec)
    if point != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        hit = _counts[name] == n
    if hit:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(5)  # pragma: no cover - never returns

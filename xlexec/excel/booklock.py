"""Is a workbook file open in Excel (or LibreOffice)? Then a headless press must not run.

A headless press (``xlexec button NAME --book FILE``) runs a step, then replaces the file.
With the book open in Excel the replace fails on Windows (the file is locked) after the step
has already run, or, on OneDrive/macOS, the file is replaced under Excel, whose next save
overwrites it. So the press refuses first, before anything runs, when

* Excel's owner file ``~$<name>`` sits next to the book (Excel writes it while the book is
  open; a stale one is left after a crash: delete it once Excel is closed), or
* LibreOffice's lock file ``.~lock.<name>#`` does, or
* the file cannot be opened for writing (Windows: locked by the Excel that has it open;
  anywhere: read-only).
"""

from __future__ import annotations

import os
from pathlib import Path


def owner_files(book: Path) -> list[Path]:
    """The owner/lock files Excel and LibreOffice keep next to ``book`` while it is open.
    Office writes ``~$`` + the name, and for longer names ``~$`` in place of the first one or
    two characters: every spelling is checked (a false alarm refuses; it never lets a press
    replace a book that is open)."""
    name = book.name
    candidates = {f"~${name}", f".~lock.{name}#"}
    stem = book.stem
    if len(stem) > 2:
        candidates.update({f"~${name[1:]}", f"~${name[2:]}"})
    return [book.parent / c for c in sorted(candidates) if (book.parent / c).exists()]


def open_elsewhere(book: Path) -> str | None:
    """Why ``book`` looks open in Excel (a sentence), or None when a press may replace it."""
    found = owner_files(book)
    if found:
        return f"owner file {found[0].name} is present (delete it only if no Excel has the book open)"
    try:
        fd = os.open(book, os.O_RDWR)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"the file cannot be opened for writing ({e.strerror or e})"
    os.close(fd)
    return None

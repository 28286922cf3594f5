"""The user's cache folder: things xlexec can rebuild, kept between processes to save time.

Nothing in it is a record (the journal and ``live/`` are): a folder that cannot be read or
written means a rebuild, never an error. Its entries check themselves (a sha256 of their body)
and one that does not check out is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path

#: environment variable naming the cache folder (default: the platform's per-user cache folder)
CACHE_ENV = "XLEXEC_CACHE_DIR"
_DIGEST = 32  # bytes of the sha256 that ends an entry


def cache_dir() -> Path:
    """``$XLEXEC_CACHE_DIR``, else ``%LOCALAPPDATA%\\xlexec\\cache`` (Windows),
    ``~/Library/Caches/xlexec`` (macOS), ``$XDG_CACHE_HOME/xlexec`` or ``~/.cache/xlexec``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "xlexec" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "xlexec"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xlexec"


def read_entry(path: Path) -> bytes | None:
    """The body stored at ``path`` (:func:`write_entry`), or None (absent, unreadable, or not
    checking out)."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    body, digest = blob[:-_DIGEST], blob[-_DIGEST:]
    if len(blob) <= _DIGEST or hashlib.sha256(body).digest() != digest:
        return None
    return body


def write_entry(path: Path, body: bytes) -> None:
    """Keep ``body`` at ``path``, followed by its sha256 (temp file + rename); a folder that
    cannot be written is left as it is (the next process rebuilds)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body + hashlib.sha256(body).digest())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

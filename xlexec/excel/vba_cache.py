"""The workbook's VBA project, built once per source and reused from the user's cache folder.

Building a ``vbaProject.bin`` (:func:`xlexec.vba.project.build_vba_project`: MS-OVBA compression
in pure Python) costs 0.1-0.4 s and gives the same bytes every time for the same sources, so a
button press that redraws the book took the same 0.1-0.4 s to produce bytes already known.

:func:`source_key` is the sha256 of everything those bytes depend on: the builder itself (the
source of every ``xlexec/vba/*.py``), the standard modules (``macros/*.bas`` and xlwings'
``xlwings.bas``, as loaded), the class modules (xlwings' ``Dictionary.cls``) and the sheet
codenames. :func:`vba_project` looks the key up in the cache folder (:func:`cache_dir`) and
builds (then stores) only on a miss, so a changed ``.bas``, another xlwings release or another
builder gives another key and a fresh build.

The project is never taken from the book being redrawn: a file received from elsewhere could
claim any key, and a redraw has always replaced whatever VBA a book held with the one built
from the installed sources. A cache entry is the binary followed by its own sha256 (32 bytes),
written to a temp file and renamed; an entry that does not check out is ignored and rebuilt.
The cache is only a shortcut: a folder that cannot be read or written means a build, never
an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from xlexec.store.user_cache import CACHE_ENV, cache_dir, read_entry, write_entry

__all__ = ["CACHE_ENV", "cache_dir", "cached", "entry_path", "source_key", "store", "vba_project"]


def _builder_source() -> bytes:
    """The bytes of every module of :mod:`xlexec.vba` (the builder): a new builder, a new key."""
    folder = Path(__file__).resolve().parents[1] / "vba"
    return b"".join(p.name.encode() + b"\0" + p.read_bytes() for p in sorted(folder.glob("*.py")))


def source_key(modules: Mapping[str, str], classes: Mapping[str, str], codenames: Sequence[str]) -> str:
    """sha256 (hex) of the builder's source, the standard and class modules (name and text) and
    the sheet codenames: equal keys, byte-identical projects."""
    h = hashlib.sha256(b"xlexec vbaProject v1\0")
    h.update(hashlib.sha256(_builder_source()).digest())
    for kind, mods in ((b"module", modules), (b"class", classes)):
        for name in sorted(mods):
            for part in (kind, name.encode("utf-8"), mods[name].encode("utf-8")):
                h.update(len(part).to_bytes(8, "big") + part)
    for name in codenames:
        h.update(b"sheet\0" + name.encode("utf-8") + b"\0")
    return h.hexdigest()


def entry_path(key: str) -> Path:
    return cache_dir() / "vba" / f"{key}.bin"


def cached(key: str) -> bytes | None:
    """The project stored under ``key``, or None (absent, unreadable, or not checking out)."""
    return read_entry(entry_path(key))


def store(key: str, vba_bin: bytes) -> None:
    """Keep ``vba_bin`` under ``key`` (temp file + rename); a folder that cannot be written is
    left as it is (the next press builds again)."""
    write_entry(entry_path(key), vba_bin)


def vba_project(
    modules: Mapping[str, str],
    classes: Mapping[str, str],
    codenames: Sequence[str],
    build: Callable[[], bytes],
) -> bytes:
    """The project of these sources: the cached bytes under their :func:`source_key`, else
    ``build()`` (stored for the next time)."""
    key = source_key(modules, classes, codenames)
    hit = cached(key)
    if hit is not None:
        return hit
    vba_bin = build()
    store(key, vba_bin)
    return vba_bin

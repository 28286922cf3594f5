"""The workbook knows its config: which ``config.yaml`` a book's buttons and UDFs use.

``xlexec workbook build`` records the config path in the book as the workbook-level defined
name :data:`CONFIG_NAME` (``xlexec_config``, a text constant such as ``="config.yaml"`` or
``="../desk/config.yaml"``), **relative to the book's own folder** (absolute only when the two
sit on different drives). A defined name is invisible on the tabs, survives sorting and
editing, and is read the same way from a file (``xl/workbook.xml``) and from live Excel
(``Book.names``); Excel shows it under *Formulas > Name Manager*.

Every press (a button in Excel, ``xlexec button NAME --book FILE`` without ``--config``) and
every config-reading UDF resolves that path against the folder the book is in *now* (so a
book moved together with its config keeps working), and loads it; a relative ``live_dir`` in
it resolves against the config file's folder (:func:`xlexec.config.load_config`). A book
that records no config, a config that is missing or unreadable, or a book whose folder is
unknown refuses with one :class:`~xlexec.errors.ConfigError` naming the book and the path:
nothing ever falls back to the built-in defaults, the current directory or an environment
variable.

A book on OneDrive/SharePoint can report its ``FullName`` as a URL; :func:`local_book_path`
maps it to the synced local file with xlwings' own mapping
(``xlwings.utils.fullname_url_to_local_path``, the ``ONEDRIVE_*``/``SHAREPOINT_*`` settings of
the book's ``xlwings.conf`` first, then the user's xlwings config and the OneDrive
environment variables).
"""

from __future__ import annotations

import html
import os
import re
import sys
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from xlexec.errors import ConfigError

CONFIG_NAME = "xlexec_config"
DEFAULT_REF = "config.yaml"  # a book built with no config file: the config.yaml next to it
_MAX_WORKBOOK_XML = 16 * 1024 * 1024  # bytes of xl/workbook.xml read to find the name
_DEFINED = re.compile(r'<definedName\b[^>]*\bname="' + CONFIG_NAME + r'"[^>]*>(.*?)</definedName>', re.S)


def config_ref(config_path: str | os.PathLike, book_path: str | os.PathLike) -> str:
    """``config_path`` as the book records it: relative to ``book_path``'s folder, with ``/``
    (absolute when no relative path exists, e.g. another Windows drive)."""
    cfg = Path(os.path.abspath(config_path))
    folder = Path(os.path.abspath(book_path)).parent
    try:
        rel = os.path.relpath(cfg, folder)
    except ValueError:  # another drive
        return cfg.as_posix()
    return Path(rel).as_posix()


def ref_for_source(source: str | None, book_path: str | os.PathLike) -> str | None:
    """The ref for a loaded config's ``source`` (a file path), else None (built-in defaults,
    a dict)."""
    if not source or source.startswith("<"):
        return None
    return config_ref(source, book_path)


def name_formula(ref: str) -> str:
    """The defined name's formula: a text constant (``"`` doubled, as Excel writes it)."""
    return '="' + ref.replace('"', '""') + '"'


def parse_formula(text: str | None) -> str | None:
    """The ref inside a defined name's formula (``="a.yaml"``, ``"a.yaml"``), else None."""
    if text is None:
        return None
    t = str(text).strip()
    if t.startswith("="):
        t = t[1:].strip()
    if len(t) < 2 or not (t.startswith('"') and t.endswith('"')):
        return None
    ref = t[1:-1].replace('""', '"').strip()
    return ref or None


def read_ref_file(path: str | os.PathLike) -> str | None:
    """The config ref recorded in workbook file ``path`` (its ``xl/workbook.xml``), else None."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("xl/workbook.xml")
            if info.file_size > _MAX_WORKBOOK_XML:
                return None
            text = z.read(info).decode("utf-8", errors="replace")
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        return None
    m = _DEFINED.search(text)
    return parse_formula(html.unescape(m.group(1))) if m else None


def read_ref_xlwings(book: Any) -> str | None:
    """The config ref recorded in an ``xlwings.Book`` (``book.names``), else None."""
    try:
        return parse_formula(book.names[CONFIG_NAME].refers_to)
    except Exception:  # noqa: BLE001 - no such name, or an engine without names
        return None


def local_book_path(fullname: str | None, conf: dict[str, str] | None = None) -> Path | None:
    """The book's local file for its ``FullName``: a path as is (None when not absolute: an
    unsaved book, xlwings Server); an OneDrive/SharePoint URL mapped as xlwings maps it.
    Raises :class:`ConfigError` when a URL maps to no local file."""
    if not fullname:
        return None
    full = str(fullname)
    if "://" in full:
        from xlwings.utils import fullname_url_to_local_path

        conf = {k.upper(): v for k, v in (conf or {}).items() if v}
        suffix = "WIN" if sys.platform.startswith("win") else "MAC"
        try:
            local = fullname_url_to_local_path(
                url=full,
                sheet_onedrive_consumer_config=conf.get(f"ONEDRIVE_CONSUMER_{suffix}"),
                sheet_onedrive_commercial_config=conf.get(f"ONEDRIVE_COMMERCIAL_{suffix}"),
                sheet_sharepoint_config=conf.get(f"SHAREPOINT_{suffix}"),
            )
        except Exception as e:  # noqa: BLE001 - xlwings raises its own XlwingsError
            raise ConfigError(
                f"the workbook is at {full[:200]}: no local synced copy found ({' '.join(str(e).split())[:200]}); "
                f"set ONEDRIVE_COMMERCIAL_{suffix} / SHAREPOINT_{suffix} on the xlwings.conf tab: nothing done"
            ) from None
        return Path(local)
    p = Path(full)
    return p if p.is_absolute() else None


def config_path_for(book_path: Path | None, ref: str | None, *, what: str = "press") -> Path:
    """The config file a book at ``book_path`` recording ``ref`` uses; refuses (ConfigError,
    one line naming the book and the file) when it cannot be known or does not exist."""
    if book_path is None:
        raise ConfigError(
            f"the workbook's folder is unknown (not saved, or served remotely), so its config cannot "
            f"be found: save the book next to its config.yaml; {what} refused, nothing done"
        )
    if not ref:
        raise ConfigError(
            f"{book_path}: the workbook does not record its config (defined name {CONFIG_NAME}); rebuild it "
            f"with `xlexec workbook build --config CONFIG --output {book_path.name}`; {what} refused, nothing done"
        )
    p = Path(ref.replace("\\", "/"))
    p = p if p.is_absolute() else book_path.parent / p
    if not p.is_file():
        raise ConfigError(
            f"{p}: config not found (the workbook {book_path.name} uses {ref!r}, relative to its folder "
            f"{book_path.parent}); {what} refused, nothing done"
        )
    return p


@lru_cache(maxsize=16)
def _cached(path: str, mtime_ns: int, size: int):
    from xlexec.config import load_config

    return load_config(path)


def load_book_config(config_path: Path):
    """The config at ``config_path`` (cached per file, modification time and size: UDFs
    recalculate often); a relative ``live_dir`` in it resolves against its folder."""
    try:
        st = config_path.stat()
    except OSError as e:
        raise ConfigError(f"{config_path}: cannot read config: {e.strerror}") from None
    return _cached(str(config_path), st.st_mtime_ns, st.st_size)

"""The VBA source of the workbook: our ``macros/*.bas`` plus xlwings' own VBA, found and read.

Two sources, one project:

* ``macros/`` at the top of the repository holds xlexec's own modules (Buttons.bas,
  SelfTest.bas): the source of truth for them, shipped in the wheel as ``xlexec/macros/``.
* xlwings' VBA (the ``xlwings`` standard module with ``RunPython`` and the UDF import, and its
  ``Dictionary`` class, which that module needs on the Mac where ``Scripting.Dictionary`` does
  not exist) is read at build time from the **installed** xlwings package
  (``site-packages/xlwings/xlwings.bas`` and ``xlwings/addin/Dictionary.cls``), never copied
  into this repository: the VBA a workbook embeds is always the release whose Python side and
  DLL (``xlwings64-<version>.dll``, declared in that module) are installed next to it.
  :func:`xlwings_vba_version` refuses a package whose VBA declares another version than the
  installed distribution (a broken install).

:func:`load_macros` gives ``{module name: source}`` of the standard modules and
:func:`load_class_modules` ``{class name: source}`` for
:func:`xlexec.vba.project.build_vba_project`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path

from xlexec.errors import ConfigError

#: the standard module xlwings' VBA lives in (its ``Attribute VB_Name``)
XLWINGS_MODULE = "xlwings"
#: xlwings' class modules the ``xlwings`` module needs (``New Dictionary`` under ``#If Mac``)
XLWINGS_CLASSES = ("Dictionary",)

_VB_NAME = re.compile(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]+)"', re.MULTILINE)
_VERSION_CONST = re.compile(r'^Public\s+Const\s+XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', re.MULTILINE)
_DLL = re.compile(r'\bLib\s+"xlwings(?:32|64)-([0-9][0-9A-Za-z.+-]*)\.dll"', re.IGNORECASE)


def macros_dir() -> Path:
    """``macros/`` (xlexec's own VBA): the copy inside an installed package
    (``xlexec/macros/``, mapped from the repository's ``macros/`` by setup.py), else, in a
    checkout or an editable install, the repository's own ``macros/`` next to ``pyproject.toml``."""
    pkg = Path(__file__).resolve().parents[1]
    repo = pkg.parent
    candidates = [pkg / "macros"] + ([repo / "macros"] if (repo / "pyproject.toml").is_file() else [])
    for cand in candidates:
        if cand.is_dir() and any(cand.glob("*.bas")):
            return cand
    raise FileNotFoundError(f"macros/*.bas not found (looked in {', '.join(map(str, candidates))})")


def xlwings_package_dir() -> Path:
    """The installed xlwings package's folder (``site-packages/xlwings``), found without
    importing it; :class:`ConfigError` when xlwings is not installed."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("xlwings: the package is not installed: its VBA module cannot be embedded")
    return Path(next(iter(spec.submodule_search_locations)))


def _read(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"{path}: missing from the installed xlwings package: reinstall xlwings")
    return path.read_bytes().decode("cp1252")


def xlwings_vba_files() -> dict[str, Path]:
    """``{module name: file}`` of the xlwings VBA a workbook embeds, in the installed package."""
    pkg = xlwings_package_dir()
    return {XLWINGS_MODULE: pkg / "xlwings.bas", **{c: pkg / "addin" / f"{c}.cls" for c in XLWINGS_CLASSES}}


def declared_dll_versions(source: str) -> set[str]:
    """The versions in the ``Lib "xlwings64-<version>.dll"`` / ``xlwings32-...`` declarations
    of an xlwings VBA module (the DLL Excel loads on Windows)."""
    return set(_DLL.findall(source))


def xlwings_vba_version(source: str | None = None) -> str:
    """The xlwings release whose VBA is embedded: its ``XLWINGS_VERSION`` constant, checked
    against the installed distribution and the DLL it declares. :class:`ConfigError` naming
    the file when they disagree (the workbook would look for a DLL that is not installed)."""
    path = xlwings_vba_files()[XLWINGS_MODULE]
    src = source if source is not None else _read(path)
    m = _VERSION_CONST.search(src)
    if not m:
        raise ConfigError(f"{path}: no XLWINGS_VERSION constant: not xlwings' VBA module")
    version = m.group(1)
    installed = importlib.metadata.version("xlwings")
    dlls = declared_dll_versions(src)
    if version != installed or dlls != {version}:
        raise ConfigError(
            f"{path}: xlwings VBA declares version {version} and DLL(s) {sorted(dlls)}, installed xlwings is "
            f"{installed}: reinstall xlwings"
        )
    return version


def load_macros(directory: str | Path | None = None) -> dict[str, str]:
    """``{module name: source}`` of the workbook's standard modules: every ``macros/*.bas``
    (cp1252, as the VBA editor exports) plus xlwings' ``xlwings`` module from the installed
    package (checked by :func:`xlwings_vba_version`)."""
    d = Path(directory) if directory else macros_dir()
    out: dict[str, str] = {}
    for p in sorted(d.glob("*.bas")):
        src = p.read_bytes().decode("cp1252")
        m = _VB_NAME.search(src)
        out[m.group(1) if m else p.stem] = src
    if XLWINGS_MODULE in out:
        raise ConfigError(f"{d}: holds a {XLWINGS_MODULE!r} module; xlwings' VBA comes from the installed package")
    src = _read(xlwings_vba_files()[XLWINGS_MODULE])
    xlwings_vba_version(src)
    out[XLWINGS_MODULE] = src
    return out


def load_class_modules() -> dict[str, str]:
    """``{class name: source}`` of the class modules the xlwings module needs (``Dictionary``),
    from the installed package (``.cls`` text, VERSION header included)."""
    files = xlwings_vba_files()
    return {c: _read(files[c]) for c in XLWINGS_CLASSES}

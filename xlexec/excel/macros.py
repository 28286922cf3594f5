"""The VBA source of the workbook: ``macros/*.bas`` found and read.

``macros/`` at the top of the repository is the source of truth for the workbook's VBA
(Buttons.bas, SelfTest.bas, ...); :func:`load_macros` gives ``{module name: source}`` for
:func:`xlexec.vba.project.build_vba_project`.
"""

from __future__ import annotations

import re
from pathlib import Path


def macros_dir() -> Path:
    """``macros/`` (the VBA source of truth): the copy inside an installed package
    (``xlexec/macros/``, mapped from the repository's ``macros/`` by setup.py), else, in a
    checkout or an editable install, the repository's own ``macros/`` next to ``pyproject.toml``."""
    pkg = Path(__file__).resolve().parents[1]
    repo = pkg.parent
    candidates = [pkg / "macros"] + ([repo / "macros"] if (repo / "pyproject.toml").is_file() else [])
    for cand in candidates:
        if cand.is_dir() and any(cand.glob("*.bas")):
            return cand
    raise FileNotFoundError(f"macros/*.bas not found (looked in {', '.join(map(str, candidates))})")


def load_macros(directory: str | Path | None = None) -> dict[str, str]:
    """``{module name: source}`` of every ``macros/*.bas`` (cp1252, as the VBA editor exports)."""
    d = Path(directory) if directory else macros_dir()
    out: dict[str, str] = {}
    for p in sorted(d.glob("*.bas")):
        src = p.read_bytes().decode("cp1252")
        m = re.search(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]+)"', src, re.MULTILINE)
        out[m.group(1) if m else p.stem] = src
    return out

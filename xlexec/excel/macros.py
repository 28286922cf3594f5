"""The VBA source of the workbook: ``macros/*.bas`` found and read.

``macros/`` at the top of the repository is the source of truth for the workbook's VBA
(Buttons.bas, SelfTest.bas, ...); :func:`load_macros` gives ``{module name: source}`` for
:func:`xlexec.vba.project.build_vba_project`.
"""

from __future__ import annotations

import re
from pathlib import Path


def macros_dir() -> Path:
    """``macros/`` (the VBA source of truth): the repository's, else a copy inside the package."""
    here = Path(__file__).resolve()
    for cand in (here.parents[2] / "macros", here.parents[1] / "macros"):
        if cand.is_dir() and any(cand.glob("*.bas")):
            return cand
    raise FileNotFoundError("macros/*.bas not found (expected next to the xlexec package)")


def load_macros(directory: str | Path | None = None) -> dict[str, str]:
    """``{module name: source}`` of every ``macros/*.bas`` (cp1252, as the VBA editor exports)."""
    d = Path(directory) if directory else macros_dir()
    out: dict[str, str] = {}
    for p in sorted(d.glob("*.bas")):
        src = p.read_bytes().decode("cp1252")
        m = re.search(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]+)"', src, re.MULTILINE)
        out[m.group(1) if m else p.stem] = src
    return out

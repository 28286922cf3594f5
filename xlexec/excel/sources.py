"""Small readers of the day's files and the frame -> cell rows conversions the tabs share.

A view never fails on one file: a missing or unreadable file reads as None (the tab then says
that its step has not run yet).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlexec.excel.layout import FIGURES, Table

# --------------------------------------------------------------------------- small readers


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if not ln.startswith("#")]
        if not lines:
            return None
        return pd.read_csv(io.StringIO("\n".join(lines)), keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _rows(df: pd.DataFrame, columns: list[str] | None = None) -> list[list[Any]]:
    """The frame's rows as lists of Python values (missing -> None), ``columns`` in that order
    (absent ones -> None). Vectorised: typed columns convert in one step, only object columns
    are cleaned cell by cell (numpy scalars inside them)."""
    cols = columns or list(df.columns)
    sub = df.reindex(columns=cols)
    if not len(sub):
        return []
    arr = sub.to_numpy(dtype=object)
    for j, dtype in enumerate(sub.dtypes):
        if dtype == np.dtype(object):
            arr[:, j] = [_clean(v) for v in arr[:, j]]
    missing = sub.isna().to_numpy()
    if missing.any():
        arr[missing] = None
    return arr.tolist()


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item"):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    return v


def _table_from_frame(name: str, df: pd.DataFrame | None, columns: list[str] | None = None, **kw) -> Table:
    if df is None:
        return Table(name, list(columns or ["(none)"]), [], **kw)
    cols = columns or [str(c) for c in df.columns]
    return Table(name, cols, _rows(df, cols), **kw)


def _kv_lines(d: dict, keys: list[str] | None = None) -> list[list[Any]]:
    out = []
    for k in keys or list(d):
        if k not in d:
            continue
        v = d[k]
        if isinstance(v, (list, dict)):
            v = json.dumps(v)[:300] if v else ("none" if isinstance(v, list) else "")
        out.append([k, v])
    return out


def yes_no(v: Any) -> str:
    """A flag as the operator reads it: True -> yes, False -> no, None -> not checked."""
    return "not checked" if v is None else ("yes" if v else "no")


def figure_lines(d: dict, keys: list[str] | None = None) -> tuple[list[list[Any]], list[list[str]]]:
    """Key/value lines of ``d`` for a side block and their kinds: each declared key
    (:data:`~xlexec.excel.layout.FIGURES`) under its label, its value scaled to its kind's unit
    (a percentage number becomes a fraction); flags read yes/no/not checked; lists and dicts
    as short JSON; an undeclared key as text under its own name."""
    rows, kinds = _kv_lines(d, keys), []
    for r in rows:
        f = FIGURES.get(str(r[0]))
        v = r[1]
        if f is None:
            kinds.append(["text", "text"])
            continue
        if isinstance(v, bool) or (v is None and f.kind == "text"):
            v = yes_no(v)
        elif isinstance(v, (int, float)) and f.scale != 1.0:
            v = round(v * f.scale, 12)
        r[0], r[1] = f.label, v
        kinds.append(["text", f.kind])
    return rows, kinds


def _text_lines(text: str | None) -> list[list[Any]]:
    return [[ln] for ln in (text or "").rstrip("\n").splitlines()]


def _pct_text(x) -> str:
    try:
        return f"{float(x) * 100:.3f}%"
    except (TypeError, ValueError):
        return "n/a"

"""``live/monthly_costs.csv``: one row per month of :meth:`MonthlyResult.csv_row`
(returns and costs as fractions, money in $, bps), upserted by month.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from xlexec.core.monthly import CSV_COLUMNS, CSV_EXTRA, MonthlyResult
from xlexec.errors import InputError
from xlexec.formats.csvio import atomic_write_text, read_text, to_csv_text


def upsert_monthly_costs(path: str | Path, result: MonthlyResult) -> Path:
    """Add or replace ``result.month``'s row of ``monthly_costs.csv`` (sorted by month),
    atomically. Other months' rows are kept byte-for-byte as text; unknown columns are kept."""
    path = Path(path)
    row = result.csv_row()
    if path.exists():
        text = read_text(path, what="monthly costs file")
        if text.strip():
            try:
                old = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            except (pd.errors.ParserError, ValueError) as e:
                raise InputError(str(path), f"malformed CSV: {str(e).splitlines()[0]}") from None
            old.columns = [str(c).strip().lower() for c in old.columns]
            if "month" not in old.columns:
                raise InputError(str(path), "missing column 'month'", row=1, column="month")
        else:
            old = pd.DataFrame(columns=["month"], dtype=object)
    else:
        old = pd.DataFrame(columns=["month"], dtype=object)
    cols = CSV_COLUMNS + [c for c in CSV_EXTRA]
    cols += [c for c in old.columns if c not in cols]
    old = old[old["month"].astype(str).str.strip() != result.month]
    new = pd.DataFrame([row])
    out = pd.concat([old, new], ignore_index=True).reindex(columns=cols)
    out = out.astype(object).where(out.notna(), "")
    out = out.sort_values("month", kind="stable").reset_index(drop=True)
    return atomic_write_text(path, to_csv_text(out))

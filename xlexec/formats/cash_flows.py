"""``live/cash_flows.csv``: the account's external cash flows, ``date,amount,note``.

* ``date``: YYYY-MM-DD, the day the money arrived or left (it counts at the **start** of that
  day, :mod:`xlexec.core.returns`);
* ``amount``: $, ``+`` a deposit, ``-`` a withdrawal (``$`` and exact thousands separators
  accepted; an empty cell or a non-number is refused naming the file, row and column);
* ``note``: free text (optional).

No file, or a header with no rows: no flows. Several rows on one date add up.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from xlexec.core.rows import parse_numeric
from xlexec.errors import InputError
from xlexec.formats.csvio import read_table, read_text, split_comment_header

REQUIRED = ["date", "amount"]


def read_cash_flows(path: str | Path, *, missing_ok: bool = True) -> dict[str, float]:
    """The file's flows as ``{date: net amount $}`` (dates in order); ``{}`` without rows."""
    p = Path(path)
    if missing_ok and not p.exists():
        return {}
    name = str(p)
    text = read_text(p, what="cash flows file")
    _, body, first = split_comment_header(text)
    if not body:
        raise InputError(name, "empty cash flows file: no header row (date,amount,note)", row=first)
    df = read_table("\n".join(body), name, first, REQUIRED, what="cash flows file", allow_empty=True)
    if df.empty:
        return {}
    dates = []
    for row, v in zip(df.index, df["date"]):
        try:
            dates.append(dt.date.fromisoformat(v).isoformat())
        except ValueError:
            raise InputError(name, f"date {v[:40]!r} is not YYYY-MM-DD", row=int(row), column="date") from None
    amounts = parse_numeric(df, "amount", name)
    out: dict[str, float] = {}
    for d, a in sorted(zip(dates, amounts.tolist())):
        out[d] = out.get(d, 0.0) + float(a)
    return out

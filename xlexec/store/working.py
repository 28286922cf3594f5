"""When each order of a day was working: its submission (the journal's ``order_intent``
``submitted_at``, the broker's own time when a snapshot has it) and its end when it stopped
working without filling completely (the newest ``order_update`` snapshot in a closed status:
canceled, expired, rejected, done_for_day; its ``updated_at``). UTC timestamps, NaT unknown.
The last fill's time comes from the fills (:func:`last_fill_times`).
"""

from __future__ import annotations

import pandas as pd

from xlexec.core.matching import plain_ids
from xlexec.core.symbols import canonical_symbol
from xlexec.store.journal import INTENT

ENDED_STATUSES = {"canceled", "cancelled", "expired", "rejected", "done_for_day"}
WINDOW_COLUMNS = ["client_order_id", "symbol", "side", "submitted_at", "ended_at", "status"]


def _ts(x) -> pd.Timestamp:
    t = pd.to_datetime(x, errors="coerce", utc=True) if x else pd.NaT
    return t if isinstance(t, pd.Timestamp) else pd.NaT


def order_windows(journal, day: str) -> pd.DataFrame:
    """``client_order_id`` (without the account tag, as the plan's ids), ``submitted_at``,
    ``symbol``, ``side``, ``ended_at`` (UTC) and the newest ``status`` of every order journaled
    for ``day``. A planned trade's working interval is taken over all its orders (slices,
    chased replacements): the earliest submission of its symbol and side to the latest end."""
    rows: dict[str, dict] = {}
    for p in journal.payloads(INTENT, day):
        coid = str(p.get("client_order_id") or "")
        if coid and coid not in rows:
            rows[coid] = {
                "client_order_id": coid,
                "symbol": canonical_symbol(str(p.get("symbol") or "")),
                "side": str(p.get("side") or "").lower(),
                "submitted_at": _ts(p.get("submitted_at")),
                "ended_at": pd.NaT,
                "status": "",
            }
    for coid, snap in journal.latest_orders(day).items():
        r = rows.setdefault(
            str(coid),
            {
                "client_order_id": str(coid),
                "symbol": canonical_symbol(str(snap.get("symbol") or "")),
                "side": str(snap.get("side") or "").lower(),
                "submitted_at": pd.NaT,
                "ended_at": pd.NaT,
                "status": "",
            },
        )
        st = str(snap.get("status") or "")
        r["status"] = st
        if pd.notna(sub := _ts(snap.get("submitted_at"))):
            r["submitted_at"] = sub
        if st in ENDED_STATUSES:
            r["ended_at"] = _ts(snap.get("updated_at"))
    df = pd.DataFrame(list(rows.values()), columns=WINDOW_COLUMNS)
    if len(df):
        df["client_order_id"] = plain_ids(df["client_order_id"].astype(str).to_numpy())
    return df


def fill_times(values: pd.Series, day: str | None) -> pd.Series:
    """``fill_time`` texts as UTC timestamps: ISO date-times as given (no zone: UTC); a bare
    time of day (``09:45:12``, as IBKR's and the execution log's) is New York time on ``day``
    (NaT without a day); anything else NaT."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    bare = text.str.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")
    out = pd.to_datetime(text.where(~bare, ""), errors="coerce", utc=True, format="mixed")
    if bare.any() and day:
        local = pd.to_datetime(day + " " + text[bare], errors="coerce", format="mixed")
        out[bare] = local.dt.tz_localize("America/New_York", ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return out


def last_fill_times(fills: pd.DataFrame, day: str | None = None) -> pd.DataFrame:
    """``client_order_id`` (plain), ``symbol``, ``side`` -> ``last_fill`` (UTC): the latest
    ``fill_time`` of the fills of each order (:func:`fill_times`; rows without a time are left
    out)."""
    cols = ["client_order_id", "symbol", "side", "last_fill"]
    if fills is None or not len(fills) or "fill_time" not in fills.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    ids = fills["client_order_id"] if "client_order_id" in fills.columns else pd.Series("", index=fills.index)
    f = pd.DataFrame(
        {
            "client_order_id": plain_ids(ids.astype(object).where(ids.notna(), "").astype(str).to_numpy()),
            "symbol": fills["symbol"].astype(str),
            "side": fills["side"].astype(str).str.lower(),
            "last_fill": fill_times(fills["fill_time"], day),
        }
    )
    f = f[f["last_fill"].notna()]
    return f.groupby(["client_order_id", "symbol", "side"], as_index=False, sort=False)["last_fill"].max()[cols]

"""The Blotter: the day's trades with the operator's Include (Y/N) and Limit ($) inputs.

:func:`apply_blotter` applies those inputs to the trades a step sends; :func:`blotter_table`
draws the tab (each row coloured by its worst check).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from xlexec.core.orders import included_mask
from xlexec.core.trades import Trades, limit_price_of, order_type_of
from xlexec.core.truth import is_included
from xlexec.excel.layout import BLOTTER_COLUMNS, Inputs, Table
from xlexec.excel.sources import _clean


def apply_blotter(trades, blotter: dict) -> tuple[Any, bool]:
    """Trades with the operator's Include/Limit inputs applied; ``(trades, changed)``.

    ``blotter`` maps ``(symbol, side)`` -> ``{"include": "Y"/"N", "limit": $ or None}``. A limit
    equal to the file's (``limit_price``, else the signal price) or blank changes nothing;
    ``changed`` is False when the result sends exactly what the file says.
    """
    if not blotter:
        return trades, False
    df = trades.df.copy()
    default_lim = limit_price_of(trades)
    kept = included_mask(trades)
    new_inc, new_lim, changed = [], [], False
    for idx, sym, side in zip(df.index, df["symbol"], df["side"]):
        b = blotter.get((str(sym), str(side))) or {}
        inc = b.get("include")
        want = kept.loc[idx] if inc in (None, "") else is_included(inc)
        if want != bool(kept.loc[idx]):
            changed = True
        new_inc.append("Y" if want else "N")
        lim = b.get("limit")
        cur = df["limit_price"].loc[idx] if "limit_price" in df.columns else float("nan")
        dl = default_lim.loc[idx]
        if lim is not None and not (isinstance(dl, float) and math.isnan(dl)) and abs(float(lim) - float(dl)) > 1e-9:
            new_lim.append(float(lim))
            changed = True
        else:
            new_lim.append(cur)
    if not changed:
        return trades, False
    df["include"] = new_inc
    df["limit_price"] = pd.to_numeric(pd.Series(new_lim, index=df.index), errors="coerce")
    return Trades(df, trades.header, trades.path), True


def blotter_table(trades, inputs: Inputs, worst: dict[str, str], checks: pd.DataFrame | None) -> Table:
    """The Blotter Table: one row per trade (shares, $ price / limit / notional / est. cost,
    weight change as a fraction), the operator's Include/Limit where typed, each row's worst
    check (``worst``: symbol -> fail/warn/pass) and its failing/warning check messages."""
    rows = []
    msgs: dict[str, str] = {}
    if checks is not None and len(checks):
        bad = checks[checks["status"].isin(["fail", "warn"]) & (checks["symbol"].astype(str) != "")]
        for sym, grp in bad.groupby(bad["symbol"].astype(str)):
            msgs[sym] = "; ".join(f"{c}: {m}" for c, m in zip(grp["check"], grp["message"]))[:250]
    if trades is not None:
        df = trades.df
        lim = limit_price_of(trades)
        ot = order_type_of(trades)
        kept = included_mask(trades)
        for idx in df.index:
            sym, side = str(df.at[idx, "symbol"]), str(df.at[idx, "side"])
            b = inputs.blotter.get((sym, side), {})
            inc = b.get("include")
            inc = ("Y" if kept.loc[idx] else "N") if inc in (None, "") else ("Y" if is_included(inc) else "N")
            limit = b.get("limit") if b.get("limit") is not None else _clean(lim.loc[idx])
            cost = df.at[idx, "total_cost_est"]
            rows.append(
                [
                    inc,
                    sym,
                    side,
                    _clean(df.at[idx, "shares"]),
                    _clean(df.at[idx, "price"]),
                    limit,
                    str(ot.loc[idx]),
                    _clean(df.at[idx, "notional"]),
                    _clean(df.at[idx, "weight_change"]),
                    _clean(cost),
                    worst.get(sym, "" if not worst else "pass"),
                    msgs.get(sym, ""),
                ]
            )
    return Table(
        "tblBlotter",
        list(BLOTTER_COLUMNS),
        rows,
        inputs=("Include", "Limit"),
        status_col="Worst check",
        bad_values={"fail": "fail", "warn": "warn"},
    )

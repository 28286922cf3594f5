"""Native Excel charts of the TCA and Monthly tabs' benchmark tables (XlsxWriter charts whose
series point at the Tables' cells, with the cached points given so previews and converters
that never recalculate show them too).

* TCA: cost by benchmark (column, bps weighted), the distribution of the orders' cost vs signal
  (histogram, orders per 5 bps bin), cost vs participation (scatter: each filled order's cost vs
  interval VWAP, bps, against its participation in the interval's volume).
* Monthly: cost by broker on each benchmark (clustered columns, bps), the distribution of the
  month's per-order cost vs signal (histogram) and the weekly trend (lines, bps by week).

Positive = a cost throughout (:mod:`xlexec.core.costs`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlexec.excel.layout import (
    BENCHMARK_LABELS,
    NUMBER_FORMATS,
    Table,
    cell_value,
    excel_serial,
    excel_value,
)

CHART_W, CHART_H = 560, 300
CHART_ROWS = 16  # rows a chart takes, with a blank row under it


def _points(t: Table, col: str) -> list[Any]:
    j = t.columns.index(col)
    out: list[Any] = []
    for r in t.rows:
        v = excel_value(r[j], t.kind(col)) if j < len(r) else None
        v = excel_serial(v) if isinstance(v, dt.datetime) else cell_value(v)
        out.append(None if v == "" else v)
    return out


def _series(sheet: str, t: Table, row: int, col0: int, cat: str, val: str, **extra) -> dict[str, Any]:
    n = len(t.rows)
    c, v = col0 + t.columns.index(cat), col0 + t.columns.index(val)
    return {
        "name": [sheet, row, v],
        "name_data": [t.header(val)],
        "categories": [sheet, row + 1, c, row + n, c],
        "categories_data": _points(t, cat),
        "values": [sheet, row + 1, v, row + n, v],
        "values_data": _points(t, val),
        **extra,
    }


def _place(ws, chart, title: str, y_title: str, row: int, col: int, y_format: str = "0.0") -> int:
    chart.set_title({"name": title, "name_font": {"size": 11}})
    chart.set_y_axis({"name": y_title, "num_format": y_format})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart(row, col, chart)
    return row + CHART_ROWS


def _find(positions: list[tuple[int, Table]], name: str) -> tuple[int, Table] | None:
    return next(((r, t) for r, t in positions if t.name == name and t.rows), None)


def tca_charts(wb, ws, positions: list[tuple[int, Table]], row: int, sheet: str = "TCA") -> int:
    """The TCA tab's charts from ``positions`` (header row, Table) from ``row`` down; returns
    the row under the last."""
    if (p := _find(positions, "tblTcaBenchmarks")) is not None:
        r, t = p
        ch = wb.add_chart({"type": "column"})
        ch.add_series(_series(sheet, t, r, 0, "benchmark", "bps", data_labels={"value": True, "num_format": "0.0"}))
        ch.set_x_axis({"label_position": "low"})
        row = _place(ws, ch, "Cost by benchmark (bps, positive = cost)", "bps", row, 0)
    if (p := _find(positions, "tblTcaHistogram")) is not None:
        r, t = p
        ch = wb.add_chart({"type": "column"})
        ch.add_series(_series(sheet, t, r, 0, "bin", "orders", gap=10))
        row = _place(ws, ch, "Orders by cost vs signal (5 bps bins, positive = cost)", "orders", row, 0, "0")
    if (p := _find(positions, "tblTcaOrders")) is not None:
        row = _scatter(wb, ws, sheet, p, row)
    return row


def _scatter(wb, ws, sheet: str, p: tuple[int, Table], row: int) -> int:
    r, t = p
    ch = wb.add_chart({"type": "scatter"})
    s = _series(sheet, t, r, 0, "participation", "interval_vwap_bps", marker={"type": "circle", "size": 7})
    ch.add_series(s)
    # the axis labels under the plot: a negative (favourable) cost's point sits under the zero line
    ch.set_x_axis(
        {
            "name": "participation (filled / interval volume)",
            "num_format": NUMBER_FORMATS["pct"],
            "label_position": "low",
        }
    )
    return _place(ws, ch, "Cost vs interval VWAP against participation (bps, positive = cost)", "bps", row, 0)


def monthly_charts(wb, ws, positions: list[tuple[int, Table]], row: int, sheet: str = "Monthly") -> int:
    """The Monthly tab's benchmark charts from ``row`` down; returns the row under the last."""
    if (p := _find(positions, "tblMonthlyBrokers")) is not None:
        r, t = p
        ch = wb.add_chart({"type": "column"})
        for k in ("signal", "arrival", "interval_vwap", "close"):
            ch.add_series(_series(sheet, t, r, 0, "broker", k))
        ch.set_x_axis({"label_position": "low"})
        row = _place(ws, ch, "Cost by broker (bps per benchmark, positive = cost)", "bps", row, 0)
    if (p := _find(positions, "tblMonthlyHistogram")) is not None:
        r, t = p
        ch = wb.add_chart({"type": "column"})
        ch.add_series(_series(sheet, t, r, 0, "bin", "orders", gap=10))
        title = "The month's orders by cost vs signal (5 bps bins, positive = cost)"
        row = _place(ws, ch, title, "orders", row, 0, "0")
    if (p := _find(positions, "tblMonthlyWeeks")) is not None:
        r, t = p
        ch = wb.add_chart({"type": "line"})
        for k in ("signal", "arrival", "interval_vwap"):
            ch.add_series(_series(sheet, t, r, 0, "week", k, marker={"type": "circle"}))
        # one category per week (a text axis: a date axis would space them by calendar days)
        ch.set_x_axis(
            {
                "text_axis": True,
                "num_format": NUMBER_FORMATS["date"],
                "num_format_linked": False,
                "label_position": "low",
                "name": "week of (Monday)",
            }
        )
        labels = ", ".join(BENCHMARK_LABELS[k] for k in ("signal", "arrival", "interval_vwap"))
        row = _place(ws, ch, f"Cost by week (bps, positive = cost; vs {labels})", "bps", row, 0)
    return row

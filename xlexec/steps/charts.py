"""The TCA and Monthly charts as PNG files, for whoever reads the report outside Excel: the
same pictures as the workbook's native charts (:mod:`xlexec.excel.charts`), drawn headless
with matplotlib (the Agg canvas; no display, no pyplot state).

* day (``live/DATE/tca_charts/``, from ``tca.json``'s ``benchmarks`` block):
  ``cost_by_benchmark.png`` (weighted bps per benchmark), ``histogram.png`` (orders per 5 bps
  bin of the cost vs signal), ``cost_vs_participation.png`` (each filled order's cost vs
  interval VWAP, bps, against its participation in the interval's volume, %).
* month (``live/monthly_charts/YYYY-MM/``, from the month's ``benchmarks`` block):
  ``trend_by_week.png`` (weighted bps by week), ``cost_by_broker.png`` (bps per benchmark and
  broker), ``histogram.png`` (the month's orders per 5 bps bin vs signal).

Costs are bps, positive = a cost (``side x (fill - benchmark) / benchmark x 10^4``), as every
title says. A chart with nothing to draw (no bars, no filled order) says so in the picture
with the reason instead of failing the step.

Deterministic: fixed size (:data:`SIZE_PX`) and dpi, matplotlib's default style whatever the
user's matplotlibrc, no metadata in the file (no software version, no date), so a rerun
writes the same bytes; a file whose bytes are already those is not rewritten.

Not drawn again when nothing changed: each folder holds a manifest (:data:`MANIFEST`) with,
per chart, its key (sha256 of the data the chart draws, its title, this module's source and
matplotlib's version) and the sha256 of the PNG written for it. A rerun whose key is the
recorded one and whose PNG still has the recorded sha256 draws nothing (matplotlib is not even
imported); a changed input, a new matplotlib, a changed module, a missing or altered PNG: the
chart is drawn again. The manifest is written atomically, and only when its bytes change, after
the PNGs (a crash in between leaves an old manifest: the next run draws again).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xlexec.core.benchmark_labels import BENCHMARK_LABELS
from xlexec.core.benchmarks import histogram
from xlexec.core.money import finite_or_none
from xlexec.formats.csvio import atomic_write_bytes

DPI = 100
SIZE_PX = (800, 450)  # width, height of every PNG (pixels)
SIGN = "bps, positive = cost"
LABELS = BENCHMARK_LABELS
DAY_CHARTS = ("cost_by_benchmark.png", "histogram.png", "cost_vs_participation.png")
MONTH_CHARTS = ("trend_by_week.png", "cost_by_broker.png", "histogram.png")
#: the manifest beside the PNGs of each folder (see the module docstring)
MANIFEST = "charts_manifest.json"
MANIFEST_VERSION = 1
_BAR = "#4472C4"
_COLOURS = ["#4472C4", "#ED7D31", "#A5A5A5", "#FFC000", "#5B9BD5", "#70AD47"]


def _png(draw: Callable[[Any], None]) -> bytes:
    """The PNG bytes of one figure of :data:`SIZE_PX` drawn by ``draw(ax)``."""
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.style.context("default"), matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig = Figure(figsize=(SIZE_PX[0] / DPI, SIZE_PX[1] / DPI), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _write(path: Path, data: bytes) -> Path:
    if not (path.exists() and path.read_bytes() == data):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def _code() -> dict[str, str]:
    """What the pictures depend on besides their data: this module's source (sha256) and the
    installed matplotlib's version, read without importing matplotlib."""
    from importlib import metadata

    try:
        mpl = metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        mpl = "none"
    return {"module_sha256": _sha256(Path(__file__).read_bytes()), "matplotlib": mpl}


def _key(name: str, data: Any) -> str:
    doc = {"chart": name, "data": data, **_code()}
    return _sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode())


def _manifest(path: Path) -> dict[str, dict[str, str]]:
    """The recorded charts of a manifest file; {} when there is none or it is unreadable."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != MANIFEST_VERSION or not isinstance(doc.get("charts"), dict):
        return {}
    return {k: v for k, v in doc["charts"].items() if isinstance(v, dict)}


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except OSError:
        return None


def _render(folder: Path, charts: Sequence[tuple[str, Any, Callable[[Any], None]]]) -> list[Path]:
    """Each ``(name, data, draw)`` of ``charts`` as ``folder/name``: drawn by ``draw(ax)`` unless
    the manifest records ``data``'s key and the file's sha256 (see the module docstring)."""
    old = _manifest(folder / MANIFEST)
    new: dict[str, dict[str, str]] = {}
    out = []
    for name, data, draw in charts:
        path, key = folder / name, _key(name, data)
        was = old.get(name) or {}
        if was.get("key") == key and was.get("sha256") is not None and _file_sha256(path) == was["sha256"]:
            new[name] = {"key": key, "sha256": was["sha256"]}
        else:
            png = _png(draw)
            _write(path, png)
            new[name] = {"key": key, "sha256": _sha256(png)}
        out.append(path)
    doc = {"version": MANIFEST_VERSION, "matplotlib": _code()["matplotlib"], "charts": new}
    _write(folder / MANIFEST, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    return out


def _empty(ax, title: str, why: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=11, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


_num = finite_or_none  # a figure read back: missing stays missing


def _zero_line(ax) -> None:
    ax.axhline(0.0, color="black", linewidth=0.8)


def _bars_by_key(ax, title: str, keys: Sequence[str], values: Sequence[float | None], why: str) -> None:
    """Columns of ``values`` (bps) over ``keys``; a missing one is an 'n/a' label at zero."""
    if not any(v is not None for v in values):
        _empty(ax, title, why)
        return
    xs = range(len(keys))
    ax.bar(xs, [v or 0.0 for v in values], color=_BAR)
    top = max(abs(v) for v in values if v is not None) or 1.0
    for x, v in zip(xs, values):
        text = "n/a" if v is None else f"{v:.2f}"
        y = 0.0 if v is None else v
        ax.annotate(text, (x, y), xytext=(0, 4 if y >= 0 else -12), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xticks(list(xs), [LABELS.get(k, k) for k in keys])
    ax.set_ylim(-1.25 * top if min(v or 0.0 for v in values) < 0 else 0.0, 1.25 * top)
    _zero_line(ax)
    ax.set_ylabel(SIGN)
    ax.set_title(title, fontsize=11)


def _histogram(ax, title: str, hist: Sequence[dict[str, Any]], why: str) -> None:
    if not hist:
        _empty(ax, title, why)
        return
    lo = [float(h["from_bps"]) for h in hist]
    width = float(hist[0]["to_bps"]) - lo[0]
    ax.bar(lo, [int(h["orders"]) for h in hist], width=width, align="edge", color=_BAR, edgecolor="white")
    ax.set_xlabel(f"cost vs signal ({SIGN}); bins of {width:g} bps")
    ax.set_ylabel("orders")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_title(title, fontsize=11)


def _bars_why(bm: dict[str, Any]) -> str:
    """Why a day has no market benchmark: its notes' bars line, else a plain 'no bars'."""
    for n in bm.get("notes") or []:
        if str(n).startswith("bars: "):
            return "no bars: " + str(n)[len("bars: ") :]
    return "no bars (no interval VWAP for any filled order)"


def day_charts(folder: str | Path, bm: dict[str, Any], day: str | None = None) -> list[Path]:
    """The day's PNGs (:data:`DAY_CHARTS`) in ``folder`` from ``tca.json``'s ``benchmarks``
    block; returns their paths."""
    folder = Path(folder)
    when = f" - {day}" if day else ""
    table = {r["benchmark"]: r for r in bm.get("table") or []}
    keys = [k for k in LABELS if k in table]
    values = [_num(table[k].get("bps")) for k in keys]
    orders = [o for o in bm.get("orders") or [] if isinstance(o, dict)]
    sig = [v for v in (_num(o.get("signal_bps")) for o in orders) if v is not None]
    hist = [{"from_bps": a, "to_bps": b, "orders": c} for a, b, c in histogram(sig)]
    pts = [
        (p * 100, c, str(o.get("symbol") or ""))
        for o in orders
        for p, c in [(_num(o.get("participation")), _num(o.get("interval_vwap_bps")))]
        if p is not None and c is not None
    ]

    scatter_title = f"Cost vs interval VWAP against participation{when}"
    why = _bars_why(bm)

    def scatter(ax):
        title = scatter_title
        if not pts:
            _empty(ax, title, why)
            return
        ax.scatter([x for x, _, _ in pts], [y for _, y, _ in pts], color=_BAR, s=36, zorder=3)
        for x, y, s in pts:
            ax.annotate(s, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8)
        _zero_line(ax)
        ax.set_xlim(0.0, 1.15 * max(x for x, _, _ in pts) or 1.0)
        ax.margins(y=0.15)
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(xmax=100))
        ax.set_xlabel("participation (filled shares / interval volume)")
        ax.set_ylabel(f"cost vs interval VWAP ({SIGN})")
        ax.set_title(title, fontsize=11)

    bars_title, hist_title = f"Cost by benchmark ({SIGN}; weighted){when}", f"Orders by cost vs signal{when}"
    charts = {
        "cost_by_benchmark.png": (
            [bars_title, keys, values],
            lambda ax: _bars_by_key(ax, bars_title, keys, values, "no filled order"),
        ),
        "histogram.png": ([hist_title, hist], lambda ax: _histogram(ax, hist_title, hist, "no filled order")),
        "cost_vs_participation.png": ([scatter_title, pts, why], scatter),
    }
    return _render(folder, [(name, *charts[name]) for name in DAY_CHARTS])


def month_charts(folder: str | Path, bm: dict[str, Any], month: str) -> list[Path]:
    """The month's PNGs (:data:`MONTH_CHARTS`) in ``folder`` from the month's ``benchmarks``
    block (:meth:`xlexec.core.monthly.MonthlyResult.benchmarks_document`); returns their paths."""
    folder = Path(folder)
    none = "no filled order with per-order benchmarks this month"
    weeks = bm.get("by_week") or []
    brokers = bm.get("by_broker") or []
    shown = ("signal", "arrival", "interval_vwap", "close")

    def trend(ax):
        title = f"Cost by week ({SIGN}; weighted) - {month}"
        if not weeks:
            _empty(ax, title, none)
            return
        xs = range(len(weeks))
        for k, colour in zip(("signal", "arrival", "interval_vwap", "twap"), _COLOURS):
            ys = [_num(w.get(k)) for w in weeks]
            ax.plot(xs, [math.nan if y is None else y for y in ys], marker="o", color=colour, label=LABELS[k])
        ax.set_xticks(list(xs), [f"week of {w['week']}" for w in weeks])
        ax.margins(x=0.12)
        _zero_line(ax)
        ax.set_ylabel(SIGN)
        ax.legend(loc="best", fontsize=9)
        ax.set_title(title, fontsize=11)

    def by_broker(ax):
        title = f"Cost by broker ({SIGN}; weighted) - {month}"
        if not brokers:
            _empty(ax, title, none)
            return
        n = len(shown)
        w = 0.8 / n
        for i, (k, colour) in enumerate(zip(shown, _COLOURS)):
            xs = [j + (i - (n - 1) / 2) * w for j in range(len(brokers))]
            ys = [_num(b.get(k)) for b in brokers]
            ax.bar(xs, [y or 0.0 for y in ys], width=w, color=colour, label=f"vs {LABELS[k]}")
            for x, y in zip(xs, ys):
                if y is None:
                    ax.annotate("n/a", (x, 0.0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        ax.set_xticks(range(len(brokers)), [f"{b['broker']} ({b['orders']} orders)" for b in brokers])
        _zero_line(ax)
        ax.set_ylabel(SIGN)
        ax.legend(loc="best", fontsize=9)
        ax.set_title(title, fontsize=11)

    hist_title, hist = f"The month's orders by cost vs signal - {month}", bm.get("histogram") or []
    charts = {
        "trend_by_week.png": ([month, weeks], trend),
        "cost_by_broker.png": ([month, brokers], by_broker),
        "histogram.png": ([hist_title, hist], lambda ax: _histogram(ax, hist_title, hist, none)),
    }
    return _render(folder, [(name, *charts[name]) for name in MONTH_CHARTS])

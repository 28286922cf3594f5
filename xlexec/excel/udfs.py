"""Worksheet functions (xlwings UDFs): ``=XLEXEC_...`` in the workbook.

``xlwings.conf`` names this module in ``UDF Modules``; import them once with the xlwings add-in
(*Import Functions*) or ``ImportPythonUDFs`` from the xlwings VBA module. Every function is
array-aware (pass a whole column and get a column back, one call per range, vectorised with
numpy) and never raises into Excel: a bad input gives a short ``#XLEXEC: reason`` text in the
cell that has it (per element for array inputs), never a traceback.

Units: money in $, prices in $/share, quantities in shares, ``*_bps`` in basis points,
``max_pct`` as a fraction (0.05 = 5%). Slippage and cost bps are **positive for a cost**, for
buys and sells alike: ``side x (fill - benchmark) / benchmark x 10,000`` with side +1 buy,
-1 sell.

The pure functions (``slippage_bps``, ``cost``, ``days_to_trade``, ``checks_table``,
``broker_format_table``, ``quote_mid``) are what the UDFs call; they take and return plain
Python values / nested lists, so they are tested without Excel.

Config: ``XLEXEC_CHECKS``, ``XLEXEC_BROKER_FORMAT`` and ``XLEXEC_QUOTE`` read the config the
calling workbook records (xlwings' reserved ``caller`` argument -> its book ->
:mod:`xlexec.excel.bookconfig`), the same file its Validate button reads: never an environment
variable or the current directory. No config -> a ``#XLEXEC:`` cell naming the file.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from xlexec.core.costs import slippage_bps as _slippage_bps
from xlexec.core.costs import usd_from_bps
from xlexec.core.rows import QUANTITY_COLUMNS, exact_thousands
from xlexec.core.symbols import canonical_symbol

ERR = "#XLEXEC: "


def _err(reason: object) -> str:
    """An error cell: ``ERR`` + the reason (a message or an exception) on one line, cut at 120."""
    return ERR + " ".join(str(reason).split())[:120]


# --------------------------------------------------------------------------- broadcasting


def _as2d(x) -> tuple[np.ndarray, bool]:
    """Any Excel argument -> 2-D object array; second value: was it a scalar."""
    if isinstance(x, (list, tuple)):
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in x]
        if rows and all(not isinstance(r, (list, tuple)) for r in x):
            rows = [[v] for v in x]  # a 1-D list from xlwings = one column
        width = max((len(r) for r in rows), default=0)
        arr = np.empty((len(rows), width), dtype=object)
        for i, r in enumerate(rows):
            for j in range(width):
                arr[i, j] = r[j] if j < len(r) else None
        return arr, False
    arr = np.empty((1, 1), dtype=object)
    arr[0, 0] = x
    return arr, True


def _floats(a: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Object array -> (float array, error-message array ('' = ok))."""
    out = np.full(a.shape, np.nan)
    errs = np.full(a.shape, "", dtype=object)
    for idx, v in np.ndenumerate(a):
        if isinstance(v, bool) or v is None or (isinstance(v, str) and not v.strip()):
            errs[idx] = f"{name} is empty" if not isinstance(v, bool) else f"{name} is not a number"
            continue
        if isinstance(v, str) and "," in v and (name in QUANTITY_COLUMNS or not exact_thousands(v)):
            errs[idx] = f"{name} {v[:20]!r}: a comma is refused here (decimal comma? write 1.5)"
            continue
        try:
            f = float(str(v).replace("$", "").replace(",", "").strip()) if isinstance(v, str) else float(v)
        except (TypeError, ValueError):
            errs[idx] = f"{name} {str(v)[:20]!r} is not a number"
            continue
        if not math.isfinite(f):
            errs[idx] = f"{name} is not finite"
        else:
            out[idx] = f
    return out, errs


_SIDES = {
    "buy": 1.0,
    "b": 1.0,
    "bot": 1.0,
    "long": 1.0,
    "1": 1.0,
    "sell": -1.0,
    "s": -1.0,
    "sld": -1.0,
    "short": -1.0,
    "-1": -1.0,
    "sell_short": -1.0,
}


def _sides(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(a.shape, np.nan)
    errs = np.full(a.shape, "", dtype=object)
    for idx, v in np.ndenumerate(a):
        key = (
            str(int(v))
            if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()
            else str(v or "").strip().lower()
        )
        if key in _SIDES:
            out[idx] = _SIDES[key]
        else:
            errs[idx] = f"side must be buy or sell, got {str(v)[:12]!r}"
    return out, errs


def _broadcast(*arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = " vs ".join("x".join(map(str, a.shape)) for a in arrays)
        raise ValueError(f"ranges of different sizes ({shapes})") from None


def _finish(values: np.ndarray, errors: list[np.ndarray], scalar: bool):
    out = np.empty(values.shape, dtype=object)
    for idx, v in np.ndenumerate(values):
        msg = next((e[idx] for e in errors if e[idx]), "")
        out[idx] = _err(msg) if msg else (None if not math.isfinite(v) else float(v))
    if scalar:
        return out[0, 0]
    return out.tolist()


# --------------------------------------------------------------------------- pure functions


def slippage_bps(side, benchmark, fill):
    """bps = side x (fill - benchmark) / benchmark x 10,000 (> 0 = cost). Scalars or ranges."""
    try:
        (s_a, s1), (b_a, s2), (f_a, s3) = _as2d(side), _as2d(benchmark), _as2d(fill)
        s_a, b_a, f_a = _broadcast(s_a, b_a, f_a)
        sg, e1 = _sides(s_a)
        b, e2 = _floats(b_a, "benchmark")
        f, e3 = _floats(f_a, "fill")
        e4 = np.where((b <= 0) & (e2 == ""), "benchmark must be > 0", "").astype(object)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = _slippage_bps(sg, f, b)  # the one definition (core/costs)
        return _finish(v, [e1, e2, e3, e4], s1 and s2 and s3)
    except Exception as e:  # noqa: BLE001 - a UDF never raises into Excel
        return _err(e)


def cost(notional, bps):
    """$ cost = notional ($) x bps / 10,000."""
    try:
        (n_a, s1), (b_a, s2) = _as2d(notional), _as2d(bps)
        n_a, b_a = _broadcast(n_a, b_a)
        n, e1 = _floats(n_a, "notional")
        b, e2 = _floats(b_a, "bps")
        return _finish(usd_from_bps(np.abs(n), b), [e1, e2], s1 and s2)
    except Exception as e:  # noqa: BLE001
        return _err(e)


def days_to_trade(shares, adv, max_pct=0.05):
    """Days to trade = ceil(|shares| / (ADV x max_pct)); ADV in shares/day, max_pct a fraction."""
    try:
        (s_a, s1), (a_a, s2), (p_a, s3) = _as2d(shares), _as2d(adv), _as2d(0.05 if max_pct is None else max_pct)
        s_a, a_a, p_a = _broadcast(s_a, a_a, p_a)
        s, e1 = _floats(s_a, "shares")
        a, e2 = _floats(a_a, "adv")
        p, e3 = _floats(p_a, "max_pct")
        e4 = np.where((a <= 0) & (e2 == ""), "adv must be > 0", "").astype(object)
        e5 = np.where(((p <= 0) | (p > 1)) & (e3 == ""), "max_pct must be a fraction in (0, 1]", "").astype(object)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.ceil(np.abs(s) / (a * p) - 1e-9)
        return _finish(v, [e1, e2, e3, e4, e5], s1 and s2 and s3)
    except Exception as e:  # noqa: BLE001
        return _err(e)


def _trades_from_range(rng) -> Any:
    import pandas as pd

    from xlexec.formats.trades import trades_from_frame

    arr, scalar = _as2d(rng)
    if scalar or arr.shape[0] < 2:
        raise ValueError("select the trades with their header row (symbol, side, shares, price, ...)")
    header = [str(h).strip().lower() if h is not None else "" for h in arr[0]]
    keep = [j for j, h in enumerate(header) if h]
    rows = [r for r in arr[1:] if any(v not in (None, "") for v in r)]
    df = pd.DataFrame([[r[j] for j in keep] for r in rows], columns=[header[j] for j in keep])
    return trades_from_frame(df, name="trades range")


def _config(source):
    """The config a function uses, the one the Validate button of the same book uses:

    * a loaded ``Config``: as is;
    * the UDF's ``caller`` (an xlwings Range) or an ``xlwings.Book``: the config its book
      records, resolved from the book's folder (:mod:`xlexec.excel.bookconfig`);
    * a workbook file path: the same, for that file;
    * None: refused (no environment variable, no current directory, no built-in defaults).
    """
    from xlexec.config import Config
    from xlexec.errors import ConfigError
    from xlexec.excel import bookconfig

    if isinstance(source, Config):
        return source
    if source is None:
        raise ConfigError("no workbook given: the function reads the config its workbook records")
    if isinstance(source, (str, os.PathLike)):
        book = Path(source)
        return bookconfig.load_book_config(
            bookconfig.config_path_for(book, bookconfig.read_ref_file(book), what="function")
        )
    from xlexec.excel.book import XlwingsBook

    sheet = getattr(source, "sheet", None)  # the caller cell -> its book
    book = XlwingsBook(sheet.book if sheet is not None else source)
    return bookconfig.load_book_config(bookconfig.config_path_for(book.path, book.config_ref(), what="function"))


def checks_table(trades_range, now: dt.datetime | None = None, config=None):
    """The validator's rows for a trades range (header row first): a spilled table.
    ``config``: see :func:`_config` (the UDF passes its caller)."""
    try:
        from xlexec.config import validation_thresholds
        from xlexec.core.checks import validate

        t = _trades_from_range(trades_range)
        thresholds = validation_thresholds(_config(config))
        res = validate(t, thresholds=thresholds, now=now or dt.datetime.now(dt.UTC))
        cols = ["check", "status", "symbol", "value", "limit", "message"]
        out = [cols]
        for rec in res.checks[cols].itertuples(index=False, name=None):
            out.append([_cell(v) for v in rec])
        out.append(["decision", res.decision, "", "", "", ""])
        return out
    except Exception as e:  # noqa: BLE001
        return _err(e)


def broker_format_table(trades_range, broker: str, config=None):
    """Preview of the broker upload file for a trades range: one cell per CSV field.
    ``config``: see :func:`_config` (its ``execution.default_order_type``)."""
    try:
        import csv
        import io

        from xlexec.core.orders import orders_from_trades
        from xlexec.formats.upload import FORMATS, convert_orders

        b = str(broker or "").strip().lower()
        if b not in FORMATS:
            return _err(f"broker must be one of {', '.join(FORMATS)}")
        t = _trades_from_range(trades_range)
        orders = orders_from_trades(
            t, default_order_type=_config(config).execution.default_order_type, date=dt.date.today().isoformat()
        )
        text = convert_orders(orders, b, basket_tag="PREVIEW")
        rows = list(csv.reader(io.StringIO(text)))
        width = max((len(r) for r in rows), default=1)
        return [[(v if v != "" else None) for v in r] + [None] * (width - len(r)) for r in rows] or [[None]]
    except Exception as e:  # noqa: BLE001
        return _err(e)


def _cell(v):
    if v is None:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@lru_cache(maxsize=32)
def _quotes_for(path: str, mtime: float) -> dict[str, float]:
    from xlexec.formats.inputs import read_quotes

    q = read_quotes(path)
    return {str(s): float(m) for s, m in zip(q["symbol"], q["mid"]) if m == m}


def latest_quotes_file(live_dir: str | Path) -> Path | None:
    """``live/<newest day>/quotes.csv``."""
    live = Path(live_dir)
    days = sorted((p for p in live.glob("????-??-??") if (p / "quotes.csv").exists()), reverse=True)
    return days[0] / "quotes.csv" if days else None


def quote_mid(symbol, live_dir: str | Path | None = None, config=None):
    """Quote mid ($) of ``symbol`` (or a range of symbols) from the newest ``quotes.csv`` under
    ``live_dir`` (default: the ``live_dir`` of ``config``, see :func:`_config`); cached per file
    and modification time (no broker call from a worksheet function)."""
    try:
        if live_dir is None:
            live_dir = _config(config).live_dir
        f = latest_quotes_file(live_dir)
        if f is None:
            return _err(f"no quotes.csv under {live_dir}")
        table = _quotes_for(str(f), f.stat().st_mtime)
        arr, scalar = _as2d(symbol)
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            s = canonical_symbol(str(v or "").strip())
            out[idx] = table.get(s, _err(f"no quote for {s or '(blank)'}"))
        return out[0, 0] if scalar else out.tolist()
    except Exception as e:  # noqa: BLE001
        return _err(e)


# --------------------------------------------------------------------------- the UDFs

xw: ModuleType | None
try:
    import xlwings as xw
except ImportError:  # pragma: no cover - the pure functions above still work
    xw = None

if xw is not None:

    @xw.func
    @xw.arg("side", ndim=2)
    @xw.arg("benchmark", ndim=2)
    @xw.arg("fill", ndim=2)
    def XLEXEC_SLIPPAGE_BPS(side, benchmark, fill):
        """Slippage in bps, positive = cost: side x (fill - benchmark) / benchmark x 10,000."""
        return slippage_bps(side, benchmark, fill)

    @xw.func
    @xw.arg("notional", ndim=2)
    @xw.arg("bps", ndim=2)
    def XLEXEC_COST(notional, bps):
        """Cost in $ of a notional ($) at a rate in bps."""
        return cost(notional, bps)

    @xw.func
    @xw.arg("shares", ndim=2)
    @xw.arg("adv", ndim=2)
    @xw.arg("max_pct", ndim=2)
    def XLEXEC_DAYS_TO_TRADE(shares, adv, max_pct=0.05):
        """Days to trade: ceil(shares / (ADV x max_pct)), max_pct a fraction (default 0.05)."""
        return days_to_trade(shares, adv, max_pct)

    @xw.func
    @xw.arg("trades_range", ndim=2)
    def XLEXEC_CHECKS(trades_range, caller=None):
        """The pre-trade checks of a trades range (with its header row), spilled; with the
        thresholds of the config this workbook records (as its Validate button)."""
        return checks_table(trades_range, config=caller)

    @xw.func
    @xw.arg("trades_range", ndim=2)
    def XLEXEC_BROKER_FORMAT(trades_range, broker, caller=None):
        """Preview of the broker upload file (ibkr, alpaca, schwab, ...) for a trades range, spilled."""
        return broker_format_table(trades_range, broker, config=caller)

    @xw.func
    @xw.arg("symbol", ndim=2)
    def XLEXEC_QUOTE(symbol, caller=None):
        """Quote mid ($) from the newest live/<day>/quotes.csv of this workbook's config (cached)."""
        return quote_mid(symbol, config=caller)


UDF_NAMES = [
    "XLEXEC_SLIPPAGE_BPS",
    "XLEXEC_COST",
    "XLEXEC_DAYS_TO_TRADE",
    "XLEXEC_CHECKS",
    "XLEXEC_BROKER_FORMAT",
    "XLEXEC_QUOTE",
]

"""Broker upload formats (pure core): approved orders in, the text a broker's import screen takes out.

Every writer takes the orders frame of :func:`xlexec.core.orders.orders_from_trades` (``symbol, side,
qty, order_type, limit_price, time_in_force, client_order_id``; indexed by the trades file's
source row) and returns text. Before any writer runs, :func:`prepare_orders` checks and normalises
the frame once, for every broker:

* quantities are whole shares (> 0); a fractional quantity is an :class:`InputError` naming the
  row and the ``shares`` column of the trades file it came from;
* limit prices are re-rounded to the venue tick ($0.01 at or above $1, $0.0001 below; Reg NMS
  Rule 612) in the direction that never makes the order more aggressive than approved (buys
  round down, sells round up): the operator may have typed a limit in the workbook, so the
  rounding done by ``orders_from_trades`` is applied again rather than trusted;
* market orders carry no limit price; a limit order without a positive limit is an error.

Symbols are kept in our canonical form (``BRK.B``: root, separator, class) and rewritten per
broker by :func:`broker_symbol`: IBKR wants a space (``BRK B``), Alpaca, Schwab and Fidelity a dot
(``BRK.B``). Any of ``. / - space`` is accepted as the class separator on input.

Registry: :data:`FORMATS` (name -> one-line description) and :func:`convert_orders`. Each writer's
docstring names the public document its layout comes from, or says that none exists.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xlexec.core.orders import round_to_tick, tick_size
from xlexec.core.symbols import canonical_symbol, split_symbol
from xlexec.errors import InputError
from xlexec.formats.csvio import read_text, safe_text

# --------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class BrokerFormat:
    name: str
    description: str
    extension: str  # "csv" | "json"
    symbol_style: str  # "space" | "dot" | "canonical"
    render: Callable[[pd.DataFrame, str], str]


_REGISTRY: dict[str, BrokerFormat] = {}
FORMATS: dict[str, str] = {}


def _format(name: str, description: str, *, extension: str = "csv", symbol_style: str = "dot"):
    def deco(fn: Callable[[pd.DataFrame, str], str]):
        _REGISTRY[name] = BrokerFormat(name, description, extension, symbol_style, fn)
        FORMATS[name] = description
        return fn

    return deco


def broker_format(broker: str) -> BrokerFormat:
    key = (broker or "").strip().lower()
    if key not in _REGISTRY:
        raise InputError(
            "--broker",
            f"unknown broker format {broker!r}; choose one of {', '.join(_REGISTRY)} (xlexec convert --list)",
        )
    return _REGISTRY[key]


def output_name(day: str | None, broker: str, draft: bool = False) -> str:
    """File name of a conversion: ``trades_ibkr.csv``, ``trades_ibkr_DRAFT.csv``, ``orders_alpaca.json``.

    The file is written in the day's folder (next to ``trades.csv``), which already carries the
    date, so ``day`` does not appear in the name; it is accepted so callers need not care.
    """
    fmt = broker_format(broker)
    stem = "orders" if fmt.extension == "json" else "trades"
    return f"{stem}_{fmt.name}{'_DRAFT' if draft else ''}.{fmt.extension}"


def draft_path(path: str | Path) -> Path:
    """``out.csv`` -> ``out_DRAFT.csv`` unless the name already says DRAFT."""
    p = Path(path)
    if "DRAFT" in p.name.upper():
        return p
    return p.with_name(f"{p.stem}_DRAFT{p.suffix}")


# --------------------------------------------------------------------------------------------
# symbols


def broker_symbol(symbol: str, style: str) -> str:
    """The symbol as a broker spells it: ``space`` -> ``BRK B`` (IBKR), ``dot``/``canonical`` ->
    ``BRK.B`` (:func:`xlexec.core.symbols.canonical_symbol`, the one security id)."""
    root, cls = split_symbol(symbol)
    if cls is None:
        return root
    return f"{root} {cls}" if style == "space" else f"{root}.{cls}"


# --------------------------------------------------------------------------------------------
# common checks


def price_text(price: float) -> str:
    """A tick-rounded limit as text: 2 decimals at or above $1, 4 below (``150.25``, ``0.5678``)."""
    return f"{price:.2f}" if price >= 1.0 else f"{price:.4f}"


def _row(idx):
    return int(idx) if isinstance(idx, (int, np.integer)) else None


def prepare_orders(orders: pd.DataFrame, name: str = "<orders>") -> pd.DataFrame:
    """Checked, tick-rounded copy of ``orders`` (see the module docstring for the rules).

    Returns columns ``symbol, side, qty (int shares), order_type (limit|market), limit_price ($,
    NaN for market), time_in_force, client_order_id`` in the input's row order and index.
    Errors name ``name``, the source row and the trades column (``shares``, ``limit_price``...).
    """
    for c in ("symbol", "side", "qty"):
        if c not in orders.columns:
            raise InputError(name, f"orders have no {c!r} column")
    out = pd.DataFrame(index=orders.index)
    out["symbol"] = [canonical_symbol(v) for v in orders["symbol"].astype(str)]
    side = orders["side"].astype(str).str.strip().str.lower()
    bad = ~side.isin(["buy", "sell"])
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            name, f"side must be buy or sell, got {orders['side'].iloc[i]!r}", row=_row(orders.index[i]), column="side"
        )
    out["side"] = side
    qty = pd.to_numeric(orders["qty"], errors="coerce").astype(float)
    q = qty.to_numpy()
    bad = ~np.isfinite(q) | (q <= 0) | (np.mod(np.where(np.isfinite(q), q, 0.0), 1.0) != 0)
    if bad.any():
        i = int(bad.nonzero()[0][0])
        v = orders["qty"].iloc[i]
        why = (
            "must be whole shares (no fractional quantities in a broker upload)"
            if np.isfinite(q[i]) and q[i] > 0
            else "must be a positive number of shares"
        )
        raise InputError(name, f"shares {why}, got {v}", row=_row(orders.index[i]), column="shares")
    out["qty"] = qty.astype("int64")
    if "order_type" in orders.columns:
        ot = (
            orders["order_type"]
            .astype(str)
            .str.strip()
            .str.lower()
            .replace({"lmt": "limit", "mkt": "market", "": "limit", "nan": "limit", "<na>": "limit"})
        )
    else:
        ot = pd.Series("limit", index=orders.index)
    bad = ~ot.isin(["limit", "market"])
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            name,
            f"order_type {orders['order_type'].iloc[i]!r} cannot be converted (only limit and market orders)",
            row=_row(orders.index[i]),
            column="order_type",
        )
    out["order_type"] = ot
    lim = (
        pd.to_numeric(orders["limit_price"], errors="coerce").astype(float)
        if "limit_price" in orders.columns
        else pd.Series(np.nan, index=orders.index)
    )
    rounded = []
    for i, (p, s, t) in enumerate(zip(lim, side, ot)):
        if t == "market":
            rounded.append(np.nan)
            continue
        if not (isinstance(p, float) and math.isfinite(p)) or p <= 0:
            raise InputError(
                name,
                f"limit order needs a positive limit price, got {p}",
                row=_row(orders.index[i]),
                column="limit_price",
            )
        r = round_to_tick(p, s)
        if r <= 0:
            raise InputError(
                name,
                f"limit {p} rounds to {r} at the {tick_size(p)} tick",
                row=_row(orders.index[i]),
                column="limit_price",
            )
        rounded.append(r)
    out["limit_price"] = pd.Series(rounded, index=orders.index, dtype=float)
    tif = (
        orders["time_in_force"].astype(str).str.strip().str.lower()
        if "time_in_force" in orders.columns
        else pd.Series("day", index=orders.index)
    )
    out["time_in_force"] = tif.replace({"": "day", "nan": "day"})
    out["client_order_id"] = orders["client_order_id"].astype(str) if "client_order_id" in orders.columns else ""
    return out


def convert_orders(orders: pd.DataFrame, broker: str, *, basket_tag: str, name: str = "<orders>") -> str:
    """``orders`` in ``broker``'s upload format (text: CSV with LF line ends, or JSON).

    ``basket_tag`` identifies the batch (IBKR ``BasketTag``, our generic ``basket_tag`` column)
    so fills can be joined back; letters and digits only (IBKR's rule), at most 40.
    """
    fmt = broker_format(broker)
    if not re.fullmatch(r"[A-Za-z0-9]{1,40}", basket_tag or ""):
        raise InputError(
            "--basket-tag",
            f"basket tag {str(basket_tag)[:60]!r} must be 1-40 letters "
            "or digits (TWS BasketTag: 'any unique string of alpha or numeric characters')",
        )
    prepared = prepare_orders(orders, name)
    prepared["broker_symbol"] = [broker_symbol(s, fmt.symbol_style) for s in prepared["symbol"]]
    return fmt.render(prepared, basket_tag)


def _csv(header: list[str] | None, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else (safe_text(v) if isinstance(v, str) else v) for v in r])
    return buf.getvalue()


def _lim(p: float) -> str:
    return "" if p is None or (isinstance(p, float) and math.isnan(p)) else price_text(p)


# --------------------------------------------------------------------------------------------
# writers

IBKR_COLUMNS = [
    "Action",
    "Quantity",
    "Symbol",
    "SecType",
    "Exchange",
    "Currency",
    "TimeInForce",
    "OrderType",
    "LmtPrice",
    "BasketTag",
]


@_format(
    "ibkr", "IBKR TWS BasketTrader basket CSV (Action,Quantity,Symbol,...,LmtPrice,BasketTag)", symbol_style="space"
)
def write_ibkr(orders: pd.DataFrame, basket_tag: str) -> str:
    """Interactive Brokers TWS BasketTrader basket file (File > Import basket in BasketTrader).

    Sources:
    * https://www.ibkrguides.com/traderworkstation/manually-create-a-basket-file.htm - one header
      row of TWS field names in any order, one order per row, empty values allowed, "do not leave
      a space between a value and its comma", save as .csv;
    * https://www.ibkrguides.com/traderworkstation/basket-fields.htm - Action BUY|SELL, Quantity,
      Symbol, SecType STK, Exchange SMART, Currency USD, TimeInForce DAY, OrderType LMT|MKT,
      LmtPrice, BasketTag ("any unique string of alpha or numeric characters ... appears in the
      Order Reference field of the Trade report", which is how fills join back);
    * https://www.interactivebrokers.com.hk/php/webhelp/Making_Trades/baskets/manualBasket.htm -
      the example rows ``BUY,100,IBM,STK,SMART/ARCA,USD,DAY,LMT,14.82``. (That older page put
      market orders under their own header row without LmtPrice; the current page allows empty
      values, so we use one header and leave LmtPrice empty for MKT, as the issue asks.)

    Class shares use a space (``BRK B``): IBKR Knowledge Base "How do I enter the symbol for
    Berkshire Hathaway Class B shares onto TWS?" (summarised at
    https://ttf248.life/en/p/interactive-brokers-stock-code-format-explanation: ``BRK/B -> BRK B``).
    """
    rows = [
        [
            s.upper(),
            q,
            sym,
            "STK",
            "SMART",
            "USD",
            tif.upper(),
            "MKT" if ot == "market" else "LMT",
            _lim(lp),
            basket_tag,
        ]
        for s, q, sym, tif, ot, lp in zip(
            orders["side"],
            orders["qty"],
            orders["broker_symbol"],
            orders["time_in_force"],
            orders["order_type"],
            orders["limit_price"],
        )
    ]
    return _csv(IBKR_COLUMNS, rows)


@_format(
    "ibkr-simple", "the guide's simple CSV (Symbol,Action,Quantity,OrderType,LimitPrice,TIF)", symbol_style="space"
)
def write_ibkr_simple(orders: pd.DataFrame, basket_tag: str) -> str:
    """The guide's "Batch CSV Upload" example (TRADE_EXECUTION_GUIDE.md, Method 2):
    ``Symbol,Action,Quantity,OrderType,LimitPrice,TIF`` / ``AAPL,BUY,100,LMT,150.25,DAY``.

    Not an IBKR-documented layout (TWS reads basket files by header name, so it imports only if
    TWS maps these names); kept because the guide's operators know it. IBKR symbology (``BRK B``).
    """
    rows = [
        [sym, s.upper(), q, "MKT" if ot == "market" else "LMT", _lim(lp), tif.upper()]
        for sym, s, q, ot, lp, tif in zip(
            orders["broker_symbol"],
            orders["side"],
            orders["qty"],
            orders["order_type"],
            orders["limit_price"],
            orders["time_in_force"],
        )
    ]
    return _csv(["Symbol", "Action", "Quantity", "OrderType", "LimitPrice", "TIF"], rows)


_SCHWAB_DURATION = {"day": "DAY", "gtc": "GOOD_TILL_CANCEL", "fok": "FILL_OR_KILL"}


@_format(
    "schwab",
    "Schwab order sheet in Trader API vocabulary (Symbol,Instruction,Quantity,OrderType,Price,Duration,Session)",
)
def write_schwab(orders: pd.DataFrame, basket_tag: str) -> str:
    """Charles Schwab: a CSV order sheet using Schwab's own documented order vocabulary.

    Schwab publishes no retail CSV order-import format (schwab.com / thinkorswim / StreetSmart
    Edge enter orders one ticket at a time). The institutional "Schwab Advisor Services - Web
    Trading File Specifications" (trade order file, v5_22, 2015) exists but is not publicly
    available in full, so it is NOT reproduced here. What is public is the Schwab Trader API order
    object (https://developer.schwab.com, "Accounts and Trading Production"; schema echoed at
    https://schemas.apis.io/schemas/charles-schwab/charles-schwab-order/): ``orderType``
    MARKET|LIMIT, ``session`` NORMAL, ``duration`` DAY|GOOD_TILL_CANCEL|FILL_OR_KILL,
    ``orderLegCollection[].instruction`` BUY|SELL, ``quantity``, ``instrument.symbol``, ``price``.
    This sheet uses those names and values, one order per row, for keying or for an API script.

    Class shares: dotted (``BRK.B``); Schwab does not publicly document a class-share spelling
    for uploads, so verify before first use.
    """
    rows = [
        [
            sym,
            s.upper(),
            q,
            "MARKET" if ot == "market" else "LIMIT",
            _lim(lp),
            _SCHWAB_DURATION.get(tif, tif.upper()),
            "NORMAL",
        ]
        for sym, s, q, ot, lp, tif in zip(
            orders["broker_symbol"],
            orders["side"],
            orders["qty"],
            orders["order_type"],
            orders["limit_price"],
            orders["time_in_force"],
        )
    ]
    return _csv(["Symbol", "Instruction", "Quantity", "OrderType", "Price", "Duration", "Session"], rows)


_FIDELITY_TIF = {"day": "D", "gtc": "G"}


@_format("fidelity", "Fidelity Wealthscape Import Orders layout (columns A-H, no header row)")
def write_fidelity(orders: pd.DataFrame, basket_tag: str) -> str:
    """Fidelity: the Wealthscape "Import Orders" file (Tools > Imports > Orders).

    Source: https://www2.advisorchannel.com/wc/channel/jsp/sp3help/content/fwchlpimportorders.htm
    - CSV (or tab-delimited), fields by Excel column: A Account Number (20), B Account Type (1;
    blank = Auto), C Order Action (3), D Quantity (10; up to three decimals), E Symbol (30),
    F Price Type (2), G Time In Force (1), H Stop Price/Limit Price (10; required for limit
    orders). Imported orders land on the Unsent Orders window for review before sending.

    Not documented publicly in what we could retrieve: the code lists of Order Action, Price Type
    and Time In Force (we write ``B``/``S``, ``M``/``L`` and ``D``, consistent with the documented
    field widths of 3, 2 and 1 characters), whether a header row is allowed (the layout is
    positional, so we write none), and the class-share spelling (we write ``BRK.B``). The same page
    offers "Template and Sample Files": check one against this output before the first upload.
    Fidelity's retail Active Trader Pro has no documented order import. Account Number is left
    blank for the operator to fill (xlexec does not hold account numbers).
    """
    rows = [
        [
            "",
            "",
            "B" if s == "buy" else "S",
            q,
            sym,
            "M" if ot == "market" else "L",
            _FIDELITY_TIF.get(tif, tif[:1].upper()),
            _lim(lp),
        ]
        for s, q, sym, ot, tif, lp in zip(
            orders["side"],
            orders["qty"],
            orders["broker_symbol"],
            orders["order_type"],
            orders["time_in_force"],
            orders["limit_price"],
        )
    ]
    return _csv(None, rows)


@_format("alpaca", "Alpaca POST /v2/orders request bodies as JSON (dry run of submission)", extension="json")
def write_alpaca(orders: pd.DataFrame, basket_tag: str) -> str:
    """Alpaca: the JSON bodies ``xlexec submit`` would POST to ``/v2/orders`` (a dry run).

    Source: https://docs.alpaca.markets/docs/working-with-orders and the Create Order reference
    (``symbol``, ``qty`` string<number>, ``side`` buy|sell, ``type`` market|limit,
    ``time_in_force`` day, ``limit_price`` string<number> for limit orders, ``client_order_id``
    at most 48 characters). Class shares are dotted (``BRK.B``), Alpaca's asset symbology.
    """
    out = []
    for idx, sym, s, q, ot, lp, tif, coid in zip(
        orders.index,
        orders["broker_symbol"],
        orders["side"],
        orders["qty"],
        orders["order_type"],
        orders["limit_price"],
        orders["time_in_force"],
        orders["client_order_id"],
    ):
        body = {"symbol": sym, "qty": str(int(q)), "side": s, "type": ot, "time_in_force": tif}
        if ot == "limit":
            body["limit_price"] = price_text(lp)
        if coid:
            if len(coid) > 48:
                raise InputError(
                    "<orders>",
                    f"client order id {coid!r} is longer than Alpaca's 48 characters",
                    row=_row(idx),
                    column="client_order_id",
                )
            body["client_order_id"] = coid
        out.append(body)
    return json.dumps(out, indent=2) + "\n"


@_format("generic", "xlexec columns, one row per order, with client order id and basket tag", symbol_style="canonical")
def write_generic(orders: pd.DataFrame, basket_tag: str) -> str:
    """Our own layout (no broker document): ``symbol, side, qty, order_type, limit_price,
    time_in_force, client_order_id, basket_tag``; symbols as in trades.csv, limits tick-rounded."""
    rows = [
        [sym, s, q, ot, _lim(lp), tif, coid, basket_tag]
        for sym, s, q, ot, lp, tif, coid in zip(
            orders["broker_symbol"],
            orders["side"],
            orders["qty"],
            orders["order_type"],
            orders["limit_price"],
            orders["time_in_force"],
            orders["client_order_id"],
        )
    ]
    return _csv(
        ["symbol", "side", "qty", "order_type", "limit_price", "time_in_force", "client_order_id", "basket_tag"], rows
    )


# --------------------------------------------------------------------------------------------
# reading a basket back (round trip, and checking a file before upload)


def read_ibkr_basket(path: str | Path) -> pd.DataFrame:
    """Read a TWS basket CSV into orders: ``symbol`` (canonical, ``BRK.B``), ``side``, ``qty``
    (shares), ``order_type`` (limit|market), ``limit_price`` ($, NaN for market), ``time_in_force``,
    ``basket_tag``; indexed by 1-based line number. Several header rows (a row starting with
    ``Action``) are allowed, as TWS allows. Problems raise :class:`InputError` naming row/column.
    """
    name = str(path)
    text = read_text(path, what="basket file")
    header: list[str] | None = None
    recs, rows = [], []
    for line_no, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not cells or not "".join(cells).strip():
            continue
        if cells[0].strip().lower() == "action":
            header = [c.strip().lower() for c in cells]
            for need in ("action", "quantity", "symbol", "ordertype"):
                if need not in header:
                    raise InputError(name, f"basket header has no {need!r} field", row=line_no, column=need)
            continue
        if header is None:
            raise InputError(name, "order row before any header row", row=line_no)
        if len(cells) != len(header):
            raise InputError(name, f"{len(cells)} values for {len(header)} header fields", row=line_no)
        r = dict(zip(header, (c.strip() for c in cells)))
        action = r["action"].upper()
        if action not in ("BUY", "SELL"):
            raise InputError(name, f"Action must be BUY or SELL, got {r['action']!r}", row=line_no, column="Action")
        try:
            qty = float(r["quantity"])
        except ValueError:
            raise InputError(
                name, f"Quantity {r['quantity']!r} is not a number", row=line_no, column="Quantity"
            ) from None
        ot = {"LMT": "limit", "MKT": "market"}.get(r["ordertype"].upper())
        if ot is None:
            raise InputError(name, f"OrderType {r['ordertype']!r} is not LMT or MKT", row=line_no, column="OrderType")
        lp = np.nan
        if ot == "limit":
            try:
                lp = float(r.get("lmtprice", ""))
            except ValueError:
                raise InputError(
                    name, f"LmtPrice {r.get('lmtprice', '')!r} is not a price", row=line_no, column="LmtPrice"
                ) from None
        recs.append(
            {
                "symbol": canonical_symbol(r["symbol"]),
                "side": action.lower(),
                "qty": qty,
                "order_type": ot,
                "limit_price": lp,
                "time_in_force": (r.get("timeinforce") or "DAY").lower(),
                "basket_tag": r.get("baskettag", ""),
            }
        )
        rows.append(line_no)
    cols = ["symbol", "side", "qty", "order_type", "limit_price", "time_in_force", "basket_tag"]
    df = pd.DataFrame(recs, columns=cols, index=pd.Index(rows, name="row", dtype="int64"))
    df["qty"] = df["qty"].astype(float)
    df["limit_price"] = df["limit_price"].astype(float)
    return df


def default_basket_tag(day: str, orders_sha256: str) -> str:
    """``XLX20251030ab12cd34``: day + first 8 hex of the approved orders' sha256 (letters/digits only)."""
    return f"XLX{(day or 'nodate').replace('-', '')}{orders_sha256[:8]}"


__all__ = [
    "FORMATS",
    "BrokerFormat",
    "broker_format",
    "broker_symbol",
    "canonical_symbol",
    "convert_orders",
    "default_basket_tag",
    "draft_path",
    "output_name",
    "prepare_orders",
    "price_text",
    "read_ibkr_basket",
    "split_symbol",
]

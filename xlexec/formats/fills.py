"""Fills: every broker layout read into one canonical frame, with every row it skipped and why.

Canonical columns (the ``broker_fills.csv`` format, :data:`FILL_COLUMNS`): ``date``
(YYYY-MM-DD, the New York trade date), ``symbol`` (canonical: ``BRK B`` / ``BRK/B`` / ``BRK-B``
-> ``BRK.B``, :func:`xlexec.core.symbols.canonical_symbol`), ``side`` (buy|sell), ``shares``
(> 0, shares, fractions kept exactly as written), ``price`` ($/share, > 0), ``commission`` ($
paid, commissions + fees; **negative = a rebate** received, e.g. IBKR's positive
``IBCommission``), ``fill_time`` (as the broker wrote it, ISO when known), ``order_id``
(broker's), ``client_order_id`` (ours: the broker's "order reference", when it echoes it).
Then ``fill_id`` (the broker's execution id, '' when the layout has none; the journal
deduplicates on it) and the details (:data:`~xlexec.core.fills.FILL_DETAILS`): ``fees`` ($, the
fees part of ``commission``), ``currency`` (always the fund's base currency), ``account`` (''
when the layout does not say), ``fill_time_ny`` (ISO in New York; '' without a time zone: IBKR
Flex ``DateTime`` carries none, so it is read in config ``broker.flex_time_zone`` when set).

Rules every layout goes through (:func:`_apply_rules`, in this order, after the layout's own
reader has set non-fill rows aside):

1. **Instruments.** A row the layout marks as something other than a US equity/ETF (column
   ``instrument`` != '': options, bonds, funds, FX, crypto, cash sweeps) is *skipped* with the
   reason, never a reason to refuse the file.
2. **Accounts.** A file whose rows name more than one account is refused unless an account is
   chosen (``account=``: ``--account`` or ``broker.account`` in config.yaml); then only that
   account's rows are read (the others are skipped and listed). A chosen account the file
   does not hold is refused.
3. **Currency.** Every fill must be in ``base_currency`` (config ``base_currency``, default
   USD); a row in another currency is refused naming row, currency and the fix. A layout whose
   records carry no currency states the one its broker reports in (Alpaca, Schwab, Fidelity:
   USD); our own layout without a ``currency`` column is in the base currency.
4. **Types.** Dates, sides, positive shares and prices, commission signs; the first bad cell
   raises :class:`~xlexec.errors.InputError` naming file, row and the broker's column.

The result: the canonical frame (index = source row: the file's line, the sheet row, or the
record's 1-based position in a JSON list) with ``attrs``: ``format`` (layout name),
``skipped`` (``[{"row": n, "reason": text}]``, every row not read as a fill), ``skipped_rows``
(their count), ``account`` (the account read, '' when none is named).

Layouts (registered with :func:`register_layout`; detected from the header row, in
registration order; ``format=`` overrides):

``xlexec``
    our ``broker_fills.csv`` (``date,symbol,side,shares,price,commission,fill_time,order_id,
    client_order_id[,fill_id,fees,currency,account,fill_time_ny]``; leading ``#`` comment rows
    allowed).
``alpaca``
    Alpaca Trading API account activities (``GET /v2/account/activities/FILL``, documented at
    docs.alpaca.markets/us/docs/account-activities and .../reference/getaccountactivitiesbytype):
    a FILL is ``activity_type, cum_qty, id, leaves_qty, price, qty, side (buy|sell|sell_short),
    symbol, transaction_time, order_id, type (fill|partial_fill)``; ``order_status`` and
    ``account_id`` are Broker-API fields, read when present, never required. As a CSV/pasted
    table, as a saved JSON file (a list of activities, or ``{"activities": [...]}``; non-trade
    activities such as DIV are skipped and listed) or as the list of dicts /
    :class:`xlexec.execution.brokers.base.Fill` objects :meth:`Broker.fills` returns
    (:func:`fills_from_broker`). OCC option symbols and crypto pairs are skipped (not US
    equities). Alpaca reports no commission (0) and trades in USD.
``ibkr``
    Interactive Brokers Flex Query, *Trade Confirmation* section, CSV with column headers.
    Columns used: ``Symbol, Buy/Sell, Quantity, Price`` (``TradePrice`` in Activity Flex),
    ``Commission`` (``IBCommission``; negative = charged, positive = a rebate: our commission is
    its negation, so a rebate is a negative cost) plus ``Taxes`` (``Tax``; not part of IBKR's
    commission, same sign), ``fees`` = the part of that total that is not IBKR's commission: the
    taxes and a Trade Confirmation's ``ThirdPartyExecutionCommission``,
    ``ThirdPartyClearingCommission``, ``ThirdPartyRegulatoryCommission`` (exchange, clearing and
    regulatory fees IBKR passes through; 0 when the file carries none of these columns),
    ``TradeDate`` (yyyyMMdd or
    yyyy-MM-dd), ``Date/Time`` (``DateTime``), ``OrderID`` (``IBOrderID``), ``ExecID``
    (``TradeID``), ``OrderReference`` (the orderRef an API client sets: our client order id),
    ``AssetClass`` (only ``STK`` rows are fills of ours; others are skipped as instruments),
    ``CurrencyPrimary`` (``Currency``), ``ClientAccountID`` (``AccountId``), ``LevelOfDetail``
    (``EXECUTION`` rows are kept when present; ``ORDER`` rows are summaries of them),
    ``TransactionType`` / ``Buy/Sell`` = ``BUY (Ca.)`` / ``OrigTradeID`` (a *TradeCancel* row
    busts an earlier execution: both are skipped). Sources: IBKR's Flex field list as mirrored
    by the ``ib-flex`` crate (docs.rs/ib-flex, ``TradeConfirm``: exec_id, order_id, trade_date,
    date_time, buy_sell, quantity, price, commission, order_reference, level_of_detail,
    transaction_type) and real exports quoted in public parsers' tests (header
    ``"ClientAccountID",...,"TransactionType","TradeID","OrderID","ExecID",
    "BrokerageOrderID","OrderReference",...,"Date/Time","ReportDate","SettleDate",
    "TradeDate","Exchange","Buy/Sell","Quantity","Price","Amount","Proceeds",...,
    "Commission",...,"OrderType","LevelOfDetail",...``; cancel rows ``"BUY (Ca.)","-100"``).
    Flex XML (``Trades > Trade``, ``TradeConfirms > TradeConfirm``) and Flex CSVs with
    header/trailer records (``BOF``/``BOS``/``EOS``...), line descriptors (``HEADER``/``DATA``)
    or several sections in any order are read as a whole by :mod:`xlexec.formats.fills_ibkr`
    (:func:`register_document`) into this layout's frame; ``IBExecID`` is the fill id, a row
    whose ``Notes/Codes`` has ``Ca`` is a cancelled execution, a commission in another currency
    than the base is refused like a trade in one.
``schwab``
    Charles Schwab brokerage "Transaction History" CSV export: a title line
    ``"Transactions  for account ... as of ..."`` first, then
    ``"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"``,
    money like ``"$73.7789"``, dates ``MM/DD/YYYY`` or ``MM/DD/YYYY as of MM/DD/YYYY`` (the
    "as of" date is the trade date), a closing ``"Transactions Total"`` row. Only ``Buy`` /
    ``Sell`` (and ``Sell Short`` / ``Buy to Cover``) rows are fills; dividends, journals,
    reinvestments are skipped and listed; options (``Sell to Open``, ``AAPL 12/20/2024 200.00 C``),
    CUSIP securities, mutual funds (5-letter symbols ending in X) are skipped as instruments
    (:func:`_instrument_of`, also Fidelity's). The account is the title line's. Source:
    redstreet/beancount_reds_importers
    (``importers/schwab/schwab_csv_brokerage.py`` and its test file
    ``schwab_csv_brokerage_Transactions_123.csv``).
``fidelity``
    Fidelity "Activity & Orders" / ``History_for_Account_*.csv`` / ``Accounts_History.csv``
    export: blank (``,,,,``) preamble rows, then ``Run Date,Action,Symbol,Security Description,
    Security Type,Quantity,Price ($),Commission ($),Fees ($),Accrued Interest ($),Amount ($),
    Settlement Date`` (newer: ``Run Date,Account,Account Number,Action,Symbol,Description,
    Type,...,Currency,Price,Quantity,...,Commission,Fees,...``), values often with a leading
    space, sells with a negative quantity, a disclaimer footer. Fills are the ``YOU BOUGHT`` /
    ``YOU SOLD`` rows; commission = Commission + Fees (``fees`` = Fees). Source: redstreet/
    beancount_reds_importers (``importers/fidelity/fidelity_brokerage_csv.py``,
    ``fidelity_cma_csv_examples/History_for_Account_X8YYYYYYY.csv``,
    ``tests/fidelity_all_accounts_csv/*.csv``).

Public API: :func:`read_fills` (file: CSV in any layout, or a saved Alpaca activities JSON),
:func:`parse_fills_text`, :func:`read_fills_block` (a 2-D block pasted in the workbook's Fills
tab), :func:`fills_from_broker`, :func:`detect_format`, :func:`write_fills_csv`,
:func:`aggregate_fills`, :func:`fill_keys` (journal keys), :func:`skipped_of`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.core.arrays import filled
from xlexec.core.fills import (  # noqa: F401  (part of the fills API)
    FILL_COLUMNS,
    FILL_DETAILS,
    FILL_ID,
    aggregate_fills,
    empty_fills,
    fill_keys,
)
from xlexec.core.rows import exact_thousands, first_bad, parse_numeric, via_uniques
from xlexec.core.trades import symbols_of
from xlexec.errors import InputError
from xlexec.formats.csvio import (
    atomic_write_csv,
    own_copy,
    parse_table,
    read_text,
    split_comment_body,
    split_lines,
)

DECIMALS = {"price": 2, "commission": 2}
_MAX_PREAMBLE = 60  # lines scanned for a header row
_NY = "America/New_York"
BASE_CURRENCY = "USD"  # the default of config ``base_currency``


# ------------------------------------------------------------------ the layout registry


@dataclass
class LayoutRows:
    """What a layout's reader returns.

    ``rows``: a string frame in canonical column names (:data:`FILL_COLUMNS`, ``fill_id``, and
    any of ``fees``, ``fill_time_ny``), index = source row, one row per candidate fill, plus the
    rule columns: ``instrument`` ('' = a US equity/ETF; else what the row is, e.g. ``option
    (AssetClass OPT)``: the row is skipped with that reason), ``currency`` ('' = the layout's
    :attr:`Layout.currency`), ``account`` ('' = not stated).
    ``skipped``: ``[(row, reason)]`` for the rows the layout itself set aside (not fills:
    dividends, transfers, summary rows, busted executions)."""

    rows: pd.DataFrame
    skipped: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """One broker layout. ``matches(header)``: whether a header row (set of lower-cased, trimmed
    cells) is this layout's. ``read(frame, name)`` -> :class:`LayoutRows` from the string frame
    of the file (lower-cased header names, index = source row). ``source_columns``: canonical
    or rule column -> the broker's own column name (errors name what the operator sees).
    ``currency``: what the broker's records are in when a row does not say ('' = the base).
    ``records``: also read from JSON records (a list of dicts)."""

    name: str
    description: str
    matches: Callable[[set[str]], bool]
    read: Callable[[pd.DataFrame, str], LayoutRows]
    source_columns: Mapping[str, str]
    currency: str = ""
    records: bool = False


LAYOUTS: dict[str, Layout] = {}
FORMATS: dict[str, str] = {}  # name -> one-line description (in detection order)
_ALIASES: dict[str, str] = {}
# every header cell some layout reads (a repeated one is ambiguous; other repeats are ignored)
_READ_COLUMNS: set[str] = set()


def register_layout(
    name: str,
    description: str,
    *,
    matches: Callable[[set[str]], bool],
    reads: Iterable[str] = (),
    source_columns: Mapping[str, str] | None = None,
    currency: str = "",
    records: bool = False,
    aliases: Iterable[str] = (),
):
    """Decorator registering ``fn(frame, name) -> LayoutRows`` as layout ``name``.

    ``reads``: the (lower-case) header cells the reader uses: a file repeating one is refused
    as ambiguous. ``aliases``: other names ``--format`` accepts. Detection tries layouts in
    registration order, so a layout whose header is a superset of another's registers first."""

    def deco(fn: Callable[[pd.DataFrame, str], LayoutRows]):
        LAYOUTS[name] = Layout(name, description, matches, fn, dict(source_columns or {}), currency, records)
        FORMATS[name] = description
        _READ_COLUMNS.update(c.lower() for c in reads)
        for a in aliases:
            _ALIASES[a] = name
        return fn

    return deco


@dataclass(frozen=True)
class ReadRules:
    """The fund's reading rules: ``base_currency`` (ISO code every fill must be in),
    ``account`` (the one account to read from a file holding several; None = the file must
    hold at most one) and ``flex_time_zone`` (IANA zone of IBKR Flex ``DateTime`` values, which
    carry none; None = ``fill_time_ny`` stays '' for IBKR rows: never guessed)."""

    base_currency: str = BASE_CURRENCY
    account: str | None = None
    flex_time_zone: str | None = None

    @classmethod
    def of(
        cls, base_currency: str | None = None, account: str | None = None, flex_time_zone: str | None = None
    ) -> ReadRules:
        base = (base_currency or BASE_CURRENCY).strip().upper()
        acct = (account or "").strip() or None
        return cls(base, acct, (flex_time_zone or "").strip() or None)


def not_base_currency(
    name: str, what: str, currency: str, base: str, fix: str, *, row: int | None, column: str | None
) -> InputError:
    """The one refusal of a record (``what``: "fill", "position") in ``currency`` when the fund's
    money is ``base``: names file, row, column, the currency and ``fix``; nothing is converted."""
    return InputError(
        name,
        f"{what} in {currency}, but the fund's base currency is {base} (base_currency in config.yaml): {fix} "
        "(xlexec reads no FX rate file yet); nothing read",
        row=row,
        column=column,
    )


# ------------------------------------------------------------------ detection


def _norm(cells: Iterable[Any]) -> list[str]:
    return [("" if c is None else str(c)).strip().strip('"').strip().lower() for c in cells]


def _matches(fmt: str, h: set[str]) -> bool:
    return LAYOUTS[fmt].matches(h)


def detect_format(header_cells: Sequence[Any], *, name: str = "fills", row: int | None = None) -> str:
    """The layout whose header this is (one of :data:`FORMATS`); unknown -> :class:`InputError`.

    ``header_cells``: the header row's cells as read (any case, quotes and spaces tolerated).
    """
    h = set(_norm(header_cells)) - {""}
    for fmt in LAYOUTS:
        if _matches(fmt, h):
            return fmt
    raise _unknown(name, header_cells, row)


def _unknown(name: str, header_cells: Sequence[Any] | None, row: int | None, fmt: str | None = None) -> InputError:
    seen = ",".join(c for c in _norm(header_cells or []) if c)[:300] or "(nothing)"
    known = "; ".join(f"{k}: {v}" for k, v in FORMATS.items())
    what = f"not a {fmt} fills layout" if fmt else "unknown fills layout"
    return InputError(name, f"{what}; known formats (--format NAME): {known}; header seen: {seen}", row=row)


def _check_format(format: str | None, name: str) -> str | None:
    if format is None or str(format).strip().lower() in ("", "auto"):
        return None
    f = str(format).strip().lower()
    f = _ALIASES.get(f, f)
    if f not in LAYOUTS:
        raise InputError(name, f"--format {format!r} is not one of {', '.join(FORMATS)}")
    return f


# ------------------------------------------------------------------ helpers

# ------------------------------------------------------------------ helpers

_SIDE_WORDS = {
    "b": "buy",
    "s": "sell",
    "bot": "buy",
    "sld": "sell",
    "bought": "buy",
    "sold": "sell",
    "sell_short": "sell",
    "sell short": "sell",
    "buy to cover": "buy",
    "ssell": "sell",
}


def _numeric(df: pd.DataFrame, col: str, name: str, *, allow_empty: bool = False) -> pd.Series:
    """Fast path for clean numbers; anything else goes through :func:`parse_numeric` ($, commas,
    and the error naming row and column)."""
    raw = df[col]
    if raw.dtype == np.float64 and np.isfinite(raw.to_numpy()).all():
        return raw.copy()  # typed by the C parser (csvio.read_table's ``numbers``)
    v = pd.to_numeric(raw, errors="coerce").astype(float)
    fin = np.isfinite(v.to_numpy())
    if fin.all() or (allow_empty and bool(((raw.astype(str) == "") | fin).all())):
        return v
    return parse_numeric(df.assign(**{col: raw.astype(str)}), col, name, allow_empty=allow_empty)


def _texts(s: pd.Series) -> np.ndarray:
    """A column's cells as an object array, missing ones ''."""
    values = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # no cell missing: one scan, no mask
        return values  # (may be the column's own, read-only: the callers make new arrays)
    return s.to_numpy(dtype=object, na_value="")


_ISO_DAY = re.compile(r"(?:19|20|21)\d\d-\d\d-\d\d")  # years 1900-2199: well inside what pandas parses


def _plain_iso_day(value: object) -> bool:
    """``value`` is already a valid ``YYYY-MM-DD`` date (what :func:`_iso_dates` gives back unchanged)."""
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _stripped_texts(values: np.ndarray) -> np.ndarray:
    """``str(v).strip()`` of each cell (an object array); a column of text (one currency, one
    account in 200,000 rows) is stripped once per distinct cell."""
    if len(values) and type(values[0]) is str and len(set(values)) == 1:  # one text in every row
        return filled(len(values), values[0].strip())
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return np.asarray([str(v).strip() for v in values], dtype=object)
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    return np.asarray([u.strip() for u in uniq], dtype=object)[codes]


def _side_words(u: pd.Series) -> list[str]:
    """Distinct side cells -> lower-case, stripped, broker words read (``BOT`` -> ``buy``)."""
    out = []
    for v in u.astype(str):
        w = v.lower().strip()
        out.append(_SIDE_WORDS.get(w, w))
    return out


def _plain_sides(s: pd.Series) -> pd.Series | None:
    """The side column when every cell is already ``buy`` or ``sell`` (what :func:`_side_words`
    gives back unchanged), found by a set of its cells; None otherwise."""
    values = _texts(s)
    if not set(values) <= {"buy", "sell"}:
        return None
    return pd.Series(values.copy(), index=s.index, dtype=object)  # (a copy: ``values`` may be the column's own)


def _zero_filled(v: pd.Series) -> pd.Series:
    """``v.fillna(0.0) + 0.0`` (a float column: missing = 0, ``-0.0`` = 0.0) in numpy."""
    a = v.to_numpy(dtype=np.float64)
    return pd.Series(np.where(np.isnan(a), 0.0, a) + 0.0, index=v.index)


def canonical_from_strings(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Type-check a string frame already in canonical column names (index = source row)."""
    return _canonical(df, name, df.get("currency"), df.get("account"))


def _canonical(df: pd.DataFrame, name: str, currency: pd.Series | None, account: pd.Series | None) -> pd.DataFrame:
    """:func:`canonical_from_strings` of ``df`` with its ``currency`` and ``account`` columns given
    apart (None: not stated), row for row (the rules make them; no frame is rebuilt to hold them)."""
    n = len(df)
    cols: dict[str, Any] = {}

    def text(values) -> pd.Series:
        return pd.Series(values, index=df.index, dtype=object)

    if "date" in df.columns:
        raw = _texts(df["date"])
        if all(_plain_iso_day(x) for x in set(raw)):  # the distinct days, by a set: no factorizing
            cols["date"] = text(raw)
        else:
            codes, uniq = pd.factorize(raw, use_na_sentinel=False)
            first_pos = pd.Series(np.arange(len(raw))).groupby(codes).first().to_numpy()
            u = _iso_dates(pd.Series(np.asarray(uniq, dtype=object), dtype=object), name, df.index[first_pos], "date")
            cols["date"] = text(np.asarray(u, dtype=object)[codes])
    else:
        cols["date"] = text(filled(n, ""))
    cols["symbol"] = symbols_of(df, name)
    side = _plain_sides(df["side"])
    bad = None
    if side is None:
        side = via_uniques(df["side"].astype(object), _side_words)
        bad = ~side.isin(["buy", "sell"])
    if bad is not None and bad.any():
        i = first_bad(bad)
        raise InputError(
            name, f"side must be buy or sell, got {str(df['side'].iloc[i])[:20]!r}", row=int(df.index[i]), column="side"
        )
    cols["side"] = side
    cols["shares"] = _numeric(df, "shares", name)
    nonpos = cols["shares"].to_numpy() <= 0
    if nonpos.any():
        i = first_bad(nonpos)
        raise InputError(name, "shares must be positive", row=int(df.index[i]), column="shares")
    cols["price"] = _numeric(df, "price", name)
    nonpos = cols["price"].to_numpy() <= 0
    if nonpos.any():
        i = first_bad(nonpos)
        raise InputError(name, "price must be positive", row=int(df.index[i]), column="price")
    cols["commission"] = (  # signed: $ paid, negative = a rebate (each layout's reader sets the sign)
        _zero_filled(_numeric(df, "commission", name, allow_empty=True))
        if "commission" in df.columns
        else pd.Series(0.0, index=df.index)
    )
    for c in ("fill_time", "order_id", "client_order_id", FILL_ID):
        cols[c] = text(_texts(df[c]) if c in df.columns else filled(n, ""))
    cols["fees"] = (
        _zero_filled(_numeric(df, "fees", name, allow_empty=True))
        if "fees" in df.columns
        else pd.Series(0.0, index=df.index)
    )
    for c, given in (("currency", currency), ("account", account)):
        cols[c] = text(_stripped_texts(_texts(given)) if given is not None else filled(n, ""))
    ny = _ny_times(cols["fill_time"])
    if "fill_time_ny" in df.columns:  # the layout's own New York time wins
        given = _texts(df["fill_time_ny"])
        ny = np.where(given != "", given, ny)
    cols["fill_time_ny"] = text(ny)
    return pd.DataFrame(cols, index=df.index, copy=False)  # every column made here: none to copy


_HAS_ZONE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


def _ny_times(s: pd.Series) -> np.ndarray:
    """ISO date-times that carry a zone (``Z`` or an offset) -> the same instant in New York, ISO
    with its offset; anything else (no zone, not a time) -> '' (an object array). In a big file
    each distinct cell is converted once (a day's 200,000 fills carry some 20,000 distinct
    seconds); a small one (a few thousand fills, nearly all distinct) is converted as it is."""
    values = _texts(s)
    fast = _utc_in_ny_plain(values)
    if fast is not None:
        return fast
    if len(values) >= _DISTINCT_TIMES_FROM:
        codes, uniq = pd.factorize(values, use_na_sentinel=False)
        if len(uniq) < len(values):
            return _ny_times_of(np.asarray(uniq, dtype=object))[codes]
    return _ny_times_of(values)


_DISTINCT_TIMES_FROM = 20_000  # rows from which finding the distinct times first pays


def _ny_times_of(values: np.ndarray) -> np.ndarray:
    """:func:`_ny_times` of an object array of cells."""
    t = [str(v).strip() for v in values]
    u = np.asarray(t, dtype=str)
    if len(t) and (np.char.endswith(u, "Z") & (np.char.find(u, "T") >= 0)).all():
        zoned = np.ones(len(t), dtype=bool)  # every time UTC ISO (``...T...Z``): no regex per row
    else:
        zoned = np.asarray([(v[-1:] in ("Z", "z") or bool(_HAS_ZONE.search(v))) and "T" in v for v in t], dtype=bool)
    out = filled(len(t), "")
    if zoned.any():
        p = pd.to_datetime(
            pd.Index(np.asarray(t, dtype=object)[zoned], dtype=object), utc=True, errors="coerce", format="ISO8601"
        )
        ok = ~np.asarray(p.isna())
        if ok.any():
            where = np.flatnonzero(zoned)[ok]
            out[where] = _iso_in_ny(p[ok])
    return out


#: ``YYYY-MM-DDTHH:MM:SSZ``, byte by byte: the lowest and highest byte each place takes
_UTC_ISO_LOW = np.frombuffer(b"0000-00-00T00:00:00Z\n", dtype=np.uint8)
_UTC_ISO_HIGH = np.frombuffer(b"9999-99-99T99:99:99Z\n", dtype=np.uint8)
#: years whose New York times :func:`_utc_in_ny_plain` converts (the zone's offsets there are
#: whole minutes; before 1883 New York kept local mean time, -04:56:02)
_PLAIN_YEARS = (1900, 2199)
#: UTC hours spanned by a column up to which New York's offset is looked up for every hour between
#: its first and last (beyond: for its distinct hours, sorted out first)
_HOUR_SPAN = 24 * 800
#: days in each month of a common year
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (int64 arrays; H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _civil_from_days(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (the inverse of :func:`_days_from_civil`)."""
    z = z + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (m <= 2), m, d


def _utc_seconds_plain(values: np.ndarray) -> np.ndarray | None:
    """Seconds since 1970 (int64) of cells that are all exactly ``YYYY-MM-DDTHH:MM:SSZ`` (valid
    dates and times of years :data:`_PLAIN_YEARS`), by integer arithmetic on their bytes; None
    when any cell is anything else (blank, another zone, fractions of a second, not text)."""
    n = len(values)
    if n == 0:
        return None
    try:
        joined = "\n".join(values)
    except TypeError:  # a cell that is not text
        return None
    if len(joined) != 21 * n - 1 or not joined.isascii():
        return None
    b = np.frombuffer((joined + "\n").encode("ascii"), dtype=np.uint8).reshape(n, 21)
    # each place in range, every 21st byte a line end: with the length, every cell is 20 characters
    if not ((b >= _UTC_ISO_LOW) & (b <= _UTC_ISO_HIGH)).all():
        return None
    c = np.ascontiguousarray(b[:, :19].T).astype(np.int64) - 48  # one row per place
    year = c[0] * 1000 + c[1] * 100 + c[2] * 10 + c[3]
    month, day = c[5] * 10 + c[6], c[8] * 10 + c[9]
    hour, minute, second = c[11] * 10 + c[12], c[14] * 10 + c[15], c[17] * 10 + c[18]
    lo, hi = _PLAIN_YEARS
    if not (
        (year >= lo).all() and (year <= hi).all() and (month >= 1).all() and (month <= 12).all() and (day >= 1).all()
    ):
        return None
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    if (day > _MONTH_DAYS[month - 1] + (leap & (month == 2))).any() or (hour > 23).any():  # 2025-02-30, 24:00
        return None
    if (minute > 59).any() or (second > 59).any():
        return None
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _ny_offsets(utc: np.ndarray) -> np.ndarray:
    """New York's offset from UTC (seconds, int64) at each of ``utc`` (seconds since 1970)."""
    t = pd.DatetimeIndex(utc.astype("datetime64[s]")).tz_localize("UTC").tz_convert(_NY)
    return t.tz_localize(None).to_numpy().astype("datetime64[s]").view(np.int64) - utc


#: where the two-digit fields of ``2025-10-30T09:30:00-04:00`` start
_NY_FIELDS = (0, 2, 5, 8, 11, 14, 17, 20, 23)
_NY_DIGIT = np.zeros(26, dtype=bool)
_NY_DIGIT[[i + k for i in _NY_FIELDS for k in (0, 1)]] = True


def _utc_in_ny_plain(values: np.ndarray) -> np.ndarray | None:
    """:func:`_ny_times` of a column whose cells are all plain UTC ISO seconds
    (``2025-10-30T13:30:00Z``, :func:`_utc_seconds_plain`), without parsing one: integer arithmetic,
    New York's offset looked up once per UTC hour (the zone changes offset on whole UTC hours; a
    column with an hour whose first and last second differ is not taken), the text
    (``2025-10-30T09:30:00-04:00``, as ``_iso_in_ny`` writes it) made as bytes at once. None when
    the column is not all such cells (then each is parsed)."""
    secs = _utc_seconds_plain(values)
    if secs is None:
        return None
    hours = secs // 3600
    low = int(hours.min())
    span = int(hours.max()) - low + 1
    if span <= _HOUR_SPAN:
        uniq, at = np.arange(low, low + span, dtype=np.int64), hours - low
    else:
        uniq, at = np.unique(hours, return_inverse=True)
        at = at.ravel()
    starts = uniq * 3600
    both = _ny_offsets(np.concatenate([starts, starts + 3599]))
    off = both[: len(starts)]
    if not (off == both[len(starts) :]).all() or (off % 60 != 0).any():
        return None
    off = off[at]
    local = secs + off
    days, sod = local // 86400, local % 86400
    year, month, day = _civil_from_days(days)
    minutes = np.abs(off) // 60
    fields = (year // 100, year % 100, month, day, sod // 3600, sod // 60 % 60, sod % 60, minutes // 60, minutes % 60)
    out = np.empty((26, len(secs)), dtype=np.uint8)  # one row a place of the text (columns: the texts)
    out[:] = np.frombuffer(b"0000-00-00T00:00:00+00:00\n", dtype=np.uint8)[:, None]
    for pos, value in zip(_NY_FIELDS, fields, strict=True):
        out[pos], out[pos + 1] = np.divmod(value, 10)
    out[_NY_DIGIT] += 48
    out[19] = np.where(off < 0, ord("-"), ord("+"))
    text = out.T.tobytes().decode("ascii").split("\n")
    text.pop()  # after the last line end
    res = np.empty(len(text), dtype=object)
    res[:] = text
    return res


#: IBKR Flex ``DateTime`` forms (the Flex query's date and time format settings), after ``;`` /
#: ``,`` / ``T`` between date and time are made one space
_FLEX_TIME_FORMATS = ("%Y%m%d %H%M%S", "%Y-%m-%d %H:%M:%S", "%Y%m%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S")


def local_times_in_ny(s: pd.Series, zone: str) -> pd.Series:
    """Zone-less date-times (IBKR Flex ``DateTime``: ``20251030;094512``) read as wall-clock times
    in ``zone`` (IANA name) -> the same instant in New York, ISO with its offset. A value in no
    known form, a date alone, or a wall-clock time the zone skips or repeats (DST) -> ''."""
    t = pd.Series([re.sub(r"\s*[;,T]\s*|\s+", " ", str(v).strip()) for v in _texts(s)], index=s.index, dtype=object)
    out = pd.Series("", index=s.index, dtype=object)
    todo = t != ""
    for f in _FLEX_TIME_FORMATS:
        if not todo.any():
            break
        p = pd.to_datetime(t[todo], format=f, errors="coerce")
        got = p.notna()
        if got.any():
            local = pd.DatetimeIndex(p[got]).tz_localize(ZoneInfo(zone), ambiguous="NaT", nonexistent="NaT")
            ok = ~np.asarray(local.isna())
            where = p[got].index[ok]
            out[where] = _iso_in_ny(local[ok].tz_convert("UTC"))  # _iso_in_ny takes UTC instants
            todo[p[got].index] = False
    return out


def _iso_in_ny(p: pd.DatetimeIndex) -> np.ndarray:
    """Tz-aware instants -> ``Timestamp.isoformat()`` of each in New York (``2025-10-30T09:30:00-04:00``):
    whole seconds with a whole-minute offset formatted by numpy at once, any other (fractions of a
    second, the 1800s' local mean time) by ``isoformat`` itself."""
    ny = p.tz_convert(_NY)
    local = ny.tz_localize(None).to_numpy()
    offset = local - p.tz_localize(None).to_numpy()
    unit, _ = np.datetime_data(local.dtype)
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(unit)
    if per_second is None:
        return np.asarray([_isoformat(x) for x in ny], dtype=object)
    per_minute = 60 * per_second
    off = offset.view("i8")
    plain = (local.view("i8") % per_second == 0) & (off % per_minute == 0)
    out = np.empty(len(p), dtype=object)
    if plain.any():
        minutes, codes = np.unique(off[plain] // per_minute, return_inverse=True)
        zone = np.asarray(
            [f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in minutes], dtype=object
        )
        out[plain] = np.datetime_as_string(local[plain], unit="s").astype(object) + zone[codes.ravel()]
    if not plain.all():
        out[~plain] = [_isoformat(x) for x in ny[~plain]]
    return out


def _isoformat(t: pd.Timestamp) -> str:
    """``t.isoformat()``; '' for an instant whose New York time Python's datetime cannot hold
    (``0001-01-01T00:00:00Z`` is 31 December of year 0 there): no New York time, as for a time
    without a zone."""
    try:
        return t.isoformat()
    except (NotImplementedError, ValueError, OverflowError):
        return ""


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m/%d/%y", "%Y/%m/%d")


def _iso_dates(s: pd.Series, name: str, index, column: str) -> pd.Series:
    """Dates in any layout's form -> ``YYYY-MM-DD`` ('' stays ''); bad ones raise naming row."""
    s = s.fillna("").astype(str).str.strip()
    # "04/17/2023 as of 04/15/2023" -> the "as of" (trade) date; "2021-03-03,10:32:45" / "20260413;090000"
    asof = s.str.extract(r"as of\s+(\S+)", expand=False)
    s = asof.where(asof.notna(), s).astype(str)
    head = s.str.split(r"[;, T]", n=1, regex=True).str[0].fillna("")
    out = pd.Series("", index=s.index, dtype=object)
    todo = head != ""
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(head[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        idx = parsed.index[ok]
        out.loc[idx] = parsed[ok].dt.strftime("%Y-%m-%d").astype(object)
        todo.loc[idx] = False
    if todo.any():
        i = first_bad(todo)
        raise InputError(
            name,
            f"{column} {s.iloc[i][:40]!r} is not a date (YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD)",
            row=int(index[i]),
            column=column,
        )
    return out


def _ny_dates(ts: pd.Series, name: str, index, column: str) -> pd.Series:
    """ISO timestamps (UTC when no offset) -> New York trade date."""
    s = ts.fillna("").astype(str).str.strip()
    t = pd.to_datetime(s.where(s != "", None), utc=True, errors="coerce", format="ISO8601")
    bad = t.isna() & (s != "")
    if bad.any():
        i = first_bad(bad)
        raise InputError(name, f"{column} {s.iloc[i][:40]!r} is not an ISO date-time", row=int(index[i]), column=column)
    d = t.dt.tz_convert(_NY).dt.strftime("%Y-%m-%d")
    return d.where(t.notna(), "").astype(object)


def _col(df: pd.DataFrame, *names: str, default: str | None = "") -> pd.Series:
    for n in names:
        if n in df.columns:
            return df[n]
    if default is None:
        raise KeyError(names[0])
    return pd.Series(default, index=df.index, dtype=object)


def _stripped(df: pd.DataFrame, col: str) -> pd.Series:
    """``df[col]`` as stripped text; a column the layout does not have: '' in every row."""
    if col not in df.columns:
        return pd.Series("", index=df.index, dtype=object)
    return df[col].astype(str).str.strip()


def _num_text(s: pd.Series) -> pd.Series:
    """'$1,234.50' / '(12.5)' / '-$3.00' -> '1234.50' / '-12.5' / '-3.00' (still text)."""
    t = s.astype(str).str.strip().str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    t = t.str.replace("$", "", regex=False).str.strip()
    comma = t.str.contains(",", regex=False)
    if comma.any():  # only exact thousands groups lose their commas: '1,5' stays and is refused
        grouped = comma & via_uniques(t, lambda u: u.map(exact_thousands)).astype(bool)
        t = t.where(~grouped, t.str.replace(",", "", regex=False))
    return t


def _negated_text(s: pd.Series) -> pd.Series:
    """'-0.35' -> '0.35', '0.12' -> '-0.12', '' stays '' (text; IBKR's commission sign flipped)."""
    t = _num_text(s)
    neg = t.str.startswith("-")
    pos = t.str.startswith("+")
    return t.where(~neg, t.str[1:]).where(~pos, "-" + t.str[1:]).where(neg | pos | (t == ""), "-" + t)


def _abs_text(s: pd.Series) -> pd.Series:
    return _num_text(s).str.replace(r"^[+-]", "", regex=True)  # one sign only: '--1' stays bad


# ------------------------------------------------------------------ the rules every layout goes through


def _src(fmt: str, col: str) -> str:
    return LAYOUTS[fmt].source_columns.get(col, col)


def _apply_rules(lr: LayoutRows, name: str, fmt: str, rules: ReadRules) -> pd.DataFrame:
    """Instruments, accounts, currency, then types (see the module docstring); the canonical
    frame with ``attrs`` format / skipped / skipped_rows / account."""
    rows = lr.rows
    skipped = list(lr.skipped)
    every = _stripped(rows, "account")  # accounts of every row, options and bonds too
    # 1. instruments: anything but a US equity/ETF is listed, not read
    if "instrument" in rows.columns:
        inst = _stripped(rows, "instrument")
        other = inst != ""
        if other.any():
            skipped += [(int(lab), f"not a US equity/ETF: {inst[lab]}") for lab in rows.index[other]]
            rows = rows[~other]
    # 2. accounts: one per read
    acct = every if rows is lr.rows else _stripped(rows, "account")
    stated = list(dict.fromkeys(a for a in every if a)) if "account" in rows.columns else []
    chosen = rules.account
    if chosen:
        if stated and chosen not in stated:
            raise InputError(
                name,
                f"account {chosen!r} (--account / broker.account) is not in this file; its accounts: "
                f"{', '.join(stated[:10])}: pass one of them",
                row=int(every.index[0]),
                column=_src(fmt, "account"),
            )
        theirs = (acct != "") & (acct != chosen)
        skipped += [(int(lab), f"account {acct[lab]}, not {chosen}") for lab in rows.index[theirs]]
        rows, acct = rows[~theirs], acct[~theirs]
    elif len(stated) > 1:
        second = first_bad(every == stated[1])
        raise InputError(
            name,
            f"{len(stated)} accounts in one file ({', '.join(stated[:10])}): pass --account ID (or set "
            "broker.account in config.yaml) to read one; fills of several accounts are never mixed into one book",
            row=int(every.index[second]),
            column=_src(fmt, "account"),
        )
    account = chosen or (stated[0] if stated else "")
    # 3. currency: the base currency only, never silently read as dollars
    base = rules.base_currency
    if "currency" in rows.columns:
        cur = _col(rows, "currency").astype(str).str.strip().str.upper()
        cur = cur.where(cur != "", LAYOUTS[fmt].currency or base)
    else:
        cur = pd.Series(LAYOUTS[fmt].currency or base, index=rows.index, dtype=object)
    # a layout without the column: one currency in every row, the base or not
    bad = cur != base if "currency" in rows.columns or (LAYOUTS[fmt].currency or base) != base else None
    if bad is not None and bad.any():
        i = first_bad(bad)
        raise not_base_currency(
            name,
            "fill",
            str(cur.iloc[i]),
            base,
            f"convert the file's prices and commissions to {base} before importing",
            row=int(rows.index[i]),
            column=_src(fmt, "currency"),
        )
    # (the instrument column stays: the canonical frame is made of the columns it names only)
    if fmt == "ibkr" and rules.flex_time_zone and "fill_time" in rows.columns:
        rows = rows.assign(fill_time_ny=local_times_in_ny(rows["fill_time"], rules.flex_time_zone))
    # 4. types
    if rows.empty:
        res = empty_fills()
    else:
        try:
            res = _canonical(rows, name, cur, acct)
        except InputError as e:
            col = e.column or ""
            src = LAYOUTS[fmt].source_columns.get(col)
            if not src:
                raise
            msg = e.message
            if msg.startswith(f"{col} "):
                msg = f"{src} {msg[len(col) + 1 :]}"
            raise InputError(e.file, msg, e.row, src) from None
    skipped.sort(key=lambda x: x[0])
    res.attrs.update(
        format=fmt,
        skipped=[{"row": r, "reason": why} for r, why in skipped],
        skipped_rows=len(skipped),
        account=account,
    )
    return res


def skipped_of(fills: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows a read skipped, ``[{"row": n, "reason": text}]`` (``[]`` when none)."""
    return list(fills.attrs.get("skipped") or [])


def _read_layout(df: pd.DataFrame, name: str, fmt: str, rules: ReadRules) -> pd.DataFrame:
    set_aside = list(df.attrs.get("set_aside") or [])  # rows a whole-file reader set aside
    lr = LAYOUTS[fmt].read(df, name)
    lr.skipped = set_aside + list(lr.skipped)
    return _apply_rules(lr, name, fmt, rules)


#: whole-file readers, for files that are not one header row over a table (IBKR Flex XML,
#: sectioned Flex CSVs): ``(layout, claims(text) -> bool, frame(text, name) -> DataFrame)``. The
#: frame is what ``layout``'s reader takes; ``frame.attrs["set_aside"]`` = ``[(row, reason)]``
#: (other sections, trailer records) joins the rows skipped.
DOCUMENTS: list[tuple[str, Callable[[str], bool], Callable[[str, str], pd.DataFrame]]] = []


def register_document(layout: str, claims: Callable[[str], bool]):
    """Decorator registering ``fn(text, name) -> DataFrame`` as a whole-file reader for ``layout``."""

    def deco(fn: Callable[[str, str], pd.DataFrame]):
        DOCUMENTS.append((layout, claims, fn))
        return fn

    return deco


# ------------------------------------------------------------------ per layout (string frame, lower-case header)


def _is_xlexec(h: set[str]) -> bool:
    # a trades.csv has these columns too: refuse it unless it carries a fill's columns
    looks_like_trades = {"weight_change", "total_cost_est"} <= h and not (
        {"fill_time", "order_id", "client_order_id", "commission", "fill_id"} & h
    )
    return {"symbol", "side", "shares", "price"} <= h and not looks_like_trades


@register_layout(
    "xlexec",
    "our broker_fills.csv (date,symbol,side,shares,price,commission,...)",
    matches=_is_xlexec,
    reads=[*FILL_COLUMNS, FILL_ID, *FILL_DETAILS],
    aliases=("broker_fills", "csv", "canonical"),
)
def _from_xlexec(df: pd.DataFrame, name: str) -> LayoutRows:
    return LayoutRows(df)


# Alpaca symbols that are not US equities: OCC option symbols (root, yymmdd, C/P, strike x 1000)
# and crypto pairs (``BTC/USD``: docs.alpaca.markets crypto trading)
_OCC_OPTION = re.compile(r"^[A-Z]{1,6}\d{6}[CP]\d{8}$")
_CRYPTO_PAIR = re.compile(r"^[A-Z0-9]{2,10}/(?:USD|USDT|USDC|BTC|ETH)$")


def _alpaca_instrument(symbol: str) -> str:
    s = symbol.strip().upper()
    if _OCC_OPTION.match(s):
        return f"option (OCC symbol {s})"
    if _CRYPTO_PAIR.match(s):
        return f"crypto ({s})"
    return ""


@register_layout(
    "alpaca",
    "Alpaca account activities FILL (id,order_id,symbol,side,qty,price,transaction_time; CSV or saved JSON)",
    matches=lambda h: {"symbol", "side", "qty", "price"} <= h and bool({"transaction_time", "activity_type"} & h),
    reads=["id", "qty", "transaction_time", "activity_type", "order_id", "account_id", "client_order_id"],
    source_columns={"shares": "qty", "date": "transaction_time", "fill_time": "transaction_time"},
    currency="USD",  # the Trading API trades US securities in USD (TradeAccount.currency: "USD")
    records=True,
)
def _from_alpaca(df: pd.DataFrame, name: str) -> LayoutRows:
    for c in ("symbol", "side", "qty", "price"):
        if c not in df.columns:
            df = df.assign(**{c: ""})
    kind = _col(df, "activity_type").str.strip().str.upper()
    keep = kind.isin(["FILL", ""])
    skipped = [(int(lab), f"activity {kind[lab]} is not a fill") for lab in df.index[~keep]]
    d = df[keep]
    out = pd.DataFrame(index=d.index)
    tt = _col(d, "transaction_time")
    out["date"] = _ny_dates(tt, name, d.index, "transaction_time")
    if "date" in d.columns:  # an explicit trade date wins
        out["date"] = d["date"].where(d["date"] != "", out["date"])
    out["symbol"] = d["symbol"]
    out["side"] = d["side"]
    out["shares"] = _abs_text(d["qty"])
    out["price"] = d["price"]
    out["commission"] = _col(d, "commission")
    out["fill_time"] = tt
    out["order_id"] = _col(d, "order_id")
    out["client_order_id"] = _col(d, "client_order_id")
    out[FILL_ID] = _col(d, "id", "fill_id")
    out["instrument"] = d["symbol"].map(_alpaca_instrument) if len(d) else ""
    return LayoutRows(out, skipped)


_IBKR_ASSETS = {
    "OPT": "option",
    "FOP": "futures option",
    "FUT": "future",
    "BOND": "bond",
    "BILL": "T-bill",
    "CASH": "FX",
    "FUND": "fund",
    "WAR": "warrant",
    "CFD": "CFD",
    "CMDTY": "commodity",
    "CRYPTO": "crypto",
    "IOPT": "structured product",
}


#: IBKR's tax on a trade (Activity Flex ``Taxes``, Trade Confirmation ``Tax``): not part of
#: ``IBCommission`` / ``Commission`` (IBKR Reporting Reference, Trades: "Taxes: the total amount
#: of tax for the transaction", "IB Commission: the total amount of commission")
_IBKR_TAXES = ("taxes", "tax")
#: the parts of a Trade Confirmation's ``Commission`` that third parties charge (exchanges,
#: clearing houses, regulators: IBKR passes them through); the rest (``BrokerExecutionCommission``,
#: ``BrokerClearingCommission``, ``OtherCommission``) is IBKR's own commission. Field names: IBKR
#: Reporting Reference (Trade Confirmation Flex) and csingley/ibflex ``Types.py`` ``TradeConfirm``.
_IBKR_FEE_PARTS = ("thirdpartyexecutioncommission", "thirdpartyclearingcommission", "thirdpartyregulatorycommission")


def _ibkr_money(d: pd.DataFrame, cols: Iterable[str], name: str) -> pd.Series | None:
    """The sum of IBKR money columns ``cols`` present in ``d`` (IBKR's sign: negative = charged;
    empty = 0), None when none is present; a cell that is not a number raises naming it."""
    total = None
    for c in cols:
        if c not in d.columns:
            continue
        raw = _num_text(d[c])
        v = pd.to_numeric(raw.replace("", "0"), errors="coerce")
        if v.isna().any():
            i = first_bad(v.isna())
            raise InputError(name, f"{c} is not a number: {raw.iloc[i][:40]!r}", row=int(d.index[i]), column=c)
        total = v if total is None else total + v
    return total


def _ibkr_commission(d: pd.DataFrame, name: str) -> tuple[pd.Series, pd.Series | None]:
    """(commission, fees) as text, in $ paid (negative = a rebate): commission = the total IBKR
    charged (``Commission`` / ``IBCommission`` plus ``Taxes`` / ``Tax``), fees = the part of it
    that is not IBKR's commission (taxes and the third-party parts), None when the file does not
    say (no tax or third-party column)."""
    comm = _negated_text(_col(d, "commission", "ibcommission")).replace("", "0")
    taxes = _ibkr_money(d, _IBKR_TAXES, name)
    parts = _ibkr_money(d, _IBKR_FEE_PARTS, name)
    if taxes is None and parts is None:
        return comm, None
    zero = pd.Series(0.0, index=d.index)
    t = taxes if taxes is not None else zero
    fees = -(t + (parts if parts is not None else zero))
    if bool((t == 0).all()):
        total = comm  # IBKR's own text, exactly as written
    else:
        c = pd.to_numeric(comm, errors="coerce")
        total = (c - t).round(8).map(repr).where(c.notna(), comm)  # not a number: refused later, naming it
    return total, (fees.round(8) + 0.0).map(repr)


@register_layout(
    "ibkr",
    "IBKR Flex trade confirmation (Symbol,Buy/Sell,Quantity,Price,Commission,...)",
    matches=lambda h: {"symbol", "buy/sell", "quantity"} <= h and bool({"price", "tradeprice"} & h),
    reads=[
        "symbol",
        "quantity",
        "buy/sell",
        "tradedate",
        "date/time",
        "datetime",
        "price",
        "tradeprice",
        "commission",
        "ibcommission",
        "orderid",
        "iborderid",
        "orderreference",
        "execid",
        "tradeid",
        "transactionid",
        "transactiontype",
        "origtradeid",
        "ibexecid",
        "notes/codes",
        "ibcommissioncurrency",
        "commissioncurrency",
        "assetclass",
        "levelofdetail",
        "currencyprimary",
        "clientaccountid",
        *_IBKR_TAXES,
        *_IBKR_FEE_PARTS,
    ],
    source_columns={
        "date": "TradeDate",
        "symbol": "Symbol",
        "side": "Buy/Sell",
        "shares": "Quantity",
        "price": "Price",
        "commission": "Commission",
        "currency": "CurrencyPrimary",
        "account": "ClientAccountID",
    },
    aliases=("ib", "flex", "interactive_brokers"),
)
def _from_ibkr(df: pd.DataFrame, name: str) -> LayoutRows:
    bs = df["buy/sell"].str.upper().str.strip()
    ttype = _col(df, "transactiontype").str.strip().str.lower()
    skipped: list[tuple[int, str]] = []
    keep = pd.Series(True, index=df.index)
    if "levelofdetail" in df.columns:
        lod = df["levelofdetail"].str.upper()
        if (lod == "EXECUTION").any():
            summary = ~lod.isin(["EXECUTION", ""])
            skipped += [
                (int(lab), f"LevelOfDetail {lod[lab]}: a summary of the executions read") for lab in df.index[summary]
            ]
            keep &= ~summary
    notes = _col(df, "notes/codes", "notes", "code").str.upper()
    cancelled = notes.str.contains(r"(?:^|[;,\s])CA(?:$|[;,\s])", regex=True)  # Notes/Codes "Ca": busted
    cancel = keep & ((ttype.isin(["tradecancel", "fracsharecancel"])) | bs.str.contains("(CA.)", regex=False))
    drop = (~keep) | cancel
    if cancel.any():
        tid = _col(df, "tradeid").str.strip()
        orig = _col(df, "origtradeid").str.strip()
        exe = _col(df, "ibexecid", "execid").str.strip()
        labels = list(df.index)
        pos = {lab: i for i, lab in enumerate(labels)}
        for lab in df.index[cancel]:
            target = orig[lab] or tid[lab]
            if not (target or exe[lab]):
                raise InputError(
                    name,
                    "a trade cancel row that names no trade (OrigTradeID, TradeID and IBExecID are all empty): "
                    "add Trade ID and IB Execution ID to the Flex query, or export it without cancelled trades",
                    row=int(lab),
                    column="TransactionType" if ttype[lab] else "Buy/Sell",
                )
            cands = [
                c
                for c in df.index[keep & ~drop & ~cancel]
                if c != lab and ((target and tid[c] == target) or (exe[lab] and exe[c] == exe[lab]))
            ]
            cands.sort(key=lambda c: (pos[c] > pos[lab], pos[c]))  # the busted execution, usually above
            if not cands:
                raise InputError(
                    name,
                    f"trade cancel for trade {target or exe[lab]} but that "
                    "execution is not in this file; export a range that includes it",
                    row=int(lab),
                    column="Buy/Sell",
                )
            drop[cands[0]] = True
            skipped += [
                (int(lab), f"trade cancel of trade {target or exe[lab]} (row {cands[0]})"),
                (int(cands[0]), f"execution busted by the trade cancel on row {lab}"),
            ]
    alone = cancelled & ~drop  # a cancelled execution whose cancel row the query left out
    skipped += [(int(lab), "execution cancelled by IBKR (Notes/Codes Ca)") for lab in df.index[alone]]
    drop |= alone
    d = df[~drop]
    out = pd.DataFrame(index=d.index)
    td = _col(d, "tradedate")
    dtm = _col(d, "date/time", "datetime")
    out["date"] = td.where(td != "", dtm)
    out["symbol"] = d["symbol"]
    out["side"] = d["buy/sell"].str.replace(r"\s*\(.*\)$", "", regex=True)
    out["shares"] = _abs_text(d["quantity"])
    out["price"] = _col(d, "price", "tradeprice")
    out["commission"], fees = _ibkr_commission(d, name)
    if fees is not None:
        out["fees"] = fees
    out["fill_time"] = dtm
    out["order_id"] = _col(d, "orderid", "iborderid")
    out["client_order_id"] = _col(d, "orderreference")
    out[FILL_ID] = _col(d, "ibexecid", "execid", "tradeid", "transactionid")
    asset = _col(d, "assetclass").str.strip().str.upper()
    out["instrument"] = [
        "" if a in ("STK", "") else f"{_IBKR_ASSETS.get(a, a.lower())} (AssetClass {a})" for a in asset
    ]
    cur = _col(d, "currencyprimary", "currency").str.strip().str.upper()
    ccur = _col(d, "ibcommissioncurrency", "commissioncurrency").str.strip().str.upper()
    out["currency"] = cur.where((ccur == "") | (ccur == cur) | (cur == ""), ccur)  # a fee in another currency too
    out["account"] = _col(d, "clientaccountid", "accountid")
    return LayoutRows(out, skipped)


def _side_from_action(action: pd.Series) -> pd.Series:
    a = action.str.strip().str.upper()
    side = pd.Series("", index=a.index, dtype=object)
    side[a.str.match(r"^(YOU )?(BUY|BOUGHT)\b")] = "buy"
    side[a.str.match(r"^(YOU )?(SELL|SOLD)\b")] = "sell"
    return side


def _not_fills(df: pd.DataFrame, keep: pd.Series, action: pd.Series) -> list[tuple[int, str]]:
    return [
        (int(lab), f"action {action[lab].strip()[:60]!r} is not a buy or sell" if action[lab].strip() else "not a fill")
        for lab in df.index[~keep]
    ]


# What a Schwab / Fidelity row is when it is not a US equity/ETF, from what the row itself says:
# options (Schwab "Sell to Open" / "Buy to Close" with symbols like "AAPL 12/20/2024 200.00 C";
# Fidelity "OPENING/CLOSING TRANSACTION" with symbols like "-AAPL241220C200"), bonds and bills
# (a 9-character CUSIP in the symbol column), mutual and money market funds (5-letter symbols
# ending in X, the fund suffix of US symbol conventions), core cash sweeps (Fidelity "SPAXX**").
_OPTION_ACTION = re.compile(r"\b(?:TO OPEN|TO CLOSE|OPENING TRANSACTION|CLOSING TRANSACTION|ASSIGNED|EXERCISED)\b")
_OPTION_SYMBOL = re.compile(r"^(?:-[A-Z.]{1,6}\d{6}[CP][\d.]+|[A-Z.]{1,6} \d\d/\d\d/\d{4} [\d.]+ [CP])$")
_CUSIP = re.compile(r"^(?=.*\d)[0-9A-Z]{8}\d$")
_FUND = re.compile(r"^[A-Z]{4}X$")


def _instrument_of(symbol: str, action: str) -> str:
    s, a = symbol.strip().upper(), action.strip().upper()
    if s.endswith("**"):
        return f"cash sweep (core position {s})"
    if _OPTION_SYMBOL.match(s) or _OPTION_ACTION.search(a):
        return f"option ({s or a[:40]})"
    if _CUSIP.match(s):
        return f"a security named by CUSIP {s} (bond, bill, CD or plan portfolio), not a ticker"
    if _FUND.match(s):
        return f"mutual fund ({s})"
    return ""


def _instruments(symbol: pd.Series, action: pd.Series) -> list[str]:
    return [_instrument_of(s, a) for s, a in zip(symbol, action, strict=True)]


_SCHWAB_ACCOUNT = re.compile(r"for account\s+(.+?)\s+as of\b", re.IGNORECASE)


def _schwab_account(df: pd.DataFrame) -> str:
    """The account named in Schwab's title line (``Transactions  for account Individual ...123 as
    of ...``), '' when there is none."""
    for line in df.attrs.get("preamble") or []:
        m = _SCHWAB_ACCOUNT.search(str(line).strip().strip('"'))
        if m:
            return m.group(1).strip()
    return ""


@register_layout(
    "schwab",
    "Schwab transaction export (Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount)",
    matches=lambda h: {"date", "action", "symbol", "quantity", "price", "fees & comm"} <= h,
    reads=["date", "action", "symbol", "quantity", "price", "fees & comm"],
    source_columns={
        "date": "Date",
        "symbol": "Symbol",
        "side": "Action",
        "shares": "Quantity",
        "price": "Price",
        "commission": "Fees & Comm",
        "account": "title line",
    },
    currency="USD",
)
def _from_schwab(df: pd.DataFrame, name: str) -> LayoutRows:
    side = _side_from_action(df["action"])
    keep = (side != "") & (df["symbol"].str.strip() != "")
    d = df[keep]
    out = pd.DataFrame(index=d.index)
    out["date"] = d["date"]
    out["symbol"] = d["symbol"]
    out["side"] = side[keep]
    out["shares"] = _abs_text(d["quantity"])
    out["price"] = _num_text(d["price"])
    out["commission"] = _abs_text(d["fees & comm"])
    for c in ("fill_time", "order_id", "client_order_id", FILL_ID):
        out[c] = ""
    out["instrument"] = _instruments(d["symbol"], d["action"]) if len(d) else ""
    out["account"] = _schwab_account(df)
    return LayoutRows(out, _not_fills(df, keep, df["action"]))


@register_layout(
    "fidelity",
    "Fidelity account history (Run Date,Action,Symbol,...,Quantity,Price ($),Commission ($),Fees ($),...)",
    matches=lambda h: (
        {"action", "symbol", "quantity"} <= h
        and bool({"run date", "date"} & h)
        and bool({"price ($)", "price"} & h)
        and bool({"commission ($)", "commission", "settlement date"} & h)
    ),
    reads=[
        "run date",
        "action",
        "symbol",
        "quantity",
        "price ($)",
        "price",
        "commission ($)",
        "commission",
        "fees ($)",
        "fees",
        "currency",
        "account number",
        "account",
    ],
    source_columns={
        "date": "Run Date",
        "symbol": "Symbol",
        "side": "Action",
        "shares": "Quantity",
        "price": "Price ($)",
        "commission": "Commission ($)",
        "currency": "Currency",
        "account": "Account Number",
    },
    currency="USD",
    aliases=("fidelity_history",),
)
def _from_fidelity(df: pd.DataFrame, name: str) -> LayoutRows:
    side = _side_from_action(df["action"])
    keep = (side != "") & (df["symbol"].str.strip() != "")
    d = df[keep]
    out = pd.DataFrame(index=d.index)
    out["date"] = _col(d, "run date", "date")
    out["symbol"] = d["symbol"].str.strip()
    out["side"] = side[keep]
    out["shares"] = _abs_text(d["quantity"])
    out["price"] = _num_text(_col(d, "price ($)", "price"))
    comm = _abs_text(_col(d, "commission ($)", "commission"))
    fees = _abs_text(_col(d, "fees ($)", "fees"))
    c = pd.to_numeric(comm.replace("", "0"), errors="coerce")
    f = pd.to_numeric(fees.replace("", "0"), errors="coerce")
    for nm, raw, v in (("commission ($)", comm, c), ("fees ($)", fees, f)):
        if v.isna().any():
            i = first_bad(v.isna())
            raise InputError(name, f"{nm} is not a number: {raw.iloc[i][:40]!r}", row=int(d.index[i]), column=nm)
    out["commission"] = (c + f).map(repr) if len(d) else pd.Series(dtype=object)
    out["fees"] = f.map(repr) if len(d) else pd.Series(dtype=object)
    for col in ("fill_time", "order_id", "client_order_id", FILL_ID):
        out[col] = ""
    out["currency"] = _col(d, "currency")
    out["account"] = _col(d, "account number", "account")
    out["instrument"] = _instruments(d["symbol"], d["action"]) if len(d) else ""
    return LayoutRows(out, _not_fills(df, keep, df["action"]))


# ------------------------------------------------------------------ tables from rows


def _frame_from_rows(
    header: list[str], rows: list[list[str]] | np.ndarray, rownums: list[int], name: str, header_row: int
) -> pd.DataFrame:
    cols = _norm(header)
    while cols and cols[-1] == "":
        cols.pop()
    n = len(cols)
    seen: set[str] = set()
    keep_idx = []
    for i, c in enumerate(cols):
        if c in seen and c in _READ_COLUMNS:  # which of the two holds the shares / price / ...?
            raise InputError(
                name, f"duplicate column {header[i]!r} in the header", row=header_row, column=str(header[i])
            )
        if c == "" or c in seen:  # blank or repeated header cell: not a column we read
            continue
        seen.add(c)
        keep_idx.append(i)
    if isinstance(rows, np.ndarray):  # a rectangular block's texts (_block_texts): cut or pad to n columns
        arr = rows[:, :n]
        if arr.shape[1] < n:
            arr = np.hstack([arr, filled((len(arr), n - arr.shape[1]), "")])
    else:
        data = [(r + [""] * n)[:n] for r in rows]
        arr = np.array(data, dtype=object).reshape(len(data), n) if data else np.empty((0, n), dtype=object)
    df = pd.DataFrame(
        arr[:, keep_idx] if len(keep_idx) else np.empty((len(arr), 0)),
        columns=[cols[i] for i in keep_idx],
        index=pd.Index(rownums, name="row"),
        dtype=object,
    )
    for c in df.columns:
        df[c] = df[c].astype(str).str.strip()
    nonblank = (df != "").any(axis=1) if len(df.columns) else pd.Series(False, index=df.index)
    df = df[nonblank]
    if df.empty:
        raise InputError(name, "a header but no data rows", row=header_row + 1)
    return df


def _find_header(candidates: Iterable[tuple[int, list[str]]], name: str, format: str | None) -> tuple[int, str]:
    """First row (index into candidates) that is a known header -> (position, format)."""
    first_seen: tuple[int, list[str]] | None = None
    for pos, (rownum, cells) in enumerate(candidates):
        if pos >= _MAX_PREAMBLE:
            break
        h = set(_norm(cells)) - {""}
        if not h:
            continue
        if first_seen is None:
            first_seen = (rownum, cells)
        if format is not None:
            if _matches(format, h):
                return pos, format
            continue
        for fmt in LAYOUTS:
            if _matches(fmt, h):
                return pos, fmt
    if first_seen is None:
        raise InputError(name, "empty fills: no header row")
    raise _unknown(name, first_seen[1], first_seen[0], format)


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


_EXACT_INT = 2.0**53  # below it, a whole float's int64 is exact


def _block_texts(rows: list[list]) -> list[list[str]] | np.ndarray:
    """:func:`_cell_text` of every cell of a pasted block, row lengths kept: a list of rows, or
    for a rectangular block (calamine and xlwings give one) a 2-D object array converted column
    by column: a column of text as it is, the floats of a column by numpy (whole numbers as
    integers, others as ``repr``, NaN as ''), any other cell one by one (100,000 x 9 cells: about
    3 s -> 0.5 s). :func:`_as_rows` gives rows of either."""
    rows = [r or [] for r in rows]
    widths = set(map(len, rows))
    if len(widths) != 1 or not rows or not rows[0]:
        return [[_cell_text(v) for v in r] for r in rows]
    w = widths.pop()
    arr = np.fromiter(itertools.chain.from_iterable(rows), dtype=object, count=len(rows) * w).reshape(len(rows), w)
    for j in range(w):
        arr[:, j] = _column_texts(arr[:, j])
    return arr


def _as_rows(texts: list[list[str]] | np.ndarray, start: int = 0, stop: int | None = None) -> list[list[str]]:
    """Rows ``start:stop`` of :func:`_block_texts`'s result as lists."""
    part = texts[start:stop]
    return part.tolist() if isinstance(part, np.ndarray) else part


def _column_texts(col: np.ndarray) -> np.ndarray:
    kinds = np.fromiter(map(type, col), dtype=object, count=len(col))
    text = kinds == str  # noqa: E721 - elementwise, over the cells' types
    if text.all():
        return col
    out = np.empty(len(col), dtype=object)
    out[text] = col[text]
    num = kinds == float  # noqa: E721
    if num.any():
        f = col[num].astype(np.float64)
        got = np.empty(len(f), dtype=object)
        whole = (f == np.floor(f)) & (np.abs(f) < _EXACT_INT)  # False for NaN and infinities
        got[whole] = list(map(str, f[whole].astype(np.int64).tolist()))
        frac = np.isfinite(f) & (f != np.floor(f))
        got[frac] = list(map(repr, f[frac].tolist()))
        rest = ~(whole | frac)  # NaN -> '', infinities and whole floats from 2**53 up: one by one
        got[rest] = [_cell_text(v) for v in f[rest].tolist()]
        out[num] = got
    other = ~(text | num)
    if other.any():
        out[other] = [_cell_text(v) for v in col[other].tolist()]
    return out


# ------------------------------------------------------------------ public readers


def _frame_from_records(recs: Sequence[Any], name: str) -> pd.DataFrame:
    """JSON records (dicts, or objects with ``to_dict``) -> the string frame a layout reads
    (lower-case keys; index = the record's 1-based position)."""
    out = []
    for i, r in enumerate(recs, 1):
        d = r.to_dict() if hasattr(r, "to_dict") else r
        if not isinstance(d, Mapping):
            raise InputError(name, f"record {i} is not an object (a {type(d).__name__})", row=i)
        out.append({str(k).strip().lower(): _cell_text(v).strip() for k, v in d.items()})
    df = pd.DataFrame.from_records(out).fillna("").astype(object) if out else pd.DataFrame()
    df.index = pd.RangeIndex(1, len(out) + 1, name="row")
    return df


def _records_of_json(text: str, name: str) -> list[Any]:
    """A saved activities file: a JSON list of records, or ``{"activities": [...]}``."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(name, f"not valid JSON ({getattr(e, 'msg', e)})", row=getattr(e, "lineno", None)) from None
    if isinstance(data, Mapping) and isinstance(data.get("activities"), list):
        data = data["activities"]
    if not isinstance(data, list):
        raise InputError(name, 'a JSON fills file is a list of Alpaca activities, or {"activities": [...]}')
    return data


def _read_records(recs: Sequence[Any], name: str, fmt: str | None, rules: ReadRules) -> pd.DataFrame:
    fmt = fmt or "alpaca"
    if not LAYOUTS[fmt].records:
        readable = ", ".join(k for k, v in LAYOUTS.items() if v.records)
        raise InputError(name, f"a JSON file is not a {fmt} layout (JSON is read as: {readable}); pass --format alpaca")
    if not recs:
        res = empty_fills()
        res.attrs.update(format=fmt)
        return res
    return _read_layout(_frame_from_records(recs, name), name, fmt, rules)


# ------------------------------------------------------------------ public readers


def read_fills(
    path: str | Path,
    format: str | None = None,
    *,
    base_currency: str | None = None,
    account: str | None = None,
    flex_time_zone: str | None = None,
) -> pd.DataFrame:
    """Read a fills file in any known layout (detected from its header; a file starting with
    ``[`` or ``{`` is a saved Alpaca activities JSON) into the canonical frame.

    The frame is indexed by the source line number (1-based; for JSON the record number).
    ``format`` (one of :data:`FORMATS`) overrides detection. ``base_currency`` (default USD),
    ``account`` and ``flex_time_zone`` are the :class:`ReadRules`. Unknown layout -> :class:`InputError` listing
    the formats and the header it saw.
    """
    name = str(path)
    fmt = _check_format(format, name)
    text = read_text(path, what="fills file")
    return parse_fills_text(
        text, name, fmt, base_currency=base_currency, account=account, flex_time_zone=flex_time_zone
    )


def parse_fills_text(
    text: str,
    name: str = "<fills>",
    format: str | None = None,
    *,
    base_currency: str | None = None,
    account: str | None = None,
    flex_time_zone: str | None = None,
) -> pd.DataFrame:
    """Fills text -> the canonical frame (see :func:`read_fills`). The same text read again with
    the same rules (a press reads the day's fills for its step and to draw the book) is parsed
    once: each call gets its own copy, ``attrs`` included."""
    fmt = _check_format(format, name)
    return own_copy(_fills_parsed(text, name, fmt, ReadRules.of(base_currency, account, flex_time_zone)))


# a press reads one day's text two or three times; more parsed frames kept alive slow a year's reading
@functools.lru_cache(maxsize=2)
def _fills_parsed(text: str, name: str, fmt: str | None, rules: ReadRules) -> pd.DataFrame:
    if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        return _read_records(_records_of_json(text.lstrip("\ufeff"), name), name, fmt, rules)
    for layout, claims, frame in DOCUMENTS:
        if fmt in (None, layout) and claims(text):
            return _read_layout(frame(text, name), name, layout, rules)
    # fast path: our own layout (vectorised C parser), after '#' comment rows
    _, body, first = split_comment_body(text)
    if not body:
        raise InputError(name, "empty fills file: no header row", row=first)
    end = body.find("\n")
    head = next(csv.reader([body if end < 0 else body[:end]]), [])
    hset = set(_norm(head)) - {""}
    if (fmt in (None, "xlexec")) and _matches("xlexec", hset):
        return parse_table(
            body,
            name,
            first,
            ["symbol", "side", "shares", "price"],
            lambda df: _read_layout(df, name, "xlexec", rules),
            numbers=_TYPED_NUMBERS,
            what="fills file",
        )
    lines = split_lines(text)

    def candidates():
        for i, line in enumerate(lines):
            if line.lstrip().startswith("#"):
                continue
            yield i + 1, next(csv.reader([line]), [])

    cands = list(_take(candidates(), _MAX_PREAMBLE))
    pos, fmt = _find_header(cands, name, fmt)
    header_line, header = cands[pos]
    reader = csv.reader(io.StringIO("\n".join(lines[header_line:])))
    rows, nums = [], []
    try:
        for r in reader:
            rows.append(r)
            nums.append(header_line + reader.line_num)
    except csv.Error as e:
        raise InputError(name, f"malformed CSV: {e}", row=header_line + reader.line_num) from None
    df = _frame_from_rows(header, rows, nums, name, header_line)
    df.attrs["preamble"] = lines[: header_line - 1]  # title lines above the header (Schwab's account)
    return _read_layout(df, name, fmt, rules)


#: the number columns of our own layout the C parser types (:func:`csvio.parse_table`)
_TYPED_NUMBERS = ("shares", "price", "commission", "fees")


def _take(it, n):
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def read_fills_block(
    rows: list[list],
    name: str = "Fills tab",
    format: str | None = None,
    first_row: int = 1,
    *,
    base_currency: str | None = None,
    account: str | None = None,
    flex_time_zone: str | None = None,
) -> pd.DataFrame:
    """A block pasted into the workbook's Fills tab (list of rows, header row included).

    Any layout of :data:`FORMATS`; preamble rows above the header are skipped. Cells may be
    typed (numbers, dates, None). Row numbers in errors count from ``first_row`` (the sheet
    row of ``rows[0]``).
    """
    fmt = _check_format(format, name)
    rules = ReadRules.of(base_currency, account, flex_time_zone)
    texts = _block_texts(rows)
    document = _block_document(texts, first_row, fmt)
    if document is not None:  # a Flex XML or a (sectioned) Flex CSV: the file's own reader
        layout, frame, text = document
        return _read_layout(frame(text, name), name, layout, rules)
    cands = [(first_row + i, r) for i, r in enumerate(_as_rows(texts, 0, _MAX_PREAMBLE))]
    cands = [(n, r) for n, r in cands if not (r and r[0].lstrip().startswith("#"))]
    pos, fmt = _find_header(cands, name, fmt)
    header_row, header = cands[pos]
    start = header_row - first_row + 1
    df = _frame_from_rows(
        header, texts[start:], list(range(header_row + 1, header_row + 1 + len(texts) - start)), name, header_row
    )
    df.attrs["preamble"] = [",".join(r) for r in _as_rows(texts, 0, start - 1)]
    if fmt == "xlexec":
        missing = [c for c in ("symbol", "side", "shares", "price") if c not in df.columns]
        if missing:
            raise InputError(name, f"missing column(s) {', '.join(missing)}", row=header_row, column=missing[0])
    return _read_layout(df, name, fmt, rules)


def _block_text(texts: list[list[str]], first_row: int, xml: bool) -> str:
    """A pasted block as the file it came from, one line per sheet row, after ``first_row - 1``
    blank lines (so a line number is the sheet row). XML: each row's cells joined by commas (a
    line Excel split on its commas comes back whole); CSV: the cells quoted as a CSV writer does."""
    buf = io.StringIO()
    buf.write("\n" * (first_row - 1))
    if xml:
        for r in texts:
            while r and r[-1] == "":
                r = r[:-1]
            buf.write(",".join(" ".join(c.splitlines()) for c in r) + "\n")
    else:
        w = csv.writer(buf, lineterminator="\n")
        w.writerows([" ".join(c.splitlines()) for c in r] for r in texts)
    return buf.getvalue()


def _block_document(
    texts: list[list[str]] | np.ndarray, first_row: int, fmt: str | None
) -> tuple[str, Callable[[str, str], pd.DataFrame], str] | None:
    """The whole-file reader that claims a pasted block (:data:`DOCUMENTS`, as
    :func:`parse_fills_text` picks one for a file): ``(layout, reader, text)``; None = none does.
    The claim is tried on the block's first rows; only a claimed block is made text in full."""
    first = next((r for r in texts if any(c.strip() for c in r)), None)
    if first is None:
        return None
    xml = next(c for c in first if c.strip()).lstrip().startswith("<")
    head = _block_text(_as_rows(texts, 0, 250), 1, xml)
    for layout, claims, frame in DOCUMENTS:
        if fmt in (None, layout) and claims(head):
            return layout, frame, _block_text(_as_rows(texts), first_row, xml)
    return None


def fills_from_broker(
    fills: Sequence[Any],
    day: str | None = None,
    name: str = "broker fills",
    *,
    base_currency: str | None = None,
    account: str | None = None,
    flex_time_zone: str | None = None,
) -> pd.DataFrame:
    """Broker fills -> canonical frame.

    ``fills``: :class:`xlexec.execution.brokers.base.Fill` objects (what ``Broker.fills(day)`` returns,
    every page) or Alpaca account-activity dicts (``activity_type`` FILL; others are skipped).
    ``date`` is the New York date of ``transaction_time``, else ``day``. Index: 1..n.
    """
    if not fills:
        return empty_fills()
    df = _frame_from_records(fills, name)
    if "transaction_time" not in df.columns:
        df["transaction_time"] = ""
    out = _read_records_frame(df, name, ReadRules.of(base_currency, account, flex_time_zone))
    if day:
        out["date"] = out["date"].where(out["date"] != "", day)
    return out


def _read_records_frame(df: pd.DataFrame, name: str, rules: ReadRules) -> pd.DataFrame:
    return _read_layout(df, name, "alpaca", rules)


def write_fills_csv(path: str | Path, fills: pd.DataFrame) -> Path:
    """Write canonical fills as ``broker_fills.csv`` (atomically; text cells formula-safe)."""
    cols = FILL_COLUMNS + [c for c in (FILL_ID, *FILL_DETAILS) if c in fills.columns]
    df = fills.reindex(columns=cols).reset_index(drop=True)
    for c in cols:
        if c not in ("shares", "price", "commission", "fees"):
            df[c] = df[c].fillna("").astype(str)
    return atomic_write_csv(path, df, DECIMALS)


SKIPPED_COLUMNS = ["row", "reason"]


def write_skipped_csv(path: str | Path, fills: pd.DataFrame) -> Path:
    """Write the rows a read skipped (:func:`skipped_of`) as ``row,reason`` (atomically; a header
    only when none was skipped, so a new import replaces an earlier list)."""
    df = pd.DataFrame(skipped_of(fills), columns=SKIPPED_COLUMNS)
    return atomic_write_csv(path, df.astype({"row": int}) if len(df) else df)


def read_skipped_csv(path: str | Path) -> list[dict[str, Any]]:
    """What :func:`write_skipped_csv` wrote (``[{"row": n, "reason": text}]``); ``[]`` when the
    file is missing. A damaged file raises :class:`InputError` naming it."""
    p = Path(path)
    if not p.exists():
        return []
    out = []
    rows = list(csv.reader(io.StringIO(read_text(p, what="skipped rows file"))))
    if not rows or _norm(rows[0])[:2] != SKIPPED_COLUMNS:
        raise InputError(str(p), f"not a skipped rows file: the header must be {','.join(SKIPPED_COLUMNS)}", row=1)
    for n, r in enumerate(rows[1:], 2):
        if not r:
            continue
        try:
            out.append({"row": int(r[0]), "reason": r[1] if len(r) > 1 else ""})
        except ValueError:
            raise InputError(str(p), f"row {r[0][:20]!r} is not a whole number", row=n, column="row") from None
    return out


# the brokers whose files need a whole-file reader register theirs on import
from xlexec.formats import fills_ibkr  # noqa: E402,F401

"""Market data from the broker: latest quotes from the configured broker (Alpaca, Schwab, IBKR),
daily and minute bars from Alpaca (alpaca-py ``StockHistoricalDataClient``) when keys are configured.

A shell, not core: it turns the broker's latest quotes and Alpaca's bars into the same frames
the file readers return, and the commands save them as the day's ``quotes.csv`` / ``closes.csv``
snapshot (so every later step, and the auditor, sees exactly what was used).

* :func:`fetch_quotes` -> ``symbol, bid, ask, last, timestamp (UTC), mid`` ($/share), from the
  quote source of ``execution.broker`` (:data:`QUOTE_SOURCES`; :func:`quotes_configured`,
  :func:`quote_source`): Alpaca's latest quote + trade; Schwab's ``GET /marketdata/v1/quotes``
  (schwab-py ``Client.get_quotes``); IBKR's market data snapshot (ib_async ``reqTickers``).
  One rule for every source (:func:`quotes_frame`): prices that are absent or not > 0 are
  unknown (NaN), a symbol without any price is left out (never a stale or zero quote), ``mid``
  is (bid + ask) / 2 when both are > 0, else ``last``.
* :func:`fetch_closes` -> ``symbol, close`` ($/share, the session's daily bar close)
* :func:`fetch_minute_bars` -> the session's minute bars, ``bars.csv``'s columns
  (:mod:`xlexec.formats.bars`: symbol, timestamp UTC, open/high/low/close/vwap $, volume shares)

Bars: configured when ``execution.broker`` is ``alpaca`` and both keys are set. The data API host is
``execution.alpaca.data_url`` (default: Alpaca's; tests point it at a loopback server). Every
request has the configured timeout; alpaca-py's own retries are off; keys never appear in
messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xlexec.errors import BrokerError, XlexecError

ALPACA_TRADING_HOSTS = {"paper-api.alpaca.markets", "api.alpaca.markets"}


def alpaca_data_configured(cfg) -> bool:
    """Broker ``alpaca`` with both keys, and a data host: ``alpaca.data_url``, or Alpaca's own
    when orders go to Alpaca's own hosts. A trading ``base_url`` pointed elsewhere (a proxy, a
    test server) without a ``data_url`` means no market data is fetched: never guess a host."""
    from urllib.parse import urlsplit

    a = cfg.execution.alpaca
    if not (cfg.execution.broker == "alpaca" and a.api_key.get_secret_value() and a.api_secret.get_secret_value()):
        return False
    return bool(a.data_url) or (urlsplit(a.base_url or "").hostname or "") in ALPACA_TRADING_HOSTS


def _client(cfg):
    from alpaca.data.historical.stock import StockHistoricalDataClient

    from xlexec.execution.brokers.alpaca import _TimeoutSession

    a = cfg.execution.alpaca
    c = StockHistoricalDataClient(
        a.api_key.get_secret_value(), a.api_secret.get_secret_value(), url_override=a.data_url or None
    )
    c._retry = 0
    c._session = _TimeoutSession(cfg.execution.request_timeout_seconds)
    return c


def _scrubbed(cfg, what: str, e: Exception) -> BrokerError:
    a = cfg.execution.alpaca
    msg = " ".join(str(e).split())[:300]
    for s in (a.api_key.get_secret_value(), a.api_secret.get_secret_value()):
        if s:
            msg = msg.replace(s, "***")
    return BrokerError(f"Alpaca market data: {what}: {msg or type(e).__name__}")


QUOTE_COLUMNS = ["symbol", "bid", "ask", "last", "timestamp", "mid"]


def quotes_frame(rows: list[dict]) -> pd.DataFrame:
    """THE rule turning a source's rows (``symbol, bid, ask, last`` $/share or None,
    ``timestamp``) into the quotes frame: a price absent or not > 0 is NaN, a row without any
    price is dropped, timestamps are UTC, ``mid`` = (bid + ask) / 2 when both > 0, else ``last``;
    sorted by symbol, one row per symbol (the first)."""

    def px(v) -> float:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return np.nan
        return f if np.isfinite(f) and f > 0 else np.nan

    out, seen = [], set()
    for r in rows:
        s = str(r["symbol"])
        bid, ask, last = px(r.get("bid")), px(r.get("ask")), px(r.get("last"))
        if s in seen or (np.isnan(bid) and np.isnan(ask) and np.isnan(last)):
            continue
        seen.add(s)
        ts = r.get("timestamp")
        out.append({"symbol": s, "bid": bid, "ask": ask, "last": last, "timestamp": pd.Timestamp(ts) if ts else pd.NaT})
    df = pd.DataFrame(out, columns=QUOTE_COLUMNS[:-1])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df = df.sort_values("symbol", ignore_index=True)
    both = (df["bid"] > 0) & (df["ask"] > 0)
    df["mid"] = ((df["bid"] + df["ask"]) / 2).where(both, df["last"])
    return df


def _alpaca_quotes(cfg, syms: list[str]) -> list[dict]:
    """Latest quote (bid/ask) and latest trade (last) per symbol, one request each."""
    from alpaca.data.requests import StockLatestQuoteRequest, StockLatestTradeRequest

    c = _client(cfg)
    try:
        q = c.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=syms))
        t = c.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=syms))
    except Exception as e:  # noqa: BLE001 - any transport/API/parse failure is one clear error
        raise _scrubbed(cfg, "latest quotes", e) from None
    rows = []
    for s in syms:
        qq, tt = q.get(s), t.get(s)
        if qq is None and tt is None:
            continue
        rows.append(
            {
                "symbol": s,
                "bid": qq.bid_price if qq is not None else None,
                "ask": qq.ask_price if qq is not None else None,
                "last": tt.price if tt is not None else None,
                "timestamp": qq.timestamp if qq is not None else tt.timestamp,
            }
        )
    return rows


def _schwab_configured(cfg) -> bool:
    s = cfg.execution.schwab
    return bool(
        cfg.execution.broker == "schwab"
        and s.app_key.get_secret_value()
        and s.app_secret.get_secret_value()
        and s.token_path
    )


def _schwab_quotes(cfg, syms: list[str]) -> list[dict]:
    """One ``GET /marketdata/v1/quotes`` through the Schwab adapter (its timeout, 429 retries,
    401 refresh and pacing; market data only, so ``paper: true`` is not refused here)."""
    from xlexec.execution.brokers.base import BrokerFault
    from xlexec.execution.brokers.schwab import SchwabBroker

    try:
        b = SchwabBroker.from_config(cfg, for_orders=False)
    except XlexecError as e:
        raise BrokerError(f"Schwab market data: {e}") from None
    try:
        return b.quotes(syms)
    except (BrokerFault, XlexecError) as e:
        raise BrokerError(f"Schwab market data: {' '.join(str(e).split())[:300]}") from None
    finally:
        b.close()


def _ibkr_quotes(cfg, syms: list[str]) -> list[dict]:
    """One market data snapshot per symbol through the IBKR adapter (its connection checks,
    pacing and timeout), then the connection is closed."""
    from xlexec.execution.brokers.base import BrokerFault
    from xlexec.execution.brokers.ibkr import IbkrBroker

    try:
        b = IbkrBroker.from_config(cfg)
    except XlexecError as e:
        raise BrokerError(f"IBKR market data: {e}") from None
    try:
        return b.quotes(syms)
    except (BrokerFault, XlexecError) as e:
        raise BrokerError(f"IBKR market data: {' '.join(str(e).split())[:300]}") from None
    finally:
        b.close()


@dataclass(frozen=True)
class QuoteSource:
    """Where the latest quotes of a broker come from: ``label`` for messages, ``configured(cfg)``,
    ``fetch(cfg, symbols)`` -> rows for :func:`quotes_frame` (raises :class:`BrokerError`)."""

    label: str
    configured: Callable[[Any], bool]
    fetch: Callable[[Any, list[str]], list[dict]]


#: ``execution.broker`` -> its quote source (the paper broker has none: quotes.csv by hand)
QUOTE_SOURCES: dict[str, QuoteSource] = {
    "alpaca": QuoteSource("Alpaca market data", lambda cfg: alpaca_data_configured(cfg), _alpaca_quotes),
    "schwab": QuoteSource("Schwab market data", _schwab_configured, _schwab_quotes),
    "ibkr": QuoteSource("IBKR market data", lambda cfg: cfg.execution.broker == "ibkr", _ibkr_quotes),
}


def quote_source(cfg) -> QuoteSource | None:
    """The configured broker's quote source when it is configured, else None."""
    src = QUOTE_SOURCES.get(str(cfg.execution.broker))
    return src if src is not None and src.configured(cfg) else None


def quotes_configured(cfg) -> bool:
    """Whether Validate and Submit fetch the latest quotes from the broker (and typed quotes are
    then not used)."""
    return quote_source(cfg) is not None


def fetch_quotes(cfg, symbols: list[str]) -> pd.DataFrame:
    """The latest quote of each symbol from the configured broker's quote source
    (:func:`quotes_frame`'s frame); a symbol the source has no quote for is absent."""
    syms = sorted(set(symbols))
    if not syms:
        return pd.DataFrame(columns=QUOTE_COLUMNS)
    src = quote_source(cfg)
    if src is None:
        raise BrokerError(f"no market data source configured for execution.broker {cfg.execution.broker}")
    return quotes_frame(src.fetch(cfg, syms))


def fetch_closes(cfg, symbols: list[str], day: str) -> pd.DataFrame:
    """The daily bar close of ``day`` per symbol (symbols without a bar are left out)."""
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame

    syms = sorted(set(symbols))
    if not syms:
        return pd.DataFrame(columns=["symbol", "close"])
    d = dt.date.fromisoformat(day)
    start = dt.datetime.combine(d, dt.time(0, 0), dt.UTC)
    req = StockBarsRequest(
        symbol_or_symbols=syms, timeframe=TimeFrame.Day, start=start, end=start + dt.timedelta(days=1)
    )
    try:
        bars = _client(cfg).get_stock_bars(req)
    except Exception as e:  # noqa: BLE001
        raise _scrubbed(cfg, "daily bars", e) from None
    data = getattr(bars, "data", bars) or {}
    rows = [{"symbol": s, "close": float(b[-1].close)} for s, b in data.items() if b]
    return pd.DataFrame(rows, columns=["symbol", "close"]).sort_values("symbol", ignore_index=True)


def fetch_minute_bars(cfg, symbols: list[str], day: str) -> pd.DataFrame:
    """Every minute bar of ``day``'s regular session (bars starting from the open to before the
    close, New York) per symbol, with
    Alpaca's bar VWAP (``vw``); alpaca-py follows ``next_page_token`` until the last page."""
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame

    from xlexec.core import calendar as cal
    from xlexec.core.benchmarks import BARS_COLUMNS, empty_bars

    syms = sorted(set(symbols))
    if not syms or not cal.is_session(day):
        return empty_bars()
    start = cal.session_open_utc(day).to_pydatetime()
    end = cal.session_close_utc(day).to_pydatetime()
    req = StockBarsRequest(symbol_or_symbols=syms, timeframe=TimeFrame.Minute, start=start, end=end)
    try:
        bars = _client(cfg).get_stock_bars(req)
    except Exception as e:  # noqa: BLE001 - any transport/API/parse failure is one clear error
        raise _scrubbed(cfg, "minute bars", e) from None
    data = getattr(bars, "data", bars) or {}
    rows = [
        {
            "symbol": s,
            "timestamp": pd.Timestamp(b.timestamp),
            "open": float(b.open),
            "high": float(b.high),
            "low": float(b.low),
            "close": float(b.close),
            "volume": float(b.volume),
            "vwap": float(b.vwap) if b.vwap is not None else np.nan,
        }
        for s, bs in data.items()
        for b in bs
    ]
    if not rows:
        return empty_bars()
    df = pd.DataFrame(rows, columns=BARS_COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df = df[df["timestamp"] < pd.Timestamp(end)]  # the session's bars: the close's own bar is after hours
    return df.sort_values(["symbol", "timestamp"], ignore_index=True)


def refresh_bars_file(cfg, symbols: list[str], day: str, path, *, warn=None) -> bool:
    """When Alpaca data is configured and ``path`` (``bars.csv``) is missing, save ``day``'s
    minute bars there (the day's snapshot). A failure is a warning: the benchmarks that need
    bars are then shown as missing, the TCA still runs."""
    if not alpaca_data_configured(cfg) or _exists(path):
        return False
    from xlexec.formats.bars import write_bars

    try:
        df = fetch_minute_bars(cfg, symbols, day)
    except BrokerError as e:
        _warn(warn, f"{e}; interval benchmarks unknown")
        return False
    if not len(df):
        _warn(warn, f"Alpaca market data: no minute bars for {day}; interval benchmarks unknown")
        return False
    write_bars(df, path)
    return True


def save_quotes(df: pd.DataFrame, path) -> None:
    from xlexec.formats.csvio import atomic_write_csv

    out = df[
        ["symbol", "bid", "ask", "last", "timestamp"] + [c for c in ("bid_size", "ask_size") if c in df.columns]
    ].copy()
    out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat() if pd.notna(t) else "")
    atomic_write_csv(path, out, {"bid": 2, "ask": 2, "last": 2})


def save_closes(df: pd.DataFrame, path) -> None:
    from xlexec.formats.csvio import atomic_write_csv

    atomic_write_csv(path, df[["symbol", "close"]], {"close": 2})


def refresh_quotes_file(cfg, symbols: list[str], path, *, warn=None) -> bool:
    """When the broker's quotes are configured (:func:`quotes_configured`), save the latest
    quotes of ``symbols`` to ``path``.

    Returns True when the file was refreshed. A failure, or no quote for any symbol, is reported
    through ``warn`` (a one-line callable, default stderr) and the existing file, if any, stays as
    it was (none is written)."""
    src = quote_source(cfg)
    if src is None:
        return False
    try:
        df = fetch_quotes(cfg, symbols)
    except BrokerError as e:
        _warn(warn, f"{e}; using {path} as it is" if _exists(path) else f"{e}; no quotes")
        return False
    if symbols and not len(df):  # nothing to save: an empty file would be unreadable, a kept one is as it was
        msg = f"{src.label}: no quote for any of the {len(set(symbols))} symbols"
        _warn(warn, f"{msg}; using {path} as it is" if _exists(path) else f"{msg}; no quotes")
        return False
    save_quotes(df, path)
    return True


def refresh_closes_file(cfg, symbols: list[str], day: str, path, *, warn=None) -> bool:
    """When Alpaca data is configured and ``path`` is missing, save ``day``'s closes there."""
    if not alpaca_data_configured(cfg) or _exists(path):
        return False
    try:
        save_closes(fetch_closes(cfg, symbols, day), path)
        return True
    except BrokerError as e:
        _warn(warn, f"{e}; closing prices unknown")
        return False


def _exists(path) -> bool:
    from pathlib import Path

    return Path(path).exists()


def _warn(warn, msg: str) -> None:
    if warn is None:
        import sys

        print(f"xlexec: warning: {msg}", file=sys.stderr)
    else:
        warn(msg)

"""Pre-trade validation: the guide's morning checklist as code, and its decision matrix.

:func:`validate` takes the day's trades and whatever reference data is at hand (positions,
quotes, events, sectors/ADV) and returns one row per finding
``check, status (pass|warn|fail), symbol ('' for portfolio-level rows), value, limit, message``
and the decision: **REJECT** if any row fails, **CONDITIONAL** if any warns, else **APPROVE**.
Every check id in :data:`CHECK_IDS` appears at least once (a ``pass`` row when it found
nothing), so a reader can tell "checked, fine" from "never checked".

Pure core: no files, no clock (``now`` is a parameter), vectorised over trades.

Conventions
-----------
* Money in $, quantities in shares, ``*_pct``/turnover/weights as fractions (0.10 = 10%).
  ``value`` and ``limit`` of a row are the measured quantity and the threshold it was held to,
  in the same unit.
* What is checked is what will be sent: rows the operator excluded (``include`` = no/false/0/
  excluded) only appear as ``excluded`` rows; where a ``limit_price`` is given, the price checks
  and the notionals use it instead of the signal ``price``.
* Portfolio value: the header's ``# Portfolio Value`` when present, else the current positions
  valued at the quote mid (else last, else the trade price, else ``avg_cost``) and nothing
  else (cash is unknown). ``summary['portfolio_value_source']`` says which
  (``header``/``positions``/``unknown``).
* Turnover = (buy notional + sell notional) / portfolio value (both sides, as the header's
  ``Portfolio Turnover``). The threshold check uses the included trades at the prices to be
  sent; the header cross-check uses every trade of the file at its signal price (what the
  model described).
* ``adv_pct``: days needed = ceil(shares / (ADV x max_adv_pct)) (the guide's snippet is wrong).
* Corporate events count when their date is within ``earnings_window_days`` NYSE sessions of
  the trade date, either side (``halt`` fails, the others warn).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.core import calendar as nyse_calendar
from xlexec.config import Config
from xlexec.core.orders import included_mask
from xlexec.core.trades import Trades

CHECK_IDS = [
    "shares_nonpositive", "fractional_shares", "notional_mismatch", "direction",
    "max_trade_pct", "position_pct", "sector_pct", "position_count", "oversell",
    "price_deviation", "price_stale", "no_quote",
    "turnover", "total_cost_pct", "high_cost_trade", "small_trade", "cost_estimate",
    "ic", "kill_switch", "safety_checks", "regime",
    "corporate_event", "halted", "market_calendar", "adv_pct", "excluded",
]
CHECK_COLUMNS = ["check", "status", "symbol", "value", "limit", "message"]
STATUSES = ("pass", "warn", "fail")
_RANK = {"pass": 0, "warn": 1, "fail": 2}
_EPS = 1e-9
NY = ZoneInfo("America/New_York")


@dataclass
class ValidationResult:
    """Rows of findings, the decision they imply and summary figures."""

    checks: pd.DataFrame
    decision: str
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        """``{"decision", "checks": [row dicts], "summary"}`` with NaN as ``None``."""
        rows = []
        for rec in self.checks.to_dict("records"):
            rows.append({k: _jsonable(v) for k, v in rec.items()})
        return {"decision": self.decision, "checks": rows,
                "summary": {k: _jsonable(v) for k, v in self.summary.items()}}

    @property
    def non_pass(self) -> pd.DataFrame:
        return self.checks[self.checks["status"] != "pass"]


def _jsonable(v):
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def decide(checks: pd.DataFrame) -> str:
    """The guide's matrix: any fail -> REJECT, any warn -> CONDITIONAL, else APPROVE."""
    st = set(checks["status"])
    if "fail" in st:
        return "REJECT"
    if "warn" in st:
        return "CONDITIONAL"
    return "APPROVE"


def worst_by_symbol(checks: pd.DataFrame) -> dict[str, str]:
    """Worst status per symbol (for colouring Blotter rows); portfolio-level rows are skipped."""
    c = checks[checks["symbol"].astype(str) != ""]
    if c.empty:
        return {}
    rank = c["status"].map(_RANK)
    worst = rank.groupby(c["symbol"].astype(str)).max()
    inv = {v: k for k, v in _RANK.items()}
    return {str(s): inv[int(r)] for s, r in worst.items()}


class _Rows:
    """Collects finding rows as column arrays (cheap for thousands of rows)."""

    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []

    def add(self, check: str, status, symbol, value, limit, message) -> None:
        n = len(message) if isinstance(message, (list, np.ndarray, pd.Series)) else 1
        if n == 0:
            return

        def arr(x, dtype=object):
            if isinstance(x, (list, np.ndarray, pd.Series)):
                return np.asarray(x, dtype=dtype)
            return np.full(n, x, dtype=dtype)

        self.parts.append({"check": arr(check), "status": arr(status), "symbol": arr(symbol),
                           "value": arr(value, float), "limit": arr(limit, float),
                           "message": arr(message)})

    def per_trade(self, check: str, mask: np.ndarray, status, t: "_T", value, limit,
                  fmt, pass_message: str, pass_value: float = float("nan"),
                  pass_limit: float = float("nan")) -> None:
        """Rows for the trades where ``mask``; one pass row when none."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            idx = np.flatnonzero(mask)
            st = status[idx] if isinstance(status, np.ndarray) else status
            val = value[idx] if isinstance(value, np.ndarray) else value
            lim = limit[idx] if isinstance(limit, np.ndarray) else limit
            msgs = [fmt(i) for i in idx]
            self.add(check, st, t.sym[idx], val, lim, msgs)
        else:
            self.add(check, "pass", "", pass_value, pass_limit, pass_message)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "limit") else object)
                                 for c in CHECK_COLUMNS})
        cols = {c: np.concatenate([p[c] for p in self.parts]) for c in CHECK_COLUMNS}
        df = pd.DataFrame(cols)
        for c in ("check", "status", "symbol", "message"):
            df[c] = df[c].astype(str)
        return df


@dataclass
class _T:
    """The included trades as numpy arrays."""

    sym: np.ndarray
    side: np.ndarray
    shares: np.ndarray
    price: np.ndarray
    eff: np.ndarray          # price to be sent ($/share): limit_price where given, else price
    notional: np.ndarray     # the file's notional column ($)
    send: np.ndarray         # shares x eff ($)
    wc: np.ndarray
    comm: np.ndarray
    slip: np.ndarray
    total: np.ndarray
    row: np.ndarray

    def who(self, i: int) -> str:
        return f"{self.sym[i]} {self.side[i]} (row {self.row[i]})"


def _money(x: float) -> str:
    return f"-${abs(x):,.2f}" if x < 0 else f"${x:,.2f}"


def _pct(x: float, d: int = 1) -> str:
    return f"{x * 100:.{d}f}%"


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


def _arrays(df: pd.DataFrame) -> _T:
    price = df["price"].to_numpy(dtype=float)
    if "limit_price" in df.columns:
        lp = pd.to_numeric(df["limit_price"], errors="coerce").to_numpy(dtype=float)
        eff = np.where(np.isfinite(lp) & (lp > 0), lp, price)
    else:
        eff = price
    if "order_type" in df.columns:  # a market order has no limit: its price is the signal's
        eff = np.where(df["order_type"].astype(str).to_numpy() == "market", price, eff)
    shares = df["shares"].to_numpy(dtype=float)
    return _T(sym=df["symbol"].to_numpy(dtype=object), side=df["side"].to_numpy(dtype=object),
              shares=shares, price=price, eff=eff, notional=df["notional"].to_numpy(dtype=float),
              send=shares * eff, wc=df["weight_change"].to_numpy(dtype=float),
              comm=df["commission_est"].to_numpy(dtype=float),
              slip=df["slippage_est"].to_numpy(dtype=float),
              total=df["total_cost_est"].to_numpy(dtype=float),
              row=np.asarray(df.index, dtype=object))


def _symbol_map(df: pd.DataFrame | None, col: str) -> pd.Series:
    if df is None or df.empty or col not in df.columns:
        return pd.Series(dtype=object)
    s = df.drop_duplicates("symbol", keep="last").set_index("symbol")[col]
    return s


def validate(trades: Trades, *, positions: pd.DataFrame | None = None,
             quotes: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
             reference: pd.DataFrame | None = None, cfg: Config, now: dt.datetime,
             kill_switch_file: bool = False) -> ValidationResult:
    """Run every check on the trades that will be sent; see the module docstring for units.

    ``positions``: ``symbol, shares, avg_cost`` (None = unknown, treated as no holdings);
    ``quotes``: ``symbol, bid, ask, last, timestamp (UTC), mid``; ``events``:
    ``symbol, date, event``; ``reference``: ``symbol, sector, adv_shares``; ``now``: tz-aware
    UTC time used for quote staleness and, without a ``# Date`` header, the trade date;
    ``kill_switch_file``: whether ``live/KILL_SWITCH`` exists.
    """
    v = cfg.validation
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    rows = _Rows()
    header = trades.header
    df_all = trades.df
    inc = included_mask(trades).to_numpy(dtype=bool)
    df = df_all[inc]
    t = _arrays(df)
    n = len(df)
    valid = t.shares > 0
    buy = t.side == "buy"

    # ---- trade date --------------------------------------------------------------------
    trade_date = header.date
    date_source = "header"
    if trade_date is None:
        trade_date = now.astimezone(NY).date().isoformat()
        date_source = "now"

    # ---- marks, portfolio value, positions after ---------------------------------------
    pos = positions if positions is not None else pd.DataFrame(
        {"symbol": pd.Series(dtype=object), "shares": pd.Series(dtype=float),
         "avg_cost": pd.Series(dtype=float)})
    q_mid = _symbol_map(quotes, "mid")
    if len(q_mid):
        q_mid = pd.to_numeric(q_mid, errors="coerce")
        q_mid = q_mid[q_mid > 0]
    trade_px = pd.Series(t.eff[valid], index=t.sym[valid]).groupby(level=0).first() \
        if valid.any() else pd.Series(dtype=float)
    avg_cost = _symbol_map(pos, "avg_cost")
    mark = q_mid.combine_first(trade_px).combine_first(pd.to_numeric(avg_cost, errors="coerce")) \
        if (len(q_mid) or len(trade_px) or len(avg_cost)) else pd.Series(dtype=float)

    pre = pos.groupby("symbol")["shares"].sum().astype(float) if len(pos) else pd.Series(dtype=float)
    pv_header = header.portfolio_value
    if pv_header is not None and pv_header > 0:
        pv, pv_source = float(pv_header), "header"
    elif len(pre):
        pv = float((pre * pre.index.map(mark).astype(float)).fillna(0.0).sum())
        pv, pv_source = (pv, "positions") if pv > 0 else (float("nan"), "unknown")
    else:
        pv, pv_source = float("nan"), "unknown"
    pv_known = math.isfinite(pv) and pv > 0

    signed = np.where(buy, t.shares, -t.shares)
    flow = pd.Series(signed[valid], index=t.sym[valid]).groupby(level=0).sum() \
        if valid.any() else pd.Series(dtype=float)
    post = pre.add(flow, fill_value=0.0)
    post = post[post.abs() > _EPS]
    post_val = post * post.index.map(mark).astype(float)

    # ---- trade integrity ---------------------------------------------------------------
    m = ~valid
    rows.per_trade("shares_nonpositive", m, "fail", t, t.shares, 0.0,
                   lambda i: f"{t.who(i)}: shares must be positive, got {_num(t.shares[i])}",
                   "all share counts positive")
    frac = valid & (np.abs(t.shares - np.round(t.shares)) > _EPS)
    rows.per_trade("fractional_shares", frac, "fail", t, t.shares, float("nan"),
                   lambda i: f"{t.who(i)}: {t.shares[i]:g} is not a whole number of shares",
                   "whole shares only")
    calc = t.shares * t.price
    diff = np.abs(calc - t.notional)
    m = diff > v.notional_tolerance_usd + _EPS
    rows.per_trade("notional_mismatch", m, "fail", t, np.round(diff, 6), v.notional_tolerance_usd,
                   lambda i: f"{t.who(i)}: notional {_money(t.notional[i])} != shares x price "
                             f"{_money(calc[i])} (off by {_money(diff[i])})",
                   "notional = shares x price for every trade",
                   float(diff.max()) if n else 0.0, v.notional_tolerance_usd)
    m = (buy & (t.wc < 0)) | (~buy & (t.wc > 0))
    rows.per_trade("direction", m, "fail", t, t.wc, 0.0,
                   lambda i: f"{t.who(i)}: weight_change {t.wc[i]:+.4f} points the other way",
                   "every side agrees with the sign of weight_change")

    # ---- sizes and concentration -------------------------------------------------------
    if pv_known:
        tp = np.where(valid, np.abs(t.send) / pv, 0.0)
        m = tp > v.max_trade_pct + _EPS
        rows.per_trade("max_trade_pct", m, "fail", t, tp, v.max_trade_pct,
                       lambda i: f"{t.who(i)}: {_money(t.send[i])} is {_pct(tp[i], 2)} of the "
                                 f"portfolio ({_money(pv)}), above {_pct(v.max_trade_pct)}",
                       f"largest trade {_pct(tp.max() if n else 0.0, 2)} of the portfolio",
                       float(tp.max()) if n else 0.0, v.max_trade_pct)
        ppct = (post_val.abs() / pv).dropna()
        bad = ppct[ppct > v.max_position_pct + _EPS]
        if len(bad):
            rows.add("position_pct", "fail", bad.index.to_numpy(dtype=object), bad.to_numpy(),
                     v.max_position_pct,
                     [f"{s}: position after the trades {_money(post_val[s])} = {_pct(p, 2)} of the "
                      f"portfolio, above {_pct(v.max_position_pct)}" for s, p in bad.items()])
        else:
            mx = float(ppct.max()) if len(ppct) else 0.0
            rows.add("position_pct", "pass", "", mx, v.max_position_pct,
                     f"largest position after the trades {_pct(mx, 2)} of the portfolio")
        sectors = _symbol_map(reference, "sector")
        sectors = sectors[sectors.astype(str).str.strip() != ""] if len(sectors) else sectors
        if len(sectors) and len(post_val):
            sec = post_val.index.map(sectors)
            known = pd.notna(sec)
            by = post_val[known].abs().groupby(np.asarray(sec[known], dtype=object)).sum() / pv
            bad = by[by > v.max_sector_pct + _EPS]
            if len(bad):
                rows.add("sector_pct", "fail", "", bad.to_numpy(), v.max_sector_pct,
                         [f"sector {s}: {_pct(p, 2)} of the portfolio after the trades, above "
                          f"{_pct(v.max_sector_pct)}" for s, p in bad.items()])
            else:
                mx = float(by.max()) if len(by) else 0.0
                rows.add("sector_pct", "pass", "", mx, v.max_sector_pct,
                         f"largest sector {_pct(mx, 2)} of the portfolio")
        else:
            rows.add("sector_pct", "pass", "", float("nan"), v.max_sector_pct,
                     "not checked: no sector data (reference.csv)")
    else:
        msg = "not checked: portfolio value unknown (no '# Portfolio Value' header, no priced positions)"
        for c, lim in (("max_trade_pct", v.max_trade_pct), ("position_pct", v.max_position_pct),
                       ("sector_pct", v.max_sector_pct)):
            rows.add(c, "warn", "", float("nan"), lim, msg)

    n_after = int((post.abs() > _EPS).sum())
    if abs(n_after - v.top_k) > v.position_count_tolerance:
        rows.add("position_count", "warn", "", float(n_after), float(v.top_k),
                 f"{n_after} positions after the trades, expected {v.top_k} +/- "
                 f"{v.position_count_tolerance}")
    else:
        rows.add("position_count", "pass", "", float(n_after), float(v.top_k),
                 f"{n_after} positions after the trades (target {v.top_k})")

    if positions is None:
        rows.add("oversell", "pass", "", float("nan"), 0.0, "not checked: no positions file")
    else:
        after = pd.Series(t.sym).map(pre.add(flow, fill_value=0.0)).to_numpy(dtype=float)
        held = pd.Series(t.sym).map(pre).fillna(0.0).to_numpy(dtype=float)
        m = valid & ~buy & (after < -_EPS)
        rows.per_trade("oversell", m, "warn", t, after, 0.0,
                       lambda i: f"{t.who(i)}: selling {_num(t.shares[i])} of {_num(held[i])} held "
                                 f"leaves {_num(after[i])} (a short)",
                       "no sale exceeds the shares held")

    # ---- prices vs the market ----------------------------------------------------------
    if quotes is None:
        rows.add("price_deviation", "pass", "", float("nan"), v.price_warn_pct,
                 "not checked: no quotes")
        rows.add("price_stale", "pass", "", float("nan"), v.quote_stale_minutes,
                 "not checked: no quotes")
        if n:
            rows.add("no_quote", "warn", "", float(n), float("nan"),
                     f"no quotes file: the prices of {n} trade(s) are not checked against the market")
        else:
            rows.add("no_quote", "pass", "", 0.0, float("nan"), "no trades")
    else:
        mid = pd.Series(t.sym).map(q_mid).to_numpy(dtype=float)
        has = np.isfinite(mid) & (mid > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(has, np.abs(t.eff - mid) / np.where(has, mid, 1.0), np.nan)
        fail = has & (dev > v.price_fail_pct + _EPS)
        warn = has & ~fail & (dev > v.price_warn_pct + _EPS)
        status = np.where(fail, "fail", "warn").astype(object)
        lim = np.where(fail, v.price_fail_pct, v.price_warn_pct)
        rows.per_trade("price_deviation", fail | warn, status, t, dev, lim,
                       lambda i: f"{t.who(i)}: price {_money(t.eff[i])} is {_pct(dev[i], 2)} from "
                                 f"the quote mid {_money(mid[i])} (limit {_pct(lim[i])})",
                       "every price within "
                       f"{_pct(v.price_warn_pct)} of the quote mid",
                       float(np.nanmax(dev)) if has.any() else float("nan"), v.price_warn_pct)
        ts = _symbol_map(quotes, "timestamp")
        qts = pd.to_datetime(pd.Series(t.sym).map(ts), utc=True, errors="coerce")
        age = ((pd.Timestamp(now) - qts).dt.total_seconds() / 60.0).to_numpy(dtype=float)
        quoted = pd.Series(t.sym).isin(ts.index).to_numpy()
        no_ts = quoted & ~np.isfinite(age)
        stale = quoted & np.isfinite(age) & (age > v.quote_stale_minutes + _EPS)
        rows.per_trade("price_stale", no_ts | stale, "warn", t, age, v.quote_stale_minutes,
                       lambda i: (f"{t.sym[i]}: quote has no timestamp" if not np.isfinite(age[i]) else
                                  f"{t.sym[i]}: quote is {age[i]:.0f} min old (limit "
                                  f"{v.quote_stale_minutes:g} min)"),
                       f"every quote younger than {v.quote_stale_minutes:g} min",
                       float(np.nanmax(age)) if np.isfinite(age).any() else float("nan"),
                       v.quote_stale_minutes)
        rows.per_trade("no_quote", ~has, "warn", t, float("nan"), float("nan"),
                       lambda i: f"{t.who(i)}: no usable quote; price not checked against the market",
                       "every trade has a quote")

    # ---- turnover and costs ------------------------------------------------------------
    send_total = float(np.abs(t.send[valid]).sum())
    turnover = send_total / pv if pv_known else float("nan")
    all_valid = df_all["shares"].to_numpy(dtype=float) > 0
    file_total = float((df_all["shares"].to_numpy(dtype=float) * df_all["price"].to_numpy(dtype=float))[all_valid].sum())
    file_turnover = file_total / pv if pv_known else float("nan")
    hdr_turnover = header.turnover
    if not pv_known:
        rows.add("turnover", "warn", "", float("nan"), v.turnover_fail,
                 "not checked: portfolio value unknown")
    else:
        found = False
        if turnover > v.turnover_fail + _EPS:
            rows.add("turnover", "fail", "", turnover, v.turnover_fail,
                     f"turnover {_pct(turnover, 2)} above {_pct(v.turnover_fail)}")
            found = True
        elif turnover > v.turnover_warn + _EPS:
            rows.add("turnover", "warn", "", turnover, v.turnover_warn,
                     f"turnover {_pct(turnover, 2)} between {_pct(v.turnover_warn)} and "
                     f"{_pct(v.turnover_fail)}")
            found = True
        if hdr_turnover is not None and abs(hdr_turnover - file_turnover) > v.turnover_header_tolerance + _EPS:
            rows.add("turnover", "warn", "", abs(hdr_turnover - file_turnover), v.turnover_header_tolerance,
                     f"header says turnover {_pct(hdr_turnover, 2)} but the trades make "
                     f"{_pct(file_turnover, 2)} of {_money(pv)}")
            found = True
        if not found:
            rows.add("turnover", "pass", "", turnover, v.turnover_warn,
                     f"turnover {_pct(turnover, 2)}")

    est_costs = float(t.total[valid].sum())
    cost_pct = est_costs / send_total if send_total > 0 else 0.0
    if send_total > 0 and cost_pct >= v.max_cost_pct - _EPS:
        rows.add("total_cost_pct", "fail", "", cost_pct, v.max_cost_pct,
                 f"estimated costs {_money(est_costs)} = {_pct(cost_pct, 3)} of notional "
                 f"{_money(send_total)}, at or above {_pct(v.max_cost_pct, 2)}")
    else:
        rows.add("total_cost_pct", "pass", "", cost_pct, v.max_cost_pct,
                 f"estimated costs {_money(est_costs)} = {_pct(cost_pct, 3)} of notional")
    m = valid & (t.total > v.high_cost_trade_usd + _EPS)
    rows.per_trade("high_cost_trade", m, "warn", t, t.total, v.high_cost_trade_usd,
                   lambda i: f"{t.who(i)}: estimated cost {_money(t.total[i])} above "
                             f"{_money(v.high_cost_trade_usd)}",
                   f"no trade costs more than {_money(v.high_cost_trade_usd)}")
    m = valid & (np.abs(t.send) < v.min_trade_usd - _EPS)
    rows.per_trade("small_trade", m, "warn", t, np.abs(t.send), v.min_trade_usd,
                   lambda i: f"{t.who(i)}: {_money(t.send[i])} is below the "
                             f"{_money(v.min_trade_usd)} minimum trade",
                   f"every trade at least {_money(v.min_trade_usd)}")
    base = np.abs(calc)
    exp_c = base * cfg.costs_bps / 1e4
    exp_s = base * cfg.slippage_bps / 1e4
    d_c = np.abs(t.comm - exp_c)
    d_s = np.abs(t.slip - exp_s)
    d_t = np.abs(t.total - (t.comm + t.slip))
    worst = np.maximum(np.maximum(d_c, d_s), d_t)
    tol = v.cost_tolerance_usd + _EPS
    m = valid & (worst > tol)

    def _cost_msg(i: int) -> str:
        parts = []
        if d_c[i] > tol:
            parts.append(f"commission_est {_money(t.comm[i])} vs {_money(exp_c[i])} at {cfg.costs_bps:g} bps")
        if d_s[i] > tol:
            parts.append(f"slippage_est {_money(t.slip[i])} vs {_money(exp_s[i])} at {cfg.slippage_bps:g} bps")
        if d_t[i] > tol:
            parts.append(f"total_cost_est {_money(t.total[i])} != commission + slippage "
                         f"{_money(t.comm[i] + t.slip[i])}")
        return f"{t.who(i)}: " + "; ".join(parts)

    rows.per_trade("cost_estimate", m, "warn", t, np.round(worst, 6), v.cost_tolerance_usd, _cost_msg,
                   f"cost estimates match costs_bps={cfg.costs_bps:g} and slippage_bps={cfg.slippage_bps:g}")

    # ---- model and safety (header) -----------------------------------------------------
    ic = header.ic
    if ic is None:
        rows.add("ic", "warn", "", float("nan"), v.ic_pass, "IC unknown (no '# IC' header)")
    elif ic > v.ic_pass:
        rows.add("ic", "pass", "", ic, v.ic_pass, f"IC {ic:.4f} above {v.ic_pass:g}")
    elif ic >= v.ic_fail:
        rows.add("ic", "warn", "", ic, v.ic_pass, f"IC {ic:.4f} between {v.ic_fail:g} and {v.ic_pass:g}")
    else:
        rows.add("ic", "fail", "", ic, v.ic_fail, f"IC {ic:.4f} below {v.ic_fail:g}")

    ks = header.kill_switch
    if ks == "TRIGGERED" or kill_switch_file:
        why = []
        if ks == "TRIGGERED":
            why.append("the header says Kill Switch: TRIGGERED")
        if kill_switch_file:
            why.append("live/KILL_SWITCH is present")
        rows.add("kill_switch", "fail", "", float("nan"), float("nan"),
                 "kill switch triggered: " + " and ".join(why))
    else:
        rows.add("kill_switch", "pass", "", float("nan"), float("nan"),
                 f"kill switch {ks or 'not stated'}, no KILL_SWITCH file")

    sc = header.safety_checks
    if sc == "FAILED":
        rows.add("safety_checks", "fail", "", float("nan"), float("nan"),
                 "the model's safety checks FAILED (header)")
    else:
        rows.add("safety_checks", "pass", "", float("nan"), float("nan"),
                 f"safety checks {sc or 'not stated'}")

    regime, mult = header.regime, header.risk_multiplier
    if not regime:
        rows.add("regime", "warn", "", mult if mult is not None else float("nan"),
                 v.regime_multiplier_max, "regime missing from the header")
    elif mult is not None and not (v.regime_multiplier_min - _EPS <= mult <= v.regime_multiplier_max + _EPS):
        rows.add("regime", "warn", "", mult,
                 v.regime_multiplier_min if mult < v.regime_multiplier_min else v.regime_multiplier_max,
                 f"regime {regime}: risk multiplier {mult:g} outside "
                 f"[{v.regime_multiplier_min:g}, {v.regime_multiplier_max:g}]")
    else:
        rows.add("regime", "pass", "", mult if mult is not None else float("nan"),
                 v.regime_multiplier_max,
                 f"regime {regime}" + (f" (risk multiplier {mult:g})" if mult is not None else ""))

    # ---- events, calendar, liquidity ---------------------------------------------------
    _events(rows, events, t, trade_date, v.earnings_window_days)
    try:
        if not nyse_calendar.is_session(trade_date):
            rows.add("market_calendar", "fail", "", float("nan"), float("nan"),
                     f"{trade_date} is not an NYSE session (weekend or holiday)")
        elif nyse_calendar.is_half_day(trade_date):
            rows.add("market_calendar", "warn", "", float("nan"), float("nan"),
                     f"{trade_date} is an NYSE half day (closes 13:00 New York)")
        else:
            rows.add("market_calendar", "pass", "", float("nan"), float("nan"),
                     f"{trade_date} is a full NYSE session")
    except ValueError as e:
        rows.add("market_calendar", "warn", "", float("nan"), float("nan"), f"cannot tell: {e}")

    adv = pd.to_numeric(_symbol_map(reference, "adv_shares"), errors="coerce")
    if len(adv):
        a = pd.Series(t.sym).map(adv).to_numpy(dtype=float)
        ok = valid & np.isfinite(a) & (a > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(ok, t.shares / np.where(ok, a, 1.0), np.nan)
        m = ok & (share > v.max_adv_pct + _EPS)

        def _adv_msg(i: int) -> str:
            days = math.ceil(t.shares[i] / (a[i] * v.max_adv_pct) - _EPS)
            return (f"{t.who(i)}: {_num(t.shares[i])} shares = {_pct(share[i], 2)} of ADV "
                    f"{_num(a[i])}; at {_pct(v.max_adv_pct)} of volume a day that takes {days} "
                    f"trading days")

        rows.per_trade("adv_pct", m, "warn", t, share, v.max_adv_pct, _adv_msg,
                       f"every trade within {_pct(v.max_adv_pct)} of ADV"
                       + ("" if ok.all() else f" ({int((~ok & valid).sum())} without ADV data)"),
                       float(np.nanmax(share)) if ok.any() else float("nan"), v.max_adv_pct)
    else:
        rows.add("adv_pct", "pass", "", float("nan"), v.max_adv_pct,
                 "not checked: no ADV data (reference.csv)")

    excl = df_all[~inc]
    if len(excl):
        rows.add("excluded", "pass", excl["symbol"].to_numpy(dtype=object), float("nan"), float("nan"),
                 [f"{s} {sd} (row {r}): excluded by the operator; not sent, not checked"
                  for s, sd, r in zip(excl["symbol"], excl["side"], excl.index)])
        if n == 0:
            rows.add("excluded", "warn", "", float(len(excl)), float("nan"),
                     "every trade is excluded: nothing to send")
    else:
        rows.add("excluded", "pass", "", 0.0, float("nan"), "no trades excluded")

    checks = rows.frame()
    order = {c: i for i, c in enumerate(CHECK_IDS)}
    checks["_o"] = checks["check"].map(order).fillna(len(order))
    checks = checks.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    decision = decide(checks)
    counts = checks["status"].value_counts()
    buy_n = float(np.abs(t.send[valid & buy]).sum())
    sell_n = float(np.abs(t.send[valid & ~buy]).sum())
    summary = {
        "pass": int(counts.get("pass", 0)), "warn": int(counts.get("warn", 0)),
        "fail": int(counts.get("fail", 0)),
        "date": trade_date, "date_source": date_source,
        "n_trades": int(n), "n_excluded": int(len(excl)),
        "n_buys": int((buy & valid).sum()), "n_sells": int((~buy & valid).sum()),
        "notional": round(send_total, 2), "buy_notional": round(buy_n, 2),
        "sell_notional": round(sell_n, 2),
        "portfolio_value": round(pv, 2) if pv_known else None,
        "portfolio_value_source": pv_source,
        "turnover": round(turnover, 6) if pv_known else None,
        "turnover_header": hdr_turnover,
        "est_costs": round(est_costs, 2), "est_cost_pct": round(cost_pct, 6),
        "positions_after": n_after,
        "positions_given": positions is not None, "quotes_given": quotes is not None,
        "events_given": events is not None, "reference_given": reference is not None,
        "checked_at": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return ValidationResult(checks, decision, summary)


def _events(rows: _Rows, events: pd.DataFrame | None, t: _T, trade_date: str, window: int) -> None:
    """``corporate_event`` (warn) and ``halted`` (fail) rows for the traded symbols."""
    if events is None or events.empty:
        msg = "not checked: no events file" if events is None else "no events listed"
        rows.add("corporate_event", "pass", "", float("nan"), float(window), msg)
        rows.add("halted", "pass", "", float("nan"), float(window), msg)
        return
    traded = set(t.sym.tolist())
    ev = events[events["symbol"].isin(traded)]
    if len(ev):
        dates = ev["date"].astype(str).tolist()
        try:
            off = nyse_calendar.trading_days_offsets(trade_date, dates)
        except ValueError:  # outside the calendar: fall back to calendar days
            td = dt.date.fromisoformat(trade_date)
            off = np.array([(dt.date.fromisoformat(d) - td).days for d in dates])
        near = np.abs(off) <= window
        ev = ev[near].assign(_off=off[near])
    kinds = ev["event"].astype(str) if len(ev) else pd.Series(dtype=str)
    for check, sel, status in (("corporate_event", kinds != "halt", "warn"),
                               ("halted", kinds == "halt", "fail")):
        hit = ev[sel.to_numpy(dtype=bool)] if len(ev) else ev
        if len(hit):
            rows.add(check, status, hit["symbol"].to_numpy(dtype=object),
                     hit["_off"].to_numpy(dtype=float), float(window),
                     [f"{s}: {'trading halt' if e == 'halt' else e.replace('_', '-')} on {d} "
                      f"({_when(o)} the trade date)" for s, e, d, o in
                      zip(hit["symbol"], hit["event"], hit["date"], hit["_off"])])
        else:
            rows.add(check, "pass", "", float("nan"), float(window),
                     f"no {'halts' if check == 'halted' else 'corporate events'} within "
                     f"{window} trading day(s) of {trade_date}")


def _when(off: int) -> str:
    off = int(off)
    if off == 0:
        return "on the day of"
    return f"{abs(off)} trading day(s) {'after' if off > 0 else 'before'}"

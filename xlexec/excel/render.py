"""Draw the operator workbook for a day from the system of record (files under ``live/`` + journal).

:func:`collect` reads what exists (nothing is computed that a button has not produced: a tab
whose step has not run yet says so) and returns a :class:`~xlexec.excel.build.BookData`;
:func:`render_workbook` writes it (atomically) with the operator's :class:`Inputs` carried over.

Sources per tab:

* Control: the trade date, ``execution.broker`` and the PAPER/LIVE mode from the config, the
  kill switch (trades header, ``live/KILL_SWITCH``), ``validation.json``'s decision, the day's
  latest approval (and whether it still covers the orders the Blotter would send), order counts
  and the last button press (journal ``action`` events).
* Blotter: ``trades.csv`` (+ the Include/Limit inputs), rows coloured by their worst check.
* Checks: ``validation.json``. Approvals: the journal (``list_approvals``).
* Quotes: the day's ``quotes.csv`` (what the checks and submit's price collar use), each
  quote's age at the time of drawing; quotes the operator typed there and no button has saved
  yet are carried over as typed (see :func:`xlexec.excel.book.pending_quotes`).
* Orders: ``execution_log.csv`` rebuilt from the journal (``xlexec.execution.engine.execution_log_frame``).
* Fills: ``broker_fills.csv`` once imported, else the block the operator pasted.
* Reconcile: ``reconciliation_trades.csv``, ``reconciliation.json``, ``reconciliation_report.txt``.
* Positions: ``current_positions.csv`` vs ``positions_after_recon.csv``.
* TCA: ``tca.json`` and ``tca_report.txt``. Monthly: ``monthly_costs.csv`` and the month's days
  (:func:`xlexec.store.month.collect_month`). Log: journal ``action`` events.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.errors import InputError, XlexecError
from xlexec.excel.build import BLOTTER_COLUMNS, QUOTES_COLUMNS, QUOTES_SIZE_COLUMNS, BookData, Inputs, SheetData, Table, write_workbook

LOG_COLUMNS = ["when_utc", "who", "action", "result", "message"]


# --------------------------------------------------------------------------- small readers

def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if not ln.startswith("#")]
        if not lines:
            return None
        import io
        return pd.read_csv(io.StringIO("\n".join(lines)), keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _rows(df: pd.DataFrame, columns: list[str] | None = None) -> list[list[Any]]:
    """The frame's rows as lists of Python values (missing -> None), ``columns`` in that order
    (absent ones -> None). Vectorised: typed columns convert in one step, only object columns
    are cleaned cell by cell (numpy scalars inside them)."""
    cols = columns or list(df.columns)
    sub = df.reindex(columns=cols)
    if not len(sub):
        return []
    arr = sub.to_numpy(dtype=object)
    for j, dtype in enumerate(sub.dtypes):
        if dtype == object:
            arr[:, j] = [_clean(v) for v in arr[:, j]]
    missing = sub.isna().to_numpy()
    if missing.any():
        arr[missing] = None
    return arr.tolist()


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item"):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    return v


def _table_from_frame(name: str, df: pd.DataFrame | None, columns: list[str] | None = None, **kw) -> Table:
    if df is None:
        return Table(name, list(columns or ["(none)"]), [], **kw)
    cols = columns or [str(c) for c in df.columns]
    return Table(name, cols, _rows(df, cols), **kw)


def _kv_lines(d: dict, keys: list[str] | None = None) -> list[list[Any]]:
    out = []
    for k in keys or list(d):
        if k not in d:
            continue
        v = d[k]
        if isinstance(v, (list, dict)):
            if not v:
                v = "none" if isinstance(v, list) else ""
            else:
                v = json.dumps(v)[:300]
        out.append([k, v])
    return out


def _text_lines(text: str | None) -> list[list[Any]]:
    return [[ln] for ln in (text or "").rstrip("\n").splitlines()]


# --------------------------------------------------------------------------- modes and state

def is_live(cfg) -> bool:
    """True when orders would go to a real-money account."""
    ex = cfg.execution
    if ex.broker == "paper":
        return False
    if ex.broker == "alpaca":
        return not ex.alpaca.paper
    return not ex.paper_trading


def mode_text(cfg) -> str:
    ex = cfg.execution
    if ex.broker == "paper":
        return "PAPER TRADING · built-in simulator"
    if is_live(cfg):
        return f"LIVE TRADING · REAL MONEY · {ex.broker}"
    return f"PAPER TRADING · {ex.broker}"


def apply_blotter(trades, blotter: dict) -> tuple[Any, bool]:
    """Trades with the operator's Include/Limit inputs applied; ``(trades, changed)``.

    ``blotter`` maps ``(symbol, side)`` -> ``{"include": "Y"/"N", "limit": $ or None}``. A limit
    equal to the file's (``limit_price``, else the signal price) or blank changes nothing;
    ``changed`` is False when the result sends exactly what the file says.
    """
    from xlexec.core.trades import Trades, limit_price_of

    if not blotter:
        return trades, False
    df = trades.df.copy()
    default_lim = limit_price_of(trades)
    from xlexec.core.orders import included_mask
    kept = included_mask(trades)
    new_inc, new_lim, changed = [], [], False
    for idx, sym, side in zip(df.index, df["symbol"], df["side"]):
        b = blotter.get((str(sym), str(side))) or {}
        inc = b.get("include")
        want = kept.loc[idx] if inc in (None, "") else _truthy(inc)
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


def _truthy(v) -> bool:
    from xlexec.core.truth import is_included  # the one include rule (trades.csv and the Blotter)
    return is_included(v)


def _journal(ctx):
    return ctx.journal() if (Path(ctx.live_dir) / "journal.sqlite").exists() else None


def workbook_actions(journal) -> list[dict]:
    """Payloads of the button presses journaled by :mod:`xlexec.excel.buttons` (oldest first)."""
    from xlexec.store.journal import ACTION
    return [e.payload for e in journal.events(ACTION) if e.payload.get("source") == "workbook"]


def log_rows(ctx, day: str | None = None) -> list[list[Any]]:
    """Every button press (journal ``action`` events written by the buttons), oldest first."""
    j = _journal(ctx)
    if j is None:
        return []
    return [[p.get("when_utc"), p.get("who"), p.get("button"), p.get("result"), p.get("message")]
            for p in workbook_actions(j)]


ORDER_COLUMNS = ["symbol", "side", "qty", "order_type", "limit_price", "status", "filled_qty", "filled_avg_price",
                 "remaining", "reason", "submitted_at", "updated_at", "client_order_id"]


def orders_frame(journal, day: str) -> pd.DataFrame:
    """One row per order of ``day``: the newest broker snapshot, or ``refused`` with its reason."""
    from xlexec.store.journal import REFUSED
    rows = []
    latest = journal.latest_orders(day)
    for coid, p in latest.items():
        qty, filled = p.get("qty"), p.get("filled_qty") or 0.0
        rows.append({**{k: p.get(k) for k in ORDER_COLUMNS}, "client_order_id": coid,
                     "remaining": (float(qty) - float(filled)) if qty is not None else None})
    for p in journal.payloads(REFUSED, day):
        coid = p.get("client_order_id")
        if coid in latest:
            continue
        rows.append({"symbol": p.get("symbol"), "side": p.get("side"), "qty": p.get("qty"),
                     "limit_price": p.get("limit_price"), "status": "refused",
                     "reason": p.get("reason") or p.get("note"), "client_order_id": coid})
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


# --------------------------------------------------------------------------- collection

def _blotter(trades, inputs: Inputs, worst: dict[str, str], checks: pd.DataFrame | None) -> Table:
    from xlexec.core.orders import included_mask
    from xlexec.core.trades import limit_price_of, order_type_of

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
            inc = ("Y" if kept.loc[idx] else "N") if inc in (None, "") else ("Y" if _truthy(inc) else "N")
            limit = b.get("limit") if b.get("limit") is not None else _clean(lim.loc[idx])
            cost = df.at[idx, "total_cost_est"]
            rows.append([inc, sym, side, _clean(df.at[idx, "shares"]), _clean(df.at[idx, "price"]), limit,
                         str(ot.loc[idx]), _clean(df.at[idx, "notional"]), _clean(df.at[idx, "weight_change"]),
                         _clean(cost), worst.get(sym, "" if not worst else "pass"), msgs.get(sym, "")])
    kinds = {"Shares": "shares", "Price": "price", "Limit": "price", "Notional": "money", "Weight change": "pct",
             "Est. cost": "money", "Include": "text", "Side": "text", "Symbol": "text", "Order type": "text",
             "Worst check": "text", "Check message": "text"}
    return Table("tblBlotter", list(BLOTTER_COLUMNS), rows, kinds=kinds, inputs=("Include", "Limit"),
                 status_col="Worst check", bad_values={"fail": "fail", "warn": "warn"})


def empty_book_data(day: str | None = None, ctx=None, inputs: Inputs | None = None) -> BookData:
    """The template: every tab with its headers and no rows."""
    inputs = inputs or Inputs()
    cfg = ctx.config if ctx is not None else None
    control = {"trade_date": inputs.trade_date or day or "", "broker": cfg.execution.broker if cfg else "paper",
               "mode": mode_text(cfg) if cfg else "PAPER TRADING · built-in simulator",
               "convert_to": inputs.convert_to or "ibkr", "kill_switch": "", "recommended": "not validated yet",
               "approval": "none", "approver": inputs.approver, "decision": inputs.decision,
               "override": inputs.override or "N", "reason": inputs.reason, "orders": "none sent",
               "last_action": "", "result": "", "when": "", "by": "", "slice": inputs.slice or "N"}
    sheets = {
        "Blotter": SheetData("Blotter", "Press Load Trades on Control.", _blotter(None, inputs, {}, None)),
        "Checks": SheetData("Pre-trade checks", "Press Validate.",
                            Table("tblChecks", ["check", "status", "symbol", "value", "limit", "message"], [],
                                  kinds={"value": "text", "limit": "text"}, status_col="status")),
        "Quotes": SheetData("Quotes", "No quotes for this day yet: paste or type them below, or let the "
                                      "model (or Alpaca market data) write live/<day>/quotes.csv.",
                            Table("tblQuotes", list(QUOTES_COLUMNS), [], kinds=dict(QUOTES_KINDS),
                                  inputs=tuple(QUOTES_COLUMNS)),
                            side_title="Age"),
        "Approvals": SheetData("Approvals (read-only log)", "",
                               Table("tblApprovals", ["date", "decision", "reason", "approver", "timestamp_utc",
                                                      "recommended", "orders_sha256", "n_orders", "override"], [])),
        "Orders": SheetData("Orders", "Press Submit, then Refresh Status.",
                            Table("tblOrders", list(ORDER_COLUMNS), [], status_col="status",
                                  bad_values={"rejected": "fail", "refused": "fail", "unknown": "warn"})),
        "Reconcile": SheetData("Reconciliation", "Press Reconcile after the fills are imported.",
                               Table("tblReconcile", ["symbol", "side", "planned", "executed", "status"], [],
                                     status_col="status")),
        "Positions": SheetData("Positions: system vs after reconciliation", "",
                               Table("tblPositions", ["symbol", "system_shares", "reconciled_shares",
                                                      "difference_shares", "avg_cost", "status"], [],
                                     status_col="status", bad_values={"break": "break"})),
        "TCA": SheetData("Transaction cost analysis", "Press TCA after reconciliation.",
                         Table("tblTca", ["symbol", "usd", "pct_trade"], [])),
        "Monthly": SheetData("Monthly cost summary", "Press Monthly Report.",
                             Table("tblMonthlyDaily", ["date", "notional", "commission", "slippage_usd",
                                                       "total_cost", "turnover", "portfolio_value", "broker",
                                                       "trades"], [])),
        "Log": SheetData("Log: every button press", "",
                         Table("tblLog", list(LOG_COLUMNS), log_rows(ctx) if ctx is not None else [],
                               status_col="result", bad_values={"error": "error", "refused": "fail"})),
    }
    from xlexec.formats.upload import FORMATS as CONVERT_FORMATS
    return BookData(day=day, control=control, live=bool(cfg and is_live(cfg)),
                    mode_banner=("LIVE · REAL MONEY" if cfg and is_live(cfg) else "PAPER"),
                    sheets=sheets, fills_block=list(inputs.fills_block),
                    convert_formats=list(CONVERT_FORMATS),
                    monthly_months=Table("tblMonthly", ["month", "gross_return", "commission_costs",
                                                         "slippage_costs", "net_return"], []))


def collect(ctx, day: str, inputs: Inputs | None = None) -> BookData:
    """Everything the workbook shows for ``day`` (see the module docstring for the sources)."""
    from xlexec.formats.trades import read_trades

    inputs = inputs or Inputs()
    data = empty_book_data(day, ctx, inputs)
    live = Path(ctx.live_dir)
    dd = live / day
    c = data.control
    c["trade_date"] = day

    trades = None
    tp = dd / "trades.csv"
    if tp.exists():
        try:
            trades = read_trades(tp, strict=False)
        except InputError as e:
            data.sheets["Blotter"].summary = f"trades.csv cannot be read: {e}"

    # validation
    val = _read_json(dd / "validation.json")
    checks = None
    worst: dict[str, str] = {}
    if val and isinstance(val.get("checks"), list):
        checks = pd.DataFrame(val["checks"])
        for col in ("check", "status", "symbol", "value", "limit", "message"):
            if col not in checks.columns:
                checks[col] = ""
        checks["symbol"] = checks["symbol"].fillna("").astype(str)
        from xlexec.core.validate import worst_by_symbol
        worst = worst_by_symbol(checks)
        summ = val.get("summary") or {}
        counts = {s: int((checks["status"] == s).sum()) for s in ("fail", "warn", "pass")}
        c["recommended"] = (f"{val.get('decision')} ({counts['fail']} fail, {counts['warn']} warn, "
                            f"{counts['pass']} pass)")
        sheet = data.sheets["Checks"]
        sheet.summary = f"Decision {val.get('decision')}: {counts['fail']} fail, {counts['warn']} warn, {counts['pass']} pass"
        order = {"fail": 0, "warn": 1, "pass": 2}
        checks = checks.assign(_o=checks["status"].map(order).fillna(3)).sort_values("_o", kind="stable").drop(columns="_o")
        sheet.table.rows = _rows(checks, sheet.table.columns)
        sheet.side = _kv_lines(summ)
        sheet.side_title = "Summary" if summ else ""

    if trades is not None:
        data.sheets["Blotter"] = SheetData(
            f"Blotter — {day}",
            f"{len(trades.df)} trades from live/{day}/trades.csv. Include (Y/N) and Limit ($) are yours to edit.",
            _blotter(trades, inputs, worst, checks))
        h = trades.header
        from xlexec.execution.engine import kill_switch_state
        ks = kill_switch_state(live, h.kill_switch)
        c["kill_switch"] = f"TRIGGERED: {ks}" if ks else f"armed (header: {h.kill_switch or 'n/a'})"
    else:
        from xlexec.execution.engine import kill_switch_state
        ks = kill_switch_state(live, None)
        c["kill_switch"] = f"TRIGGERED: {ks}" if ks else "armed"

    data.sheets["Quotes"], data.quotes_shown = quotes_sheet(ctx, day, inputs, val)

    # approvals
    try:
        from xlexec.store.approvals import list_approvals
        ap = list_approvals(live) if (live / "journal.sqlite").exists() else None
    except Exception:  # noqa: BLE001 - a view never fails on one tab
        ap = None
    if ap is not None and len(ap):
        data.sheets["Approvals"].table.rows = _rows(ap, data.sheets["Approvals"].table.columns)
        mine = ap[ap["date"].astype(str) == day]
        if len(mine):
            last = mine.iloc[-1]
            bound = ""
            if trades is not None:
                try:
                    from xlexec.core.orders import orders_from_trades, orders_sha256
                    t2, _ = apply_blotter(trades, inputs.blotter)
                    o = orders_from_trades(t2, default_order_type=ctx.config.execution.default_order_type, date=day)
                    bound = (" · covers the Blotter's orders" if orders_sha256(o) == last["orders_sha256"]
                             else " · ORDERS CHANGED since: approve again")
                except XlexecError:
                    bound = ""
            c["approval"] = (f"{last['decision']} by {last['approver']} at {last['timestamp_utc']} "
                             f"({last['n_orders']} orders){bound}")
        data.sheets["Approvals"].summary = f"{len(ap)} decisions recorded (journal); live/trade_approvals.csv mirrors it."

    # orders (the journal's newest broker snapshot per order, plus refused ones)
    j = _journal(ctx)
    if j is not None:
        ol = orders_frame(j, day)
        if len(ol):
            counts = ol["status"].astype(str).value_counts().to_dict()
            c["orders"] = ", ".join(f"{v} {k}" for k, v in counts.items())
            data.sheets["Orders"] = SheetData(
                f"Orders — {day}", f"{len(ol)} orders known to the journal: " + c["orders"]
                + " (press Refresh Status for the broker's latest)",
                _table_from_frame("tblOrders", ol, status_col="status",
                                  bad_values={"rejected": "fail", "refused": "fail", "unknown": "warn",
                                              "expired": "warn", "canceled": "warn", "partially_filled": "warn"}))
        acts = workbook_actions(j)
        if acts:
            p = acts[-1]
            c.update(last_action=p.get("button"), result=f"{p.get('result')}: {p.get('message') or ''}"[:500],
                     when=p.get("when_utc"), by=p.get("who"))

    # fills
    bf = dd / "broker_fills.csv"
    fills_df = _read_csv(bf)
    if fills_df is not None and not inputs.fills_block:
        data.fills_block = [list(fills_df.columns)] + _rows(fills_df)
        data.fills_note = f"Imported: {len(fills_df)} fills in {bf} (shown in the xlexec layout)."
    elif inputs.fills_block:
        data.fills_note = ("Pasted block not imported yet: press Import Fills." if fills_df is None else
                           f"{len(fills_df)} fills already imported; press Import Fills to replace them with this block.")

    # reconciliation
    rj = _read_json(dd / "reconciliation.json")
    if rj is not None:
        rt = _read_csv(dd / "reconciliation_trades.csv")
        sheet = SheetData(
            f"Reconciliation — {day}",
            f"Executed {rj.get('trades_executed')}/{rj.get('trades_recommended')}, "
            f"{len(rj.get('breaks') or [])} breaks, positions match: {rj.get('positions_match')}",
            _table_from_frame("tblReconcile", rt, status_col="status",
                              bad_values={"not_executed": "fail", "over_fill": "fail", "unplanned": "fail",
                                          "partial": "warn"})
            if rt is not None else data.sheets["Reconcile"].table)
        side = _kv_lines(rj, ["trades_recommended", "trades_executed", "trades_executed_pct", "slippage_bps_avg",
                              "commission_estimated", "commission_actual", "commission_variance",
                              "cash_before", "cash_after", "notional_traded", "slippage_usd",
                              "portfolio_value_after", "positions_match", "fills_used"])
        breaks = rj.get("breaks") or []
        if breaks:
            side.append(["BREAKS", len(breaks)])
            for b in breaks[:50]:
                side.append([str(b.get("kind", "break")), json.dumps({k: v for k, v in b.items() if k != "kind"})[:250]])
        side.append([""])
        side += _text_lines(_read_text(dd / "reconciliation_report.txt"))
        sheet.side, sheet.side_title = side, "Summary"
        data.sheets["Reconcile"] = sheet

    # positions
    cur = _read_csv(live / "current_positions.csv")
    after = _read_csv(dd / "positions_after_recon.csv")
    bak = _read_csv(live / f"current_positions.{day}.bak.csv")
    system = bak if bak is not None else cur
    if system is not None or after is not None:
        s = (system.groupby("symbol")["shares"].sum() if system is not None and "symbol" in system.columns
             else pd.Series(dtype=float))
        a = (after.groupby("symbol")["shares"].sum() if after is not None and "symbol" in after.columns
             else pd.Series(dtype=float))
        cost = (after.set_index("symbol")["avg_cost"] if after is not None and "avg_cost" in after.columns
                else (system.set_index("symbol")["avg_cost"] if system is not None and "avg_cost" in system.columns
                      else pd.Series(dtype=float)))
        syms = sorted(set(s.index) | set(a.index))
        rows = []
        expected = set()
        if trades is not None:
            expected = set(trades.df["symbol"].astype(str))
        for sym in syms:
            sv, av = float(s.get(sym, 0.0)), (float(a.get(sym, 0.0)) if after is not None else None)
            diff = None if av is None else av - sv
            status = ("not reconciled" if av is None else "match" if abs(diff) < 1e-9
                      else ("traded" if sym in expected else "break"))
            rows.append([sym, sv, av, diff, _clean(cost.get(sym)) if sym in cost.index else None, status])
        accepted = bak is not None
        data.sheets["Positions"] = SheetData(
            f"Positions — {day}",
            ("system = positions before the day; reconciled = after today's fills"
             + ("; accepted as live/current_positions.csv" if accepted else
                ("; not accepted yet: press Accept Positions" if after is not None else ""))),
            Table("tblPositions", ["symbol", "system_shares", "reconciled_shares", "difference_shares", "avg_cost",
                                   "status"], rows, kinds={"avg_cost": "price"}, status_col="status",
                  bad_values={"break": "break"}))

    # TCA
    tj = _read_json(dd / "tca.json")
    if tj is not None:
        bs = pd.DataFrame(tj.get("by_symbol") or [], columns=["symbol", "usd", "pct_trade"])
        tot = tj.get("total") or {}
        sheet = SheetData(f"TCA — {day}",
                          f"Total cost ${tot.get('usd')} ({_pct_text(tot.get('pct_notional'))} of notional, "
                          f"{_pct_text(tot.get('pct_portfolio'))} of portfolio)",
                          _table_from_frame("tblTca", bs, ["symbol", "usd", "pct_trade"]))
        flat = {}
        for k in ("commission", "slippage", "opportunity", "total", "shortfall"):
            for kk, vv in (tj.get(k) or {}).items():
                if isinstance(vv, dict):
                    for k3, v3 in vv.items():
                        flat[f"{k}.{kk}.{k3}"] = v3
                else:
                    flat[f"{k}.{kk}"] = vv
        side = [[k, v] for k, v in flat.items()]
        side.append([""])
        side += _text_lines(_read_text(dd / "tca_report.txt"))
        sheet.side, sheet.side_title = side, "Figures (positive = cost)"
        data.sheets["TCA"] = sheet

    # Monthly
    month = day[:7]
    mc = _read_csv(live / "monthly_costs.csv")
    if mc is not None and "month" in mc.columns:
        mc = mc.sort_values("month")
        cols = [c_ for c_ in ["month", "gross_return", "commission_costs", "slippage_costs", "net_return",
                              "total_commission", "avg_slippage_bps", "cost_pct_portfolio"] if c_ in mc.columns]
        data.monthly_months = Table("tblMonthly", cols, _rows(mc, cols),
                                    kinds={"total_commission": "money", "avg_slippage_bps": "bps"})
        if (mc["month"].astype(str) == month).any():
            try:
                from xlexec.core.monthly import monthly_report
                from xlexec.store.month import collect_month
                mi = collect_month(live, month, journal=j, default_broker=ctx.config.execution.broker,
                                   default_order_type=ctx.config.execution.default_order_type)
                res = monthly_report(mi.days, month, opening_value=mi.opening_value)
                daily = res.daily
                cols = [c_ for c_ in ["date", "notional", "commission", "slippage_usd", "total_cost", "turnover",
                                      "portfolio_value", "portfolio_value_after", "broker", "trades"]
                        if c_ in daily.columns]
                sheet = SheetData(f"Monthly cost summary — {month}",
                                  f"{res.days} trading days; costs {_pct_text(res.cost_pct_portfolio)} of the "
                                  f"average portfolio; net return {_pct_text(res.net_return)}",
                                  Table("tblMonthlyDaily", cols, _rows(daily, cols), kinds={"trades": "int"}))
                sheet.side = _text_lines(res.report_text())
                sheet.side_title = "Report"
                data.sheets["Monthly"] = sheet
            except (XlexecError, ValueError, KeyError) as e:
                data.sheets["Monthly"].summary = f"monthly report unavailable: {e}"

    data.sheets["Log"].table.rows = log_rows(ctx)
    return data


QUOTES_KINDS = {"symbol": "text", "bid": "price", "ask": "price", "last": "price", "timestamp": "text",
                "bid_size": "shares", "ask_size": "shares"}


def quote_columns(q: pd.DataFrame) -> list[str]:
    """The Quotes Table's columns for quotes ``q``: the standard five, plus ``bid_size`` and
    ``ask_size`` (shares) when ``q`` has them."""
    return list(QUOTES_COLUMNS) + [c for c in QUOTES_SIZE_COLUMNS if c in q.columns]


def utc_text(ts) -> str:
    """A timestamp as the Quotes tab shows it: ``2025-10-30 13:31:00 UTC`` (fraction kept)."""
    if ts is None or pd.isna(ts):
        return ""
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    frac = f".{ts.microsecond:06d}".rstrip("0") if ts.microsecond else ""
    return ts.strftime("%Y-%m-%d %H:%M:%S") + frac + " UTC"


def age_text(seconds: float) -> str:
    """An age in words: ``45 s``, ``9 min``, ``2 h 05 min``, ``3 days``; negative = in the future."""
    if seconds is None or not math.isfinite(seconds):
        return "no timestamp"
    if seconds < -60:
        return f"{age_text(-seconds)} in the future"
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    m = s / 60
    if m < 120:
        return f"{m:.0f} min"
    if m < 48 * 60:
        h, mm = divmod(int(round(m)), 60)
        return f"{h} h {mm:02d} min"
    return f"{m / 1440:.0f} days"


def quotes_view(q: pd.DataFrame, now, stale_minutes: float) -> tuple[list[list[Any]], list[list[Any]], dict]:
    """Rows of the Quotes Table (``symbol, bid, ask, last`` $, ``timestamp`` UTC text) and of its
    age block (``symbol, age`` at ``now``; ``stale`` past ``stale_minutes``; then ``bid_size,
    ask_size`` in shares when ``q`` has either) for quotes ``q``
    (as :func:`xlexec.formats.inputs.read_quotes` returns them), and figures for the summary line."""
    ts = pd.to_datetime(q["timestamp"], utc=True, errors="coerce")
    age = (pd.Timestamp(now) - ts).dt.total_seconds().to_numpy(dtype=float) if len(q) else []
    rows = [[sym, _clean(b), _clean(a), _clean(la), utc_text(t)]
            for sym, b, a, la, t in zip(q["symbol"], q["bid"], q["ask"], q["last"], ts)]
    side = []
    n_stale = 0
    for sym, s in zip(q["symbol"], age):
        stale = not math.isfinite(s) or s > stale_minutes * 60 + 1e-6
        n_stale += stale
        side.append([sym, age_text(s) + (" · stale" if stale and math.isfinite(s) else "")])
    sizes = quote_columns(q)[len(QUOTES_COLUMNS):]
    if sizes:  # optional: shares at the bid / ask, next to each quote's age (I:J)
        for c in QUOTES_SIZE_COLUMNS:
            vals = q[c] if c in q.columns else [None] * len(q)
            for r, v in zip(side, vals):
                r.append(_clean(v))
    newest = ts.max() if len(q) and ts.notna().any() else None
    figs = {"n": len(q), "newest": newest, "newest_age": (pd.Timestamp(now) - newest).total_seconds()
            if newest is not None else float("nan"), "n_stale": int(n_stale)}
    return rows, side, figs


def quotes_sheet(ctx, day: str, inputs: Inputs, validation: dict | None = None) -> tuple[SheetData, str]:
    """The Quotes tab for ``day`` and the text of Quotes!H4 (which quotes it shows).

    Shows the day's ``quotes.csv``; quotes the operator typed in the tab that no button has
    saved yet are shown instead (parsed, or as typed when a cell is wrong, with the reason).
    With Alpaca market data configured, typed quotes are never used: the file is shown."""
    from xlexec.formats.inputs import read_quotes
    from xlexec.execution.marketdata import alpaca_data_configured
    from xlexec.excel.book import pending_quotes, quotes_digest, shown_text

    now = ctx.now()
    stale = float(ctx.config.validation.quote_stale_minutes)
    path = Path(ctx.live_dir) / day / "quotes.csv"
    rel = f"live/{day}/quotes.csv"
    alpaca = alpaca_data_configured(ctx.config)
    table = Table("tblQuotes", list(QUOTES_COLUMNS), [], kinds=dict(QUOTES_KINDS), inputs=tuple(QUOTES_COLUMNS))
    sheet = SheetData(f"Quotes — {day}", "", table, side_title=f"Age at {utc_text(now)[11:]}")
    file_q, file_err = None, ""
    if path.exists():
        try:
            file_q = read_quotes(path)
        except InputError as e:
            file_err = str(e)
    shown = shown_text(quotes_digest(file_q)) if file_q is not None else ""
    typed, typed_err = None, ""
    if inputs.quotes_block and not alpaca:
        try:
            typed = pending_quotes(inputs, path)
        except InputError as e:
            typed_err = str(e)
    after = f"Validate, Approve, Reject or Submit saves them as {rel}"
    if typed_err:
        w = len(QUOTES_COLUMNS)
        table.rows = [list(r[:w]) + [None] * (w - len(r)) for r in inputs.quotes_block[1:]]
        sheet.summary = f"The quotes typed here cannot be used yet: {typed_err}"
        sheet.side_title = ""
        return sheet, shown
    if typed is not None:
        table.rows, sheet.side, figs = quotes_view(typed, now, stale)
        sheet.summary = (f"{figs['n']} quotes typed here, not saved yet: {after}"
                         + (" (replacing the file's)." if file_q is not None else "."))
        return sheet, shown
    if file_q is None:
        sheet.summary = (f"{rel} cannot be read: {file_err}" if file_err else
                         f"No {rel} yet: paste or type the quotes below ({after}).")
        if alpaca:
            sheet.summary += " Alpaca market data is configured: Validate and Submit fetch the quotes."
        if file_err:
            sheet.side_title = ""
        return sheet, shown
    table.rows, sheet.side, figs = quotes_view(file_q, now, stale)
    parts = [f"{figs['n']} quotes from {rel}"]
    if figs["newest"] is not None:
        parts.append(f"newest {utc_text(figs['newest'])}, {age_text(figs['newest_age'])} old at {utc_text(now)}")
    if figs["n_stale"]:
        parts.append(f"{figs['n_stale']} older than {stale:g} min or without a time")
    used = _quotes_used(validation, path)
    if used:
        parts.append(used)
    if alpaca:
        parts.append("Alpaca market data is configured: Validate and Submit refresh this file from Alpaca; "
                     "quotes typed here are not used")
    sheet.summary = "; ".join(parts) + "."
    return sheet, shown


def _quotes_used(validation: dict | None, path: Path) -> str:
    """Whether the last Validate used exactly this quotes.csv (validation.json records its sha256)."""
    if not validation:
        return ""
    inp = (validation.get("summary") or {}).get("inputs") or {}
    sha = inp.get("quotes_sha256")
    if not sha:
        return "the last Validate used no quotes" if "quotes" in inp and not inp.get("quotes") else ""
    import hashlib
    try:
        now_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
    return ("the last Validate used these quotes" if now_sha == sha
            else "CHANGED since the last Validate: press Validate again")


def _pct_text(x) -> str:
    try:
        return f"{float(x) * 100:.3f}%"
    except (TypeError, ValueError):
        return "n/a"


def render_workbook(ctx, day: str, path: str | Path, *, inputs: Inputs | None = None) -> Path:
    """Write the full workbook for ``day`` to ``path`` (``.xlsm``: with VBA and buttons; ``.xlsx``:
    without), every tab filled from the day's files and the journal, ``inputs`` carried over.
    Atomic: on any error the previous file is left as it was."""
    return write_workbook(path, collect(ctx, day, inputs))

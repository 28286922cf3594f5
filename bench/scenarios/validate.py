"""Scenario 1: validate 10,000 trades with quotes, positions, events, reference data and the
NYSE calendar (end to end against the bound
of reading the same files with pandas).

* xlexec: :func:`xlexec.core.checks.validate` on the inputs as xlexec reads them (``read_trades``
  non-strict, ``read_positions``, ``read_quotes``, ``read_events``, ``read_reference``, as
  ``xlexec validate`` does). ``seconds`` is the validation itself; ``end_to_end_seconds`` is
  reading the five files + the validation.
* bound (timed by the xlexec side, in the same process, right after): ``pandas.read_csv`` of the
  same five files (the C parser, nothing checked). Target: end to end <= 2x the bound.
* baseline: the same checks as a row-by-row loop in the guide's style (``pd.read_csv`` frames,
  dicts built with ``iterrows``, ``for _, trade in trades.iterrows():`` with a list of issue
  strings; event distances with ``exchange_calendars`` ``sessions_in_range`` per event), on
  the same files. Reading is untimed on both sides.

Both sides get one warm-up run (the NYSE calendar is built once per process; the cold first
run is reported as ``first_run_seconds``).
"""

from __future__ import annotations

from pathlib import Path

from ..harness import Timer, cold_reads, pandas_read_seconds

NAME = "validate"
TITLE = "validate {size:,} trades (quotes, positions, events, reference, NYSE calendar)"
UNIT = "trades"
FULL_SIZE = 10_000
TARGET = "end to end <= 2x the bound (pandas C read of the 5 files)"
BOUND = "pandas.read_csv (C parser) of the same 5 files, nothing checked"
LIMIT = 2.0
FILES = ("trades.csv", "current_positions.csv", "quotes.csv", "events.csv", "reference.csv")
SIDES = ("xlexec", "baseline")
WARMUP = {"xlexec": 1, "baseline": 1}
MAX_REPEAT = {"baseline": 3}
GEN_VERSION = 1
BASELINE = "guide-style iterrows loop, same checks"


def prepare(root: Path, size: int) -> None:
    from ..data import make_book, write_book

    write_book(make_book(size), root)


def _now():
    import datetime as dt

    from ..data import NOW

    return dt.datetime.fromisoformat(NOW)


def _read_xlexec(root: Path) -> dict:
    from xlexec.formats.inputs import read_events, read_positions, read_quotes, read_reference
    from xlexec.formats.trades import read_trades

    return {
        "trades": read_trades(root / "trades.csv", strict=False),
        "positions": read_positions(root / "current_positions.csv"),
        "quotes": read_quotes(root / "quotes.csv"),
        "events": read_events(root / "events.csv", missing_ok=False),
        "reference": read_reference(root / "reference.csv", missing_ok=False),
    }


def setup(root: Path, size: int, side: str):
    from xlexec.config import config_from_dict

    cfg = config_from_dict({})
    if side == "xlexec":
        return {"root": root, "cfg": cfg}
    import warnings

    import exchange_calendars as xc
    import pandas as pd

    header = {}
    with open(root / "trades.csv", encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            k, _, v = line[1:].partition(":")
            header[k.strip()] = v.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xc.get_calendar("XNYS")
    return {
        "root": root,
        "cfg": cfg,
        "header": header,
        "cal": cal,
        "trades": pd.read_csv(root / "trades.csv", comment="#"),
        "positions": pd.read_csv(root / "current_positions.csv"),
        "quotes": pd.read_csv(root / "quotes.csv"),
        "events": pd.read_csv(root / "events.csv"),
        "reference": pd.read_csv(root / "reference.csv"),
    }


def run(state, side: str):
    if side == "xlexec":
        from xlexec.config import validation_thresholds
        from xlexec.core.checks import validate

        cold_reads()  # as a fresh `xlexec validate` reads: nothing parsed yet
        with Timer() as tr:
            inputs = _read_xlexec(state["root"])
        i = inputs
        with Timer() as t:
            res = validate(
                i["trades"],
                positions=i["positions"],
                quotes=i["quotes"],
                events=i["events"],
                reference=i["reference"],
                thresholds=validation_thresholds(state["cfg"]),
                now=_now(),
            )
        root = state["root"]
        bound = pandas_read_seconds([root / f for f in FILES], commented=[root / "trades.csv"])
        return t.seconds, {
            "read_seconds": tr.seconds,
            "end_to_end_seconds": tr.seconds + t.seconds,
            "bound_seconds": bound,
            "decision": res.decision,
            "findings": int(len(res.non_pass)),
            "rows": int(len(res.checks)),
        }
    with Timer() as t:
        issues = guide_style_validate(state, _now())
    return t.seconds, {"findings": len(issues)}


def judge(row) -> bool | None:
    return None if row["ratio_to_bound"] is None else row["ratio_to_bound"] <= LIMIT


# ---- the baseline ------------------------------------------------------------------------------


def _money(x: str) -> float:
    return float(x.replace("$", "").replace(",", "").split()[0])


def guide_style_validate(state, now) -> list[str]:
    """The morning checklist as a script in the guide's style: one trade at a time."""
    import pandas as pd

    v = state["cfg"].validation
    cfg = state["cfg"]
    cal = state["cal"]
    trades, positions, quotes = state["trades"], state["positions"], state["quotes"]
    events, reference = state["events"], state["reference"]
    pv = _money(state["header"]["Portfolio Value"])
    day = state["header"]["Date"]
    issues: list[str] = []

    quote_by = {}
    for _, q in quotes.iterrows():
        quote_by[q["symbol"]] = q
    held, cost = {}, {}
    for _, p in positions.iterrows():
        held[p["symbol"]] = float(p["shares"])
        cost[p["symbol"]] = float(p["avg_cost"])
    ref = {}
    for _, r in reference.iterrows():
        ref[r["symbol"]] = (r["sector"], float(r["adv_shares"]))
    events_by: dict[str, list] = {}
    for _, e in events.iterrows():
        events_by.setdefault(e["symbol"], []).append(e)

    post = dict(held)
    spread_seen: set[str] = set()
    trade_px = {}
    total_notional = total_cost = 0.0
    for _, t in trades.iterrows():
        sym, side, sh, px = t["symbol"], t["side"], float(t["shares"]), float(t["price"])
        notional = sh * px
        trade_px[sym] = px
        if sh <= 0:
            issues.append(f"FAIL {sym}: shares must be positive")
        if sh != int(sh):
            issues.append(f"FAIL {sym}: fractional shares {sh}")
        if abs(notional - float(t["notional"])) > v.notional_tolerance_usd:
            issues.append(f"FAIL {sym}: notional {t['notional']} != {notional:.2f}")
        if (side == "buy" and t["weight_change"] < 0) or (side == "sell" and t["weight_change"] > 0):
            issues.append(f"FAIL {sym}: direction")
        if notional / pv > v.max_trade_pct:
            issues.append(f"FAIL {sym}: trade is {notional / pv:.2%} of the portfolio")
        q = quote_by.get(sym)
        if q is None:
            issues.append(f"WARN {sym}: no quote")
            if sym not in spread_seen:
                issues.append(f"WARN {sym}: no quote, spread not checked")
        else:
            if sym not in spread_seen:
                if q["bid"] > 0 and q["ask"] > 0:
                    bps = (q["ask"] - q["bid"]) / ((q["bid"] + q["ask"]) / 2) * 1e4
                    if bps > v.spread_fail_bps:
                        issues.append(f"FAIL {sym}: spread {bps:.1f} bps")
                    elif bps > v.spread_warn_bps or bps < 0:
                        issues.append(f"WARN {sym}: spread {bps:.1f} bps")
                else:
                    issues.append(f"WARN {sym}: no bid/ask, spread not checked")
            mid = (q["bid"] + q["ask"]) / 2
            dev = abs(px - mid) / mid
            if dev > v.price_fail_pct:
                issues.append(f"FAIL {sym}: price {dev:.2%} from the quote")
            elif dev > v.price_warn_pct:
                issues.append(f"WARN {sym}: price {dev:.2%} from the quote")
            age = (now - pd.Timestamp(q["timestamp"])).total_seconds() / 60
            if age > v.quote_stale_minutes:
                issues.append(f"WARN {sym}: quote {age:.0f} min old")
        if t["total_cost_est"] > v.high_cost_trade_usd:
            issues.append(f"WARN {sym}: cost ${t['total_cost_est']:.2f}")
        if notional < v.min_trade_usd:
            issues.append(f"WARN {sym}: small trade ${notional:,.2f}")
        exp_c = notional * cfg.costs_bps / 1e4
        exp_s = notional * cfg.slippage_bps / 1e4
        if (
            abs(t["commission_est"] - exp_c) > v.cost_tolerance_usd
            or abs(t["slippage_est"] - exp_s) > v.cost_tolerance_usd
            or abs(t["total_cost_est"] - t["commission_est"] - t["slippage_est"]) > v.cost_tolerance_usd
        ):
            issues.append(f"WARN {sym}: cost estimate")
        if side == "sell" and held.get(sym, 0.0) < sh:
            issues.append(f"WARN {sym}: selling {sh:g} of {held.get(sym, 0.0):g} held")
        r = ref.get(sym)
        if r is not None and r[1] > 0 and sh / r[1] > v.max_adv_pct:
            issues.append(f"WARN {sym}: {sh / r[1]:.2%} of ADV")
        for e in events_by.get(sym, []):
            a, b = sorted([pd.Timestamp(day), pd.Timestamp(e["date"])])
            off = len(cal.sessions_in_range(a, b)) - 1 if b <= cal.last_session else abs((b - a).days)
            if off <= v.earnings_window_days:
                issues.append(f"{'FAIL' if e['event'] == 'halt' else 'WARN'} {sym}: {e['event']} on {e['date']}")
        spread_seen.add(sym)
        post[sym] = post.get(sym, 0.0) + (sh if side == "buy" else -sh)
        total_notional += notional
        total_cost += float(t["total_cost_est"])

    sector_val: dict[str, float] = {}
    n_after = 0
    for sym, shares in post.items():
        if abs(shares) < 1e-9:
            continue
        n_after += 1
        q = quote_by.get(sym)
        mark = (q["bid"] + q["ask"]) / 2 if q is not None else trade_px.get(sym, cost.get(sym, 0.0))
        val = abs(shares * mark)
        if val / pv > v.max_position_pct:
            issues.append(f"FAIL {sym}: position {val / pv:.2%} of the portfolio")
        r = ref.get(sym)
        if r is not None:
            sector_val[r[0]] = sector_val.get(r[0], 0.0) + val
    for s, val in sector_val.items():
        if val / pv > v.max_sector_pct:
            issues.append(f"FAIL sector {s}: {val / pv:.2%}")
    if abs(n_after - v.top_k) > v.position_count_tolerance:
        issues.append(f"WARN {n_after} positions after the trades")
    turnover = total_notional / pv
    if turnover > v.turnover_fail:
        issues.append(f"FAIL turnover {turnover:.2%}")
    elif turnover > v.turnover_warn:
        issues.append(f"WARN turnover {turnover:.2%}")
    if total_notional and total_cost / total_notional >= v.max_cost_pct:
        issues.append("FAIL total costs")
    if not cal.is_session(pd.Timestamp(day)):
        issues.append(f"FAIL {day} is not a session")
    return issues


def note(row) -> str:
    d = row["details"]
    return (
        f"xlexec reads the 5 files in {d['read_seconds']:.2f} s (end to end {d['end_to_end_seconds']:.2f} s = "
        f"{row['ratio_to_bound']:.2f}x the bound {d['bound_seconds']:.2f} s; target <= {LIMIT:g}x); "
        f"{int(d['findings'])} findings on both sides"
    )

"""Every finding of xlexec's validation on a fixed set of inputs, as one JSON file.

For checking that a change to the readers or the checks leaves the findings identical: run it
before the change, run it after, compare (``--compare BEFORE.json``: exit 1 on any difference).

The inputs: the benchmark's book (``bench/data.py``) at several sizes and seeds, with and
without its ``# Portfolio Value`` header line (so the positions are valued), with and without a
cash figure and with inputs left out; every trades file of ``tests/data/validate`` with the
fixtures' positions, quotes, events and reference (and their variants); the demo's first day.
Each is read as ``xlexec validate`` reads it (``read_trades(strict=False)``, ``read_positions``,
``read_quotes``, ``read_events``, ``read_reference``), then ``xlexec.core.checks.validate``.
A reader's error is recorded as its message. Floats are written with ``repr`` (exact).

    python tools/validate_findings.py OUT.json [--compare BEFORE.json] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FIX = REPO / "tests" / "data" / "validate"
NOW_BENCH = dt.datetime.fromisoformat("2025-10-30T13:40:00+00:00")
NOW_TESTS = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)


def _cell(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return "nan" if math.isnan(f) else repr(f)
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return repr(v)
    except Exception:  # noqa: BLE001
        pass
    return f"{type(v).__name__}:{v}"


def run_one(trades, positions, quotes, events, reference, now, cash=None, kill=False) -> dict:
    from xlexec.config import config_from_dict, validation_thresholds
    from xlexec.core.checks import validate
    from xlexec.errors import InputError
    from xlexec.formats.inputs import read_events, read_positions, read_quotes, read_reference
    from xlexec.formats.trades import read_trades

    try:
        t = read_trades(trades, strict=False)
        pos = read_positions(positions) if positions else None
        q = read_quotes(quotes) if quotes else None
        ev = read_events(events, missing_ok=False) if events else None
        ref = read_reference(reference, missing_ok=False) if reference else None
    except InputError as e:
        return {"error": f"{type(e).__name__}: {e}"}
    res = validate(
        t,
        positions=pos,
        quotes=q,
        events=ev,
        reference=ref,
        thresholds=validation_thresholds(config_from_dict({})),
        now=now,
        kill_switch_file=kill,
        cash=cash,
    )
    cols = list(res.checks.columns)
    rows = [[_cell(v) for v in rec] for rec in res.checks.itertuples(index=False, name=None)]
    dtypes = {c: str(res.checks[c].dtype) for c in cols}
    return {
        "decision": res.decision,
        "columns": cols,
        "rows": rows,
        "summary": {k: _cell(v) if not isinstance(v, (dict, str)) else v for k, v in res.summary.items()},
        "_dtypes": dtypes,
    }


def bench_cases(tmp: Path, quick: bool):
    from bench.data import make_book, write_book

    sizes = [20, 100, 1000] if quick else [20, 100, 1000, 10_000]
    for n in sizes:
        for seed in (11, 7, 3):
            if n == 10_000 and seed != 11 and quick:
                continue
            for anomalies in (True, False) if n <= 1000 else (True,):
                root = tmp / f"book-{n}-{seed}-{int(anomalies)}"
                root.mkdir()
                write_book(make_book(n, seed=seed, anomalies=anomalies), root)
                f = {
                    k: root / v
                    for k, v in {
                        "t": "trades.csv",
                        "p": "current_positions.csv",
                        "q": "quotes.csv",
                        "e": "events.csv",
                        "r": "reference.csv",
                    }.items()
                }
                # the same trades without the Portfolio Value line: the positions are valued
                nopv = root / "trades_nopv.csv"
                nopv.write_text(
                    "".join(
                        ln
                        for ln in f["t"].read_text().splitlines(keepends=True)
                        if not ln.startswith("# Portfolio Value")
                    )
                )
                key = f"bench n={n} seed={seed} anomalies={anomalies}"
                yield key, (f["t"], f["p"], f["q"], f["e"], f["r"], NOW_BENCH)
                yield key + " no-pv", (nopv, f["p"], f["q"], f["e"], f["r"], NOW_BENCH)
                yield key + " no-pv cash", (nopv, f["p"], f["q"], f["e"], f["r"], NOW_BENCH, 1_234_567.89)
                if n <= 1000:
                    yield key + " no-pv no-quotes", (nopv, f["p"], None, f["e"], f["r"], NOW_BENCH)
                    yield key + " only-trades", (f["t"], None, None, None, None, NOW_BENCH)
                    yield key + " no-pv no-positions", (nopv, None, f["q"], f["e"], f["r"], NOW_BENCH, 50_000.0)


def variant_cases(tmp: Path):
    """The benchmark's book with the inputs' rarer shapes: blank and missing sectors, a
    ``total_cost`` column (some cells empty), a split on the trade date, repeated trade symbols
    bought and sold, limit prices and market orders, excluded rows, quotes without a bid."""
    import pandas as pd

    from bench.data import make_book, write_book

    for n, seed in ((300, 5), (2000, 9)):
        root = tmp / f"variant-{n}-{seed}"
        root.mkdir()
        book = make_book(n, seed=seed)
        write_book(book, root)
        ref = pd.read_csv(root / "reference.csv", dtype=str, keep_default_na=False)
        ref.loc[ref.index % 7 == 3, "sector"] = ""
        ref = ref[ref.index % 11 != 5]
        ref.to_csv(root / "reference.csv", index=False)
        pos = pd.read_csv(root / "current_positions.csv", dtype=str, keep_default_na=False)
        sh, ac = pos["shares"].astype(float), pos["avg_cost"].astype(float)
        pos["total_cost"] = [f"{q * c + 0.01:.2f}" if i % 2 else "" for i, (q, c) in enumerate(zip(sh, ac))]
        pos.loc[pos.index % 13 == 4, "avg_cost"] = ""
        pos.to_csv(root / "current_positions.csv", index=False)
        ev = pd.read_csv(root / "events.csv", dtype=str, keep_default_na=False)
        held = pos["symbol"].tolist()
        extra = pd.DataFrame(
            {
                "symbol": held[:3] + ["*"],
                "date": ["2025-10-30"] * 4,
                "event": ["split", "split", "earnings", "fomc"],
                "ratio": ["2", "0.1", "", ""],
            }
        )
        pd.concat([ev, extra], ignore_index=True).to_csv(root / "events.csv", index=False)
        q = pd.read_csv(root / "quotes.csv", dtype=str, keep_default_na=False)
        q.loc[q.index % 17 == 2, "bid"] = ""
        q.loc[q.index % 19 == 3, ["bid", "ask"]] = ["10", "9.5"]  # crossed
        q.to_csv(root / "quotes.csv", index=False)
        lines = (root / "trades.csv").read_text().splitlines()
        head = [ln for ln in lines if ln.startswith("#")]
        body = pd.read_csv(root / "trades.csv", comment="#", dtype=str, keep_default_na=False)
        dup = body.iloc[: max(3, n // 50)].copy()
        dup["side"] = ["sell" if s == "buy" else "buy" for s in dup["side"]]
        dup["weight_change"] = [w[1:] if w.startswith("-") else "-" + w for w in dup["weight_change"]]
        body = pd.concat([body, dup], ignore_index=True)
        body["limit_price"] = ["" if i % 3 else f"{float(p) * 1.001:.2f}" for i, p in enumerate(body["price"])]
        body["order_type"] = ["market" if i % 10 == 1 else "limit" for i in range(len(body))]
        body["include"] = ["no" if i % 23 == 4 else "yes" for i in range(len(body))]
        for name, frame in (("trades.csv", body), ("trades_nopv.csv", body)):
            hd = head if name == "trades.csv" else [h for h in head if not h.startswith("# Portfolio Value")]
            (root / name).write_text("\n".join(hd) + "\n" + frame.to_csv(index=False))
        f = [root / x for x in ("trades.csv", "current_positions.csv", "quotes.csv", "events.csv", "reference.csv")]
        key = f"variant n={n} seed={seed}"
        yield key, (*f, NOW_BENCH)
        yield key + " no-pv", (root / "trades_nopv.csv", *f[1:], NOW_BENCH)
        yield key + " no-pv cash", (root / "trades_nopv.csv", *f[1:], NOW_BENCH, 250_000.0)


def fixture_cases():
    trades = sorted(
        p.name
        for p in FIX.glob("*.csv")
        if p.name
        not in {
            "positions.csv",
            "positions_few.csv",
            "quotes.csv",
            "quotes_stale.csv",
            "reference.csv",
            "events.csv",
            "events_halt.csv",
            "events_near.csv",
        }
    )
    for name in trades:
        t = FIX / name
        yield (
            f"fixture {name}",
            (t, FIX / "positions.csv", FIX / "quotes.csv", FIX / "events.csv", FIX / "reference.csv", NOW_TESTS),
        )
    for name in trades[:: max(1, len(trades) // 6)] + ["trades_clean.csv"]:
        t = FIX / name
        for p in ("positions.csv", "positions_few.csv"):
            for q in ("quotes.csv", "quotes_stale.csv"):
                for e in ("events.csv", "events_halt.csv", "events_near.csv"):
                    yield (
                        f"fixture {name} {p} {q} {e}",
                        (t, FIX / p, FIX / q, FIX / e, FIX / "reference.csv", NOW_TESTS),
                    )
        yield f"fixture {name} bare", (t, None, None, None, None, NOW_TESTS)
        yield (
            f"fixture {name} cash kill",
            (t, FIX / "positions.csv", FIX / "quotes.csv", None, None, NOW_TESTS, 10_000.0, True),
        )


def demo_cases(tmp: Path):
    from xlexec.demo.sample import make_day, write_day

    for date in ("2025-10-30", "2025-11-03"):
        live = tmp / f"demo-{date}"
        day = make_day(date)
        write_day(day, live)
        dd = live / date
        now = dt.datetime.fromisoformat(f"{date}T13:45:00+00:00")
        yield (
            f"demo {date}",
            (
                dd / "trades.csv",
                live / "current_positions.csv",
                dd / "quotes.csv",
                live / "events.csv",
                live / "reference.csv",
                now,
            ),
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--compare")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cases = [*bench_cases(tmp, a.quick), *variant_cases(tmp), *fixture_cases(), *demo_cases(tmp)]
        for key, args in cases:
            out[key] = run_one(*args)
            if "error" in out[key]:  # the temporary folder differs from run to run
                out[key]["error"] = out[key]["error"].replace(d, "<tmp>")
    Path(a.out).write_text(json.dumps(out, indent=0, sort_keys=True))
    n_rows = sum(len(v.get("rows", [])) for v in out.values())
    print(f"{len(out)} results, {n_rows} rows -> {a.out}")
    if not a.compare:
        return 0
    before = json.loads(Path(a.compare).read_text())
    diffs = 0
    for key in sorted(set(before) | set(out)):
        b, n = before.get(key), out.get(key)
        if b == n:
            continue
        if b is None or n is None:
            print(f"DIFF {key}: only in {'after' if b is None else 'before'}")
            diffs += 1
            continue
        for field in sorted(set(b) | set(n)):
            if b.get(field) == n.get(field):
                continue
            diffs += 1
            if field == "rows":
                br, nr = b["rows"], n["rows"]
                print(f"DIFF {key}: rows {len(br)} -> {len(nr)}")
                for i, (x, y) in enumerate(zip(br, nr)):
                    if x != y:
                        print(f"  row {i}: {x}\n      -> {y}")
                        break
            else:
                print(f"DIFF {key}: {field}: {str(b.get(field))[:300]} -> {str(n.get(field))[:300]}")
    compared = sum(len(v.get("rows", [])) for v in before.values())
    print(f"{diffs} differences ({len(before)} results, {compared} rows before)")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())

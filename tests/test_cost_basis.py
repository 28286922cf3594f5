"""The cost basis is carried as total cost and shares, exactly, day after day.

Every run is ``python -m xlexec`` in a subprocess started in a folder that is not the project,
with ``--config`` and absolute paths (``reconcile --accept`` each day, as an operator would).
Expected figures are computed here by hand, in Decimal, from the inputs: buys add shares x price
(commissions are cash, not basis), sells remove cost pro rata (total x sold / held).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests import cli_fork

ROOT = str(Path(__file__).resolve().parents[1])
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
FILL_HEADER = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"
TOL = Decimal("1e-9")

# (day, side, shares, price, commission): one symbol, XYZ, bought and partly sold over five days
DAYS = [
    ("2025-10-27", "buy", "3000", "33.3333", "3.50"),
    ("2025-10-28", "sell", "1100", "35.0101", "2.00"),
    ("2025-10-29", "buy", "700", "101.017", "1.50"),
    ("2025-10-30", "sell", "1700", "36.1234", "2.50"),
    ("2025-10-31", "sell", "300", "34.5555", "1.00"),
]


def xlexec(cwd: Path, now: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["XLEXEC_NOW"] = now
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def desk(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(config, live dir, a working folder that is neither)."""
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live").mkdir(parents=True)
    elsewhere.mkdir()
    cfg = root / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n")
    return cfg, root / "live", elsewhere


def run_day(cfg: Path, live: Path, elsewhere: Path, day: str, fills: list[tuple[str, str, str, str, str]], *extra):
    """Write the day's trades (the plan: the fills' symbols, sides and shares) and fills, then
    ``reconcile --accept`` it; returns the day's reconciliation.json."""
    d = live / day
    d.mkdir(parents=True, exist_ok=True)
    rows = [f"{sym},{side},{q},{px},{Decimal(q) * Decimal(px)},0.01,0.10,0.10,0.20" for sym, side, q, px, _ in fills]
    (d / "trades.csv").write_text(f"# Date: {day}\n# Portfolio Value: $100,000.00\n" + HEADER + "\n".join(rows) + "\n")
    (d / "broker_fills.csv").write_text(
        FILL_HEADER
        + "".join(
            f"{day},{sym},{side},{q},{px},{c},10:00:00,o-{i},,f-{day}-{i}\n"
            for i, (sym, side, q, px, c) in enumerate(fills)
        )
    )
    r = xlexec(
        elsewhere,
        f"{day}T21:00:00+00:00",
        "reconcile",
        "--config",
        str(cfg),
        "--trades",
        str(d / "trades.csv"),
        "--fills",
        str(d / "broker_fills.csv"),
        "--accept",
        *extra,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads((d / "reconciliation.json").read_text())


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    """The positions file's rows as written (text cells), by symbol."""
    return {r["symbol"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


def cents(x: Decimal) -> float:
    return float(x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_five_days_of_buys_and_sells_keep_the_total_cost_exact(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    shares, total = Decimal(0), Decimal(0)  # the hand computation, in Decimal
    for i, (day, side, q, px, c) in enumerate(DAYS):
        rec = run_day(cfg, live, elsewhere, day, [("XYZ", side, q, px, c)], *(["--cash", "10000"] if i == 0 else []))
        if side == "buy":
            shares, total = shares + Decimal(q), total + Decimal(q) * Decimal(px)
        else:
            total = total * (shares - Decimal(q)) / shares
            shares -= Decimal(q)
        for f in (live / day / "positions_after_recon.csv", live / "current_positions.csv"):
            row = rows_of(f)["XYZ"]
            assert list(row)[:3] == ["symbol", "shares", "avg_cost"] and list(row)[-1] == "total_cost"
            assert Decimal(row["shares"]) == shares
            assert abs(Decimal(row["total_cost"]) - total) <= TOL, (day, row["total_cost"], total)
            # the stored avg cost is the full quotient, not a rounded one
            assert abs(Decimal(row["avg_cost"]) - total / shares) <= TOL
        shown = next(p for p in rec["positions"] if p["symbol"] == "XYZ")
        assert shown["avg_cost"] == cents(total / shares) and shown["total_cost"] == cents(total)
    # by hand: 3,000 x 33.3333 = 99,999.90; x 1,900/3,000 = 63,333.27; + 700 x 101.017 =
    # 134,045.17 for 2,600; x 900/2,600 = 46,400.2511538...; x 600/900 = 30,933.5007692... for 600
    assert shares == 600 and abs(total - Decimal("30933.50076923076923076923")) <= TOL
    # main stored avg_cost rounded to 4 decimals (134,045.17 / 2,600 = 51.5558346... -> 51.5558)
    # and the next day started from it: these days ended at 600 x 51.5558 = 30,933.48, two cents
    # under the exact basis (9 cents under on day 3), growing with the size and each re-averaging
    last = rows_of(live / "current_positions.csv")["XYZ"]
    assert Decimal(last["total_cost"]) - Decimal("30933.48") > Decimal("0.02")


def test_an_old_positions_file_without_total_cost_still_reads(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nABC,12,41.1234\n")
    rec = run_day(cfg, live, elsewhere, "2025-10-27", [("ABC", "sell", "5", "42.00", "0.10")], "--cash", "1000")
    # basis 12 x 41.1234 = 493.4808; 5 of 12 sold: 493.4808 x 7/12 = 287.8638 for 7 shares
    row = rows_of(live / "current_positions.csv")["ABC"]
    assert Decimal(row["shares"]) == 7 and Decimal(row["total_cost"]) == Decimal("287.8638")
    assert Decimal(row["avg_cost"]) == Decimal("41.1234")
    assert next(p for p in rec["positions"] if p["symbol"] == "ABC")["avg_cost"] == 41.12


def test_a_hand_edited_avg_cost_that_disagrees_with_total_cost_is_refused(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost,total_cost\nABC,10,45.00,411.234\n")
    d = live / "2025-10-27"
    d.mkdir()
    (d / "trades.csv").write_text(
        "# Date: 2025-10-27\n# Portfolio Value: $100,000.00\n" + HEADER + "ABC,sell,5,42.00,210.00,-0.01,0.1,0.1,0.2\n"
    )
    (d / "broker_fills.csv").write_text(FILL_HEADER + "2025-10-27,ABC,sell,5,42.00,0.10,10:00:00,o-1,,f1\n")
    r = xlexec(
        elsewhere,
        "2025-10-27T21:00:00+00:00",
        "reconcile",
        "--config",
        str(cfg),
        "--trades",
        str(d / "trades.csv"),
        "--fills",
        str(d / "broker_fills.csv"),
        "--cash",
        "1000",
    )
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip().splitlines()[-1]
    assert "current_positions.csv" in err and "avg_cost" in err and "total_cost" in err and "row 2" in err
    assert not (d / "positions_after_recon.csv").exists()


def test_fractional_shares_stay_exact_in_the_csv(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    run_day(cfg, live, elsewhere, "2025-10-27", [("XYZ", "buy", "0.5", "101.017", "0.01")], "--cash", "1000")
    run_day(cfg, live, elsewhere, "2025-10-28", [("XYZ", "buy", "0.25", "33.3333", "0.01")])
    row = rows_of(live / "current_positions.csv")["XYZ"]
    # 0.5 + 0.25 = 0.75 shares; 0.5 x 101.017 + 0.25 x 33.3333 = 50.5085 + 8.333325 = 58.841825
    assert row["shares"] == "0.75"
    assert row["total_cost"] == "58.841825"
    assert Decimal(row["avg_cost"]) == (Decimal("58.841825") / Decimal("0.75")).quantize(Decimal("1e-10"))

"""End to end on the demo day (2025-10-30): ``xlexec reconcile`` from a saved Alpaca activities
JSON file, from an IBKR file writing class shares IBKR's way (``BRK B``), and ``--from-broker``
against the loopback fake Alpaca serving the Trading API's documented FILL shape. Each run is
``python -m xlexec`` in a subprocess started in a folder that is not the project, with
``--config``. Expected positions and cash are worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.reliability import _support as U

DATA = Path(__file__).parent / "data" / "fills"
DAY = "2025-10-30"
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
TRADES = (
    f"# Date: {DAY}\n# Portfolio Value: $100,000.00\n"
    + HEADER
    + "AAPL,buy,10,100.50,1005.00,0.01,0.10,0.20,0.30\n"
    + "BRK.B,sell,5,480.00,2400.00,-0.024,0.24,0.48,0.72\n"
)
OPENING = "symbol,shares,avg_cost\nAAPL,100,90.00\nBRK.B,20,400.00\n"


def desk(tmp_path: Path, config: str | None = None) -> tuple[Path, Path, Path]:
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live" / DAY).mkdir(parents=True)
    elsewhere.mkdir()
    (root / "live" / "current_positions.csv").write_text(OPENING)
    (root / "live" / DAY / "trades.csv").write_text(TRADES)
    cfg = root / "config.yaml"
    if config is not None:
        cfg.write_text(config)
    return cfg, root / "live", elsewhere


def positions_after(live: Path) -> dict[str, float]:
    df = pd.read_csv(live / DAY / "positions_after_recon.csv", comment="#")
    return {s: float(q) for s, q in zip(df["symbol"], df["shares"])}


def reconcile(cfg: Path, elsewhere: Path, *extra: str):
    argv = ["reconcile", "--config", str(cfg), "--date", DAY, "--cash", "5000", "--json", *extra]
    return U.xlexec(argv, cwd=elsewhere)


def test_reconcile_from_a_saved_alpaca_activities_file(tmp_path):
    cfg, live, elsewhere = desk(tmp_path, "live_dir: live\nexecution:\n  broker: paper\n")
    r = reconcile(cfg, elsewhere, "--fills", str(DATA / "alpaca_activities_saved.json"))
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["breaks"] == []
    # AAPL 100 + 6 + 4; BRK.B 20 - 5 (the option fill and the dividend record are not fills of ours)
    assert positions_after(live) == {"AAPL": 110.0, "BRK.B": 15.0}
    # cash: 5,000 - (6 x 100.20 + 4 x 100.30) + 5 x 481.00 = 5,000 - 1,002.40 + 2,405.00 = 6,402.60
    assert abs(j["cash_after"] - 6402.60) < 1e-6


def test_reconcile_from_an_ibkr_file_with_brk_space_b(tmp_path):
    cfg, live, elsewhere = desk(tmp_path, "live_dir: live\nexecution:\n  broker: paper\n")
    f = tmp_path / "ib.csv"
    f.write_text(
        "ClientAccountID,CurrencyPrimary,AssetClass,Symbol,TradeID,OrderID,ExecID,TradeDate,Buy/Sell,Quantity,"
        "Price,Commission\n"
        "U1234567,USD,STK,AAPL,9301,7301,e1,20251030,BUY,10,100.25,-0.35\n"
        "U1234567,USD,STK,BRK B,9302,7302,e2,20251030,SELL,-5,481.00,-1\n"
        "U1234567,USD,OPT,AAPL  251121C00280000,9303,7303,e3,20251030,BUY,1,5.10,-0.65\n"
    )
    r = reconcile(cfg, elsewhere, "--fills", str(f))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["breaks"] == []
    assert positions_after(live) == {"AAPL": 110.0, "BRK.B": 15.0}


def test_reconcile_from_broker_with_the_documented_fill_shape(tmp_path):
    root = tmp_path / "desk"
    _, live, elsewhere = desk(tmp_path)
    import datetime as dt

    with U.FakeAlpaca(max_lifetime=120) as fake:
        cfg = U.alpaca_config(root, fake.url, require_human_approval=False)
        fake.seed_order("manual-1", "AAPL", "buy", 10, 100.50)
        fake.fill("manual-1", 6, 100.20, dt.datetime(2025, 10, 30, 13, 31, tzinfo=dt.UTC))
        fake.fill("manual-1", 4, 100.30, dt.datetime(2025, 10, 30, 13, 32, tzinfo=dt.UTC))
        fake.seed_order("manual-2", "BRK.B", "sell", 5, 480.00)
        fake.fill("manual-2", 5, 481.00, dt.datetime(2025, 10, 30, 13, 33, tzinfo=dt.UTC))
        served = fake.activities
        assert "account_id" not in served[0] and "order_status" not in served[0]
        r = reconcile(cfg, elsewhere, "--from-broker", "--broker-cash", "6402.60")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["breaks"] == []
    assert positions_after(live) == {"AAPL": 110.0, "BRK.B": 15.0}
    saved = pd.read_csv(live / DAY / "broker_fills.csv")
    assert list(saved["shares"]) == [6, 4, 5] and set(saved["currency"]) == {"USD"}


def test_import_fills_button_lists_the_rows_it_skipped(tmp_path):
    import openpyxl

    from xlexec.excel.build import FILLS_PASTE_ROW

    cfg, live, elsewhere = desk(tmp_path, "live_dir: live\nexecution:\n  broker: paper\n")
    book = cfg.parent / "book.xlsx"
    build = ["workbook", "build", "--config", str(cfg), "--output", str(book), "--no-macros"]
    assert U.xlexec(build, cwd=elsewhere).returncode == 0
    wb = openpyxl.load_workbook(book)
    ws = wb["Fills"]
    block = [  # a Schwab transaction export pasted as is (layout: tests/data/fills/schwab_transactions.csv)
        ["Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"],
        ["10/30/2025", "Buy", "AAPL", "APPLE INC", "10", "$100.25", "", "-$1,002.50"],
        ["10/30/2025", "Qualified Dividend", "KO", "COCA COLA CO", "", "", "", "$12.34"],
        ["10/30/2025", "Sell", "BRK B", "BERKSHIRE HATHAWAY B", "5", "$481.00", "", "$2,405.00"],
    ]
    for i, row in enumerate(block):
        for j, v in enumerate(row):
            ws.cell(row=FILLS_PASTE_ROW + 1 + i, column=1 + j, value=v)  # A4 down
    wb.save(book)
    r = U.xlexec(["button", "import-fills", "--book", str(book), "--day", DAY], cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    row = 6  # the dividend's sheet row: the header on A4, AAPL on row 5
    assert f"2 fills imported from the Fills tab into {live / DAY / 'broker_fills.csv'}" in r.stdout
    assert f"1 row(s) skipped (row {row}: action 'Qualified Dividend' is not a buy or sell)" in r.stdout
    saved = pd.read_csv(live / DAY / "broker_fills.csv")
    assert list(saved["symbol"]) == ["AAPL", "BRK.B"]

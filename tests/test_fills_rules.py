"""The rules every fills layout goes through (instruments, accounts, currency, class shares,
exact fractions) and the saved Alpaca activities JSON layout; ``xlexec fills FILE`` shows the
same through the CLI (a subprocess run from a folder that is not the project).

Samples: tests/data/fills (sources in its README.md). Every expected value is worked out by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_fork
from xlexec.errors import InputError
from xlexec.formats.fills import parse_fills_text, read_fills, write_fills_csv

ROOT = str(Path(__file__).resolve().parents[1])
DATA = Path(__file__).parent / "data" / "fills"
# the IBKR Flex Trade Confirmation columns these tests use, named as in ibkr_trade_confirm.csv's header
IB_HEAD = (
    "ClientAccountID,CurrencyPrimary,AssetClass,Symbol,TradeID,OrderID,ExecID,TradeDate,Buy/Sell,Quantity,Price,"
    "Commission\n"
)


def xlexec(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_NOW"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def rows(df) -> list[tuple]:
    return [
        (int(i), s, sd, float(q), float(p), c, a)
        for i, s, sd, q, p, c, a in zip(
            df.index, df["symbol"], df["side"], df["shares"], df["price"], df["currency"], df["account"]
        )
    ]


# ------------------------------------------------------------------ Alpaca saved activities JSON


def test_saved_alpaca_activities_json_is_a_layout(tmp_path):
    df = read_fills(DATA / "alpaca_activities_saved.json")
    assert df.attrs["format"] == "alpaca"
    # rows are the records' positions in the list; the option and the dividend are listed, not read
    assert rows(df) == [
        (1, "AAPL", "buy", 6, 100.2, "USD", ""),
        (2, "AAPL", "buy", 4, 100.3, "USD", ""),
        (3, "BRK.B", "sell", 5, 481.0, "USD", ""),
    ]
    assert df.attrs["skipped"] == [
        {"row": 4, "reason": "not a US equity/ETF: option (OCC symbol AAPL251121C00280000)"},
        {"row": 5, "reason": "activity DIV is not a fill"},
    ]
    # 13:31:02.123 UTC on 2025-10-30 is 09:31:02.123 in New York (EDT, UTC-4, until 2 Nov)
    assert df["fill_time_ny"].iloc[0] == "2025-10-30T09:31:02.123000-04:00"
    assert df["fill_id"].iloc[2] == "20251030093205789::1a2b3c4d-0003-4000-9955-d36e7db0df74"
    assert df["order_id"].iloc[0] == "904837e3-3b76-47ec-b432-046db621571b"
    wrapped = tmp_path / "saved.json"  # the other saved form: {"activities": [...]}
    wrapped.write_text(json.dumps({"activities": json.loads((DATA / "alpaca_activities_saved.json").read_text())}))
    assert rows(read_fills(wrapped)) == rows(df)


def test_broker_api_record_and_fractional_shares_are_exact(tmp_path):
    # the Broker API's documented sample (alpaca.markets/docs/api-references/broker-api/accounts/
    # account-activities/): account_id and order_status present, a fractional quantity
    rec = {
        "id": "20210510100104650::88b5f678-fef5-447b-af15-f21e367e6d8c",
        "account_id": "c8f1ef5d-edc0-4f23-9ee4-378f19cb92a4",
        "activity_type": "FILL",
        "transaction_time": "2021-05-10T14:01:04.650275Z",
        "type": "fill",
        "price": "128.33",
        "qty": "0.38962051",
        "side": "buy",
        "symbol": "AAPL",
        "leaves_qty": "0",
        "order_id": "fe060a1b-5b45-4eba-ba46-c3a3345d8255",
        "cum_qty": "0.38962051",
        "order_status": "filled",
    }
    p = tmp_path / "one.json"
    p.write_text(json.dumps([rec]))
    df = read_fills(p)
    assert df["shares"].iloc[0] == 0.38962051 and df["date"].iloc[0] == "2021-05-10"
    back = read_fills(write_fills_csv(tmp_path / "broker_fills.csv", df))
    assert back["shares"].iloc[0] == 0.38962051 and back["currency"].iloc[0] == "USD"


def test_a_json_file_that_is_not_activities_names_the_fix(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"orders": []}')
    with pytest.raises(InputError, match=r'a list of Alpaca activities, or \{"activities"'):
        read_fills(p)
    p.write_text('[{"activity_type": "FILL", "id": "a",\n "symbol": "AAPL"')
    with pytest.raises(InputError, match="not valid JSON"):
        read_fills(p)
    with pytest.raises(InputError, match="JSON is read as: alpaca"):
        read_fills(DATA / "alpaca_activities_saved.json", format="ibkr")


# ------------------------------------------------------------------ instruments


def test_options_bonds_funds_are_skipped_and_listed_not_refused():
    text = IB_HEAD + (
        "U1,USD,OPT,AAPL  251121C00280000,9001,7001,e1,20251030,BUY,1,5.10,-0.65\n"
        "U1,USD,BOND,T 4 1/4 11/15/34,9002,7002,e2,20251030,BUY,10000,99.5,-1\n"
        "U1,USD,STK,AAPL,9003,7003,e3,20251030,BUY,10,100.25,-0.35\n"
        "U1,USD,FUND,VFIAX,9004,7004,e4,20251030,BUY,3,500.10,0\n"
    )
    df = parse_fills_text(text, "ib.csv")
    assert rows(df) == [(4, "AAPL", "buy", 10, 100.25, "USD", "U1")]
    assert df.attrs["skipped"] == [
        {"row": 2, "reason": "not a US equity/ETF: option (AssetClass OPT)"},
        {"row": 3, "reason": "not a US equity/ETF: bond (AssetClass BOND)"},
        {"row": 5, "reason": "not a US equity/ETF: fund (AssetClass FUND)"},
    ]


def test_an_alpaca_option_fill_no_longer_refuses_the_file():
    text = (
        "activity_type,id,symbol,side,qty,price,transaction_time,order_id\n"
        "FILL,a1,AAPL251121C00280000,buy,1,5.10,2025-10-30T14:00:00Z,o1\n"
        "FILL,a2,BTC/USD,buy,0.01,68000,2025-10-30T14:01:00Z,o2\n"
        "FILL,a3,KO,sell,3,68.90,2025-10-30T14:02:00Z,o3\n"
    )
    df = parse_fills_text(text, "alpaca.csv")
    assert rows(df) == [(4, "KO", "sell", 3, 68.90, "USD", "")]
    assert [s["row"] for s in df.attrs["skipped"]] == [2, 3]
    assert df.attrs["skipped"][1]["reason"] == "not a US equity/ETF: crypto (BTC/USD)"


# ------------------------------------------------------------------ accounts

TWO_ACCOUNTS = IB_HEAD + (
    "U1111111,USD,STK,AAPL,9101,7101,e1,20251030,BUY,10,100.25,-0.35\n"
    "U2222222,USD,STK,MSFT,9102,7102,e2,20251030,SELL,-5,378.40,-1\n"
    "U1111111,USD,STK,KO,9103,7103,e3,20251030,BUY,7,68.90,-0.35\n"
)


def test_a_file_with_several_accounts_needs_one_chosen():
    with pytest.raises(InputError) as e:
        parse_fills_text(TWO_ACCOUNTS, "ib.csv")
    assert e.value.row == 3 and e.value.column == "ClientAccountID"
    assert "2 accounts in one file (U1111111, U2222222): pass --account ID" in e.value.message
    assert "broker.account" in e.value.message
    df = parse_fills_text(TWO_ACCOUNTS, "ib.csv", account="U1111111")
    assert rows(df) == [
        (2, "AAPL", "buy", 10, 100.25, "USD", "U1111111"),
        (4, "KO", "buy", 7, 68.90, "USD", "U1111111"),
    ]
    assert df.attrs["account"] == "U1111111"
    assert df.attrs["skipped"] == [{"row": 3, "reason": "account U2222222, not U1111111"}]
    with pytest.raises(InputError, match="account 'U9' .* is not in this file; its accounts: U1111111, U2222222"):
        parse_fills_text(TWO_ACCOUNTS, "ib.csv", account="U9")


# ------------------------------------------------------------------ currency


def test_a_fill_in_another_currency_is_refused_naming_row_currency_and_fix():
    text = IB_HEAD + (
        "U1,USD,STK,AAPL,9201,7201,e1,20251030,BUY,10,100.25,-0.35\n"
        "U1,CAD,STK,SHOP,9202,7202,e2,20251030,BUY,4,210.00,-1\n"
    )
    with pytest.raises(InputError) as e:
        parse_fills_text(text, "ib.csv")
    assert e.value.row == 3 and e.value.column == "CurrencyPrimary"
    assert "fill in CAD, but the fund's base currency is USD" in e.value.message
    assert "convert the file's prices and commissions to USD" in e.value.message
    # a CAD fund reads the CAD row and refuses the USD one (never silently read as the base)
    with pytest.raises(InputError) as e2:
        parse_fills_text(text, "ib.csv", base_currency="CAD")
    assert e2.value.row == 2 and "fill in USD" in e2.value.message
    # Alpaca's records carry no currency: they are dollars, refused by a CAD fund
    with pytest.raises(InputError, match="fill in USD, but the fund's base currency is CAD"):
        read_fills(DATA / "alpaca_activities_saved.json", base_currency="CAD")


# ------------------------------------------------------------------ class shares, every reader

CLASS_SHARES = {
    "xlexec": "date,symbol,side,shares,price\n2025-10-30,{s},buy,5,481.00\n",
    "alpaca": "activity_type,id,symbol,side,qty,price,transaction_time\n"
    "FILL,a1,{s},buy,5,481.00,2025-10-30T14:00:00Z\n",
    "ibkr": IB_HEAD + "U1,USD,STK,{s},1,2,e1,20251030,BUY,5,481.00,-0.35\n",
    "schwab": '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'
    '"10/30/2025","Buy","{s}","BERKSHIRE HATHAWAY B","5","$481.00","","-$2,405.00"\n',
    "fidelity": "Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),Commission ($),"
    "Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n"
    "10/30/2025, YOU BOUGHT BERKSHIRE HATHAWAY (BRK B) (Cash), {s}, BERKSHIRE,Cash,5,481,,,,-2405,10/31/2025\n",
}


@pytest.mark.parametrize("layout", list(CLASS_SHARES))
@pytest.mark.parametrize("spelling", ["BRK B", "BRK/B", "BRK-B", "brk.b"])
def test_every_reader_writes_class_shares_one_way(layout, spelling):
    df = parse_fills_text(CLASS_SHARES[layout].format(s=spelling), f"{layout}.csv")
    assert df.attrs["format"] == layout and list(df["symbol"]) == ["BRK.B"]


# ------------------------------------------------------------------ xlexec fills FILE


def test_fills_command_prints_fills_and_skipped_rows_writing_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\n")
    r = xlexec(elsewhere, "fills", str(DATA / "alpaca_activities_saved.json"), "--config", str(cfg), "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["layout"] == "alpaca" and j["account"] == ""
    assert [(f["row"], f["symbol"], f["side"], f["shares"], f["price"]) for f in j["fills"]] == [
        (1, "AAPL", "buy", 6.0, 100.2),
        (2, "AAPL", "buy", 4.0, 100.3),
        (3, "BRK.B", "sell", 5.0, 481.0),
    ]
    first = j["fills"][0]
    assert (first["currency"], first["commission"], first["fees"]) == ("USD", 0.0, 0.0)
    assert first["fill_time_ny"] == "2025-10-30T09:31:02.123000-04:00"
    assert first["fill_id"] == "20251030093102123::1a2b3c4d-0001-4000-9955-d36e7db0df74"
    assert [s["row"] for s in j["skipped"]] == [4, 5]
    text = xlexec(elsewhere, "fills", str(DATA / "alpaca_activities_saved.json"), "--config", str(cfg))
    assert text.returncode == 0
    assert text.stdout.splitlines()[0].endswith("alpaca layout; 3 fill(s), 2 row(s) skipped")
    assert "skipped row 5: activity DIV is not a fill" in text.stdout
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "live").exists()  # nothing written


def test_fills_command_account_and_currency_from_config_and_flag(tmp_path):
    f = tmp_path / "ib.csv"
    f.write_text(TWO_ACCOUNTS)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\n")
    r = xlexec(tmp_path, "fills", str(f), "--config", str(cfg))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == (
        f"xlexec fills: error: {f}, row 3, column 'ClientAccountID': 2 accounts in one file (U1111111, U2222222): "
        "pass --account ID (or set broker.account in config.yaml) to read one; fills of several accounts are never "
        "mixed into one book"
    )
    r2 = xlexec(tmp_path, "fills", str(f), "--config", str(cfg), "--account", "U2222222", "--json")
    assert r2.returncode == 0, r2.stderr
    assert [x["symbol"] for x in json.loads(r2.stdout)["fills"]] == ["MSFT"]
    cfg.write_text("live_dir: live\nbroker:\n  account: U1111111\n")
    r3 = xlexec(tmp_path, "fills", str(f), "--config", str(cfg), "--json")
    assert r3.returncode == 0, r3.stderr
    assert json.loads(r3.stdout)["account"] == "U1111111"
    cfg.write_text("live_dir: live\nbase_currency: EUR\n")
    r4 = xlexec(tmp_path, "fills", str(DATA / "alpaca_activities_saved.json"), "--config", str(cfg))
    assert r4.returncode == 2
    assert "row 1, column 'currency': fill in USD, but the fund's base currency is EUR" in r4.stderr

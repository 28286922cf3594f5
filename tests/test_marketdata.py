"""Quotes and closes from Alpaca market data (alpaca-py against a loopback fake) when keys are
configured; saved as the day's quotes.csv / closes.csv snapshots; keys never in messages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_alpaca_data import FakeAlpacaData  # noqa: E402
from tests import cli_fork
from xlexec.cli.app import main  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.errors import BrokerError  # noqa: E402
from xlexec.execution.marketdata import alpaca_data_configured, fetch_closes, fetch_quotes  # noqa: E402
from xlexec.formats.inputs import read_closes, read_quotes  # noqa: E402

KEY, SECRET = "PK_DATA_KEY_0000000001", "dataSECRETdataSECRET0000000001"
QUOTES = {"AAPL": (150.00, 150.10, 150.06), "MSFT": (380.40, 380.60, 380.50), "BRK.B": (480.0, 480.4, 480.2)}


def cfg_for(url, **ex):
    return config_from_dict(
        {
            "execution": {
                "broker": "alpaca",
                "alpaca": {"api_key": "${XLX_T_KEY}", "api_secret": "${XLX_T_SECRET}", "data_url": url},
                **ex,
            }
        }
    )


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("XLX_T_KEY", KEY)
    monkeypatch.setenv("XLX_T_SECRET", SECRET)


def test_configured_only_for_alpaca_with_keys(monkeypatch):
    assert alpaca_data_configured(cfg_for("http://127.0.0.1:1"))
    assert not alpaca_data_configured(config_from_dict({}))
    # orders to a test server / proxy and no data_url: never guess (no request to Alpaca's host)
    assert not alpaca_data_configured(
        config_from_dict(
            {
                "execution": {
                    "broker": "alpaca",
                    "alpaca": {
                        "api_key": "${XLX_T_KEY}",
                        "api_secret": "${XLX_T_SECRET}",
                        "base_url": "http://127.0.0.1:9",
                    },
                }
            }
        )
    )
    assert alpaca_data_configured(
        config_from_dict(
            {"execution": {"broker": "alpaca", "alpaca": {"api_key": "${XLX_T_KEY}", "api_secret": "${XLX_T_SECRET}"}}}
        )
    )
    monkeypatch.setenv("XLX_T_SECRET", "")
    assert not alpaca_data_configured(cfg_for("http://127.0.0.1:1"))


def test_fetch_quotes_and_closes_through_alpaca_py():
    with FakeAlpacaData(QUOTES, closes={"AAPL": 151.25, "MSFT": 379.0}) as fake:
        cfg = cfg_for(fake.url)
        q = fetch_quotes(cfg, ["MSFT", "AAPL", "BRK.B", "NOPE"]).set_index("symbol")
        assert list(q.index) == ["AAPL", "BRK.B", "MSFT"]
        assert q.loc["AAPL", "bid"] == 150.00 and q.loc["AAPL", "ask"] == 150.10
        assert q.loc["AAPL", "last"] == 150.06 and q.loc["AAPL", "mid"] == pytest.approx(150.05)
        assert str(q.loc["AAPL", "timestamp"]) == "2025-10-30 13:35:00+00:00"
        c = fetch_closes(cfg, ["AAPL", "MSFT", "BRK.B"], "2025-10-30")
        assert c.to_dict("list") == {"symbol": ["AAPL", "MSFT"], "close": [151.25, 379.0]}
        assert {r["key"] for r in fake.requests} == {KEY}


def test_errors_are_one_line_without_keys():
    with FakeAlpacaData(QUOTES, fail=500) as fake, pytest.raises(BrokerError) as ei:
        fetch_quotes(cfg_for(fake.url), ["AAPL"])
    assert "Alpaca market data" in str(ei.value)
    assert KEY not in str(ei.value) and SECRET not in str(ei.value)


def test_validate_and_tca_use_alpaca_data_and_save_snapshots(tmp_path, monkeypatch, capsys):
    day = tmp_path / "live" / "2025-10-30"
    day.mkdir(parents=True)
    (day / "trades.csv").write_text(
        "# Date: 2025-10-30\n# Portfolio Value: $100,000.00\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
        "MSFT,sell,5,390.00,1950.00,-0.0195,0.20,0.39,0.59\n"
    )
    (day / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"
        "2025-10-30,AAPL,buy,10,150.02,0.15,09:45:00,o1,\n"
    )
    with FakeAlpacaData(QUOTES, closes={"AAPL": 151.0, "MSFT": 379.0}) as fake:
        (tmp_path / "config.yaml").write_text(
            "execution:\n  broker: alpaca\n  alpaca:\n    api_key: ${XLX_T_KEY}\n"
            f"    api_secret: ${{XLX_T_SECRET}}\n    data_url: {fake.url}\n"
        )
        cfg = str(tmp_path / "config.yaml")
        rc = main(["validate", str(day / "trades.csv"), "--json", "--config", cfg])
        out = json.loads(capsys.readouterr().out)
        assert rc == 0 or out["decision"] == "REJECT"
        saved = read_quotes(day / "quotes.csv").set_index("symbol")
        assert saved.loc["MSFT", "mid"] == pytest.approx(380.50)
        dev = [c for c in out["checks"] if c["check"] == "price_deviation" and c["symbol"] == "MSFT"]
        assert dev and dev[0]["status"] == "warn"  # 390 vs mid 380.50 = 2.5%
        assert main(["tca", str(day), "--json", "--config", cfg]) == 0
        tca = json.loads(capsys.readouterr().out)
        assert read_closes(day / "closes.csv").set_index("symbol").loc["MSFT", "close"] == 379.0
        # MSFT sell of 5 unfilled: opportunity = -1 x 5 x (379 - 390) = +55.00
        assert tca["opportunity"]["usd"] == pytest.approx(55.0)
    for p in (f for f in day.rglob("*") if f.is_file()):  # charts are in a folder of the day
        text = p.read_text(errors="replace")
        assert KEY not in text and SECRET not in text


def _bar(t: str, o: float, h: float, lo: float, c: float, v: int, vw: float) -> dict:
    """One minute bar as Alpaca's market data API sends it (``t`` start time RFC 3339)."""
    return {"t": t, "o": o, "h": h, "l": lo, "c": c, "v": v, "n": 12, "vw": vw}


MINUTE_BARS = {
    "AAPL": [
        _bar("2025-10-30T13:30:00Z", 150.0, 150.2, 149.9, 150.1, 9000, 150.05),
        _bar("2025-10-30T13:45:00Z", 150.1, 150.3, 150.0, 150.2, 4000, 150.16),
        _bar("2025-10-30T13:46:00Z", 150.2, 150.3, 150.1, 150.1, 6000, 150.21),
        _bar("2025-10-30T19:59:00Z", 151.0, 151.1, 150.9, 151.0, 8000, 151.02),
        _bar("2025-10-30T20:00:00Z", 151.0, 151.0, 151.0, 151.0, 500, 151.0),  # after the close
    ],
    "MSFT": [_bar("2025-10-30T14:00:00Z", 380.0, 380.6, 379.9, 380.5, 1500, 380.3)],
}


def test_tca_fetches_minute_bars_page_by_page_and_saves_them(tmp_path):
    """Alpaca minute bars (``bars: {SYMBOL: [t, o, h, l, c, v, n, vw]}``, ``next_page_token``)
    through alpaca-py's StockHistoricalDataClient: every page, the session's bars only, saved
    as the day's bars.csv; the interval VWAP is taken from them."""

    from xlexec.core.orders import orders_from_trades
    from xlexec.formats.bars import read_bars
    from xlexec.formats.trades import read_trades
    from xlexec.store.journal import INTENT, Journal

    day = tmp_path / "live" / "2025-10-30"
    day.mkdir(parents=True)
    (day / "trades.csv").write_text(
        "# Date: 2025-10-30\n# Portfolio Value: $100,000.00\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
    )
    coid = orders_from_trades(read_trades(day / "trades.csv"))["client_order_id"].iloc[0]
    (day / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"
        f"2025-10-30,AAPL,buy,10,150.25,0.15,2025-10-30T13:46:20Z,o1,{coid}\n"
    )
    with Journal.for_live_dir(tmp_path / "live") as j:
        intent = {"client_order_id": coid, "symbol": "AAPL", "side": "buy", "qty": 10, "arrival_price": 150.1}
        j.append(INTENT, coid, {**intent, "submitted_at": "2025-10-30T13:45:30+00:00"}, day="2025-10-30")
    with FakeAlpacaData(QUOTES, closes={"AAPL": 151.0}, minute_bars=MINUTE_BARS, page_size=2) as fake:
        (tmp_path / "config.yaml").write_text(
            f"live_dir: {tmp_path / 'live'}\nexecution:\n  broker: alpaca\n  alpaca:\n    api_key: ${{XLX_T_KEY}}\n"
            f"    api_secret: ${{XLX_T_SECRET}}\n    data_url: {fake.url}\n"
        )
        r = cli_fork.run(
            [sys.executable, "-m", "xlexec", "tca", str(day), "--json", "--config", str(tmp_path / "config.yaml")],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        minute = [q for q in fake.requests if q["path"] == "/v2/stocks/bars" and q["query"].get("timeframe") == "1Min"]
    assert r.returncode == 0, r.stderr
    assert len(minute) == 3 and minute[1]["query"]["page_token"] == "2"  # 5 bars, 2 a page
    bars = read_bars(day / "bars.csv")
    assert len(bars) == 4 and str(bars["timestamp"].max()) == "2025-10-30 19:59:00+00:00"  # not the 20:00 bar
    bm = json.loads((day / "tca.json").read_text())["benchmarks"]
    assert bm["source"] == "Alpaca minute bars, saved as bars.csv"
    o = bm["orders"][0]
    # worked 13:45:30 .. 13:46:20: the 13:45 and 13:46 bars; VWAP by hand from their vw and v
    iv = (150.16 * 4000 + 150.21 * 6000) / 10000
    assert o["interval_vwap"] == pytest.approx(iv, abs=5e-5)
    assert o["interval_vwap_bps"] == pytest.approx((150.25 - iv) / iv * 1e4, abs=0.006)
    assert o["participation"] == pytest.approx(10 / 10000)
    for p in (f for f in day.rglob("*") if f.is_file()):
        assert KEY not in p.read_text(errors="replace")

"""The Quotes tab and the Validate button with Schwab's and IBKR's quotes: the broker's quotes are
fetched (through the real schwab-py / ib_async clients against the loopback fakes) and saved as
the day's quotes.csv, typed quotes are not used, and the tab says which broker they come from."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from fake_schwab import ACCOUNT_NUMBER, FakeSchwab  # noqa: E402
from fake_tws import FakeTWS  # noqa: E402
from test_workbook_quotes import DAY, paste, press, quotes_tab, setup_day, typed_quotes  # noqa: E402
from xlexec.excel.build import build_workbook  # noqa: E402
from xlexec.formats.inputs import read_quotes  # noqa: E402


@pytest.fixture
def book_day(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    return tmp_path, cfg, book


def test_schwab_quotes_win_over_the_tab(book_day, monkeypatch):
    root, cfg, book = book_day
    monkeypatch.setenv("XLX_T_SCHWAB_KEY", "KEY")
    monkeypatch.setenv("XLX_T_SCHWAB_SECRET", "SECRET")
    now = int(time.time())
    tok = {"access_token": "access-0", "refresh_token": "refresh-1", "token_type": "Bearer",
           "expires_in": 1800, "scope": "api", "expires_at": now + 1800}  # fmt: skip
    token = root / "token.json"
    token.write_text(json.dumps({"creation_timestamp": now, "token": tok}))
    paste(book, typed_quotes())
    with FakeSchwab() as fake:
        fake.quotes = {"PEP": (145.00, 145.10, 145.04)}
        fake.quote_time = dt.datetime(2025, 10, 30, 13, 38, tzinfo=dt.UTC)
        doc = yaml.safe_load(cfg.read_text())
        doc["execution"]["broker"] = "schwab"
        doc["execution"]["schwab"] = {
            "app_key": "${XLX_T_SCHWAB_KEY}",
            "app_secret": "${XLX_T_SCHWAB_SECRET}",
            "token_path": str(token),
            "account_number": ACCOUNT_NUMBER,
            "paper": False,
            "base_url": fake.url,
        }
        cfg.write_text(yaml.safe_dump(doc))
        res = press("validate", book, cfg)
        assert fake.requests("GET", "/marketdata/v1/quotes"), "the quotes were asked for"
    assert res.ok, res.message
    assert "saved" not in res.message  # the typed quotes were not saved
    saved = read_quotes(root / "live" / DAY / "quotes.csv")
    assert list(saved["symbol"]) == ["PEP"] and saved["mid"].iloc[0] == pytest.approx(145.05)
    vals = quotes_tab(book)
    assert vals[4][:5] == ["PEP", 145.0, 145.1, 145.04, "2025-10-30 13:38:00 UTC"]
    assert "Schwab market data is configured: Validate and Submit refresh this file from it" in vals[1][0]


def test_ibkr_quotes_win_over_the_tab(book_day):
    root, cfg, book = book_day
    paste(book, typed_quotes())
    with FakeTWS(quotes={"PEP": (145.00, 145.10, 145.04)}) as fake:
        doc = yaml.safe_load(cfg.read_text())
        doc["execution"]["broker"] = "ibkr"
        doc["execution"]["ibkr"] = {"port": fake.port, "client_id": 9, "account_id": "DU1234567", "paper": True}
        cfg.write_text(yaml.safe_dump(doc))
        res = press("validate", book, cfg)
        assert "PEP" in [s["symbol"] for s in fake.snapshots]
    assert res.ok, res.message
    assert "saved" not in res.message
    saved = read_quotes(root / "live" / DAY / "quotes.csv")
    assert list(saved["symbol"]) == ["PEP"] and saved["mid"].iloc[0] == pytest.approx(145.05)
    vals = quotes_tab(book)
    assert vals[4][:4] == ["PEP", 145.0, 145.1, 145.04]
    assert "IBKR market data is configured: Validate and Submit refresh this file from it" in vals[1][0]

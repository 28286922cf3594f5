"""Quotes from Schwab (``GET /marketdata/v1/quotes``) through the real schwab-py client against
the loopback fake: the frame, a symbol missing from the reply, a 5xx, and ``xlexec submit`` on
Schwab with the default price collar using the fetched quotes."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_schwab import ACCOUNT_NUMBER, FakeSchwab  # noqa: E402
from test_schwab_cli import ORDERS, _setup, _submit, _today  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.execution.marketdata import (  # noqa: E402
    alpaca_data_configured,
    fetch_quotes,
    quotes_configured,
    refresh_quotes_file,
)

QUOTES = "/marketdata/v1/quotes"


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("SCHWAB_APP_KEY", "KEY")
    monkeypatch.setenv("SCHWAB_APP_SECRET", "SECRET")
    with FakeSchwab() as f:
        yield f


def _cfg(fake, tmp_path, **schwab):
    now = int(time.time())
    tok = {"access_token": "access-0", "refresh_token": "refresh-1", "token_type": "Bearer",
           "expires_in": 1800, "scope": "api", "expires_at": now + 1800}  # fmt: skip
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"creation_timestamp": now, "token": tok}))
    s = {"app_key": "${SCHWAB_APP_KEY}", "app_secret": "${SCHWAB_APP_SECRET}", "token_path": str(token),
         "account_number": ACCOUNT_NUMBER, "paper": False, "base_url": fake.url, **schwab}  # fmt: skip
    return config_from_dict({"execution": {"broker": "schwab", "schwab": s}})


def test_configured_only_for_schwab_with_keys_and_a_token_file(fake, tmp_path):
    assert quotes_configured(_cfg(fake, tmp_path))
    assert not alpaca_data_configured(_cfg(fake, tmp_path))  # bars and closes stay Alpaca's
    assert not quotes_configured(_cfg(fake, tmp_path, token_path=None))
    assert not quotes_configured(_cfg(fake, tmp_path, app_key=""))
    assert not quotes_configured(config_from_dict({}))  # the paper broker: quotes.csv by hand


def test_the_frame_by_hand_and_a_missing_symbol_is_absent(fake, tmp_path):
    fake.quote_time = dt.datetime(2026, 3, 2, 15, 4, 5, 250000, tzinfo=dt.UTC)
    fake.quotes = {
        "AAPL": (150.00, 150.10, 150.04),
        "BRK.B": (410.00, 410.50, 410.20),
        "HALF": (0.0, 20.10, 20.05),  # no bid: mid falls back to the last trade
        "ZERO": (0.0, 0.0, 0.0),  # nothing usable: absent, never a zero quote
    }
    q = fetch_quotes(_cfg(fake, tmp_path), ["MSFT", "AAPL", "BRK.B", "HALF", "ZERO", "AAPL"])
    [req] = fake.requests("GET", QUOTES)
    assert req["query"]["symbols"] == "AAPL,BRK.B,HALF,MSFT,ZERO" and req["query"]["fields"] == "quote"
    assert list(q.columns) == ["symbol", "bid", "ask", "last", "timestamp", "mid"]
    assert list(q["symbol"]) == ["AAPL", "BRK.B", "HALF"]  # MSFT (not in the reply) and ZERO absent
    a = q.set_index("symbol")
    assert (a.loc["AAPL", "bid"], a.loc["AAPL", "ask"], a.loc["AAPL", "last"]) == (150.00, 150.10, 150.04)
    assert a.loc["AAPL", "mid"] == pytest.approx(150.05)
    assert a.loc["BRK.B", "mid"] == pytest.approx(410.25)
    assert math.isnan(a.loc["HALF", "bid"]) and a.loc["HALF", "mid"] == 20.05
    assert a.loc["AAPL", "timestamp"] == pd.Timestamp("2026-03-02T15:04:05.25Z")


def test_a_class_share_is_asked_the_schwab_way_and_answered_in_ours(fake, tmp_path):
    fake.quotes = {"BRK.B": (410.00, 410.50, 410.20)}
    q = fetch_quotes(_cfg(fake, tmp_path), ["BRK/B"])
    assert fake.requests("GET", QUOTES)[0]["query"]["symbols"] == "BRK.B"
    assert list(q["symbol"]) == ["BRK/B"] and q["mid"].iloc[0] == pytest.approx(410.25)


def test_a_5xx_is_one_clear_line_and_no_file_is_written(fake, tmp_path):
    fake.quotes = {"AAPL": (150.00, 150.10, 150.04)}
    fake.inject("503", method="GET", path=QUOTES)
    path, said = tmp_path / "quotes.csv", []
    assert refresh_quotes_file(_cfg(fake, tmp_path), ["AAPL"], path, warn=said.append) is False
    assert not path.exists()
    [line] = said
    assert "\n" not in line and line.startswith("Schwab market data: quotes: broker error HTTP 503"), line
    assert line.endswith("; no quotes") and "SECRET" not in line
    # the next refresh works, and is the day's snapshot as for Alpaca
    assert refresh_quotes_file(_cfg(fake, tmp_path), ["AAPL"], path, warn=said.append) is True
    lines = path.read_text().splitlines()
    assert lines[0] == "symbol,bid,ask,last,timestamp" and lines[1].startswith("AAPL,150.00,150.10,150.04,")


def test_paper_true_does_not_stop_the_quotes(fake, tmp_path):
    # market data only: nothing can be sent, so the refusal of paper: true is for orders alone
    fake.quotes = {"AAPL": (150.00, 150.10, 150.04)}
    assert list(fetch_quotes(_cfg(fake, tmp_path, paper=True), ["AAPL"])["symbol"]) == ["AAPL"]


def _default_collar(cfg: Path) -> None:
    text = cfg.read_text()
    assert "  price_collar_pct: null\n" in text
    cfg.write_text(text.replace("  price_collar_pct: null\n", ""))  # the default: 5 %


def test_submit_with_the_default_collar_passes_with_the_fetched_quotes(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    _default_collar(cfg)
    fake.quotes = {"AAPL": (149.90, 150.10, 150.00), "MSFT": (379.80, 380.20, 380.00)}
    r = _submit(cfg, trades, "--live")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(fake.requests("POST", ORDERS)) == 2, r.stdout
    snap = (tmp_path / "live" / _today() / "quotes.csv").read_text().splitlines()
    assert snap[0] == "symbol,bid,ask,last,timestamp"
    assert [x.split(",")[:4] for x in snap[1:]] == [["AAPL", "149.90", "150.10", "150.00"],
                                                    ["MSFT", "379.80", "380.20", "380.00"]]  # fmt: skip


def test_submit_refuses_an_order_outside_the_collar_and_it_never_reaches_schwab(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    _default_collar(cfg)
    fake.quotes = {"AAPL": (149.90, 150.10, 150.00), "MSFT": (299.90, 300.10, 300.00)}  # 380 is 26.7 % over
    r = _submit(cfg, trades, "--live")
    out = r.stdout + r.stderr
    posted = [p["body"]["orderLegCollection"][0]["instrument"]["symbol"] for p in fake.requests("POST", ORDERS)]
    assert posted == ["AAPL"], out
    assert r.returncode == 1 and "$380.00 is 26.67% from the quote mid $300.00 (collar 5.0%)" in r.stdout, out


def test_submit_without_a_quote_for_a_symbol_refuses_it(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    _default_collar(cfg)
    fake.quotes = {"AAPL": (149.90, 150.10, 150.00)}  # MSFT missing from the reply
    r = _submit(cfg, trades, "--live")
    out = r.stdout + r.stderr
    posted = [p["body"]["orderLegCollection"][0]["instrument"]["symbol"] for p in fake.requests("POST", ORDERS)]
    assert posted == ["AAPL"] and r.returncode == 1, out
    [line] = [x for x in r.stdout.splitlines() if x.startswith("│ MSFT")]
    assert "refused" in line and "no quote" in line, r.stdout


def test_no_quote_for_any_symbol_writes_no_file(fake, tmp_path):
    path, said = tmp_path / "quotes.csv", []
    assert refresh_quotes_file(_cfg(fake, tmp_path), ["AAPL", "MSFT"], path, warn=said.append) is False
    assert not path.exists()
    assert said == ["Schwab market data: no quote for any of the 2 symbols; no quotes"]

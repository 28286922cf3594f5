"""Quotes from IBKR (market data snapshots: ib_async ``reqTickers``) through the real ib_async
client against the loopback fake TWS: the frame, a symbol without data is absent, TWS not
reachable is one clear line and no file, and ``xlexec submit`` on IBKR with the default price
collar using the fetched quotes."""

from __future__ import annotations

import math
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_tws import FakeTWS  # noqa: E402
from test_ibkr_cli import _setup, _submit, _today, _tws_now  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.execution.marketdata import (  # noqa: E402
    alpaca_data_configured,
    fetch_quotes,
    quotes_configured,
    refresh_quotes_file,
)

pytestmark = pytest.mark.slow


def _cfg(port: int, **ibkr):
    k = {"port": port, "client_id": 7, "account_id": "DU1234567", "paper": True, **ibkr}
    return config_from_dict({"execution": {"broker": "ibkr", "request_timeout_seconds": 5, "ibkr": k}})


@pytest.fixture
def fake():
    with FakeTWS(now=_tws_now) as f:
        yield f


def test_configured_for_ibkr_only(fake):
    assert quotes_configured(_cfg(fake.port))
    assert not alpaca_data_configured(_cfg(fake.port))  # bars and closes stay Alpaca's


def test_the_frame_by_hand_and_a_symbol_without_data_is_absent(fake):
    fake.quotes = {
        "AAPL": (150.00, 150.10, 150.04),
        "BRK B": (410.00, 410.50, 410.20),
        "HALF": (0.0, 20.10, 20.05),  # no bid sent: mid falls back to the last trade
    }
    before = pd.Timestamp.now(tz="UTC")
    q = fetch_quotes(_cfg(fake.port), ["MSFT", "AAPL", "BRK.B", "HALF", "AAPL"])
    after = pd.Timestamp.now(tz="UTC")
    assert sorted(s["symbol"] for s in fake.snapshots) == ["AAPL", "BRK B", "HALF", "MSFT"]
    assert all(s["snapshot"] for s in fake.snapshots)
    assert list(q.columns) == ["symbol", "bid", "ask", "last", "timestamp", "mid"]
    assert list(q["symbol"]) == ["AAPL", "BRK.B", "HALF"]  # MSFT: error 354, no ticks: absent
    a = q.set_index("symbol")
    assert (a.loc["AAPL", "bid"], a.loc["AAPL", "ask"], a.loc["AAPL", "last"]) == (150.00, 150.10, 150.04)
    assert a.loc["AAPL", "mid"] == pytest.approx(150.05)
    assert a.loc["BRK.B", "mid"] == pytest.approx(410.25)
    assert math.isnan(a.loc["HALF", "bid"]) and a.loc["HALF", "mid"] == 20.05
    assert before <= a.loc["AAPL", "timestamp"] <= after


def test_a_second_fetch_never_reuses_the_first_ones_values(fake):
    fake.quotes = {"AAPL": (150.00, 150.10, 150.04), "MSFT": (380.0, 380.2, 380.1)}
    cfg = _cfg(fake.port)
    assert list(fetch_quotes(cfg, ["AAPL", "MSFT"])["symbol"]) == ["AAPL", "MSFT"]
    del fake.quotes["MSFT"]
    assert list(fetch_quotes(cfg, ["AAPL", "MSFT"])["symbol"]) == ["AAPL"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tws_not_running_is_one_clear_line_and_no_file_is_written(tmp_path):
    path, said = tmp_path / "quotes.csv", []
    cfg = _cfg(_free_port(), connect_timeout_seconds=2)
    assert refresh_quotes_file(cfg, ["AAPL"], path, warn=said.append) is False
    assert not path.exists()
    [line] = said
    assert "\n" not in line and line.startswith("IBKR market data: connecting to TWS / IB Gateway at 127.0.0.1:"), line
    assert line.endswith("; no quotes"), line


def test_no_data_for_any_symbol_writes_no_file(fake, tmp_path):
    path, said = tmp_path / "quotes.csv", []
    assert refresh_quotes_file(_cfg(fake.port), ["AAPL", "MSFT"], path, warn=said.append) is False
    assert not path.exists()
    assert said == ["IBKR market data: no quote for any of the 2 symbols; no quotes"]


def _default_collar(cfg: Path) -> None:
    text = cfg.read_text()
    assert "  price_collar_pct: null\n" in text
    cfg.write_text(text.replace("  price_collar_pct: null\n", ""))  # the default: 5 %


def test_submit_with_the_default_collar_passes_with_the_fetched_quotes(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    _default_collar(cfg)
    fake.quotes = {"AAPL": (149.90, 150.10, 150.00), "BRK B": (399.80, 400.20, 400.00)}
    r = _submit(cfg, trades)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(o["symbol"] for o in fake.orders) == ["AAPL", "BRK B"], r.stdout
    snap = (tmp_path / "live" / _today() / "quotes.csv").read_text().splitlines()
    assert snap[0] == "symbol,bid,ask,last,timestamp"
    assert [x.split(",")[:4] for x in snap[1:]] == [["AAPL", "149.90", "150.10", "150.00"],
                                                    ["BRK.B", "399.80", "400.20", "400.00"]]  # fmt: skip


def test_submit_refuses_an_order_outside_the_collar_and_it_never_reaches_tws(tmp_path, fake):
    cfg, trades = _setup(tmp_path, fake)
    _default_collar(cfg)
    fake.quotes = {"AAPL": (149.90, 150.10, 150.00), "BRK B": (299.90, 300.10, 300.00)}  # 400 is 33.3 % over
    r = _submit(cfg, trades)
    out = r.stdout + r.stderr
    assert [o["symbol"] for o in fake.orders] == ["AAPL"], out
    assert r.returncode == 1 and "$400.00 is 33.33% from the quote mid $300.00 (collar 5.0%)" in r.stdout, out


def test_a_delayed_quote_has_no_time(fake):
    # TWS answering with delayed data (marketDataType 3): the receipt time is not the quote's time, so none
    # is given and an order that needs a fresh quote is refused (max_quote_age_seconds: no time)
    fake.quotes = {"AAPL": (150.00, 150.10, 150.04)}
    fake.default_market_data_type = 3
    q = fetch_quotes(_cfg(fake.port), ["AAPL"])
    assert list(q["symbol"]) == ["AAPL"] and pd.isna(q["timestamp"].iloc[0])


def test_a_snapshot_tws_never_answers_is_one_clear_line_and_no_file(fake, tmp_path):
    fake.quotes = {"AAPL": (150.00, 150.10, 150.04), "MSFT": (380.0, 380.2, 380.1)}
    fake.silent_quotes = {"MSFT"}
    path, said = tmp_path / "quotes.csv", []
    cfg = config_from_dict(
        {"execution": {"broker": "ibkr", "request_timeout_seconds": 1,
                       "ibkr": {"port": fake.port, "client_id": 7, "account_id": "DU1234567"}}}
    )  # fmt: skip
    assert refresh_quotes_file(cfg, ["AAPL", "MSFT"], path, warn=said.append) is False
    assert not path.exists()
    assert said == ["IBKR market data: quotes: no reply from TWS within 1 s for MSFT; no quotes"]


def _open_loops() -> set[int]:
    """The asyncio event loops alive and not closed, collected or not yet (no collection run: a
    loop left open is closed by its finaliser when collected, which is what is looked for)."""
    import asyncio
    import gc

    return {id(o) for o in gc.get_objects() if isinstance(o, asyncio.BaseEventLoop) and not o.is_closed()}


def test_the_adapter_closes_the_event_loop_it_ran_on(fake):
    """A closed adapter leaves no event loop open: one left for the garbage collector is
    collected with its self-pipe at exit, in either order, and when the socket goes first a
    traceback is printed under the command's one line (seen after a clean refusal)."""
    from xlexec.errors import BrokerError

    fake.quotes = {"AAPL": (150.00, 150.10, 150.04)}
    before = _open_loops()
    assert list(fetch_quotes(_cfg(fake.port), ["AAPL"])["symbol"]) == ["AAPL"]
    with pytest.raises(BrokerError, match="is not an account of the login"):
        fetch_quotes(_cfg(fake.port, account_id="DU7654321"), ["AAPL"])
    assert _open_loops() - before == set()

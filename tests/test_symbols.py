"""One security id (issue 15): every spelling of a ticker is one symbol everywhere, a name is not a
ticker, and one client order id never stands for two orders. Attacks run through the CLI against
the loopback fake Alpaca; the assertion that matters is what reached the broker."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import quote_now  # noqa: E402
from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.cli.app import main  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.core.orders import orders_from_trades  # noqa: E402
from xlexec.core.symbols import canonical_symbol, symbol_problem  # noqa: E402
from xlexec.execution import engine as S  # noqa: E402
from xlexec.formats.inputs import read_quotes, read_restricted  # noqa: E402
from xlexec.formats.trades import read_trades  # noqa: E402
from xlexec.steps.context import Context  # noqa: E402
from xlexec.store import journal as J  # noqa: E402

KEY, SECRET = "PKSYMBOLSKEY5555", "symbolsSECRET777777777777777777"
DAY = "2025-10-30"
T_DAY = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)  # the fake broker's clock: 10:00 New York on DAY
HEADER = """# Date: 2025-10-30
# Portfolio Value: $100,000.00
# Kill Switch: ACTIVE
# Safety Checks: PASSED
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
"""
AAPL_ROW = "AAPL,buy,100,150.25,15025.00,0.0500,1.50,3.01,4.51\n"
QUOTES = (
    "symbol,bid,ask,last,timestamp\n"
    "AAPL,150.1,150.3,150.2,{t}\n"
    "BRK B,480.0,480.4,480.2,{t}\n"  # IBKR spelling: the same security as BRK.B
)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(S, "LOOKUP_BACKOFF", (0.02, 0.02))


@pytest.fixture
def fake():
    with FakeAlpaca(now=T_DAY, max_lifetime=60) as f:
        yield f


@pytest.fixture
def desk(tmp_path, fake, monkeypatch):
    """A live/ folder and a config pointing at the fake Alpaca; returns (config path, day dir)."""
    monkeypatch.setenv("XLX_SYM_KEY", KEY)
    monkeypatch.setenv("XLX_SYM_SECRET", SECRET)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""live_dir: live
execution:
  broker: alpaca
  require_human_approval: false
  max_order_size_usd: 50000
  rate_limit_per_min: 6000
  alpaca:
    api_key: ${{XLX_SYM_KEY}}
    api_secret: ${{XLX_SYM_SECRET}}
    base_url: {fake.url}
""")
    day_dir = tmp_path / "live" / DAY
    day_dir.mkdir(parents=True)
    (day_dir / "quotes.csv").write_text(QUOTES.format(t=quote_now()))  # fresh at submit (real clock)
    return cfg, day_dir


def _submit(cfg, trades_path, capsys) -> tuple[int, str, str]:
    rc = main(["submit", str(trades_path), "--config", str(cfg), "--allow-closed"])
    out, err = capsys.readouterr()
    return rc, out, err


def _symbols_at(fake) -> list[str]:
    return sorted(o["symbol"] for o in fake.orders.values())


@pytest.mark.parametrize("given", ["BRK.B", "BRK/B", "BRK B", "brk-b", "BRK-B", " brk.b "])
def test_every_spelling_is_one_security_id(given):
    assert canonical_symbol(given) == "BRK.B"
    assert symbol_problem(given) is None


@pytest.mark.parametrize(
    "given,why",
    [
        ("Microsoft Corp", "mixed case"),
        ("MICROSOFT CORP", "not a share class"),
        ("microsoft corp", "not a share class"),
        ("Apple", "mixed case"),
        ("APPLE INC CLASS A", "more than one word"),
        ("", "empty"),
    ],
)
def test_a_name_is_not_a_ticker(given, why):
    assert why in (symbol_problem(given) or "")


@pytest.mark.parametrize("restricted_as", ["BRK.B", "brk/b"])
@pytest.mark.parametrize("traded_as", ["BRK/B", "BRK B", "brk-b", "BRK.B"])
def test_cli_restricted_list_refuses_every_spelling(desk, fake, capsys, restricted_as, traded_as):
    cfg, day_dir = desk
    (day_dir.parent / "restricted.csv").write_text(f"symbol,reason\n{restricted_as},insider window\n")
    t = day_dir / "trades.csv"
    t.write_text(HEADER + AAPL_ROW + f"{traded_as},buy,10,480.20,4802.00,0.0480,0.48,0.96,1.44\n")
    rc, out, err = _submit(cfg, t, capsys)
    assert rc == 1, out + err
    assert _symbols_at(fake) == ["AAPL"]  # nothing of BRK reached the broker
    log = (day_dir / "execution_log.csv").read_text()
    assert "BRK.B,buy,10,,,,,0.00,,Refused: restricted list: insider window" in log
    assert "BRK.B" in log and "BRK/B" not in log and "BRK B" not in log


def test_readers_canonicalise_quotes_and_restricted(desk):
    _cfg, day_dir = desk
    assert "BRK.B" in read_quotes(day_dir / "quotes.csv")["symbol"].tolist()
    (day_dir.parent / "restricted.csv").write_text("symbol\nbrk b\nBF/B\n")
    assert read_restricted(day_dir.parent / "restricted.csv")["symbol"].tolist() == ["BRK.B", "BF.B"]


@pytest.mark.parametrize("command", ["validate", "submit", "convert"])
def test_cli_two_spellings_of_one_security_are_a_duplicate(desk, fake, capsys, command):
    """``BRK.B buy 10`` + ``BRK/B buy 3`` used to become two orders on one client order id (one
    reached the broker, exit 0). Now: an input error naming both rows; nothing sent or written."""
    cfg, day_dir = desk
    t = day_dir / "trades.csv"
    t.write_text(
        HEADER
        + "BRK.B,buy,10,480.20,4802.00,0.0480,0.48,0.96,1.44\n"
        + "BRK/B,buy,3,480.20,1440.60,0.0144,0.14,0.29,0.43\n"
    )
    args = [command, str(t), "--config", str(cfg)]
    if command == "submit":
        args.append("--allow-closed")
    if command == "convert":
        args += ["--broker", "ibkr"]
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == 2, out + err
    assert "row 7" in err and "rows 6 and 7" in err and "duplicate BRK.B buy" in err, err
    assert "'BRK.B' and 'BRK/B' are one security" in err
    assert "Traceback" not in out + err
    assert fake.orders == {} and not (day_dir / "trades_ibkr.csv").exists()


@pytest.mark.parametrize(
    "symbol,why",
    [("Microsoft Corp", "mixed case"), ("MICROSOFT CORP", "not a share class"), ("Apple Inc", "mixed case")],
)
def test_cli_a_company_name_in_the_symbol_column_is_refused_with_file_row_column(desk, fake, capsys, symbol, why):
    cfg, day_dir = desk
    t = day_dir / "trades.csv"
    t.write_text(HEADER + AAPL_ROW + f"{symbol},buy,10,380.50,3805.00,0.0380,0.38,0.76,1.14\n")
    for command in ("validate", "submit"):
        args = [command, str(t), "--config", str(cfg)] + (["--allow-closed"] if command == "submit" else [])
        rc = main(args)
        out, err = capsys.readouterr()
        assert rc == 2, (command, out + err)
        assert str(t) in err and "row 7" in err and "column 'symbol'" in err and why in err, err
    assert fake.orders == {}


def test_class_shares_written_per_broker_style(desk, capsys):
    cfg, day_dir = desk
    t = day_dir / "trades.csv"
    t.write_text(HEADER + "brk/b,buy,10,480.20,4802.00,0.0480,0.48,0.96,1.44\n")
    assert read_trades(t).df["symbol"].tolist() == ["BRK.B"]
    # a draft: the desk's clock is the real one (a real broker), not the file's 2025 session
    assert main(["convert", str(t), "--config", str(cfg), "--broker", "ibkr", "--draft"]) == 0
    capsys.readouterr()
    body = (day_dir / "trades_ibkr_DRAFT.csv").read_text()
    assert ",BRK B," in body and "BRK/B" not in body and "BRK.B" not in body


def _coid(day_dir: Path, symbol: str) -> str:
    """The order's client order id as sent to the fake (its account PA0000001: tag ``a000001``)."""
    o = orders_from_trades(read_trades(day_dir / "trades.csv"), date=DAY)
    plan = str(o.loc[o["symbol"] == symbol, "client_order_id"].iloc[0])
    return plan.replace(f"xlx-{DAY}-", f"xlx-{DAY}-a000001-", 1)


def test_cli_a_journaled_intent_for_another_order_on_the_same_id_is_refused(desk, fake, tmp_path, capsys):
    """A client order id the journal already holds for a different order (qty 999) is a
    collision: refused loudly, exit 1, never sent and never counted as already sent."""
    cfg, day_dir = desk
    t = day_dir / "trades.csv"
    t.write_text(HEADER + AAPL_ROW)
    coid = _coid(day_dir, "AAPL")
    ctx = Context(config_from_dict({"live_dir": str(tmp_path / "live")}), user="someone")
    ctx.journal().append(
        J.INTENT,
        coid,
        {"client_order_id": coid, "symbol": "AAPL", "side": "buy", "qty": 999.0, "limit_price": 150.25},
        day=DAY,
        actor="someone",
    )
    rc, out, err = _submit(cfg, t, capsys)
    assert rc == 1, out + err
    assert "client order id collision" in out + err
    assert "0 sent, 0 already at the broker, 1 refused" in out
    log = (day_dir / "execution_log.csv").read_text()
    assert "client order id collision" in log and "differs in qty" in log, log
    assert fake.order_count(coid) == 0 and fake.orders == {}


def test_cli_a_broker_order_for_another_order_on_the_same_id_is_not_already_sent(desk, fake, capsys):
    """The broker already has this client order id, but for 999 shares (another live/ folder, a
    bug, a hand-made order): a collision, refused with exit 1, not "already at the broker"."""
    cfg, day_dir = desk
    t = day_dir / "trades.csv"
    t.write_text(HEADER + AAPL_ROW)
    coid = _coid(day_dir, "AAPL")
    fake.seed_order(coid, "AAPL", "buy", 999, 150.25)
    rc = main(["submit", str(t), "--config", str(cfg), "--allow-closed", "--json"])
    out, err = capsys.readouterr()
    assert rc == 1, out + err
    js = json.loads(out)
    assert js["already_sent"] == 0 and js["refused"] == 1 and js["sent"] == 0
    assert "client order id collision" in js["orders"][0]["note"]
    assert fake.order_count(coid) == 1 and float(next(iter(fake.orders.values()))["qty"]) == 999


def test_engine_refuses_two_rows_sharing_one_client_order_id():
    import pandas as pd

    orders = pd.DataFrame(
        {
            "symbol": ["BRK.B", "BRK.B", "AAPL"],
            "side": ["buy", "buy", "buy"],
            "qty": [10.0, 3.0, 5.0],
            "limit_price": [480.2, 480.2, 150.0],
            "client_order_id": ["x-BRK.B-buy", "x-BRK.B-buy", "x-AAPL-buy"],
        },
        index=[6, 7, 8],
    )
    clash = S.collisions(orders, {"x-AAPL-buy": {"symbol": "AAPL", "side": "buy", "qty": 5.0, "limit_price": 150.0}})
    assert sorted(clash) == [6, 7]
    assert all(code == S.COLLISION and "rows 6, 7" in note for code, note in clash.values())


def test_cli_a_second_file_spelling_a_sent_security_differently_is_a_duplicate(desk, fake, capsys):
    """``BRK/B buy 10`` goes out; a second batch of the day with ``BRK.B buy 10`` is the same
    security on the same side: refused as a duplicate, one BRK order at the broker."""
    cfg, day_dir = desk
    t = day_dir / "trades.csv"
    t.write_text(HEADER + "BRK/B,buy,10,480.20,4802.00,0.0480,0.48,0.96,1.44\n")
    rc, out, err = _submit(cfg, t, capsys)
    assert rc == 0, out + err
    t.write_text(HEADER + AAPL_ROW + "BRK.B,buy,10,480.20,4802.00,0.0480,0.48,0.96,1.44\n")
    rc, out, err = _submit(cfg, t, capsys)
    assert rc == 1, out + err
    assert _symbols_at(fake) == ["AAPL", "BRK.B"]
    log = (day_dir / "execution_log.csv").read_text()
    assert "Refused: duplicate" in log, log


def test_canonical_symbols_of_plain_tickers_and_of_others():
    """Plain tickers (one regex over them all) come back as they are, with no problem; one other
    value among them and each is read on its own."""
    from xlexec.core.symbols import canonical_symbols

    assert canonical_symbols(["AAPL", "BRK.B", "T", "ABCDEFGHIJ"]) == (
        ["AAPL", "BRK.B", "T", "ABCDEFGHIJ"],
        [None, None, None, None],
    )
    assert canonical_symbols(["AAPL", "brk b"]) == (["AAPL", "BRK.B"], [None, None])
    canon, probs = canonical_symbols(["AAPL", "AAPL\nMSFT"])
    assert probs[0] is None and probs[1] is not None
    canon, probs = canonical_symbols(["AAPL", ""])
    assert probs == [None, "symbol is empty"]

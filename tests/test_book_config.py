"""The workbook knows its config: built with ``--config``, a book records that file relative
to its own folder (defined name ``xlexec_config``) and every press and config-reading UDF
uses it, wherever the book and its config have moved together, from whatever folder the
command runs in. No config -> refused, nothing touched; a book open in Excel (owner file
``~$book.xlsm``) -> refused before the step runs, the book byte-identical.

Every CLI run is a subprocess started in a third folder (``elsewhere``) that holds a
config.yaml of its own pointing at ``elsewhere/live``: a press that fell back to the current
directory's config would write there. The day is tests/data/validate's clean day (AAPL buy
20 @ $150.25 = $3,005, MSFT sell 10 @ $380.50 = $3,805, GOOGL buy 25 @ $142.80 = $3,570).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_fork
from xlexec.excel.bookconfig import CONFIG_NAME, local_book_path, read_ref_file
from xlexec.excel.udfs import checks_table, quote_mid

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "validate"
DAY = "2025-10-30"
NOW = "2025-10-30T14:00:00+00:00"
# min_trade_usd 5000: all three trades ($3,005, $3,805, $3,570) are below it -> small_trade WARNs
CONFIG = "live_dir: live\nexecution:\n  broker: paper\nvalidation:\n  min_trade_usd: 5000\n"


def _desk(folder: Path) -> Path:
    """``folder``/config.yaml (relative live_dir) + ``folder``/live with the clean day."""
    live = folder / "live"
    d = live / DAY
    d.mkdir(parents=True)
    (d / "trades.csv").write_text((DATA / "trades_clean.csv").read_text())
    (d / "quotes.csv").write_text((DATA / "quotes.csv").read_text())
    for name in ("positions.csv", "events.csv", "reference.csv"):
        target = "current_positions.csv" if name == "positions.csv" else name
        (live / target).write_text((DATA / name).read_text())
    cfg = folder / "config.yaml"
    cfg.write_text(CONFIG)
    return cfg


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XLEXEC_NOW": NOW, "XLWINGS_LICENSE_KEY": "noncommercial"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("XLEXEC_CONFIG", None)
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def moved(tmp_path):
    """A book built in A with A's config, then A moved to B; returns (B, book, elsewhere)."""
    a, b, elsewhere = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    a.mkdir()
    elsewhere.mkdir()
    (elsewhere / "config.yaml").write_text("live_dir: live\nexecution:\n  broker: paper\n")
    cfg = _desk(a)
    p = _run(elsewhere, "workbook", "build", "--config", str(cfg), "--output", str(a / "book.xlsm"), "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["config"] == "config.yaml"
    shutil.move(str(a), str(b))
    return b, b / "book.xlsm", elsewhere


def test_build_records_the_config_relative_to_the_book(tmp_path):
    desk, books = tmp_path / "desk", tmp_path / "desk" / "books"
    desk.mkdir()
    cfg = _desk(desk)
    p = _run(tmp_path, "workbook", "build", "--config", str(cfg), "--output", str(books / "day.xlsm"))
    assert p.returncode == 0, p.stderr
    assert read_ref_file(books / "day.xlsm") == "../config.yaml"
    assert "its buttons use ../config.yaml" in p.stdout


def test_moved_book_uses_the_config_beside_it(moved):
    b, book, elsewhere = moved
    p = _run(elsewhere, "button", "load-trades", "--book", str(book), "--day", DAY, "--json")
    assert p.returncode == 0, p.stderr
    msg = json.loads(p.stdout)["message"]
    assert f"[config {b / 'config.yaml'} · PAPER TRADING · built-in simulator]" in msg
    # Load Trades keeps the positions the day starts from, under B's live_dir
    assert (b / "live" / DAY / "opening_positions.csv").read_bytes() == (DATA / "positions.csv").read_bytes()
    p = _run(elsewhere, "button", "validate", "--book", str(book), "--json")
    assert p.returncode == 0, p.stderr
    checks = json.loads((b / "live" / DAY / "validation.json").read_text())
    assert checks["decision"] == "CONDITIONAL"  # small_trade WARNs under B's min_trade_usd of $5,000
    assert not (elsewhere / "live").exists()
    assert read_ref_file(book) == "config.yaml"  # the re-rendered book still records it


@pytest.mark.parametrize("button", ["validate", "cancel-all", "submit"])
def test_missing_config_refuses_and_touches_nothing(moved, button):
    b, book, elsewhere = moved
    (b / "config.yaml").unlink()
    before = _files(b)
    p = _run(elsewhere, "button", button, "--book", str(book), "--day", DAY, "--live")
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{b / 'config.yaml'}: config not found" in lines[0] and "nothing done" in lines[0]
    assert _files(b) == before  # the book byte-identical, nothing new under B/live
    assert not (elsewhere / "live").exists()  # never the current directory's config


def test_unreadable_config_refuses(moved):
    b, book, elsewhere = moved
    (b / "config.yaml").write_text("execution:\n  broker: [unclosed\n")
    before = _files(b)
    p = _run(elsewhere, "button", "cancel-all", "--book", str(book), "--day", DAY)
    assert p.returncode == 2
    assert str(b / "config.yaml") in p.stderr and "YAML error" in p.stderr
    assert _files(b) == before and not (elsewhere / "live").exists()


def test_book_without_a_recorded_config_refuses(tmp_path):
    """A book whose defined name is gone (an older build) refuses instead of using defaults."""
    import zipfile

    b, elsewhere = tmp_path / "B", tmp_path / "C"
    b.mkdir()
    elsewhere.mkdir()
    cfg = _desk(b)
    assert _run(elsewhere, "workbook", "build", "--config", str(cfg), "--output", str(b / "old.xlsm")).returncode == 0
    src, dst = b / "old.xlsm", b / "older.xlsm"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                data = data.replace(CONFIG_NAME.encode(), b"something_else")
            zout.writestr(info, data)
    before = _files(b)
    p = _run(elsewhere, "button", "validate", "--book", str(dst), "--day", DAY)
    assert p.returncode == 2
    assert "does not record its config" in p.stderr and "xlexec workbook build --config" in p.stderr
    assert _files(b) == before


@pytest.mark.parametrize("owner", ["~$book.xlsm", ".~lock.book.xlsm#"])
def test_open_book_refuses_before_the_step(moved, owner):
    b, book, elsewhere = moved
    (b / owner).write_bytes(b"\x05jane")  # what Excel (LibreOffice) keeps while the book is open
    before = _files(b)
    p = _run(elsewhere, "button", "validate", "--book", str(book), "--day", DAY)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert f"owner file {owner} is present" in p.stderr and "close it first" in p.stderr
    assert _files(b) == before  # no validation.json, no journal line, the book byte-identical
    assert not (b / "live" / DAY / "validation.json").exists()
    (b / owner).unlink()  # closed: the same press runs
    p = _run(elsewhere, "button", "validate", "--book", str(book), "--day", DAY)
    assert p.returncode == 0, p.stderr
    assert (b / "live" / DAY / "validation.json").exists()


# --------------------------------------------------------------------------- UDFs


ROWS = [
    ["symbol", "side", "shares", "price", "notional", "weight_change"]
    + ["commission_est", "slippage_est", "total_cost_est"],
    ["AAPL", "buy", 20, 150.25, 3005.0, 0.03, 0.30, 0.60, 0.90],
    ["MSFT", "sell", 10, 380.50, 3805.0, -0.0381, 0.38, 0.76, 1.14],
    ["GOOGL", "buy", 25, 142.80, 3570.0, 0.0357, 0.36, 0.71, 1.07],
]


class _Name:
    def __init__(self, refers_to: str) -> None:
        self.refers_to = refers_to


class _XlwingsBook:
    """What a UDF's ``caller.sheet.book`` answers in desktop Excel (xlwings' Book interface:
    ``fullname``, ``names[...].refers_to``); the xlwings.conf tab is absent."""

    def __init__(self, fullname: str, refers_to: str | None) -> None:
        self.fullname = fullname
        self.names = {CONFIG_NAME: _Name(refers_to)} if refers_to is not None else {}
        self.sheets: dict = {}


class _Caller:
    def __init__(self, book) -> None:
        self.sheet = type("Sheet", (), {"book": book})()


def _small_trades(table) -> list[tuple[str, float]]:
    return [(r[2], r[4]) for r in table if r[0] == "small_trade" and r[1] == "warn"]


def test_udf_reads_the_config_of_its_book_as_the_button_does(moved):
    b, book, elsewhere = moved
    expected = [("AAPL", 5000.0), ("MSFT", 5000.0), ("GOOGL", 5000.0)]
    caller = _Caller(_XlwingsBook(str(book), '="config.yaml"'))
    assert _small_trades(checks_table(ROWS, config=caller)) == expected
    assert _small_trades(checks_table(ROWS, config=book)) == expected  # the file itself
    # the Validate button of the same book flags the same trades against the same limit
    assert _run(elsewhere, "button", "validate", "--book", str(book), "--day", DAY).returncode == 0
    doc = json.loads((b / "live" / DAY / "validation.json").read_text())
    flagged = [(c["symbol"], c["limit"]) for c in doc["checks"] if (c["check"], c["status"]) == ("small_trade", "warn")]
    assert sorted(flagged) == sorted(expected)
    # XLEXEC_QUOTE: the newest quotes.csv under B's live_dir (AAPL bid 150.20 / ask 150.30 -> mid 150.25)
    assert quote_mid("AAPL", config=caller) == pytest.approx(150.25)


def test_udf_without_its_config_says_so_in_the_cell(moved, monkeypatch):
    b, book, _ = moved
    monkeypatch.setenv("XLEXEC_CONFIG", str(b / "config.yaml"))  # never read by a UDF
    (b / "config.yaml").rename(b / "gone.yaml")
    caller = _Caller(_XlwingsBook(str(book), '="config.yaml"'))
    cell = checks_table(ROWS, config=caller)
    assert cell.startswith("#XLEXEC: ") and "config not found" in cell
    assert quote_mid("AAPL", config=caller).startswith("#XLEXEC: ")
    assert checks_table(ROWS).startswith("#XLEXEC: no workbook given")
    unsaved = _Caller(_XlwingsBook("Book1", '="config.yaml"'))  # a new, never saved book
    assert "folder is unknown" in checks_table(ROWS, config=unsaved)


def test_onedrive_url_resolves_to_the_synced_folder(moved):
    """``FullName`` of a book on OneDrive with AutoSave on is a URL; the local synced copy is
    found as xlwings finds it (its ``ONEDRIVE_CONSUMER_*`` setting names the local root)."""
    b, book, _ = moved
    root = b.parent
    url = "https://d.docs.live.net/0123abcd/B/book.xlsm"
    conf = {"ONEDRIVE_CONSUMER_WIN": str(root), "ONEDRIVE_CONSUMER_MAC": str(root)}
    assert local_book_path(url, conf) == book
    with pytest.raises(Exception, match="no local synced copy found"):
        local_book_path("https://d.docs.live.net/0123abcd/elsewhere/book.xlsm", conf)

    class OneDriveBook(_XlwingsBook):
        def __init__(self) -> None:
            super().__init__(url, '="config.yaml"')
            rows = [[k, v] for k, v in conf.items()]
            rng = type("R", (), {"options": lambda self, **kw: type("V", (), {"value": rows})()})()
            self.sheets = {"xlwings.conf": type("S", (), {"range": lambda self, *a: rng})()}

    assert _small_trades(checks_table(ROWS, config=_Caller(OneDriveBook())))[0] == ("AAPL", 5000.0)

"""Hostile input through the CLI (issue 15, "Hostile input"): each attack is refused with one
line naming the file (exit 2, or 1 for the machine's state), nothing written, nothing at the
broker (the built-in paper broker's ``live/paper_broker.sqlite`` never appears).

* a ``--date``/``--day``/``--month`` that is not a real date (``../../elsewhere``) never
  becomes a path;
* a YAML alias bomb, anchors and merge keys are refused at once;
* ``${VAR}`` is expanded only in secret fields (a limit cannot come from the environment);
* a decimal comma (``"1,5"`` shares) is refused, never read as 15;
* a semicolon-delimited file, an ``.xlsx`` passed as CSV and cp1252 text say what they are;
* a workbook claiming ``A1:XFD1048576`` is refused before the reader allocates it;
* disk full, read-only or blocked ``live/`` and a closed stdout: one line (or none), non-zero,
  never "internal error".
"""

from __future__ import annotations

import errno
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.minimal_book import NS, write_minimal_book

from . import _support as U

DAY = "2025-10-30"
NOW = {"XLEXEC_NOW": "2025-10-30T14:00:00+00:00"}
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"


def _day(root: Path, text: str | None = None) -> Path:
    t = root / "live" / DAY / "trades.csv"
    t.parent.mkdir(parents=True, exist_ok=True)
    t.write_text(text if text is not None else U.trades_text(DAY, 3))
    return t


def _config(root: Path) -> Path:
    """``root/config.yaml`` naming ``root/live`` by its absolute path."""
    cfg = root / "config.yaml"
    cfg.write_text(f"live_dir: {str(root / 'live')!r}\n")
    return cfg


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def _nothing_at_broker(root: Path) -> None:
    assert not list(root.rglob("paper_broker.sqlite")), "an order reached the paper broker"


# ------------------------------------------------------------------ dates and paths

DATE_COMMANDS = [
    ["status", "--date", "../../elsewhere"],
    ["status", "--enforce-timeouts", "--date", "../elsewhere"],
    ["pnl", "--date", "../../elsewhere"],
    ["import-fills", "--date", "../../elsewhere"],
    ["accept-positions", "--date", "../elsewhere"],
    ["monthly", "--month", "../../x"],
    ["monthly", "--month", "2025-13"],
    ["workbook", "build", "--day", "../../elsewhere"],
    ["button", "validate", "--book", "book.xlsm", "--day", "../../elsewhere"],
    ["demo", "--dir", "demo", "--date", "../../elsewhere"],
    ["status", "--date", "2025-02-30"],
]


@pytest.mark.parametrize("argv", DATE_COMMANDS, ids=[" ".join(a) for a in DATE_COMMANDS])
def test_a_date_that_is_not_a_date_never_becomes_a_path(argv, tmp_path, observe):
    root = tmp_path / "a" / "b"
    root.mkdir(parents=True)
    rc, out, err = U.cli(argv, cwd=root, env=NOW)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    observe("hostile", target="cli date", level=" ".join(argv), tried=1, accepted=int(rc == 0), written=written)
    assert rc == 2, (rc, out, err)
    line = _one_line(err)
    assert "--date" in line or "--day" in line or "--month" in line, line
    assert written == [], written  # not even a workbook, a demo folder or a log
    assert not (tmp_path / "elsewhere").exists()


def test_day_dir_refuses_a_name_that_is_not_a_date(tmp_path):
    from xlexec.config import config_from_dict
    from xlexec.errors import InputError
    from xlexec.steps.context import Context

    ctx = Context(config_from_dict({"live_dir": str(tmp_path / "live")}), "ops")
    assert ctx.day_dir(DAY) == tmp_path / "live" / DAY
    for bad in ("../../elsewhere", "2025-10-30/../../x", "/etc", "2025-02-30", ""):
        with pytest.raises(InputError):
            ctx.day_dir(bad)


# ------------------------------------------------------------------ YAML

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *[f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")],
    ]
)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, observe):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(BOMB + "\n")
    assert len(cfg.read_bytes()) < 600
    t = _day(tmp_path)
    try:
        p = U.xlexec(["submit", str(t), "--config", str(cfg)], cwd=tmp_path, env=U.env_with_keys(**NOW), timeout=60)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = None, "timed out: the alias bomb hung the config loader"
    observe("hostile", target="config.yaml", level="alias bomb", tried=1, accepted=int(rc == 0))
    assert rc == 2, err[-2000:]
    line = _one_line(err)
    assert str(cfg) in line and "alias" in line and "row 1" in line, line
    _nothing_at_broker(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "execution: &e\n  max_daily_trades: 5\n",
        "base: &b\n  max_daily_trades: 5\nexecution:\n  <<: *b\n",
        "execution:\n  max_order_size_usd: *x\n",
    ],
    ids=["anchor", "merge key", "alias"],
)
def test_yaml_anchors_and_aliases_are_refused(text, tmp_path):
    from xlexec.config import load_config
    from xlexec.errors import ConfigError

    cfg = tmp_path / "config.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert str(cfg) in str(e.value) and ("alias" in str(e.value) or "anchor" in str(e.value)), e.value


# ------------------------------------------------------------------ ${VAR} only in secrets


@pytest.mark.parametrize(
    "line",
    ["  max_order_size_usd: ${XLX_BIG}", "  require_human_approval: ${XLX_BIG}", "  paper_trading: ${XLX_BIG}"],
)
def test_env_vars_expand_only_in_secret_fields(line, tmp_path, observe):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n" + line + "\n")
    t = _day(tmp_path)
    rc, out, err = U.cli(["submit", str(t), "--config", str(cfg)], cwd=tmp_path, env={**NOW, "XLX_BIG": "1e12"})
    observe("hostile", target="config.yaml", level=line.strip(), tried=1, accepted=int(rc == 0))
    assert rc == 2, (rc, out, err)
    line_out = _one_line(err)
    assert "only in secret fields" in line_out and "execution." in line_out, line_out
    _nothing_at_broker(tmp_path)


def test_every_credential_field_is_secret_and_still_expands(monkeypatch):
    from pydantic import SecretStr

    from xlexec.config import SECRET_KEYS, AlpacaConfig, config_from_dict

    creds = {k for k, f in AlpacaConfig.model_fields.items() if f.annotation is SecretStr}
    assert {"api_key", "api_secret"} <= creds <= SECRET_KEYS
    monkeypatch.setenv("XLX_K", "k-123")
    cfg = config_from_dict({"execution": {"alpaca": {"api_key": "${XLX_K}", "api_secret": "${XLX_K}"}}})
    assert cfg.execution.alpaca.api_key.get_secret_value() == "k-123"


# ------------------------------------------------------------------ decimal comma


@pytest.mark.parametrize(
    ("cell", "column"),
    [('"1,5"', "shares"), ('"1,500"', "shares"), ('"12,34"', "price"), ('"1,5"', "price")],
)
def test_a_decimal_comma_is_refused_never_read_as_fifteen(cell, column, tmp_path, observe):
    row = {"symbol": "AAPL", "side": "buy", "shares": "10", "price": "100.00", "notional": "1000.00"}
    row[column] = cell
    body = ",".join([row["symbol"], row["side"], row["shares"], row["price"], row["notional"]] + ["0.001", "0.1"] * 2)
    body = body.rsplit(",", 1)[0] + ",0.3"
    t = _day(tmp_path, f"# Date: {DAY}\n{HEADER}\n{body}\n")
    for argv in (["validate", str(t)], ["convert", str(t), "--broker", "ibkr"], ["submit", str(t)]):
        rc, out, err = U.cli(argv, cwd=tmp_path, env=NOW)
        observe("hostile", target="trades.csv", level=f"{column}={cell} {argv[0]}", tried=1, accepted=int(rc == 0))
        assert rc == 2, (argv, rc, out, err)
        line = _one_line(err)
        assert f"row 3, column '{column}'" in line and "comma" in line, line
    _nothing_at_broker(tmp_path)
    assert not (t.parent / "validation.json").exists()


def test_exact_thousands_groups_pass_in_amounts_only():
    import pandas as pd

    from xlexec.core.rows import parse_numeric
    from xlexec.errors import InputError

    df = pd.DataFrame({"price": ["1,234.50", "$12,345", "7"], "shares": ["10", "20", "30"]}, index=[2, 3, 4])
    assert list(parse_numeric(df, "price", "f")) == [1234.5, 12345.0, 7.0]
    for bad in ("1,5", "12,34", "1,2345", ",5", "1,,000"):
        with pytest.raises(InputError, match="comma"):
            parse_numeric(pd.DataFrame({"price": [bad]}, index=[2]), "price", "f")
    for bad in ("1,500", "1,5"):
        with pytest.raises(InputError, match="share count"):
            parse_numeric(pd.DataFrame({"shares": [bad]}, index=[2]), "shares", "f")


def test_broker_exports_keep_exact_thousands_and_refuse_a_decimal_comma():
    import pandas as pd

    from xlexec.formats.fills import _num_text

    out = _num_text(pd.Series(["1,000", "$1,234.50", "(1,200)", "1,5", "12,34"]))
    assert list(out) == ["1000", "1234.50", "-1200", "1,5", "12,34"]  # the last two are then refused


# ------------------------------------------------------------------ files that are not CSV


def _xlsx_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            f"# Date: {DAY}\n{HEADER.replace(',', ';')}\nAAPL;buy;10;100,00;1000,00;0,01;0,1;0,2;0,3\n".encode(),
            "semicolon",
        ),
        (
            f"# Date: {DAY}\n{HEADER.replace(',', chr(9))}\nAAPL\tbuy\t10\t100\t1000\t0.01\t0.1\t0.2\t0.3\n".encode(),
            "tab",
        ),
        (_xlsx_bytes(), "Excel workbook"),
        (
            f"# Date: {DAY}\n# Note: caf\xe9 cr\xe8me\n{HEADER}\nAAPL,buy,10,100,1000,0.01,0.1,0.2,0.3\n".encode(
                "cp1252"
            ),
            "cp1252",
        ),
    ],
    ids=["semicolon", "tab", "xlsx as csv", "cp1252 comment"],
)
def test_a_file_that_is_not_comma_csv_says_what_it_is(content, says, tmp_path, observe):
    t = tmp_path / "live" / DAY / "trades.csv"
    t.parent.mkdir(parents=True)
    t.write_bytes(content)
    before = U.snapshot(tmp_path)
    for argv in (["validate", str(t)], ["submit", str(t)]):
        rc, out, err = U.cli(argv, cwd=tmp_path, env=NOW)
        observe("hostile", target="trades.csv", level=f"{says} {argv[0]}", tried=1, accepted=int(rc == 0))
        assert rc == 2, (rc, out, err)
        line = _one_line(err)
        assert str(t) in line and says in line and "row " in line and "Save As" in line, line
    assert U.snapshot(tmp_path) == before
    _nothing_at_broker(tmp_path)


# ------------------------------------------------------------------ a workbook claiming a huge sheet


_HUGE_SHEETS = {
    "plain": (
        '<?xml version="1.0"?><worksheet {ns}><dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData></worksheet>'
    ),
    # the Open XML SDK's form: every tag with a prefix, no dimension (calamine reads it the same)
    "prefixed": (
        '<?xml version="1.0"?><x:worksheet {xns}><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></x:row>'
        '<x:row r="1048576"><x:c r="XFD1048576" t="inlineStr"><x:is><x:t>y</x:t></x:is></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    ),
}


def _huge_book(path: Path, form: str = "plain") -> None:
    sheet = _HUGE_SHEETS[form].format(ns=NS, xns=NS.replace("xmlns=", "xmlns:x="))
    write_minimal_book(path, sheet, sheet="Control")


@pytest.mark.parametrize(("button", "form"), [("validate", "plain"), ("submit", "plain"), ("validate", "prefixed")])
def test_a_workbook_claiming_a_huge_sheet_is_refused_before_reading(button, form, tmp_path, observe):
    book = tmp_path / "book.xlsx"
    _huge_book(book, form)
    assert book.stat().st_size < 5000
    _day(tmp_path)
    before = U.snapshot(tmp_path)
    p = U.xlexec(["button", button, "--book", str(book)], cwd=tmp_path, env=U.env_with_keys(**NOW), timeout=60)
    observe("hostile", target="workbook", level="A1:XFD1048576", tried=1, accepted=int(p.returncode == 0))
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])  # a calamine abort would be -6 / 134
    line = _one_line(p.stderr)
    assert str(book) in line and "1,048,576 rows" in line and "refused before reading" in line, line
    assert U.snapshot(tmp_path) == before
    _nothing_at_broker(tmp_path)


# ------------------------------------------------------------------ the machine's state


def test_a_file_where_live_should_be_gives_one_line_exit_1(tmp_path, observe):
    (tmp_path / "live").write_text("not a folder\n")
    t = tmp_path / "trades.csv"
    t.write_text(U.trades_text(DAY, 3))
    for argv in (["status"], ["submit", str(t)], ["cancel-all"]):
        rc, out, err = U.cli(argv, cwd=tmp_path, env=NOW)
        observe("hostile", target="live/", level=f"a file {argv[0]}", tried=1, accepted=int(rc == 0))
        assert rc in (1, 2), (argv, rc, out, err)
        line = _one_line(err)
        assert "live" in line, line
    _nothing_at_broker(tmp_path)


@pytest.mark.parametrize(
    ("code", "says"),
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission denied")],
)
def test_disk_full_or_read_only_live_gives_one_line_exit_1(code, says, tmp_path, monkeypatch, observe):
    import xlexec.formats.csvio as csvio

    t = _day(tmp_path)

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code), str(k.get("dir", "live")))

    monkeypatch.setattr(csvio.tempfile, "mkstemp", refuse)  # in this process: no cwd, an absolute live_dir
    rc, out, err = U.cli(["validate", str(t), "--config", str(_config(tmp_path))], env=NOW)
    observe("hostile", target="live/", level=errno.errorcode[code], tried=1, accepted=int(rc == 0))
    assert rc == 1, (rc, out, err)
    line = _one_line(err)
    assert says in line and errno.errorcode[code] in line and "rerun" in line, line


def test_a_closed_stdout_is_a_quiet_non_zero_exit(tmp_path):
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [U.PY, "-m", "xlexec", "status"],
            cwd=tmp_path,
            env=U.env_with_keys(**NOW),
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(w)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
    assert p.stderr.strip() == "", p.stderr


def test_disk_full_through_the_validate_button_is_one_line_exit_1(tmp_path, monkeypatch, observe):
    import xlexec.formats.csvio as csvio

    _day(tmp_path)
    cfg = str(_config(tmp_path))
    book = tmp_path / "book.xlsm"
    rc, out, err = U.cli(["workbook", "build", "--output", str(book), "--config", cfg], env=NOW)
    assert rc == 0, err
    before = book.read_bytes()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(k.get("dir", "live")))

    monkeypatch.setattr(csvio.tempfile, "mkstemp", full)
    rc, out, err = U.cli(["button", "validate", "--book", str(book), "--day", DAY, "--config", cfg], env=NOW)
    observe("hostile", target="workbook", level="ENOSPC validate button", tried=1, accepted=int(rc == 0))
    assert rc == 1, (rc, out, err)
    line = _one_line(err)
    assert "disk is full" in line and "ENOSPC" in line, line
    assert book.read_bytes() == before

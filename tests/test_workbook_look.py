"""A blotter an operator would choose, checked in the built files (openpyxl, the sheet and
chart XML, the VML of the buttons): sides in colour, no text under a button, positions valued
from the day's prices, charts that carry their points, a trade date typed as Excel users type
it, and the account named wherever the mode is. Every book is built or pressed through the CLI
as a subprocess from a folder that is not the project; expected figures are worked out by hand
from the small files written below."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest

from tests import cli_fork
from xlexec.excel.layout import BLOTTER_MAX_ROWS
from xlexec.excel.macros import load_macros

ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-10-30"
NOW = "2025-10-30T14:00:00+00:00"


def _run(cwd: Path, *args: str, pinned: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    env.pop("XLEXEC_NOW", None)
    if pinned:  # the paper broker's clock; a real broker's config refuses a pinned one
        env["XLEXEC_NOW"] = NOW
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("XLEXEC_CONFIG", None)
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    where = tmp_path_factory.mktemp("look")
    r = _run(where, "demo", "--dir", str(where / "demo"))
    assert r.returncode == 0, r.stderr
    return where, where / "demo" / f"xlexec_{DAY}.xlsm"


TRADES = f"""# Date: {DAY}
# Total Trades: 2
# Portfolio Value: $10,000.00
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
AAPL,buy,2,150.25,300.50,0.0300,0.03,0.06,0.09
ZZZ,sell,1,20.00,20.00,-0.0020,0.01,0.01,0.02
"""
QUOTES = """symbol,bid,ask,last,timestamp
AAPL,150.90,151.10,151.00,2025-10-30T13:55:00Z
MSFT,419.90,420.10,420.00,2025-10-30T13:55:00Z
"""


def _desk(folder: Path, positions: str, config: str = "") -> Path:
    d = folder / "live" / DAY
    d.mkdir(parents=True)
    (d / "trades.csv").write_text(TRADES)
    (d / "quotes.csv").write_text(QUOTES)
    (folder / "live" / "current_positions.csv").write_text(positions)
    cfg = folder / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n" + config)
    return cfg


def _build(tmp_path: Path, cfg: Path, name: str = "book.xlsx", pinned: bool = True) -> Path:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    out = tmp_path / "books" / name
    p = _run(elsewhere, "workbook", "build", "--config", str(cfg), "--day", DAY, "--output", str(out), pinned=pinned)
    assert p.returncode == 0, p.stderr
    return out


# --------------------------------------------------------------------------- 1. sides in colour


def _side_rules(ws, col: str) -> dict[str, tuple[str, str]]:
    """side word -> (range, font colour) of the formula rules that test column ``col``'s side."""
    out = {}
    for rng, rules in ws.conditional_formatting._cf_rules.items():
        for rule in rules:
            for f in rule.formula or []:
                m = re.fullmatch(rf'LOWER\(LEFT\(\${col}5,(\d)\)\)="(\w+)"', f)
                if m and rule.dxf is not None and rule.dxf.font is not None:
                    assert int(m[1]) == len(m[2])
                    out[m[2]] = (str(rng.sqref), rule.dxf.font.color.rgb)
    return out


def test_buy_is_green_and_sell_red_on_every_row_of_blotter_and_orders(demo):
    wb = openpyxl.load_workbook(demo[1])
    last = 4 + BLOTTER_MAX_ROWS
    for tab, col in (("Blotter", "C"), ("Orders", "B")):
        ws = wb[tab]
        assert ws[f"{col}4"].value == "Side"
        assert {ws[f"{col}{r}"].value for r in range(5, 15)} == {"buy", "sell"}  # the demo's ten orders
        rules = _side_rules(ws, col)
        assert set(rules) == {"buy", "sell"}, (tab, rules)
        for side, colour in (("buy", "006100"), ("sell", "9C0006")):
            rng, font = rules[side]
            first, end = re.fullmatch(rf"{col}(\d+):{col}(\d+)", rng).groups()
            assert int(first) == 5 and int(end) >= last, (tab, side, rng)
            assert font.endswith(colour), (tab, side, font)


# --------------------------------------------------------------------------- 2. no text under a button

CHAR_PX = 8.0  # a generous width of one character of 11-point Calibri, bold or not (pixels)
LINE_PX = 20.0  # one line of 11-point text (15 points)


def _sheet_geometry(z: zipfile.ZipFile, sheet_xml: str) -> tuple[dict[int, float], dict[int, float]]:
    """(column index -> width px, row index -> height px), 0-based, of one sheet's XML."""
    xml = z.read(sheet_xml).decode()
    cols: dict[int, float] = {}
    for a, b, w in re.findall(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', xml):
        for c in range(int(a) - 1, int(b)):
            cols[c] = round(float(w) * 7)
    rows = {int(r) - 1: float(h) * 4 / 3 for r, h in re.findall(r'<row r="(\d+)"[^>]*? ht="([\d.]+)"', xml)}
    return cols, rows


def _x(cols, c: int) -> float:
    return sum(cols.get(i, 64) for i in range(c))


def _y(rows, r: int) -> float:
    return sum(rows.get(i, LINE_PX) for i in range(r))


def _buttons(z: zipfile.ZipFile, cols, rows) -> list[tuple[str, tuple[float, float, float, float]]]:
    vml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
    out = []
    for shape in re.findall(r"<v:shape .*?</v:shape>", vml, re.S):
        anchor = re.search(r"<x:Anchor>([^<]*)</x:Anchor>", shape)
        caption = re.search(r"<font[^>]*>([^<]*)</font>", shape)
        if not anchor:
            continue
        c1, dx1, r1, dy1, c2, dx2, r2, dy2 = (int(v) for v in anchor.group(1).split(","))
        rect = (_x(cols, c1) + dx1, _y(rows, r1) + dy1, _x(cols, c2) + dx2, _y(rows, r2) + dy2)
        out.append((caption.group(1) if caption else "", rect))
    return out


def _meets(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_no_text_on_control_runs_under_a_button_or_is_cut(tmp_path, demo):
    """From the buttons' VML anchors and the sheet's column widths and row heights: every text
    cell of Control shows all its text (a wrapped cell: its lines fit its row; any other: it
    fits before the next filled cell) and that area meets no button. A long reason (B15, a
    button's row) and the press's long result line (B19) are typed in first."""
    book = tmp_path / "book.xlsm"
    book.write_bytes(demo[1].read_bytes())
    (tmp_path / "config.yaml").write_bytes((demo[1].parent / "config.yaml").read_bytes())
    (tmp_path / "live").symlink_to(demo[1].parent / "live")
    reason = "Rebalance per the model; the desk head asked for a limit on KO and a second look at the spread " * 2
    p = _run(tmp_path, "button", "tca", "--book", str(book), "--set", f"reason={reason}")
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(book)
    ws = wb["Control"]
    assert ws["B15"].value == reason.strip() and len(ws["B10"].value) > 80  # the approval line
    with zipfile.ZipFile(book) as z:
        cols, rows = _sheet_geometry(z, "xl/worksheets/sheet1.xml")
        buttons = _buttons(z, cols, rows)
    assert len(buttons) == 13
    captions = {c for c, _ in buttons}
    merged = {str(m).split(":")[0]: m for m in ws.merged_cells.ranges}
    filled = {(c.row - 1, c.column - 1) for row in ws.iter_rows() for c in row if c.value not in (None, "")}
    checked = 0
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str) or not cell.value:
                continue
            r, c = cell.row - 1, cell.column - 1
            if cell.value in captions or cell.value == "KILL SWITCH":  # printed under its own button
                continue
            left, top = _x(cols, c), _y(rows, r)
            m = merged.get(cell.coordinate)
            right = _x(cols, m.max_col) if m else left + cols.get(c, 64)
            text_px = len(cell.value) * CHAR_PX
            if cell.alignment.wrap_text:
                lines = math.ceil(text_px / (right - left - 6))
                height = rows.get(r, LINE_PX)
                assert lines * LINE_PX <= height + 1, (cell.coordinate, lines, height)
                area = (left, top, right, top + height)
            else:
                if not m:
                    nxt = next((j for j in range(c + 1, 40) if (r, j) in filled), 40)
                    assert left + text_px <= _x(cols, nxt), f"{cell.coordinate}: text cut by {nxt}"
                area = (left, top, max(right, left + text_px), top + rows.get(r, LINE_PX))
            for caption, rect in buttons:
                assert not _meets(area, rect), f"{cell.coordinate} ({cell.value[:40]!r}) under button {caption}"
            checked += 1
    assert checked > 30


# --------------------------------------------------------------------------- 3. positions valued


def _positions(book: Path) -> tuple[str, dict[str, dict]]:
    ws = openpyxl.load_workbook(book)["Positions"]
    head = [c.value for c in ws[4]]
    out = {}
    for row in ws.iter_rows(min_row=5, values_only=True):
        if row[0]:
            out[row[0]] = dict(zip(head, row))
    return ws["A2"].value, out


def test_positions_show_market_value_weight_and_unrealised_pnl(tmp_path):
    # held (not reconciled yet): AAPL 10 @ cost 100, MSFT 5 @ 400, ZZZ 3 @ 50
    cfg = _desk(tmp_path, "symbol,shares,avg_cost\nAAPL,10,100.00\nMSFT,5,400.00\nZZZ,3,50.00\n")
    book = _build(tmp_path, cfg)
    summary, pos = _positions(book)
    # AAPL and MSFT at the quotes' last (151, 420; the trades' 150.25 for AAPL loses), ZZZ at
    # the trades file's 20 (no quote): 1510 + 2100 + 60 = 3670
    expect = {
        "AAPL": (151.00, "quote last", 1510.0, 1510 / 3670, 510.0),
        "MSFT": (420.00, "quote last", 2100.0, 2100 / 3670, 100.0),
        "ZZZ": (20.00, "trades price", 60.0, 60 / 3670, -90.0),
    }
    assert set(pos) == set(expect)
    for sym, (px, where, mv, w, pnl) in expect.items():
        r = pos[sym]
        assert r["Price"] == pytest.approx(px) and r["Price from"] == where, sym
        assert r["Market value"] == pytest.approx(mv) and r["Weight"] == pytest.approx(w), sym
        assert r["Unrealised P&L"] == pytest.approx(pnl), sym
    ws = openpyxl.load_workbook(book)["Positions"]
    heads = {c.value: c.column_letter for c in ws[4]}
    assert ws[f"{heads['Market value']}5"].number_format == "$#,##0.00;[Red]-$#,##0.00"
    assert ws[f"{heads['Weight']}5"].number_format == "0.00%"
    assert ws[f"{heads['Unrealised P&L']}5"].number_format == "$#,##0.00;[Red]-$#,##0.00"
    assert "prices from quote last, trades price" in summary


def test_unrealised_pnl_is_price_x_shares_less_the_exact_total_cost(tmp_path):
    # AAPL 3,000 shares costing $100,000.00 (avg 33.3333..., shown 33.3333); MSFT 3 costing
    # $1,259.985 (avg 419.995); ZZZ 7 costing $140.035 (avg 20.005)
    cfg = _desk(
        tmp_path,
        "symbol,shares,avg_cost,total_cost\nAAPL,3000,33.3333,100000.00\nMSFT,3,419.995,1259.985\n"
        "ZZZ,7,20.005,140.035\n",
    )
    _, pos = _positions(_build(tmp_path, cfg))
    D = Decimal
    # by hand: price x shares - total cost, then half-up to the cent; from the shown avg cost
    # AAPL would be 3,000 x (151 - 33.3333) = 353,000.10, ten cents off
    for sym, shares, px, total in (
        ("AAPL", "3000", "151.00", "100000.00"),
        ("MSFT", "3", "420.00", "1259.985"),  # 0.015 -> 0.02
        ("ZZZ", "7", "20.00", "140.035"),  # -0.035 -> -0.04
    ):
        pnl = (D(shares) * D(px) - D(total)).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        assert pos[sym]["Unrealised P&L"] == float(pnl), (sym, pos[sym]["Unrealised P&L"], pnl)
        assert pos[sym]["Market value"] == float(D(shares) * D(px)), sym
    assert pos["AAPL"]["Unrealised P&L"] == 353000.0 and pos["MSFT"]["Unrealised P&L"] == 0.02
    assert pos["ZZZ"]["Unrealised P&L"] == -0.04


def test_positions_without_cost_basis_or_price_say_so_and_invent_nothing(tmp_path):
    cfg = _desk(tmp_path, "symbol,shares\nAAPL,10\nQQQ,4\n")  # no avg_cost; QQQ has no price anywhere
    summary, pos = _positions(_build(tmp_path, cfg))
    assert pos["AAPL"]["Market value"] == pytest.approx(1510.0) and pos["AAPL"]["Unrealised P&L"] is None
    assert pos["QQQ"]["Price"] is None and pos["QQQ"]["Market value"] is None
    assert pos["AAPL"]["Weight"] is None and pos["QQQ"]["Weight"] is None  # a total without QQQ would lie
    assert "no price for QQQ" in summary and "no cost basis" in summary


# --------------------------------------------------------------------------- 4. charts


def test_charts_carry_their_points_real_dates_and_low_labels(demo):
    with zipfile.ZipFile(demo[1]) as z:
        charts = [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/charts/chart")]
    daily = next(c for c in charts if "Daily trading costs" in c)
    monthly = next(c for c in charts if "Costs month to month" in c)
    # monthly_costs/the demo day: 2025-10-30 is Excel day 45960; total cost $5.87 (tca.json)
    cat = re.search(r"<c:cat>.*?</c:cat>", daily, re.S).group(0)
    assert re.search(r'<c:pt idx="0"><c:v>45960(\.0)?</c:v>', cat)
    val = re.search(r"<c:val>.*?</c:val>", daily, re.S).group(0)
    assert float(re.search(r'<c:pt idx="0"><c:v>([^<]+)</c:v>', val).group(1)) == pytest.approx(5.87)
    assert "<c:dateAx>" in daily and 'formatCode="yyyy-mm-dd"' in daily
    for xml in (daily, monthly):
        assert re.search(r'<c:(cat|date)Ax>.*?<c:tickLblPos val="low"/>', xml, re.S)
        for cache in re.findall(r"<c:numCache>.*?</c:numCache>", xml, re.S):
            n = int(re.search(r'<c:ptCount val="(\d+)"/>', cache).group(1))
            assert len(re.findall(r"<c:pt ", cache)) == n > 0
    assert re.search(r"<c:strCache><c:ptCount val=\"1\"/><c:pt idx=\"0\"><c:v>2025-10</c:v>", monthly)


# --------------------------------------------------------------------------- 5. the trade date


@pytest.fixture()
def dated(tmp_path):
    def make(config: str = ""):
        cfg = _desk(tmp_path, "symbol,shares,avg_cost\nAAPL,10,100.00\n", config)
        return cfg, _build(tmp_path, cfg)

    return make


def _press_with_date(tmp_path: Path, book: Path, typed: str) -> subprocess.CompletedProcess:
    return _run(tmp_path / "elsewhere", "button", "load-trades", "--book", str(book), "--set", f"trade_date={typed}")


@pytest.mark.parametrize("typed", ["2025-10-30", "30-Oct-2025", "Oct 30, 2025", "30.10.2025", "10/30/2025", "45960"])
def test_trade_date_typed_the_excel_way_is_read(tmp_path, dated, typed):
    _cfg, book = dated()
    p = _press_with_date(tmp_path, book, typed)
    assert p.returncode == 0, p.stderr
    assert openpyxl.load_workbook(book)["Control"]["B4"].value == DAY


def test_a_real_excel_date_in_the_cell_is_read(tmp_path, dated):
    import datetime as dt

    _cfg, book = dated()
    wb = openpyxl.load_workbook(book)
    wb["Control"]["B4"].value = dt.datetime(2025, 10, 30)
    wb["Control"]["B4"].number_format = "m/d/yyyy"
    wb.save(book)
    p = _run(tmp_path / "elsewhere", "button", "load-trades", "--book", str(book), "--json")
    assert p.returncode == 0, p.stderr
    assert DAY in json.loads(p.stdout)["message"]


def test_ambiguous_slash_date_is_refused_in_one_line_and_nothing_changes(tmp_path, dated):
    _cfg, book = dated()
    before = book.read_bytes()
    journal = tmp_path / "live" / "journal.sqlite"
    had_journal = journal.exists() and journal.read_bytes()
    p = _press_with_date(tmp_path, book, "10/11/2025")
    assert p.returncode != 0
    line = p.stderr.strip().splitlines()[-1]
    assert "Control" in line and "B" in line and "2025-10-11 (month/day)" in line and "2025-11-10 (day/month)" in line
    assert "workbook.slash_dates" in line
    assert book.read_bytes() == before
    assert (journal.exists() and journal.read_bytes()) == had_journal


def test_slash_dates_config_reads_day_first(tmp_path, dated):
    _cfg, book = dated("workbook:\n  slash_dates: dmy\n")
    assert _press_with_date(tmp_path, book, "30/10/2025").returncode == 0
    p = _press_with_date(tmp_path, book, "10/30/2025")  # no month 30 when the day comes first
    assert p.returncode != 0 and "not a calendar day" in p.stderr


# --------------------------------------------------------------------------- 6. the account


def _alpaca_desk(tmp_path: Path, live: bool, account: str | None) -> Path:
    extra = "  alpaca:\n    paper: " + ("false" if live else "true") + "\n"
    if account:
        extra += f"    account_number: {account}\n"
    cfg = _desk(tmp_path, "symbol,shares,avg_cost\nAAPL,10,100.00\n")
    cfg.write_text(cfg.read_text().replace("broker: paper\n", "broker: alpaca\n" + extra))
    return cfg


def test_live_mode_cell_and_press_message_name_the_account(tmp_path):
    cfg = _alpaca_desk(tmp_path, live=True, account="PA3XK0071234")
    book = _build(tmp_path, cfg, pinned=False)
    mode = openpyxl.load_workbook(book)["Control"]["B6"].value
    assert mode == "LIVE TRADING · REAL MONEY · alpaca · account PA3XK0071234"
    # a LIVE Submit without the confirmation: refused before anything is sent, account named
    p = _run(tmp_path / "elsewhere", "button", "submit", "--book", str(book), "--day", DAY, "--json", pinned=False)
    res = json.loads(p.stdout)
    assert p.returncode != 0 and res["result"] == "refused"
    assert "not confirmed" in res["message"] and "account PA3XK0071234" in res["message"]


def test_account_not_configured_is_said(tmp_path):
    book = _build(tmp_path, _alpaca_desk(tmp_path, live=False, account=None), pinned=False)
    assert openpyxl.load_workbook(book)["Control"]["B6"].value == "PAPER TRADING · alpaca · account not configured"


def test_live_dialog_names_the_account_from_the_mode_cell():
    src = load_macros()["Buttons"]
    submit = re.search(r"Public Sub Submit_Click\(\)(.*?)End Sub", src, re.S).group(1)
    assert 'mode = CStr(ws.Range("B6").Value)' in submit
    assert re.search(r'account = Mid\(mode, InStrRev\(mode, "account "', submit)
    assert re.search(r'account = "account not configured"', submit)
    prompt = re.search(r"MsgBox\((.*?)vbYesNo", submit, re.S).group(1)
    assert "& account &" in prompt and 'Range("B5")' in prompt


def test_approvals_override_reads_y_or_n(demo):
    _where, book = demo
    ws = openpyxl.load_workbook(book, read_only=True)["Approvals"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    col = list(rows[0]).index("Override")
    values = {r[col] for r in rows[1:] if r[0] is not None}
    assert values == {"N"}, values  # the demo never overrides a REJECT; shown as typed, not 0


def test_fills_columns_fit_their_ids_and_times(demo):
    """A pasted fill's ids and times are read whole: each column at least as wide as its longest
    text (up to 44 characters)."""
    _where, book = demo
    wb = openpyxl.load_workbook(book)
    ws = wb["Fills"]
    header = [c.value for c in ws[4]]
    for name in ("fill_time", "order_id", "client_order_id", "fill_id"):
        j = header.index(name)
        letter = openpyxl.utils.get_column_letter(j + 1)
        longest = max(len(str(ws.cell(r, j + 1).value or "")) for r in range(4, ws.max_row + 1))
        assert ws.column_dimensions[letter].width >= min(44, longest + 1), (name, longest)

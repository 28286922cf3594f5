"""``xlexec workbook build``: the .xlsm's VBA project (read back by olevba, run by LibreOffice),
the buttons' wiring and the real Excel features of every tab."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests import cli_fork
from xlexec.errors import ConfigError
from xlexec.excel.build import (
    BUTTONS,
    CODENAMES,
    CONTROL_CELLS,
    INPUT_KEYS,
    SELFTEST_CELL,
    SHEETS,
    build_workbook,
    load_macros,
    macros_dir,
)
from xlexec.excel.macros import load_class_modules, xlwings_vba_version
from xlexec.vba import project as vp

MACROS = Path(__file__).resolve().parents[1] / "macros"


def canon(src: str) -> str:
    """Source modulo line endings, Attribute lines and trailing blank lines."""
    lines = src.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [ln for ln in lines if not re.match(r"\s*Attribute\s+VB_", ln)]
    return "\n".join(lines).strip("\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("build") / "xlexec.xlsm")


def _installed_xlwings() -> Path:
    import xlwings

    return Path(xlwings.__file__).parent


def _embedded(built: Path) -> dict[str, tuple[str, str]]:
    """{module file name as olevba names it (Name.bas / Name.cls): (stream, code)}."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(built))
    try:
        assert parser.detect_vba_macros()
        return {name: (stream, code) for _f, stream, name, code in parser.extract_macros()}
    finally:
        parser.close()


def test_macros_dir_is_the_repository_folder_and_holds_only_our_modules():
    assert macros_dir() == MACROS
    assert {p.stem for p in MACROS.glob("*.bas")} == {"Buttons", "SelfTest"}  # no copy of xlwings' VBA


def test_olevba_lists_every_module_with_the_source_of_macros(built):
    found = {Path(name).stem: code for name, (_s, code) in _embedded(built).items()}
    expected_docs = {"ThisWorkbook", *CODENAMES.values()}
    assert set(found) == {"Buttons", "SelfTest", "xlwings", "Dictionary"} | expected_docs
    assert set(found) == set(load_macros()) | set(load_class_modules()) | expected_docs
    for p in sorted(MACROS.glob("*.bas")):
        assert canon(found[p.stem]) == canon(p.read_bytes().decode("cp1252")), p.name


def test_xlwings_module_and_dictionary_class_are_the_installed_packages(built):
    found = _embedded(built)
    xw = _installed_xlwings()
    assert canon(found["xlwings.bas"][1]) == canon((xw / "xlwings.bas").read_bytes().decode("cp1252"))
    assert re.search(r"^Public Function RunPython\(", found["xlwings.bas"][1], re.M)
    # the Mac branch of xlwings' module needs the class: "Dim d As Dictionary / Set d = New Dictionary"
    assert "Set d = New Dictionary" in found["xlwings.bas"][1]
    cls = (xw / "addin" / "Dictionary.cls").read_bytes().decode("cp1252")
    body = cls.split("\r\nEND\r\n", 1)[1] if cls.startswith("VERSION") else cls
    assert canon(found["Dictionary.cls"][1]) == canon(body)
    assert "Public Property Get Item(Key As Variant) As Variant" in found["Dictionary.cls"][1]


def test_the_project_stream_lists_dictionary_as_a_class(built):
    import olefile

    with zipfile.ZipFile(built) as z, olefile.OleFileIO(z.read("xl/vbaProject.bin")) as ole:
        lines = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    assert "Class=Dictionary" in lines
    assert "Module=xlwings" in lines and "Module=Buttons" in lines


def test_the_dll_the_embedded_vba_declares_is_the_installed_xlwings(built):
    import importlib.metadata

    code = _embedded(built)["xlwings.bas"][1]
    dlls = re.findall(r'Lib "(xlwings(?:32|64)-[0-9.]+\.dll)"', code)
    installed = importlib.metadata.version("xlwings")
    assert dlls and set(dlls) == {f"xlwings64-{installed}.dll", f"xlwings32-{installed}.dll"}
    assert f'Public Const XLWINGS_VERSION As String = "{installed}"' in code


def test_a_vba_module_that_declares_another_dll_than_the_installed_xlwings_is_refused():
    src = (_installed_xlwings() / "xlwings.bas").read_bytes().decode("cp1252")
    other = src.replace("xlwings64-0.37.8.dll", "xlwings64-0.36.0.dll")
    assert other != src
    with pytest.raises(ConfigError, match=r"0\.36\.0.*installed xlwings is 0\.37\.8"):
        xlwings_vba_version(other)


def test_a_copy_of_xlwings_in_macros_is_refused(tmp_path):
    (tmp_path / "Buttons.bas").write_text('Attribute VB_Name = "Buttons"\r\n', encoding="cp1252")
    (tmp_path / "xlwings.bas").write_text('Attribute VB_Name = "xlwings"\r\n', encoding="cp1252")
    with pytest.raises(ConfigError, match="installed package"):
        load_macros(tmp_path)


def test_every_button_is_wired_to_an_existing_sub(built):
    subs = set(vp.macro_names(load_macros()))
    with zipfile.ZipFile(built) as z:
        vml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
    wired = re.findall(r"<x:FmlaMacro>\[0\]!([A-Za-z0-9_]+)</x:FmlaMacro>", vml)
    # the day's buttons in Control order, then the Kill Switch, drawn apart from them
    order = [b for b in BUTTONS if b[2] != "CancelAll_Click"] + [b for b in BUTTONS if b[2] == "CancelAll_Click"]
    assert wired == [sub for _c, _f, sub in order]
    assert set(wired) <= subs
    captions = re.findall(r"<font[^>]*>([^<]+)</font>", vml)
    assert [c for c, _f, _s in order] == captions[: len(BUTTONS)]


def test_build_writes_macro_enabled_package(built):
    with zipfile.ZipFile(built) as z:
        ct = z.read("[Content_Types].xml").decode()
        names = z.namelist()
    assert "xl/vbaProject.bin" in names
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in ct


def test_tabs_and_excel_features(built):
    wb = openpyxl.load_workbook(built, keep_vba=True)
    assert wb.sheetnames == SHEETS
    for name in SHEETS:
        ws = wb[name]
        if name == "xlwings.conf":
            conf = {r[0]: r[1] for r in ws.iter_rows(min_row=1, max_row=8, max_col=2, values_only=True)}
            assert conf["UDF Modules"] == "xlexec.excel.udfs"
            assert not ws.protection.sheet
            continue
        assert ws.protection.sheet, f"{name} not protected"
        if name not in ("Control", "Fills"):
            assert ws.tables, f"{name} has no Excel Table"
            assert ws.freeze_panes == "A5"
            assert ws.print_area
    ctl = wb["Control"]
    for key, ref in CONTROL_CELLS.items():
        assert ctl[ref].protection.locked == (key not in INPUT_KEYS), key
    lists = {
        next(iter(dv.sqref.ranges)).coord: dv.formula1
        for dv in ctl.data_validations.dataValidation
        if dv.type == "list"
    }
    assert lists[CONTROL_CELLS["decision"]] == '"APPROVED,CONDITIONAL,REJECTED"'
    assert "ibkr" in lists[CONTROL_CELLS["convert_to"]] and "alpaca" in lists[CONTROL_CELLS["convert_to"]]
    bl = wb["Blotter"]
    assert [c.value for c in bl[4]][:6] == ["Include", "Symbol", "Side", "Shares", "Price", "Limit"]
    assert not bl["A5"].protection.locked and not bl["F5"].protection.locked and bl["B5"].protection.locked
    assert any(dv.type == "list" and dv.formula1 == '"Y,N"' for dv in bl.data_validations.dataValidation)
    rules = [r for cf in wb["Checks"].conditional_formatting for r in cf.rules]
    assert any('="fail"' in r.formula[0] for r in rules) and any('="warn"' in r.formula[0] for r in rules)
    fills = wb["Fills"]  # the paste area is unlocked through column and row formats
    col, row = fills.column_dimensions["A"], fills.row_dimensions[30]
    assert col.min == 1 and col.max >= 20
    assert not wb._protections[col._style.protectionId].locked
    assert not wb._protections[row._style.protectionId].locked


@pytest.mark.slow
@pytest.mark.skipif(vp.find_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_runs_the_self_test_sub(tmp_path):
    """The built workbook's project minus xlwings' Dictionary class: LibreOffice Basic cannot
    compile that class (its ``Public Enum`` is initialised from ``VBA.vbBinaryCompare``...) and
    stops the whole library; Excel compiles it (xlwings ships it in its own workbooks), and
    olevba reads it from the built file (test_xlwings_module_and_dictionary_class_...)."""
    from xlexec.excel.viewmodel import empty_book_data
    from xlexec.excel.writer import write_workbook

    book = write_workbook(tmp_path / "selftest.xlsm", empty_book_data(None), macros=load_macros())
    vp.run_macro_libreoffice(book, "SelfTest.XlexecSelfTestAndClose", timeout=120)
    wb = openpyxl.load_workbook(book)
    assert wb["Control"][SELFTEST_CELL].value == "XLEXEC_WORKBOOK_SELFTEST_OK"
    assert wb["Control"].protection.sheet  # the Sub protects the sheet again


def test_build_command(tmp_path):
    """The default output is ``workbook/xlexec.xlsm`` under the folder the command runs in (a
    subprocess with ``cwd``: the test never changes its own current folder)."""
    import os
    import sys

    repo = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))

    def build(*args):
        cmd = [sys.executable, "-m", "xlexec", "workbook", "build", *args]
        return cli_fork.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    p = build()
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "workbook" / "xlexec.xlsm").exists()
    p = build("--output", str(tmp_path / "x.txt"))
    assert p.returncode == 2 and ".xlsm" in p.stderr


# --------------------------------------------------------------------------- UDFs (UDF Modules)


def test_udfs_take_whole_ranges():
    """xlwings passes each range as a 2-D list (``ndim=2``); one call answers the whole range.
    (Off Windows ``xw.func`` is a no-op decorator, so the UDFs are called directly here.)"""
    from xlexec.excel import udfs

    for name in udfs.UDF_NAMES:
        assert callable(getattr(udfs, name)), name
    col = udfs.XLEXEC_SLIPPAGE_BPS([["buy"], ["sell"]], [[100.0], [100.0]], [[100.05], [100.05]])
    assert [r[0] for r in col] == [pytest.approx(5.0), pytest.approx(-5.0)]
    assert udfs.XLEXEC_COST([[10_000.0, 20_000.0]], [[2.0]]) == [[pytest.approx(2.0), pytest.approx(4.0)]]
    assert udfs.XLEXEC_DAYS_TO_TRADE([[10_000]], [[100_000]], [[0.05]]) == [[2.0]]


def test_udf_values_by_hand():
    from xlexec.excel.udfs import cost, days_to_trade, slippage_bps

    assert slippage_bps("buy", 100.0, 100.05) == pytest.approx(5.0)
    # the guide's sell: 380.50 -> 380.45 is a cost: +0.05 / 380.50 x 10,000 = +1.3141 bps
    assert slippage_bps("SELL", 380.50, 380.45) == pytest.approx(1.31406, abs=1e-5)
    col = slippage_bps([["buy"], ["sell"], ["hold"]], [[100], [100], [100]], [[99.9], [99.9], [1]])
    assert col[0][0] == pytest.approx(-10.0) and col[1][0] == pytest.approx(10.0)
    assert col[2][0] == "#XLEXEC: side must be buy or sell, got 'hold'"
    assert cost(15025.0, 2) == pytest.approx(3.005)
    assert cost([[15025.0], [-19025.0]], 2) == [[pytest.approx(3.005)], [pytest.approx(3.805)]]
    assert days_to_trade(10_000, 100_000, 0.05) == 2.0
    assert days_to_trade(10_001, 100_000, 0.05) == 3.0
    assert days_to_trade(5, 0, 0.05) == "#XLEXEC: adv must be > 0"
    assert days_to_trade([[1], [2]], [[1], [2], [3]], 0.05).startswith("#XLEXEC: ranges of different sizes")
    assert cost("abc", 2) == "#XLEXEC: notional 'abc' is not a number"


def test_udf_tables(tmp_path):
    from xlexec.config import config_from_dict
    from xlexec.excel.udfs import broker_format_table, checks_table, quote_mid

    cfg = config_from_dict({})  # the functions read the config they are given (the UDFs: their book's)

    rows = [
        [
            "symbol",
            "side",
            "shares",
            "price",
            "notional",
            "weight_change",
            "commission_est",
            "slippage_est",
            "total_cost_est",
        ],
        ["AAPL", "buy", 100, 150.25, 15025.0, 0.05, 1.5, 3.01, 4.51],
        ["BRK.B", "sell", 5, 480.0, 2400.0, -0.01, 0.24, 0.48, 0.72],
    ]
    table = checks_table(rows, config=cfg)
    assert table[0] == ["check", "status", "symbol", "value", "limit", "message"]
    assert table[-1][0] == "decision" and table[-1][1] in ("APPROVE", "CONDITIONAL", "REJECT")
    ib = broker_format_table(rows, "ibkr", config=cfg)
    assert ib[0][:3] == ["Action", "Quantity", "Symbol"]
    assert ib[1][:3] == ["BUY", "100", "AAPL"] and ib[2][:3] == ["SELL", "5", "BRK B"]
    assert broker_format_table(rows, "nope", config=cfg).startswith("#XLEXEC: broker must be one of")
    assert checks_table([["symbol"]], config=cfg).startswith("#XLEXEC: ")
    bad = [rows[0], ["AAPL", "buy", "many", 150.25, 1, 0, 0, 0, 0]]
    msg = checks_table(bad, config=cfg)
    assert msg.startswith("#XLEXEC: ") and "shares" in msg and "Traceback" not in msg
    day = tmp_path / "live" / "2025-10-30"
    day.mkdir(parents=True)
    (day / "quotes.csv").write_text("symbol,bid,ask,last,timestamp\nAAPL,150.00,150.10,150.05,2025-10-30T13:31:00Z\n")
    assert quote_mid("aapl", tmp_path / "live") == pytest.approx(150.05)
    assert quote_mid([["AAPL"], ["MSFT"]], tmp_path / "live")[1][0] == "#XLEXEC: no quote for MSFT"

"""The Excel add-in (``xlexec addin build|install``) and the macro-free blotter
(``xlexec workbook build --no-macros``), through the CLI run from a folder of its own.

Checked with tools that are not ours: the package's parts and relationships by ``zipfile`` and
ElementTree, the VBA by olevba (every ribbon ``onAction`` is a ``Sub X(control As
IRibbonControl)`` that presses the step its label names), LibreOffice opens the add-in.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

import olefile
import pytest
from oletools.olevba import VBA_Parser, decompress_stream

from tests import cli_fork
from xlexec.excel.addin import startup_folder
from xlexec.excel.ribbon import press
from xlexec.vba import project as vp

CUI = "{http://schemas.microsoft.com/office/2009/07/customui}"

#: ribbon group -> button label -> the Python step it must press (written by hand)
EXPECTED_RIBBON = {
    "Review": {"Load Trades": "load_trades", "Validate": "validate"},
    "Approve": {"Approve": "approve", "Reject": "reject"},
    "Execute": {
        "Convert": "convert",
        "Submit": "submit",
        "Refresh Status": "refresh_status",
        "Cancel All / Kill Switch": "cancel_all",
    },
    "Reconcile": {"Import Fills": "import_fills", "Reconcile": "reconcile", "Accept Positions": "accept_positions"},
    "Costs": {"TCA": "tca", "Monthly Report": "monthly_report"},
}
UDFS = {
    "XLEXEC_SLIPPAGE_BPS": "side, benchmark, fill",
    "XLEXEC_COST": "notional, bps",
    "XLEXEC_DAYS_TO_TRADE": "shares, adv, Optional max_pct",
    "XLEXEC_CHECKS": "trades_range",
    "XLEXEC_BROKER_FORMAT": "trades_range, broker",
    "XLEXEC_QUOTE": "symbol",
}


def _cli(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m xlexec ARGS`` in ``tmp_path`` (a subprocess with ``cwd``; this test never
    changes its own current folder)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def addin(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("addin")
    out = tmp / "built" / "xlexec.xlam"
    r = _cli(tmp, "addin", "build", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"add-in written: {out}"
    return out


def _vba_code(path: Path) -> dict[str, str]:
    """olevba's view: VBA module (stream) name -> source."""
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code for _f, stream, _v, code in parser.extract_macros()}
    finally:
        parser.close()


def test_package_is_an_addin_with_the_customui14_part(addin):
    with zipfile.ZipFile(addin) as z:
        names = set(z.namelist())
        types = ET.fromstring(z.read("[Content_Types].xml"))
        root_rels = ET.fromstring(z.read("_rels/.rels"))
        ui = ET.fromstring(z.read("customUI/customUI14.xml"))
    overrides = {o.get("PartName"): o.get("ContentType") for o in types if o.tag.endswith("Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    assert "xl/vbaProject.bin" in names
    ui_rels = [
        r.get("Target")
        for r in root_rels
        if r.get("Type") == "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
    ]
    assert ui_rels == ["customUI/customUI14.xml"]
    tabs = ui.findall(f"{CUI}ribbon/{CUI}tabs/{CUI}tab")
    assert [t.get("label") for t in tabs] == ["xlexec"]
    groups = tabs[0].findall(f"{CUI}group")
    assert [g.get("label") for g in groups] == list(EXPECTED_RIBBON)
    for g in groups:
        assert [b.get("label") for b in g.findall(f"{CUI}button")] == list(EXPECTED_RIBBON[g.get("label")])


def test_every_onaction_is_a_ribbon_sub_pressing_its_step(addin):
    with zipfile.ZipFile(addin) as z:
        ui = ET.fromstring(z.read("customUI/customUI14.xml"))
    code = "\n".join(_vba_code(addin).values())
    buttons = list(ui.iter(f"{CUI}button"))
    assert len(buttons) == 13
    steps = {label: fn for group in EXPECTED_RIBBON.values() for label, fn in group.items()}
    for b in buttons:
        cb = b.get("onAction")
        sig = r"^\s*(?:Public\s+)?Sub\s+" + re.escape(cb) + r"\s*\(\s*control\s+As\s+IRibbonControl\s*\)\s*$"
        m = re.search(
            sig + r"(.*?)^\s*End Sub",
            code,
            re.MULTILINE | re.DOTALL | re.IGNORECASE,
        )
        assert m, f"onAction {cb!r} ({b.get('label')}) is not a Sub(control As IRibbonControl) of the project"
        body = m.group(1)
        assert f"RunPython \"import xlexec.excel.ribbon as r; r.press('{steps[b.get('label')]}')\"" in body, body
    # RunPython comes from the xlwings module; the workbook-only button Subs stay out
    assert re.search(r"^Public Function RunPython\(PythonCommand As String\)", code, re.MULTILINE)
    assert "LoadTrades_Click" not in code


def test_udfs_are_in_the_addin(addin):
    mods = _vba_code(addin)
    udfs = mods["xlwings_udfs"]
    for name, args in UDFS.items():
        assert f"Function {name}({args})" in udfs
        assert f'{name} = XLPy.CallUDF("xlexec.excel.udfs", "{name}", Array(' in udfs
    # xlwings' reserved caller: not an Excel argument, passed as Nothing (xlwings puts the cell there)
    assert 'XLEXEC_CHECKS", Array(trades_range, Nothing), ActiveWorkbook' in udfs
    assert "caller" not in udfs.split("Function XLEXEC_QUOTE(")[1].split(")")[0]
    assert "ActiveWorkbook, Application.Caller)" in udfs


def test_xlwings_dictionary_class_is_in_the_addin(addin):
    """xlwings' module does ``New Dictionary`` on the Mac (no Scripting.Dictionary there): the
    add-in carries its class module, as the workbook does, from the installed xlwings."""
    mods = _vba_code(addin)
    assert "Dictionary" in mods
    assert re.search(r"^Attribute VB_Name = \"Dictionary\"", mods["Dictionary"], re.MULTILINE)
    assert "New Dictionary" in mods["xlwings"]


def test_project_references_the_office_library(addin):
    """``IRibbonControl`` is a type of the Office object library: the dir stream names it."""
    with zipfile.ZipFile(addin) as z:
        ole = olefile.OleFileIO(z.read("xl/vbaProject.bin"))
    try:
        dir_stream = decompress_stream(bytearray(ole.openstream("VBA/dir").read()))
    finally:
        ole.close()
    assert b"{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in dir_stream
    assert b"Microsoft Office 16.0 Object Library" in dir_stream


@pytest.mark.slow
def test_libreoffice_opens_the_addin(addin, tmp_path):
    soffice = vp.find_soffice()
    assert soffice, "LibreOffice (soffice) is needed (.ci/run installs it)"
    profile = (tmp_path / "profile").as_uri()
    # LibreOffice's type detection does not know the add-in content type: name the filter
    for fmt in ("pdf", "ods"):
        r = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--norestore",
                "--infilter=Calc MS Excel 2007 VBA XML",
                "--convert-to",
                fmt,
                "--outdir",
                str(tmp_path / "out"),
                str(addin),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            start_new_session=True,
        )
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "out" / f"xlexec.{fmt}").stat().st_size > 0, r.stdout + r.stderr
    with zipfile.ZipFile(tmp_path / "out" / "xlexec.ods") as z:
        ribbon = z.read("Basic/VBAProject/XlexecRibbon.xml").decode()
    assert "Public Sub Ribbon_Submit(control As IRibbonControl)" in ribbon


def test_install_without_excel_says_where_and_exits_1(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = _cli(tmp_path, "addin", "install", env_extra={"HOME": str(home), "APPDATA": str(home / "appdata")})
    assert sys.platform not in ("win32", "darwin")  # this suite runs on Linux: no Excel here
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1
    assert "%APPDATA%\\Microsoft\\Excel\\XLSTART\\xlexec.xlam" in err
    assert "~/Library/Group Containers/UBF8T346G9.Office/User Content/Startup/Excel/xlexec.xlam" in err
    assert list(home.rglob("*")) == []  # nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_startup_folders():
    assert startup_folder("win32", {"APPDATA": r"C:\Users\jane\AppData\Roaming"}, r"C:\Users\jane") == PureWindowsPath(
        r"C:\Users\jane\AppData\Roaming\Microsoft\Excel\XLSTART"
    )
    assert startup_folder("darwin", {}, "/Users/jane") == PurePosixPath(
        "/Users/jane/Library/Group Containers/UBF8T346G9.Office/User Content/Startup/Excel"
    )
    assert startup_folder("linux", {}, "/home/jane") is None


def test_build_refuses_a_name_excel_would_not_load_as_addin(tmp_path):
    r = _cli(tmp_path, "addin", "build", "--output", str(tmp_path / "new" / "xlexec.xlsm"))
    assert r.returncode == 2
    assert "must end in .xlam" in r.stderr
    assert not (tmp_path / "new").exists()  # refused before anything is made, folders included


def test_workbook_build_no_macros_is_a_plain_xlsx(tmp_path):
    out = tmp_path / "books" / "blotter.xlsx"
    out.parent.mkdir()
    r = _cli(tmp_path, "workbook", "build", "--no-macros", "--output", str(out))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        types = ET.fromstring(z.read("[Content_Types].xml"))
    overrides = {o.get("PartName"): o.get("ContentType") for o in types if o.tag.endswith("Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    assert not [n for n in names if "vba" in n.lower()]
    parser = VBA_Parser(str(out))
    try:
        assert not parser.detect_vba_macros()
    finally:
        parser.close()


def test_workbook_build_no_macros_default_and_refusal(tmp_path):
    r = _cli(tmp_path, "workbook", "build", "--no-macros")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "workbook" / "xlexec.xlsx").is_file()
    assert not (tmp_path / "workbook" / "xlexec.xlsm").exists()
    r = _cli(tmp_path, "workbook", "build", "--no-macros", "--output", str(tmp_path / "b.xlsm"))
    assert r.returncode == 2
    assert "--no-macros writes a plain .xlsx" in r.stderr
    assert not (tmp_path / "b.xlsm").exists()


class _Sheet:
    def __init__(self, name: str) -> None:
        self.name = name


class _App:
    def __init__(self) -> None:
        self.alerts: list[str] = []

    def alert(self, message, title="", buttons="ok", mode=None):
        self.alerts.append(message)
        return "ok"


class _Book:
    """The part of an ``xlwings.Book`` the ribbon looks at: a workbook that is not a blotter."""

    def __init__(self) -> None:
        self.name = "Budget.xlsx"
        self.fullname = "/tmp/Budget.xlsx"
        self.sheets = [_Sheet("Sheet1")]
        self.app = _App()


def test_ribbon_press_on_a_workbook_that_is_not_a_blotter_refuses():
    book = _Book()
    res = press("submit", book)
    assert (res.result, res.exit_code) == ("refused", 1)
    assert res.message.startswith("Budget.xlsx is not an xlexec blotter (no Control tab)")
    assert book.app.alerts == [res.message]

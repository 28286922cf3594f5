"""``render_workbook``: every tab filled from a day's files, and how it looks.

The look test renders the workbook through LibreOffice headless -> PDF -> PNG (pdftoppm) and
checks that the render works; the PNGs in ``docs/`` are drawn by ``docs/render_tabs.py``
(``make renders``, every tab) and checked by ``tests/test_operator_doc.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from xlexec.config import load_config
from xlexec.excel.build import CONTROL_CELLS, SHEETS, Inputs
from xlexec.excel.render import render_workbook
from xlexec.steps.context import Context
from xlexec.vba.project import find_soffice

DAY = "2025-10-30"
SHOTS = {
    "Control": "workbook_control.png",
    "Blotter": "workbook_blotter.png",
    "Positions": "workbook_positions.png",
    "Monthly": "workbook_monthly.png",
}


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory):
    from xlexec.demo.run import run_demo

    root = tmp_path_factory.mktemp("demo")
    run_demo(root, DAY, days=15, echo=lambda *a: None, build_workbook=False)  # 3 weeks: a Monthly tab worth reading
    return root


def _ctx(root: Path) -> Context:
    return Context(load_config(root / "config.yaml", cwd=root), "demo")


def _rows(path: Path, sheet: str) -> list[list]:
    vals = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    return [r for r in vals[4:] if r and r[0] not in (None, "")]


def test_every_tab_is_filled(demo_day, tmp_path):
    ctx = _ctx(demo_day)
    try:
        book = render_workbook(ctx, DAY, tmp_path / "day.xlsm")
    finally:
        ctx.close()
    assert len(_rows(book, "Blotter")) == 10
    assert len(_rows(book, "Checks")) >= 20
    assert len(_rows(book, "Approvals")) == 15  # one per session of the 15-day demo
    assert len(_rows(book, "Orders")) == 10
    assert len(_rows(book, "Reconcile")) == 10
    assert len(_rows(book, "Positions")) >= 20
    assert len(_rows(book, "TCA")) >= 9
    monthly = _rows(book, "Monthly")  # the daily table, then the month's benchmark tables under it
    daily = [r for r in monthly[:20] if hasattr(r[0], "year")]
    assert len(daily) == 15 and monthly[15][0].startswith("Brokers on the same benchmarks")  # one row a day
    fills = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Fills").to_python(skip_empty_area=False)
    assert fills[3][:3] == ["date", "symbol", "side"] and len([r for r in fills[4:] if r and r[0]]) == 9
    wb = openpyxl.load_workbook(book)
    ctl = wb["Control"]
    assert ctl[CONTROL_CELLS["trade_date"]].value == DAY
    assert ctl[CONTROL_CELLS["approval"]].value.startswith("CONDITIONAL by demo")
    assert "covers the Blotter's orders" in ctl[CONTROL_CELLS["approval"]].value
    assert ctl["A2"].value == "PAPER"
    # native charts on Monthly: daily costs and month to month (and TCA's: by benchmark,
    # the histogram of the orders' cost, cost vs participation)
    import zipfile

    with zipfile.ZipFile(book) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        xml = "".join(z.read(n).decode() for n in charts)
    assert "<c:lineChart>" in xml and "<c:barChart>" in xml and "<c:scatterChart>" in xml
    assert "<c:f>TCA!$C$18:$C$23</c:f>" in xml  # the benchmark table's weighted bps

    assert "<c:f>Monthly!$E$5:$E$19</c:f>" in xml  # total_cost of the 15 days


def test_render_is_atomic_and_keeps_the_old_file_on_error(demo_day, tmp_path, monkeypatch):
    import xlsxwriter

    ctx = _ctx(demo_day)
    try:
        book = render_workbook(ctx, DAY, tmp_path / "day.xlsm")
        before = book.read_bytes()

        def crash(self):  # the disk fills up while the package is being written
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(xlsxwriter.Workbook, "close", crash)
        with pytest.raises(OSError):
            render_workbook(ctx, DAY, book, inputs=Inputs(approver="x"))
    finally:
        ctx.close()
    assert book.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["day.xlsm"], "temp file left behind"


def test_xlsx_has_no_vba_but_every_tab(demo_day, tmp_path):
    ctx = _ctx(demo_day)
    try:
        book = render_workbook(ctx, DAY, tmp_path / "day.xlsx")
    finally:
        ctx.close()
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == SHEETS
    import zipfile

    assert "xl/vbaProject.bin" not in zipfile.ZipFile(book).namelist()


def _pdf_pages(pdf: Path) -> dict[str, int]:
    """Sheet title -> first PDF page showing it."""
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    pages = int(next(ln.split()[-1] for ln in out.splitlines() if ln.startswith("Pages:")))
    found: dict[str, int] = {}
    starts = {
        "Control": "xlexec — operator control",
        "Blotter": "Blotter —",
        "Positions": "Positions —",
        "Monthly": "Monthly cost summary",
    }
    for i in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True, text=True, timeout=60
        ).stdout
        for name, title in starts.items():
            if name not in found and text.lstrip().startswith(title):
                found[name] = i
    return found


@pytest.mark.slow
@pytest.mark.skipif(
    find_soffice() is None or shutil.which("pdftoppm") is None, reason="needs LibreOffice and poppler-utils (pdftoppm)"
)
def test_render_through_libreoffice_to_png(demo_day, tmp_path):
    ctx = _ctx(demo_day)
    try:
        book = render_workbook(ctx, DAY, tmp_path / "xlexec.xlsm")
    finally:
        ctx.close()
    with tempfile.TemporaryDirectory(prefix="xlexec-lo-") as prof:
        proc = subprocess.run(
            [
                find_soffice(),
                "--headless",
                "--norestore",
                "--nologo",
                f"-env:UserInstallation={Path(prof).as_uri()}",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path),
                str(book),
            ],
            capture_output=True,
            timeout=180,
            start_new_session=True,
        )
    pdf = tmp_path / "xlexec.pdf"
    assert pdf.exists(), proc.stdout + proc.stderr
    pages = _pdf_pages(pdf)
    assert set(pages) == set(SHOTS)
    for name in SHOTS:
        stem = tmp_path / name
        subprocess.run(
            [
                "pdftoppm",
                "-f",
                str(pages[name]),
                "-l",
                str(pages[name]),
                "-r",
                "110",
                "-png",
                "-singlefile",
                "-W",
                "1200",
                "-H",
                "560" if name != "Control" else "700",
                str(pdf),
                str(stem),
            ],
            check=True,
            timeout=60,
        )
        out = stem.with_suffix(".png")
        assert out.stat().st_size > 10_000
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

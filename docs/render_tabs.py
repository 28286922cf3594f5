"""Render every tab of the demo day's workbook to ``docs/workbook_<tab>.png`` (``make renders``).

One command, reproducible: ``python docs/render_tabs.py [--out DIR] [--days N] [--date D]``.

1. ``xlexec demo --days 15 --dir WORK/desk`` builds the demo day and its workbook through the CLI
   (the clock pinned by the demo); then ``xlexec button refresh-status`` and ``xlexec button tca``
   are pressed headless on the book at 16:06 and 16:07 New York (``XLEXEC_NOW``), so Control's *Last action*
   and the Log tab show what a press writes.
2. LibreOffice headless converts the book to PDF. Every tab prints on its own page set (the
   print areas, landscape and fit-to-width of :mod:`xlexec.excel.writer`, the same an operator
   gets printing from Excel); a tab's first page is the one whose first line is the tab's title
   (its A1, read back with openpyxl).
3. ``pdftoppm`` renders each tab's first page, cropped to what is drawn on it (found on a
   grey-scale render of the page) and scaled so that text reads at one size on every tab (at
   most ``--width`` pixels wide), as
   ``OUT/workbook_<tab>.png`` (``xlwings.conf`` -> ``workbook_xlwings_conf.png``).

Needs LibreOffice (``soffice``) and poppler-utils (``pdftoppm``, ``pdftotext``). Exit 0 when
every tab was written; otherwise one line naming what is missing and exit 1. LibreOffice draws
neither Excel's table styles nor form buttons: the button captions are printed in the cells
under them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
PRESSES = ("refresh-status", "tca")  # pressed headless after the demo, in this order
WHITE = 245  # a grey level above this (0-255) counts as paper when cropping
PAD_IN = 0.12  # inches of paper kept around what is drawn
WORD_PX = 15  # the median word on a tab is drawn this many pixels tall (about 11 pt on screen)
MIN_DPI, MAX_DPI = 72, 300
MAX_WIDTH_PX = 2600  # a wide tab (fit to the page's width, so small print) is scaled down to this


def slug(tab: str) -> str:
    """The file name part of a tab: ``Control`` -> ``control``, ``xlwings.conf`` -> ``xlwings_conf``."""
    return re.sub(r"[^a-z0-9]+", "_", tab.lower()).strip("_")


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, XLWINGS_LICENSE_KEY=os.environ.get("XLWINGS_LICENSE_KEY", "noncommercial"))


def _xlexec(*args: str, env: dict[str, str], cwd: Path) -> None:
    cmd = [sys.executable, "-m", "xlexec", *args]
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise SystemExit(f"render_tabs: `xlexec {' '.join(args)}` exited {p.returncode}: {p.stderr.strip()[-400:]}")


def build_book(work: Path, day: str, days: int) -> Path:
    """The demo day through the CLI, two buttons pressed headless; returns the ``.xlsm``."""
    env = _env()
    desk = work / "desk"
    if desk.exists():  # a kept folder from an earlier run: start the day afresh
        shutil.rmtree(desk)
    _xlexec("demo", "--dir", str(desk), "--date", day, "--days", str(days), env=env, cwd=work)
    book = desk / f"xlexec_{day}.xlsm"
    if not book.exists():
        raise SystemExit(f"render_tabs: the demo wrote no workbook {book}")
    for minute, name in enumerate(PRESSES, 6):  # 16:06, 16:07... New York, after the demo's 16:05
        at = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(16, minute), ZoneInfo("America/New_York"))
        env["XLEXEC_NOW"] = at.astimezone(dt.UTC).isoformat()
        _xlexec("button", name, "--book", str(book), env=env, cwd=work)
    return book


def to_pdf(book: Path, outdir: Path, soffice: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="xlexec-lo-") as prof:
        p = subprocess.run(
            [
                soffice,
                "--headless",
                "--norestore",
                "--nologo",
                f"-env:UserInstallation={Path(prof).as_uri()}",
                "--convert-to",
                "pdf",
                "--outdir",
                str(outdir),
                str(book),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            start_new_session=True,
        )
    pdf = outdir / (book.stem + ".pdf")
    if not pdf.exists():
        said = (p.stdout + p.stderr).strip()[-400:]
        raise SystemExit(f"render_tabs: LibreOffice wrote no PDF of {book.name}: {said}")
    return pdf


def tab_titles(book: Path) -> list[tuple[str, str]]:
    """(tab, the text of its A1) in the book's order."""
    import openpyxl

    wb = openpyxl.load_workbook(book, read_only=True)
    try:
        return [(ws.title, str(ws["A1"].value or "").strip()) for ws in wb.worksheets]
    finally:
        wb.close()


def _page_count(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True).stdout
    return int(next(ln.split()[-1] for ln in out.splitlines() if ln.startswith("Pages:")))


def first_pages(pdf: Path, titles: list[tuple[str, str]]) -> dict[str, int]:
    """Tab -> the 1-based PDF page its page set starts on (tabs print in order, each from a new
    page whose first line is the tab's A1)."""
    found: dict[str, int] = {}
    i = 0
    for page in range(1, _page_count(pdf) + 1):
        text = subprocess.run(
            ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        if i < len(titles) and titles[i][1] and first.startswith(titles[i][1]):
            found[titles[i][0]] = page
            i += 1
    missing = [t for t, _ in titles if t not in found]
    if missing:
        raise SystemExit(f"render_tabs: no PDF page starts with the title of tab(s) {', '.join(missing)}")
    return found


def _pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and pixels of a binary PGM (P5, 8-bit) as pdftoppm -gray writes it."""
    data = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P5" or fields[3] != b"255":
        raise SystemExit(f"render_tabs: unexpected grey-scale render {path}")
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1 : pos + 1 + w * h]


def drawn_box(pdf: Path, page: int, work: Path, dpi: int = 60) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in inches of everything drawn on ``page`` (non-paper pixels)."""
    stem = work / f"probe-{page}"
    subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-gray", "-singlefile", str(pdf), str(stem)],
        check=True,
        timeout=60,
    )
    w, h, px = _pgm(stem.with_suffix(".pgm"))
    rows = [y for y in range(h) if min(px[y * w : (y + 1) * w]) <= WHITE]
    if not rows:
        raise SystemExit(f"render_tabs: PDF page {page} is blank")
    cols = [x for x in range(w) if min(px[x::w]) <= WHITE]
    return cols[0] / dpi, rows[0] / dpi, (cols[-1] + 1) / dpi, (rows[-1] + 1) / dpi


def word_height_pt(pdf: Path, page: int) -> float:
    """The median height in points of the words on ``page`` (the print scale of its tab)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    heights = sorted(
        float(y1) - float(y0) for y0, y1 in re.findall(r'<word [^>]*yMin="([0-9.]+)"[^>]*yMax="([0-9.]+)"', html)
    )
    if not heights:
        raise SystemExit(f"render_tabs: PDF page {page} has no text")
    return heights[len(heights) // 2]


def render_png(pdf: Path, page: int, out: Path, work: Path, max_width: int) -> Path:
    """``page`` cropped to what is drawn (plus a margin), scaled so that its text reads at the
    same size on every tab (:data:`WORD_PX`), at most ``max_width`` pixels wide."""
    left, top, right, bottom = drawn_box(pdf, page, work)
    left, top, right, bottom = max(0.0, left - PAD_IN), max(0.0, top - PAD_IN), right + PAD_IN, bottom + PAD_IN
    dpi = WORD_PX * 72 / word_height_pt(pdf, page)
    dpi = round(max(MIN_DPI, min(MAX_DPI, dpi, max_width / (right - left))))
    stem = work / f"page-{page}"
    crop = [
        "-x",
        str(round(left * dpi)),
        "-y",
        str(round(top * dpi)),
        "-W",
        str(round((right - left) * dpi)),
        "-H",
        str(round((bottom - top) * dpi)),
    ]
    subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), *crop, "-png", "-singlefile"]
        + [str(pdf), str(stem)],
        check=True,
        timeout=120,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stem.with_suffix(".png"), out)
    return out


def render(out: Path, *, day: str, days: int, width: int, work: Path) -> list[Path]:
    from xlexec.vba.libreoffice import find_soffice

    soffice = find_soffice()
    for tool, have in (("LibreOffice (soffice)", soffice), ("pdftoppm", shutil.which("pdftoppm"))):
        if not have:
            raise SystemExit(f"render_tabs: {tool} is not installed (apt-get install libreoffice-calc poppler-utils)")
    assert soffice is not None
    book = build_book(work, day, days)
    pdf = to_pdf(book, work, soffice)
    titles = tab_titles(book)
    pages = first_pages(pdf, titles)
    return [render_png(pdf, pages[tab], out / f"workbook_{slug(tab)}.png", work, width) for tab, _ in titles]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="render_tabs", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="folder for workbook_<tab>.png (default: docs/)")
    ap.add_argument("--date", default="2025-10-30", help="the demo's last trading day (default: 2025-10-30)")
    ap.add_argument("--days", type=int, default=15, help="demo sessions ending on --date (default: 15)")
    ap.add_argument("--width", type=int, default=MAX_WIDTH_PX, help="widest PNG in pixels (default: %(default)s)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (the book, the PDF)")
    a = ap.parse_args(argv)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
        written = render(a.out, day=a.date, days=a.days, width=a.width, work=a.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="xlexec-renders-") as tmp:
            written = render(a.out, day=a.date, days=a.days, width=a.width, work=Path(tmp))
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())

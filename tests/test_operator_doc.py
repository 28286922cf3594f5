"""``docs/operator.md`` says only what is true of the real CLI, the real workbook and the renders.

* every ``xlexec ...`` command quoted in it names a real (sub)command (``python -m xlexec CMD
  --help`` exits 0) and every ``--option`` it uses is one that command's help lists;
* every button it names (``**Button:** *Caption* (Sub `Name_Click`)``) is a button of
  :data:`xlexec.excel.layout.BUTTONS` with that Sub, and the Sub is in the VBA of a ``.xlsm``
  built by ``xlexec demo`` (read with oletools' olevba, not our own reader);
* every image it links exists in ``docs/`` and is a PNG;
* every row of its checklist table points at a tab and a cell (or a column) of that built book
  (read with openpyxl) that holds the text the row names.

The book is built once through the CLI, in a temporary folder, by ``xlexec demo``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests import cli_fork
from xlexec.excel.layout import BUTTONS, HEADER_ROW, SHEETS, parse_a1

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "operator.md"
DAY = "2025-10-30"
TABLE_HEADING = "## The guide's pre-trade checklist, cell by cell"


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300
    )


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def quoted_commands(text: str) -> list[str]:
    """Every ``xlexec ...`` in inline code (a command split over two lines is joined)."""
    joined = re.sub(r"`([^`]*)`", lambda m: "`" + " ".join(m.group(1).split()) + "`", text, flags=re.S)
    return [c for c in re.findall(r"`(xlexec [^`]+)`", joined)]


def _path_and_flags(cmd: str) -> tuple[list[str], list[str]]:
    """``xlexec workbook build --no-macros`` -> (["workbook", "build"], ["--no-macros"])."""
    words = shlex.split(cmd)[1:]
    path = []
    for w in words:
        if not re.fullmatch(r"[a-z][a-z-]*", w) or len(path) == 2:
            break
        path.append(w)
    flags = [w.split("=")[0] for w in words if w.startswith("--")]
    return path, flags


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    """The demo day's ``.xlsm`` as ``xlexec demo`` builds it (a folder outside the project)."""
    root = tmp_path_factory.mktemp("operator-doc")
    p = _cli("demo", "--dir", str(root / "desk"), "--date", DAY, cwd=root)
    assert p.returncode == 0, p.stdout + p.stderr
    book = root / "desk" / f"xlexec_{DAY}.xlsm"
    assert book.exists()
    return book


def test_the_doc_quotes_the_steps_of_the_day():
    cmds = {" ".join(_path_and_flags(c)[0]) for c in quoted_commands(_text())}
    for step in (
        "validate",
        "approve",
        "submit",
        "status",
        "import-fills",
        "reconcile",
        "accept-positions",
        "tca",
        "monthly",
        "cancel-all",
        "workbook build",
        "addin build",
        "addin install",
        "button load-trades",
    ):
        assert step in cmds, f"docs/operator.md quotes no `xlexec {step}`"


def test_every_quoted_command_parses_with_the_real_cli(tmp_path):
    helps: dict[tuple[str, ...], str] = {}
    cmds = quoted_commands(_text())
    assert len(cmds) >= 20
    for cmd in cmds:
        path, flags = _path_and_flags(cmd)
        assert path, f"no subcommand in {cmd!r}"
        key = tuple(path)
        if key not in helps:
            p = _cli(*path, "--help", cwd=tmp_path)
            assert p.returncode == 0, f"`{cmd}`: `xlexec {' '.join(path)} --help` exited {p.returncode}: {p.stderr}"
            helps[key] = p.stdout
        usage = helps[key]
        assert usage.startswith(f"usage: xlexec {path[0]}"), f"`{cmd}`: {usage[:80]!r}"
        for flag in flags:
            assert re.search(rf"{re.escape(flag)}\b", usage), f"`{cmd}`: {flag} is no option of xlexec {path[0]}"
        if path[0] == "button" and len(path) > 1:  # NAME must be one of the button names the help lists
            names = re.search(r"one of: ([a-z, -]+)", " ".join(usage.split()))
            assert names and path[1] in [n.strip() for n in names.group(1).split(",")], cmd


def _olevba_code(book: Path) -> str:
    from oletools.olevba import VBA_Parser

    vp = VBA_Parser(str(book))
    try:
        return "\n".join(code for _f, _s, _n, code in vp.extract_macros())
    finally:
        vp.close()


def test_every_button_named_exists_in_the_layout_and_in_the_built_vba(built_book):
    named = re.findall(r"\*\*Button:\*\* [^\n]*?\*([^*]+)\*[^\n]*?\(Sub `(\w+)`\)", _text())
    named += re.findall(r"\*([A-Z][^*]+)\* \(Sub `(\w+)`\)", _text())
    named += re.findall(r"caption \*([^*]+)\*,\s+Sub `(\w+)`", " ".join(_text().split()))
    subs_of = {caption: sub for caption, _fn, sub in BUTTONS}
    assert {c for c, _s in named} >= set(subs_of), "a button of the layout is missing from the runbook"
    code = _olevba_code(built_book)
    for caption, sub in named:
        assert caption in subs_of, f"docs/operator.md names a button {caption!r} that the layout has not"
        assert subs_of[caption] == sub, f"{caption!r}: the layout's Sub is {subs_of[caption]}, the doc says {sub}"
        assert re.search(rf"^Public Sub {sub}\(\)", code, re.M), f"{sub} is not in the built book's VBA"


def test_every_linked_image_exists_and_is_a_png():
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _text())
    assert len(links) == len(SHEETS), "one render per tab"
    for link in links:
        png = DOC.parent / link
        assert png.is_file(), f"docs/operator.md links {link}, which is not in docs/"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link
    assert {f"workbook_{re.sub(r'[^a-z0-9]+', '_', s.lower())}.png" for s in SHEETS} == set(links)


def checklist_rows(text: str) -> list[dict[str, str]]:
    part = text.split(TABLE_HEADING, 1)[1]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head == ["Guide's item", "Tab", "Where", "Holds", "Read"], head
    return [dict(zip(head, (c.strip() for c in ln.strip("|").split("|")), strict=True)) for ln in lines[2:]]


def test_every_checklist_cell_holds_the_named_item(built_book):
    rows = checklist_rows(_text())
    assert len(rows) >= 35
    wb = openpyxl.load_workbook(built_book)
    for r in rows:
        item, tab, where, holds = r["Guide's item"], r["Tab"], r["Where"], r["Holds"].strip("`")
        assert tab in wb.sheetnames, f"{item}: no tab {tab!r}"
        ws = wb[tab]
        if re.fullmatch(r"[A-Z]+", where):  # a column: some cell from the header row down holds it
            col = parse_a1(f"{where}1")[1] + 1
            values = [ws.cell(row, col).value for row in range(HEADER_ROW + 1, ws.max_row + 1)]
            assert holds in values, f"{item}: no cell of {tab}!{where} holds {holds!r}"
        else:
            assert re.fullmatch(r"[A-Z]+\d+", where), where
            assert ws[where].value == holds, f"{item}: {tab}!{where} holds {ws[where].value!r}"

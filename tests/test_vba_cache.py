"""The workbook's VBA project is built once per source and reused: a press embeds the same bytes
a fresh build gives, a changed ``.bas`` (ours or xlwings') rebuilds, a bad cache entry is ignored."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import olefile
import pytest

from tests import cli_fork
from xlexec.excel.macros import load_class_modules, load_macros
from xlexec.excel.viewmodel import empty_book_data
from xlexec.excel.writer import write_workbook
from xlexec.vba.compression import decompress
from xlexec.vba.project import build_vba_project

REPO = Path(__file__).resolve().parent.parent
CODENAMES = [f"Sheet{i}" for i in range(1, 14)]  # xlexec's 13 tabs, as XlsxWriter numbers them


def _vba_in(book: Path) -> bytes:
    with zipfile.ZipFile(book) as z:
        return z.read("xl/vbaProject.bin")


def _module_text(vba_bin: bytes, name: str) -> str:
    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    return decompress(ole.openstream(f"VBA/{name}").read()).decode("cp1252")


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "vba").glob("*.bin"))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XLEXEC_CACHE_DIR", str(folder))
    return folder


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, XLEXEC_CACHE_DIR=str(cache), XLWINGS_LICENSE_KEY="noncommercial")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_press_embeds_the_bytes_of_a_fresh_build_and_keeps_one_entry(tmp_path, cache):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {str(tmp_path / 'live')!r}\n")
    book = tmp_path / "book.xlsm"
    r = _cli("workbook", "build", "-o", str(book), "--config", str(cfg), cwd=tmp_path, cache=cache)
    assert r.returncode == 0, r.stderr
    fresh = build_vba_project(load_macros(), sheet_codenames=CODENAMES, class_modules=load_class_modules())
    assert _vba_in(book) == fresh
    [entry] = _entries(cache)
    assert entry.read_bytes() == fresh + hashlib.sha256(fresh).digest()
    r = _cli("button", "refresh_status", "--book", str(book), "--config", str(cfg), cwd=tmp_path, cache=cache)
    assert r.returncode in (0, 1), r.stderr  # the press redrew the book (nothing to refresh is fine)
    assert _vba_in(book) == fresh
    assert _entries(cache) == [entry]  # the same sources: the one entry, reused


def test_the_book_embeds_the_cached_entry_of_its_sources(tmp_path, cache):
    """What a redraw embeds comes from the cache entry of the sources' key (a planted entry under
    that key is what the book gets: the build is skipped)."""
    mods = {"Buttons": (REPO / "macros" / "Buttons.bas").read_text(encoding="cp1252")}
    book = tmp_path / "a.xlsm"
    write_workbook(book, empty_book_data(), macros=mods)
    [entry] = _entries(cache)
    planted = build_vba_project({**mods, "Extra": 'Attribute VB_Name = "Extra"\nSub Planted()\nEnd Sub\n'})
    entry.write_bytes(planted + hashlib.sha256(planted).digest())
    write_workbook(book, empty_book_data(), macros=mods)
    assert _vba_in(book) == planted
    assert "Sub Planted()" in _module_text(_vba_in(book), "Extra")


@pytest.mark.parametrize("module", ["Buttons", "xlwings"])
def test_a_changed_bas_rebuilds(tmp_path, cache, module):
    mods = load_macros()
    book = tmp_path / "b.xlsm"
    write_workbook(book, empty_book_data(), macros=mods)
    before = _vba_in(book)
    assert "' a changed line" not in _module_text(before, module)
    changed = {**mods, module: mods[module].rstrip("\r\n") + "\r\n' a changed line\r\n"}
    write_workbook(book, empty_book_data(), macros=changed)
    after = _vba_in(book)
    assert after != before
    assert "' a changed line" in _module_text(after, module)
    assert len(_entries(cache)) == 2
    write_workbook(book, empty_book_data(), macros=mods)  # back to the old sources: the old bytes
    assert _vba_in(book) == before


def test_a_corrupt_entry_is_ignored_and_rebuilt(tmp_path, cache):
    mods = load_macros()
    book = tmp_path / "c.xlsm"
    write_workbook(book, empty_book_data(), macros=mods)
    good = _vba_in(book)
    [entry] = _entries(cache)
    blob = bytearray(entry.read_bytes())
    blob[100] ^= 0xFF  # one flipped byte: its sha256 no longer checks out
    entry.write_bytes(bytes(blob))
    write_workbook(book, empty_book_data(), macros=mods)
    assert _vba_in(book) == good
    assert entry.read_bytes() == good + hashlib.sha256(good).digest()


def test_an_unusable_cache_folder_still_builds(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("XLEXEC_CACHE_DIR", str(not_a_folder))
    mods = load_macros()
    book = tmp_path / "d.xlsm"
    write_workbook(book, empty_book_data(), macros=mods)
    assert _vba_in(book) == build_vba_project(mods, sheet_codenames=CODENAMES)

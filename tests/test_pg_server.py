"""Finding the PostgreSQL server binaries for the shared-journal tests (tests/pg_server.py).

Debian's ``postgresql`` package (what ``.ci/run`` installs) puts them in
``/usr/lib/postgresql/<version>/bin``, not on the PATH: the finder must look there, take the
newest complete version, and prefer the PATH when it has all three. A fake folder tree here.
"""

from __future__ import annotations

from pathlib import Path

from tests.pg_server import BINARIES, find_bindir


def _bins(d: Path, names=BINARIES, mode: int = 0o755) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for b in names:
        (d / b).write_text("#!/bin/sh\n")
        (d / b).chmod(mode)
    return d


def test_the_newest_complete_debian_version_when_the_path_has_none(tmp_path):
    root, empty = tmp_path / "usr-lib-postgresql", tmp_path / "empty-path"
    empty.mkdir()
    _bins(root / "9.6" / "bin")
    _bins(root / "13" / "bin")
    want = _bins(root / "16" / "bin")
    _bins(root / "17" / "bin", names=("initdb", "pg_ctl"))  # no server binary: not usable
    _bins(root / "18" / "bin", mode=0o644)  # not executable
    _bins(root / "extra" / "bin")  # not a version: sorts first
    assert find_bindir(search_path=str(empty), root=root) == want


def test_the_path_first_when_it_has_all_three(tmp_path):
    root = tmp_path / "usr-lib-postgresql"
    _bins(root / "16" / "bin")
    on_path = _bins(tmp_path / "local" / "bin")
    partial = _bins(tmp_path / "partial", names=("initdb",))
    assert find_bindir(search_path=f"{on_path}", root=root) == on_path.resolve()
    # initdb alone on the PATH is not enough: the Debian folder
    assert find_bindir(search_path=f"{partial}", root=root) == root / "16" / "bin"


def test_none_when_there_is_no_server_anywhere(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_bindir(search_path=str(empty), root=tmp_path / "no-such-folder") is None
    _bins(tmp_path / "root" / "15" / "bin", names=("pg_ctl", "postgres"))
    assert find_bindir(search_path=str(empty), root=tmp_path / "root") is None

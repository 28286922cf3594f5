"""Packaging: the wheel built from ``pyproject.toml`` works on its own, outside the repository.

The slow tests build the wheel from a copy of the files the build reads, install it (with its
declared dependencies, from pip's configured index) into a fresh venv, and run ``xlexec demo``
and ``xlexec workbook build`` from an empty folder, with no ``PYTHONPATH`` pointing back here.
The fast test checks that every third-party module imported under ``xlexec/`` is declared.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "xlexec"
BUILD_INPUTS = ["pyproject.toml", "setup.py", "README.md", "LICENSE", "macros", "xlexec"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extra: str | None = None) -> set[str]:
    """Normalised distribution names of ``[project] dependencies`` (plus one optional extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])
    return {_norm(re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0]) for d in deps}


def _third_party_imports(*folders: str) -> dict[str, str]:
    """{top-level module: first file importing it} for every import under ``folders`` that is
    neither the standard library nor a module of this repository."""
    ours = {"xlexec", "tests", "bench"} | {p.stem for f in folders for p in (ROOT / f).glob("*.py")}
    found: dict[str, str] = {}
    for path in sorted(p for f in folders for p in (ROOT / f).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in ours and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _undeclared(imports: dict[str, str], declared: set[str]) -> list[str]:
    dists = importlib.metadata.packages_distributions()
    return [
        f"{mod} ({where}): distribution {dists.get(mod)}"
        for mod, where in imports.items()
        if not {_norm(d) for d in dists.get(mod, [mod])} & declared
    ]


def test_every_third_party_import_is_a_declared_dependency():
    imports = _third_party_imports("xlexec")
    assert {"pandas", "olefile", "requests", "xlwings"} <= set(imports)  # the scan sees them
    # psycopg (xlexec/store/pg_journal.py only, imported when a postgresql:// journal is used)
    # is the optional extra ``postgres``; schwab-py, httpx and Authlib
    # (xlexec/execution/brokers/schwab.py only) the extra ``schwab``; ib_async
    # (xlexec/execution/brokers/ibkr.py only) the extra ``ibkr``
    declared = _declared() | _declared("postgres") | _declared("schwab") | _declared("ibkr")
    assert _undeclared(imports, declared) == []


def test_every_import_of_the_tests_and_benchmarks_is_in_the_test_extra():
    imports = _third_party_imports("tests", "bench")
    assert {"pytest", "hypothesis", "oletools", "openpyxl"} <= set(imports)
    assert "conftest" not in imports and "fake_alpaca" not in imports
    assert _undeclared(imports, _declared("test")) == []


def test_xlwings_is_pinned_to_the_version_whose_vba_is_embedded():
    """The workbook embeds the installed xlwings' VBA, which loads ``xlwings64-<version>.dll``:
    the dependency is pinned to exactly that release."""
    import xlwings

    bas = (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="cp1252")
    version = re.search(r'XLWINGS_VERSION\s+As\s+String\s*=\s*"([0-9.]+)"', bas).group(1)
    assert set(re.findall(r'Lib "xlwings(?:32|64)-([0-9.]+)\.dll"', bas)) == {version}
    assert importlib.metadata.version("xlwings") == version
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    spec = next(d for d in deps if _norm(d).startswith("xlwings"))
    assert spec.replace(" ", "") == f"xlwings=={version}"
    assert spec.replace(" ", "") == "xlwings==0.37.8"  # the release whose VBA the tests read


# --------------------------------------------------------------------------- the installed wheel


def _env() -> dict[str, str]:
    # no PYTHONPYCACHEPREFIX (tests/conftest.py): pip compiles the installed wheel's bytecode into the venv
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONDONTWRITEBYTECODE="1",
        XLWINGS_LICENSE_KEY=os.environ.get("XLWINGS_LICENSE_KEY", "noncommercial"),
    )
    return env


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    p = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{args} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """A fresh venv with the wheel (and its declared dependencies) installed; not the repo."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist, venv = base / "src", base / "dist", base / "venv"
    src.mkdir()
    for name in BUILD_INPUTS:
        s = ROOT / name
        if s.is_dir():
            shutil.copytree(s, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(s, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)], cwd=base)
    wheels = list(dist.glob("xlexec-*.whl"))
    assert len(wheels) == 1, wheels
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    _run([str(python), "-m", "pip", "install", "-q", str(wheels[0])], cwd=base, timeout=900)
    empty = base / "empty"
    empty.mkdir()
    return {
        "venv": venv,
        "python": python,
        "xlexec": bindir / ("xlexec.exe" if os.name == "nt" else "xlexec"),
        "empty": empty,
        "wheel": wheels[0],
    }


def _vba_modules(xlsm: Path) -> dict[str, str]:
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(xlsm))
    try:
        return {name: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _same_source(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


@pytest.mark.slow
def test_the_wheel_holds_the_package_the_macros_and_the_license(installed):

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for bas in sorted((ROOT / "macros").glob("*.bas")):
        assert f"xlexec/macros/{bas.name}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)[-10:]
    subpackages = {str(p.parent.relative_to(ROOT)).replace(os.sep, "/") for p in PKG.rglob("__init__.py")}
    assert subpackages <= {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}


@pytest.mark.slow
def test_the_installed_package_is_the_wheels_and_every_module_imports(installed):
    code = (
        "import importlib, pkgutil, xlexec\n"
        "from xlexec.excel.build import macros_dir\n"
        "print(xlexec.__file__)\n"
        "print(macros_dir())\n"
        "for m in pkgutil.walk_packages(xlexec.__path__, 'xlexec.'):\n"
        "    if m.name != 'xlexec.__main__':\n"
        "        importlib.import_module(m.name)\n"
    )
    out = _run([str(installed["python"]), "-c", code], cwd=installed["empty"]).stdout.splitlines()
    venv = installed["venv"].resolve()
    assert Path(out[0]).resolve().is_relative_to(venv), out
    assert Path(out[1]).resolve().is_relative_to(venv), out
    assert not Path(out[0]).resolve().is_relative_to(ROOT)


@pytest.mark.slow
def test_demo_then_workbook_build_from_an_empty_folder(installed):
    folder = installed["empty"]
    _run([str(installed["xlexec"]), "demo", "--dir", "X"], cwd=folder)
    assert (folder / "X" / "live").is_dir() and list((folder / "X").glob("*.xlsm"))
    _run([str(installed["xlexec"]), "workbook", "build", "--output", "book/xlexec.xlsm"], cwd=folder)
    book = folder / "book" / "xlexec.xlsm"
    assert book.is_file()
    modules = _vba_modules(book)
    for bas in sorted((ROOT / "macros").glob("*.bas")):
        src = bas.read_bytes().decode("cp1252")
        name = re.search(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]+)"', src, re.M).group(1)
        assert f"{name}.bas" in modules, sorted(modules)
        assert _same_source(modules[f"{name}.bas"], src), name
    # xlwings' VBA (module and Dictionary class) comes from the xlwings installed in that venv
    where = _run(
        [str(installed["python"]), "-c", "import xlwings, os; print(os.path.dirname(xlwings.__file__))"], cwd=folder
    )
    xw = Path(where.stdout.strip())
    assert xw.resolve().is_relative_to(installed["venv"].resolve()), xw
    assert _same_source(_strip_attrs(modules["xlwings.bas"]), _strip_attrs((xw / "xlwings.bas").read_text("cp1252")))
    assert "Public Function RunPython(" in modules["xlwings.bas"]
    assert "Public Function Exists(" in modules["Dictionary.cls"]
    assert not any(n.endswith("xlwings.bas") for n in zipfile.ZipFile(installed["wheel"]).namelist())


def _strip_attrs(src: str) -> str:
    return "\n".join(ln for ln in src.replace("\r\n", "\n").split("\n") if not ln.startswith("Attribute VB_"))

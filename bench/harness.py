"""Shared plumbing of the benchmarks: cache folders, the per-side worker, peak memory, helpers.

Standard library only at import time (the orchestrator imports this module too).

Protocol (one subprocess each, driven by :mod:`bench.__main__`):

* ``python -m bench --_prepare NAME --size N --cache DIR`` generates the scenario's data once
  into ``DIR/NAME-N-vG`` (written to a temp folder and renamed: a crash leaves no half data);
* ``python -m bench --_worker NAME --side SIDE --size N --repeat R --cache DIR`` runs
  ``setup`` (untimed), the scenario's warm-up runs, then ``R`` timed runs of one side, and
  prints one JSON line: ``{"times": [...], "median": s, "peak_mb": MB, "details": {...}}``.

A scenario module (``bench/scenarios/<name>.py``) defines ``NAME``, ``TITLE``, ``UNIT``,
``FULL_SIZE``, ``TARGET`` (text), ``SIDES`` (``"xlexec"``, ``"baseline"`` and optionally
``"library"``), ``WARMUP`` (side -> runs), ``MAX_REPEAT`` (side -> cap), ``GEN_VERSION``,
``prepare(root, size)``, ``setup(root, size, side) -> state``,
``run(state, side) -> (seconds, details)`` and ``judge(row) -> bool | None``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def scenario(name: str):
    """The scenario module ``bench.scenarios.<name>``."""
    return importlib.import_module(f"bench.scenarios.{name}")


def default_cache() -> Path:
    """``$XLEXEC_BENCH_CACHE`` or ``<tmp>/xlexec-bench-cache`` (never inside the repository)."""
    env = os.environ.get("XLEXEC_BENCH_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / "xlexec-bench-cache"


def data_dir(cache: Path, name: str, size: int, gen_version: int) -> Path:
    return Path(cache) / f"{name}-{size}-v{gen_version}"


def prepare(name: str, size: int, cache: Path) -> Path:
    """Generate the scenario's data unless cached; returns its folder."""
    mod = scenario(name)
    final = data_dir(cache, name, size, getattr(mod, "GEN_VERSION", 1))
    if (final / ".complete").exists():
        return final
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{size}-", dir=cache))
    try:
        mod.prepare(tmp, size)
        (tmp / ".complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
        if final.exists():  # an incomplete earlier attempt
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def peak_mb() -> float:
    """Peak resident memory of this process in MB (MiB): ``VmHWM`` on Linux (exact for this
    process image), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round((r / 1024.0 / 1024.0) if sys.platform == "darwin" else (r / 1024.0), 1)


def _merge_details(runs: list[dict]) -> dict:
    """Numbers: median over runs; anything else: the last run's value."""
    out: dict = {}
    keys = []
    for d in runs:
        for k in d:
            if k not in keys:
                keys.append(k)
    for k in keys:
        vals = [d[k] for d in runs if k in d]
        if vals and all(v == vals[0] for v in vals):
            out[k] = vals[0]
        elif vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            m = statistics.median(vals)
            out[k] = round(m, 6) if isinstance(m, float) else m
        else:
            out[k] = vals[-1]
    return out


def worker(name: str, side: str, size: int, repeat: int, cache: Path) -> dict:
    """Run one side of one scenario (already prepared) and return its measurements."""
    mod = scenario(name)
    root = data_dir(cache, name, size, getattr(mod, "GEN_VERSION", 1))
    if not (root / ".complete").exists():
        raise RuntimeError(f"data for {name} size {size} not prepared under {root}")
    cap = getattr(mod, "MAX_REPEAT", {}).get(side)
    n = max(1, min(repeat, cap) if cap else repeat)
    state = mod.setup(root, size, side)
    first = None
    for _ in range(getattr(mod, "WARMUP", {}).get(side, 0)):
        s, _ = mod.run(state, side)
        first = s if first is None else first
    times, dets = [], []
    for _ in range(n):
        s, d = mod.run(state, side)
        times.append(s)
        dets.append(d or {})
    if hasattr(mod, "teardown"):
        mod.teardown(state, side)
    details = _merge_details(dets)
    if first is not None:
        details["first_run_seconds"] = round(first, 6)
    return {
        "side": side,
        "times": [round(t, 6) for t in times],
        "median": statistics.median(times),
        "peak_mb": peak_mb(),
        "details": details,
    }


def worker_main(name: str, side: str, size: int, repeat: int, cache: Path) -> int:
    try:
        out = worker(name, side, size, repeat, cache)
    except Exception as e:  # noqa: BLE001 - reported to the orchestrator as data
        out = {"side": side, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]}
        print(json.dumps(out), flush=True)
        return 1
    print(json.dumps(out), flush=True)
    return 0


def prepare_main(name: str, size: int, cache: Path) -> int:
    try:
        p = prepare(name, size, cache)
    except Exception as e:  # noqa: BLE001
        print(
            json.dumps({"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]}), flush=True
        )
        return 1
    print(json.dumps({"path": str(p)}), flush=True)
    return 0


# ---- helpers for scenarios (they import numpy/pandas lazily) ---------------------------------


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (``time.perf_counter``)."""

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0


def tickers(n: int, seed: int = 7, length: int = 4) -> list[str]:
    """``n`` distinct made-up tickers of ``length`` capital letters (deterministic)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    space = 26**length
    if n > space:
        raise ValueError(f"at most {space} tickers of {length} letters")
    idx = rng.choice(space, size=n, replace=False)
    digits = (idx[:, None] // (26 ** np.arange(length - 1, -1, -1))) % 26
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[digits]
    return ["".join(r) for r in letters]


def fake_class(module: str, name: str):
    """The loopback broker fake ``name`` of ``tests/<module>.py`` (the one the tests use), imported
    as ``tests.<module>`` with ``tests`` this repository's folder, as the tests' conftest makes it
    (a dependency's wheel may install a top-level ``tests`` package of its own into site-packages:
    the fakes' ``from tests import ...`` would then read that one)."""
    import importlib
    import types

    here = str(REPO / "tests")
    if here not in list(getattr(sys.modules.get("tests"), "__path__", None) or []):
        ours = types.ModuleType("tests")
        ours.__path__ = [here]
        sys.modules["tests"] = ours
    return getattr(importlib.import_module(f"tests.{module}"), name)


def fake_alpaca_class():
    """``tests/fake_alpaca.FakeAlpaca`` (the loopback Alpaca server the tests use)."""
    return fake_class("fake_alpaca", "FakeAlpaca")


def child_env(cache: Path, **extra: str) -> dict[str, str]:
    """The environment of a measured ``python`` child: this repository first on the path, the
    bytecode cached under ``cache`` (as an installed package has it; never in the repository)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(cache) / "pycache")
    env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    env.update(extra)
    return env


def child_cpu(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run ``cmd`` to the end: (CPU seconds it used, user + system; wall seconds; stdout). Raises
    when it fails. Children run one at a time, so the rusage delta is this child's."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd[1:])}: exit {p.returncode}: {' | '.join(tail)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, p.stdout


def pandas_read_seconds(paths, commented=()) -> float:
    """Seconds ``pandas.read_csv`` (the C parser, types inferred, nothing checked) takes to read
    ``paths``: the physical bound of a reader of the same files. Files in ``commented`` have
    ``#`` comment rows (``comment="#"``)."""
    import pandas as pd

    with Timer() as t:
        for p in paths:
            pd.read_csv(p, comment="#" if p in commented else None)
    return t.seconds


def cold_reads() -> None:
    """Empty xlexec's in-process reading caches, so a timed read costs what it costs a fresh
    ``xlexec`` process (which reads each file once): the parsed texts of trades, quotes and fills
    (kept so that one button press reading a file three times parses it once) and the canonical
    form of each ticker text. Called before every timed read; without it the warm-up run would
    leave the timed runs reading from memory. Also the workbook files already found within the
    size limits (:func:`xlexec.excel.sheet_extent.forget_extents`): a fresh press checks its book."""
    from xlexec.core.symbols import _canonical_and_problem
    from xlexec.excel.sheet_extent import forget_extents
    from xlexec.formats.fills import _fills_parsed
    from xlexec.formats.inputs import _quotes_parsed
    from xlexec.formats.trades import _trades_parsed

    for cached in (_trades_parsed, _quotes_parsed, _fills_parsed, _canonical_and_problem):
        cached.cache_clear()
    forget_extents()

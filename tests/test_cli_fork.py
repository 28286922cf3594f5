"""The tests' ``python -m xlexec`` forked from a warm interpreter (``tests/cli_fork.py``) against
a real ``python -m xlexec``: the same process as the command sees it.

A probe package named ``xlexec`` (first on ``PYTHONPATH``, so both ways import it instead of
ours) reports what a command can see of its process: its arguments, folder, environment, import
path, streams, hash seed and parent; it exits every way a command can. Each probe's report from
a forked child must equal a real child's, but for the parent process (which says which way ran)
and the hash seed (which differs between any two real processes too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import cli_fork

PROBE = r"""
import atexit, json, os, sys, threading, time, warnings

mode = sys.argv[1]
report = {
    "argv": sys.argv[1:],
    "argv0": os.path.basename(os.path.dirname(sys.argv[0])) + "/" + os.path.basename(sys.argv[0]),
    "cwd": os.getcwd(),
    "path": sys.path,
    "environ": dict(os.environ),
    "streams": [(s.encoding, s.errors, s.line_buffering) for s in (sys.stdin, sys.stdout, sys.stderr)],
    "stdin": sys.stdin.read(),
    "name": __name__,
    "main_is_us": sys.modules["__main__"].__dict__.get("mode") == mode,
    "ppid": os.getppid(),
    "hash": hash("xlexec"),
    "recursion": sys.getrecursionlimit(),
    "flags": [sys.flags.optimize, sys.flags.dont_write_bytecode, sys.flags.utf8_mode],
    "pycache": sys.pycache_prefix,
}
print(json.dumps(report))
atexit.register(lambda: print("atexit ran"))
if mode == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread joined"))).start()
elif mode == "warn":
    warnings.warn("a warning a user sees")
elif mode == "exit3":
    sys.exit(3)
elif mode == "exitmsg":
    sys.exit("a message, exit 1")
elif mode == "raise":
    raise ValueError("escaped")
elif mode == "kill":
    sys.stdout.flush()
    os.kill(os.getpid(), 9)
elif mode == "sleep":
    time.sleep(30)
elif mode == "surrogate":
    print("\udcff")
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    (root / "xlexec").mkdir()
    (root / "xlexec" / "__init__.py").write_text("")
    (root / "xlexec" / "__main__.py").write_text(PROBE)
    return root


def _env(probe: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"PYTHONPATH": str(probe), "ONLY_IN_THE_CHILD": "yes", **extra})
    return env


def _both(probe, tmp_path, mode, **kw):
    cmd = [sys.executable, "-m", "xlexec", mode, "an argument", "ü"]
    env = kw.pop("env", None) or _env(probe)
    real = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, **kw)
    forked = cli_fork.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, **kw)
    return real, forked


def _report(p):
    return json.loads(p.stdout.splitlines()[0])


def _same_but_parent(real, forked):
    a, b = _report(real), _report(forked)
    assert a.pop("ppid") == os.getpid(), "the real child's parent is this process"
    assert b.pop("ppid") != os.getpid(), "the forked child came from a server, not from a real start"
    a.pop("hash"), b.pop("hash")
    assert a == b
    assert real.returncode == forked.returncode
    assert real.stdout.splitlines()[1:] == forked.stdout.splitlines()[1:]
    assert real.stderr == forked.stderr


@pytest.mark.parametrize("mode", ["plain", "thread", "warn", "exit3", "exitmsg", "kill"])
def test_a_forked_command_sees_the_process_a_real_one_sees(probe, tmp_path, mode):
    real, forked = _both(probe, tmp_path, mode, input="typed in\n")
    _same_but_parent(real, forked)
    a = _report(real)
    assert a["argv"] == [mode, "an argument", "ü"] and a["argv0"] == "xlexec/__main__.py"
    assert a["cwd"] == str(tmp_path) and a["path"][:2] == [str(tmp_path), str(probe)]
    assert a["environ"]["ONLY_IN_THE_CHILD"] == "yes" and a["stdin"] == "typed in\n"
    assert a["name"] == "__main__" and a["main_is_us"]
    expected = {"plain": 0, "thread": 0, "warn": 0, "exit3": 3, "exitmsg": 1, "kill": -9}[mode]
    assert forked.returncode == expected
    if mode == "thread":
        assert forked.stdout.splitlines()[1:] == ["thread joined", "atexit ran"]
    if mode == "warn":
        assert "UserWarning: a warning a user sees" in forked.stderr
    if mode == "exitmsg":
        assert forked.stderr == "a message, exit 1\n"


def test_python_path_entries_empty_relative_and_repeated_are_placed_as_the_interpreter_does(probe, tmp_path):
    (tmp_path / "sub").mkdir()
    pp = os.pathsep.join([str(probe), "", "sub", str(tmp_path), str(probe)])
    real, forked = _both(probe, tmp_path, "plain", env=_env(probe, PYTHONPATH=pp))
    _same_but_parent(real, forked)
    assert _report(real)["path"][:4] == [str(tmp_path), str(probe), str(tmp_path), str(tmp_path / "sub")]


def test_an_escaping_exception_is_a_traceback_and_exit_1_both_ways(probe, tmp_path):
    real, forked = _both(probe, tmp_path, "raise")
    assert real.returncode == forked.returncode == 1
    assert real.stderr.splitlines()[-1] == forked.stderr.splitlines()[-1] == "ValueError: escaped"
    assert forked.stderr.startswith("Traceback (most recent call last):")
    assert forked.stdout.splitlines()[1:] == ["atexit ran"]


def test_text_a_pipe_cannot_carry_goes_as_in_a_real_child(probe, tmp_path):
    """A lone surrogate on stdout: refused or escaped, by the error handler a real child's pipe
    has (strict, or surrogateescape under the C locale): the same bytes and exit code."""
    cmd = [sys.executable, "-m", "xlexec", "surrogate"]
    real = subprocess.run(cmd, capture_output=True, cwd=tmp_path, env=_env(probe), timeout=60)
    forked = cli_fork.run(cmd, capture_output=True, cwd=tmp_path, env=_env(probe), timeout=60)
    assert real.returncode == forked.returncode
    assert real.stdout.splitlines()[1:] == forked.stdout.splitlines()[1:]
    assert real.stderr.splitlines()[-1:] == forked.stderr.splitlines()[-1:]


def test_a_run_and_its_rerun_get_two_hash_seeds(probe, tmp_path):
    cmd = [sys.executable, "-m", "xlexec", "plain"]
    runs = [cli_fork.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=_env(probe)) for _ in range(2)]
    assert all(_report(p)["ppid"] != os.getpid() for p in runs)
    assert _report(runs[0])["hash"] != _report(runs[1])["hash"]


@pytest.mark.parametrize(
    "why",
    ["interpreter variable", "locale", "clock shift", "shadowing module", "real asked"],
)
def test_what_a_warm_interpreter_would_change_gets_a_real_one(probe, tmp_path, why):
    env = _env(probe)
    if why == "interpreter variable":
        env["PYTHONIOENCODING"] = "latin-1"
    elif why == "locale":
        env["LC_ALL"] = "C"
    elif why == "clock shift":
        env["XLEXEC_TEST_CLOCK_SHIFT"] = "-3600"
    elif why == "shadowing module":
        (tmp_path / "yaml.py").write_text("")
    elif why == "real asked":
        env["XLEXEC_TEST_REAL_PROCESSES"] = "1"
    cmd = [sys.executable, "-m", "xlexec", "plain"]
    p = cli_fork.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert _report(p)["ppid"] == os.getpid()


def test_other_commands_are_subprocess_run_unchanged(tmp_path):
    p = cli_fork.run([sys.executable, "-c", "import os; print(os.getppid())"], capture_output=True, text=True)
    assert int(p.stdout) == os.getpid()
    with pytest.raises(subprocess.CalledProcessError):
        cli_fork.run([sys.executable, "-c", "raise SystemExit(4)"], capture_output=True, check=True)


def test_check_and_a_timeout_behave_as_in_subprocess_run(probe, tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as e:
        cli_fork.run(
            [sys.executable, "-m", "xlexec", "exit3"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=_env(probe),
            check=True,
        )
    assert e.value.returncode == 3
    t = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        cli_fork.run(
            [sys.executable, "-m", "xlexec", "sleep"], capture_output=True, cwd=tmp_path, env=_env(probe), timeout=0.5
        )
    assert time.monotonic() - t < 10


def test_our_own_cli_gives_the_same_output_both_ways(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for args in (["--help"], ["nonsense"], ["validate", str(tmp_path / "missing.csv")]):
        cmd = [sys.executable, "-m", "xlexec", *args]
        real = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        forked = cli_fork.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        assert (real.returncode, real.stdout, real.stderr) == (forked.returncode, forked.stdout, forked.stderr)

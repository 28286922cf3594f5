"""``python -m xlexec ARGS`` for the tests, as a process forked from a warm interpreter.

Most of a CLI test's time was the interpreter starting and importing pandas, numpy, pydantic
and the rest again in every ``python -m xlexec`` the test ran (about 0.45 s of CPU of a call's
0.6 s; about 900 calls in a ``make test``). :func:`run` is ``subprocess.run`` for exactly that
command: the command runs in its own process, forked from a server (two per test process) that
has imported those libraries and nothing of xlexec. The child, before it runs ``xlexec`` as
``python -m`` does (``runpy``), is given what a fresh ``python -m xlexec`` would have:

* its own current folder (``cwd``), environment (``env``), and ``sys.path`` as ``-m`` builds it
  (the current folder, then ``PYTHONPATH``, then the interpreter's own entries);
* stdin, stdout and stderr as the caller's pipes, with the encoding, error handlers and
  buffering a child interpreter gives pipes; stdin is ``/dev/null`` unless ``input`` is given;
* xlexec itself imported afresh (the server never imports it), its exit code as Python's own
  (``sys.exit`` values, a traceback and 1 for an escaping exception, 120 when stdout cannot be
  flushed), non-daemon threads joined and ``atexit`` run, then the process ends.

What is shared, and when :func:`run` starts a real interpreter instead (same result object):

* the libraries' import-time state. The server refuses to serve if any import warned (a fresh
  process would print that warning on every run); :func:`run` falls back when the environment
  differs from the server's in anything read at interpreter or library start (``PYTHON*`` but
  ``PYTHONPATH``, ``LD_*``, the locale, ``TZ``, BLAS threads, the test clock's shift), or when
  the current folder or ``PYTHONPATH`` holds a module of the warm libraries' names (a real
  ``-m`` would import that one);
* the hash seed: every child of one server has the server's. A test process has two servers of
  two random seeds and consecutive calls alternate between them, so a run and its rerun see two
  seeds as two real processes would; the test of a rerun of every step keeps real processes
  (``tests/test_rerun_identical.py``);
* anything but ``[sys.executable, "-m", "xlexec", ...]`` with ``capture_output``/``text``/
  ``timeout``/``cwd``/``env``/``input``/``check``, and platforms without ``os.pidfd_open``
  (Linux only), go to ``subprocess.run`` unchanged. ``XLEXEC_TEST_REAL_PROCESSES=1`` sends
  every call there.

The tests that are about the interpreter itself (lazy imports, the installed wheel, kill -9
crashes, the hostile CLI's real-process examples) start their processes as before.
"""

from __future__ import annotations

import contextlib
import io
import json
import locale
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

#: imported by the server before it forks: what (almost) every command imports, and the costly
#: libraries some do (XlsxWriter and calamine for a press, alpaca-py for a submit)
WARM = (
    "numpy",
    "pandas",
    "pydantic",
    "yaml",
    "dateutil",
    "pytz",
    "sqlite3",
    "zoneinfo",
    "decimal",
    "xlsxwriter",
    "python_calamine",
    "alpaca.trading.client",
)
#: environment read when an interpreter or one of the warm libraries starts: a request whose
#: value differs from the server's gets a real interpreter
_START_PREFIXES = ("PYTHON", "LD_", "LC_", "OPENBLAS", "OMP_", "MKL_", "NUMEXPR", "DYLD_")
_START_NAMES = ("LANG", "LANGUAGE", "TZ", "XLEXEC_TEST_CLOCK_SHIFT", "XLEXEC_TEST_REAL_PROCESSES")
_WARM_NAMES = frozenset(m.split(".")[0] for m in WARM)  # what a module in a folder on the path would shadow


def _start_env(env: dict) -> dict:
    return {k: v for k, v in env.items() if k != "PYTHONPATH" and (k.startswith(_START_PREFIXES) or k in _START_NAMES)}


# ----------------------------------------------------------------------------- the client


class _Server:
    def __init__(self, hash_seed: str) -> None:
        self.folder = tempfile.mkdtemp(prefix="xlexec-test-fork-")
        self.path = os.path.join(self.folder, "s")
        self.env = dict(os.environ)  # what requests are compared with (the seed is the server's own)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**self.env, "PYTHONHASHSEED": hash_seed},
            cwd=self.folder,
        )
        line = self.proc.stdout.readline().decode().strip()  # "ready" or why not
        self.ready = line == "ready"
        self.why = "" if self.ready else line or f"exit {self.proc.poll()}"
        self.pid_owner = os.getpid()

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # the server ends when its stdin does
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
        try:
            os.unlink(self.path)
            os.rmdir(self.folder)
        except OSError:
            pass


_servers: list[_Server] = []
_turn = 0
_lock = threading.Lock()


def _get_server() -> _Server | None:
    """The next of this process's two servers (started on first use): consecutive calls alternate
    between them, and so between two hash seeds, as two real processes would."""
    global _turn
    with _lock:
        if _servers and _servers[0].pid_owner != os.getpid():
            _servers.clear()  # a forked test process: the servers are its parent's
        if not _servers:
            import atexit
            import secrets

            for _ in range(2):
                _servers.append(_Server(str(secrets.randbelow(2**32))))
                atexit.register(_servers[-1].close)
        _turn += 1
        server = _servers[_turn % 2]
        return server if server.ready else None


def _python_path(env: dict, cwd: str) -> list[str]:
    """``PYTHONPATH`` as an interpreter started in ``cwd`` puts it on ``sys.path``: each entry
    made absolute against ``cwd``, an empty one being ``cwd`` itself."""
    value = env.get("PYTHONPATH")
    return [os.path.abspath(os.path.join(cwd, p)) for p in value.split(os.pathsep)] if value else []


def _forkable(cmd, env: dict, cwd: str, server: _Server) -> bool:
    if list(cmd[:3]) != [sys.executable, "-m", "xlexec"]:
        return False
    if _start_env(env) != _start_env(server.env):
        return False
    for folder in [cwd, *_python_path(env, cwd)]:
        for name in _WARM_NAMES:
            if os.path.exists(os.path.join(folder, name + ".py")) or os.path.isdir(os.path.join(folder, name)):
                return False
    return True


def run(cmd, *, capture_output=False, text=None, timeout=None, cwd=None, env=None, input=None, check=False, **kw):
    """``subprocess.run(cmd, ...)``; ``python -m xlexec`` forked from the warm server (above)."""
    if kw or not capture_output or os.environ.get("XLEXEC_TEST_REAL_PROCESSES") or not hasattr(os, "pidfd_open"):
        return subprocess.run(
            cmd,
            capture_output=capture_output,
            text=text,
            timeout=timeout,
            cwd=cwd,
            env=env,
            input=input,
            check=check,
            **kw,
        )
    full_env = dict(os.environ if env is None else env)
    folder = os.path.abspath(os.fspath(cwd)) if cwd is not None else os.getcwd()
    server = _get_server()
    if server is None or not _forkable(cmd, full_env, folder, server):
        return subprocess.run(
            cmd, capture_output=True, text=text, timeout=timeout, cwd=cwd, env=env, input=input, check=check
        )
    code, out, err = _forked(server, [str(a) for a in cmd[3:]], folder, full_env, input, timeout, cmd)
    if text:
        out, err = as_text(out), as_text(err)
    done = subprocess.CompletedProcess(list(cmd), code, out, err)
    if check:
        done.check_returncode()
    return done


def as_text(raw: bytes) -> str:
    """A child's output as ``subprocess.run(text=True)`` reads it: the locale's encoding, strict,
    universal newlines."""
    return io.TextIOWrapper(io.BytesIO(raw), encoding=locale.getpreferredencoding(False)).read()


def _forked(server: _Server, args, cwd, env, input, timeout, cmd):
    deadline = None if timeout is None else time.monotonic() + timeout
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    if input is None:
        in_r, in_w = os.open(os.devnull, os.O_RDONLY), None
    else:
        in_r, in_w = os.pipe()
    request = json.dumps({"args": args, "cwd": cwd, "env": env}).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(server.path)
        socket.send_fds(conn, [struct.pack("!Q", len(request))], [in_r, out_w, err_w])
        conn.sendall(request)
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    reply = conn.makefile("rb")
    pid = int(json.loads(reply.readline())["pid"])
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ)
    sel.register(err_r, selectors.EVENT_READ)
    if in_w is not None:
        data = input.encode(locale.getpreferredencoding(False)) if isinstance(input, str) else input
        writer = threading.Thread(target=_feed, args=(in_w, data), daemon=True)
        writer.start()
    try:
        open_fds = 2
        while open_fds:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(list(cmd), timeout, b"".join(chunks[out_r]), b"".join(chunks[err_r]))
            for key, _ in sel.select(left):
                block = os.read(key.fd, 1 << 16)
                if block:
                    chunks[key.fd].append(block)
                else:
                    sel.unregister(key.fd)
                    open_fds -= 1
        status = json.loads(reply.readline())["status"]
    finally:
        sel.close()
        os.close(out_r)
        os.close(err_r)
        reply.close()
        conn.close()
    return os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _feed(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError), open(fd, "wb", closefd=True) as f:  # a child that stopped reading
        f.write(data)


# ----------------------------------------------------------------------------- the server


def _serve(path: str) -> None:
    import importlib
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # under the filters in force: what a run shows
        for name in WARM:
            importlib.import_module(name)
    if caught:
        sys.stdout.write(f"not faithful: importing warned: {caught[0].message}\n")
        sys.stdout.flush()
        return
    if "xlexec" in sys.modules:
        sys.stdout.write("not faithful: xlexec imported by the warm libraries\n")
        sys.stdout.flush()
        return
    streams = {
        n: (s.encoding, s.errors, s.line_buffering, s.write_through)
        for n, s in (("stdin", sys.stdin), ("stdout", sys.stdout), ("stderr", sys.stderr))
    }
    own_pp = set(_python_path(os.environ, os.getcwd()))
    base = [p for p in sys.path[1:] if p not in own_pp]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "lifeline")
    import gc

    gc.collect()
    gc.freeze()  # the children's collector never walks (and so copies) the warm libraries' objects
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    waiting: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    while True:
        for key, _ in sel.select():
            if key.data == "lifeline":
                if not os.read(key.fd, 1024):
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                head, fds, _, _ = socket.recv_fds(conn, 8, 3)
                (size,) = struct.unpack("!Q", head)
                body = b""
                while len(body) < size:
                    body += conn.recv(size - len(body))
                req = json.loads(body)
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    listener.close()
                    for _, c in waiting.values():
                        c.close()
                    conn.close()
                    _child(req, fds, streams, base)  # never returns
                for fd in fds:
                    os.close(fd)
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                pidfd = os.pidfd_open(pid)
                waiting[pidfd] = (pid, conn)
                sel.register(pidfd, selectors.EVENT_READ, "child")
            else:
                pid, conn = waiting.pop(key.fd)
                sel.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # the caller gave up (a timeout)
                    conn.sendall(json.dumps({"status": status}).encode() + b"\n")
                conn.close()


def _child(req: dict, fds: list[int], streams: dict, base: list[str]) -> None:
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        seen: set[str] = set()
        path = []
        here = os.getcwd()  # as the interpreter sees it (links resolved)
        for p in [*_python_path(req["env"], here), *base]:  # site.removeduppaths
            if os.path.normcase(p) not in seen:
                seen.add(os.path.normcase(p))
                path.append(p)
        sys.path[:] = [here, *path]  # ``-m`` puts the current folder first, after site ran
        for name, fd, mode in (("stdin", 0, "rb"), ("stdout", 1, "wb"), ("stderr", 2, "wb")):
            encoding, errors, line_buffering, write_through = streams[name]
            raw = io.FileIO(fd, mode[0], closefd=False)
            buf = io.BufferedReader(raw) if mode == "rb" else io.BufferedWriter(raw)
            s = io.TextIOWrapper(buf, encoding, errors, line_buffering=line_buffering, write_through=write_through)
            setattr(sys, name, s)
            setattr(sys, f"__{name}__", s)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = _run_as_main(req["args"])
    finally:
        os._exit(code)


def _run_as_main(args: list[str]) -> int:
    import atexit
    import runpy
    import types

    sys.argv = ["-m", *args]  # runpy puts the module's file first, as ``python -m`` does
    sys.modules["__main__"] = types.ModuleType("__main__")
    code = 0
    try:
        runpy._run_module_as_main("xlexec")  # type: ignore[attr-defined]
    except SystemExit as e:
        code = _exit_code(e.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]  (what the interpreter does at exit)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except Exception:
        code = 120
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    return code


def _exit_code(value) -> int:
    """What the interpreter exits with for ``sys.exit(value)``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{value}\n")
    return 1


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    _serve(sys.argv[2])

"""``xlexec``: one subcommand per script of the guide; every Excel button has its twin here.

Exit codes: 0 ok, 1 refused / REJECT / something not done, 2 unusable input or config
(one line on stderr naming file, row and column; never a traceback), 3 day locked, 4 internal
error (a bug: one line on stderr, the traceback saved under ``live/logs/``).
Each area registers its subcommands from ``xlexec/cli/<area>.py`` (``register(sub, common)``); a
``run_*`` function parses its arguments, calls the step (:mod:`xlexec.steps`) and prints its result.
Only the area of the command given is imported (``xlexec --help`` lists the commands from the light
table :mod:`xlexec.cli.areas` and imports neither pandas nor any step).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from xlexec import __version__
from xlexec.cli.areas import AREAS, area_of
from xlexec.errors import OS_PROBLEMS, XlexecError, os_problem


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command (``argv`` None), or, for ``argv``, one where only the area of
    its command is imported and registered in full; every other command is listed by name and
    help from :data:`xlexec.cli.areas.AREAS` (same order, same ``--help`` text)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="config file (default: ./config.yaml when present, else built-in defaults)",
    )
    p = argparse.ArgumentParser(
        prog="xlexec",
        description="xlexec: the Excel trade-execution blotter, headless. "
        "One subcommand per step of the day; every workbook button has its twin here.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"xlexec {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    wanted = area_of(argv) if argv is not None else None
    for area, commands in AREAS:
        if argv is None or area == wanted:
            importlib.import_module(f"xlexec.cli.{area}").register(sub, common)
        else:
            for name, text in commands.items():
                sub.add_parser(name, help=text)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from xlexec.execution.brokers.base import BrokerFault
    from xlexec.steps.context import Context

    ctx = None
    try:
        check_dates(args)
        ctx = Context.load(getattr(args, "config", None), getattr(args, "user", None))
        rc = args.func(args, ctx)
        _flush_stdout()
        return int(rc or 0)
    except XlexecError as e:
        msg = " ".join(str(e).split())
        _say(f"xlexec {args.command}: error: {msg}")
        return e.exit_code
    except BrokenPipeError:  # stdout closed (``xlexec status | head -1``): quiet, non-zero
        _quiet_stdout()
        return 1
    except OSError as e:
        if e.errno not in OS_PROBLEMS:
            return _internal(ctx, args.command, e)
        _say(f"xlexec {args.command}: error: {os_problem(e)}")
        return 1
    except BrokerFault as e:  # broker down / garbled reply outside the submit engine: one line, exit 1
        msg = " ".join(str(e).split())[:500]
        print(f"xlexec {args.command}: broker error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"xlexec {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: one line for the operator, the traceback to a file
        return _internal(ctx, args.command, e)
    finally:
        if ctx is not None:
            ctx.close()


DATE_OPTIONS = {"date": "--date", "day": "--day"}


def check_dates(args: argparse.Namespace) -> None:
    """Every ``--date``/``--day`` a real YYYY-MM-DD and every ``--month`` a real YYYY-MM, before
    anything is read or written (a path derived from them can never leave ``live/``)."""
    from xlexec.errors import InputError
    from xlexec.store.day import check_date

    for attr, flag in DATE_OPTIONS.items():
        value = getattr(args, attr, None)
        if value is not None:
            check_date(value, flag)
    month = getattr(args, "month", None)
    if month is not None:
        text = str(month)
        try:
            check_date(f"{text}-01", "--month")
        except InputError:
            raise InputError("--month", f"month must be a real YYYY-MM, got {text[:20]!r}") from None


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)


def _flush_stdout() -> None:
    sys.stdout.flush()


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's own flush at exit is quiet."""
    out = sys.__stdout__
    if out is None or sys.stdout is not out:  # captured in-process (tests): nothing to silence
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


def _internal(ctx, command: str, e: BaseException) -> int:
    where = _save_traceback(ctx, command)
    _say(
        f"xlexec {command}: internal error: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
        f" (details in {where}; please report it)"
    )
    return 4


def _save_traceback(ctx, command: str) -> str:
    """Write the current exception's traceback under ``live/logs/`` (or the temp folder)."""
    import datetime as dt
    import tempfile
    import traceback
    from pathlib import Path

    text = traceback.format_exc()
    if ctx is not None:  # secrets never reach a file, even inside a traceback
        from xlexec.config import secret_values

        for sv in secret_values(ctx.config):
            text = text.replace(sv, "***")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for folder in ([Path(ctx.live_dir) / "logs"] if ctx is not None else []) + [Path(tempfile.gettempdir())]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"xlexec-{command}-{stamp}.log"
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            continue
    return "stderr (no folder writable)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``xlexec``: one subcommand per script of the guide; every Excel button has its twin here.

Exit codes: 0 ok, 1 refused / REJECT / something not done, 2 unusable input or config
(one line on stderr naming file, row and column; never a traceback), 3 day locked, 4 internal
error (a bug: one line on stderr, the traceback saved under ``live/logs/``).
Each area registers its subcommands from ``xlexec/cli/<area>.py`` (``register(sub, common)``); a
``run_*`` function parses its arguments, calls the step (:mod:`xlexec.steps`) and prints its result.
"""

from __future__ import annotations

import argparse
import sys

from xlexec import __version__
from xlexec.cli import convert, demo, execution, reconcile, tca, validate, workbook
from xlexec.errors import XlexecError
from xlexec.execution.brokers.base import BrokerFault
from xlexec.steps.context import Context

# area modules, in the order of the day
AREAS = [validate, convert, execution, reconcile, tca, workbook, demo]


def build_parser() -> argparse.ArgumentParser:
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
    for area in AREAS:
        area.register(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    ctx = None
    try:
        ctx = Context.load(getattr(args, "config", None), getattr(args, "user", None))
        rc = args.func(args, ctx)
        return int(rc or 0)
    except XlexecError as e:
        msg = " ".join(str(e).split())
        print(f"xlexec {args.command}: error: {msg}", file=sys.stderr)
        return e.exit_code
    except BrokerFault as e:  # broker down / garbled reply outside the submit engine: one line, exit 1
        msg = " ".join(str(e).split())[:500]
        print(f"xlexec {args.command}: broker error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"xlexec {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: one line for the operator, the traceback to a file
        where = _save_traceback(ctx, args.command)
        print(
            f"xlexec {args.command}: internal error: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
            f" (details in {where}; please report it)",
            file=sys.stderr,
        )
        return 4
    finally:
        if ctx is not None:
            ctx.close()


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

"""``xlexec journal verify [--expect-head HASH] [--json]``: walk the journal's hash chain
(:mod:`xlexec.steps.journal`) and print one line (or one JSON object); exit 1 when it is broken.

``xlexec journal init --url URL [--trader LOGIN]... [--approver LOGIN]...``: create (or migrate)
a shared PostgreSQL journal and its roles. ``xlexec journal copy --from sqlite:///.../journal.sqlite
--to URL``: move a journal there, verified; safe to rerun."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from xlexec.cli.lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.steps import journal as steps
else:
    steps = lazy("xlexec.steps.journal")


def register(sub, common) -> None:
    p = sub.add_parser("journal", help="the journal: verify its chain, init or copy a shared one")
    jsub = p.add_subparsers(dest="journal_command", metavar="SUBCOMMAND", required=True)
    v = jsub.add_parser(
        "verify",
        parents=[common],
        help="walk the hash chain of live/journal.sqlite: OK with the head hash, or the first broken seq and why",
    )
    v.add_argument(
        "--expect-head",
        metavar="HASH",
        default=None,
        help="a head sha256 noted earlier: it must still be in the chain (refused if the journal was rewritten)",
    )
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=run_verify, command="journal verify")

    i = jsub.add_parser(
        "init",
        parents=[common],
        help="create or migrate a shared PostgreSQL journal (as its owner) and roles xlexec_trader, xlexec_approver",
    )
    i.add_argument("--url", required=True, help="postgresql://OWNER[:${ENV_VAR}]@HOST[:PORT]/DB")
    i.add_argument("--trader", action="append", default=[], metavar="LOGIN", help="give LOGIN the trader role")
    i.add_argument("--approver", action="append", default=[], metavar="LOGIN", help="give LOGIN the approver role")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(func=run_init, command="journal init")

    c = jsub.add_parser(
        "copy",
        parents=[common],
        help="copy a SQLite journal into a shared PostgreSQL one, verifying the chain and counts (safe to rerun)",
    )
    c.add_argument("--from", dest="source", required=True, help="sqlite:///path/to/journal.sqlite")
    c.add_argument("--to", dest="target", required=True, help="postgresql://OWNER[:${ENV_VAR}]@HOST[:PORT]/DB")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=run_copy, command="journal copy")


def run_verify(args, ctx) -> int:
    res = steps.journal_verify(ctx, None, expect_head=args.expect_head)
    if args.json:
        print(json.dumps(res.to_json(), allow_nan=False))
    else:
        print(res.line())
    return res.exit_code


def _show(args, res) -> int:
    print(json.dumps(res.to_json(), allow_nan=False) if args.json else res.line())
    return res.exit_code


def run_init(args, ctx) -> int:
    return _show(args, steps.journal_init(args.url, traders=tuple(args.trader), approvers=tuple(args.approver)))


def run_copy(args, ctx) -> int:
    return _show(args, steps.journal_copy(args.source, args.target))

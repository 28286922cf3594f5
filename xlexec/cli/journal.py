"""``xlexec journal verify [--expect-head HASH] [--json]``: walk the journal's hash chain
(:mod:`xlexec.steps.journal`) and print one line (or one JSON object); exit 1 when it is broken."""

from __future__ import annotations

import json

from xlexec.steps import journal as steps


def register(sub, common) -> None:
    p = sub.add_parser("journal", help="the journal's integrity (journal verify)")
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


def run_verify(args, ctx) -> int:
    res = steps.journal_verify(ctx, None, expect_head=args.expect_head)
    if args.json:
        print(json.dumps(res.to_json(), allow_nan=False))
    else:
        print(res.line())
    return res.exit_code

"""``xlexec policy show`` and ``xlexec policy approve`` (the policy in force, journaled).

    xlexec policy show [--json]
    xlexec policy approve --approver NAME --reason TEXT [--json]

``show`` prints the config's effective policy (every setting that governs sending, the
restricted list's sha256, broker and mode) and its sha256, the policy in force in the journal,
and each key in which the config loosens it (read only). ``approve`` records the config's
policy as in force (exit 1 when refused by ``approvers`` or ``require_four_eyes``); until then
submit, convert and the chase refuse a config that loosens the policy in force.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from xlexec.cli.lazy import lazy
from xlexec.core.policy import DIRECTIONS

if TYPE_CHECKING:  # the real modules for the type checker; at run time imported on first use
    from xlexec.steps import policy as steps
else:
    steps = lazy("xlexec.steps.policy")


def register(sub, common) -> None:
    p = sub.add_parser("policy", parents=[common], help="the policy in force: show it, approve a change")
    psub = p.add_subparsers(dest="policy_action", metavar="ACTION")
    s = psub.add_parser("show", parents=[common], help="the config's policy against the policy in force")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=run_show)
    a = psub.add_parser("approve", parents=[common], help="record the config's policy as in force")
    a.add_argument("--approver", required=True, metavar="NAME", help="the approver's name (recorded)")
    a.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded)")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(func=run_approve)
    p.set_defaults(func=lambda args, ctx: (p.print_help(), 0)[1])


def run_show(args, ctx) -> int:
    res = steps.show(ctx)
    doc = res.to_json()
    if args.json:
        print(json.dumps(doc))
        return res.exit_code
    st = res.standing
    print(f"Effective policy of {res.source}: sha256 {st.current_sha256}")
    for k in [*DIRECTIONS, "restricted.sha256"]:
        print(f"  {k} = {json.dumps(st.current.get(k))}")
    inf = res.in_force
    if inf is None:
        print("Policy in force: none journaled yet (the first approve/submit/convert records this one)")
    else:
        who = inf.get("approver") or inf.get("login")
        print(f"Policy in force: sha256 {inf.get('policy_sha256')} ({inf.get('why')}, by {who})")
    if st.loosened:
        print(f"Loosened (not in force until approved): {', '.join(st.loosened)}")
        for c in st.changes:
            print(f"  {c}")
        print(f"Approve with {doc['approve_command']}")
    elif inf is not None and inf.get("policy_sha256") != st.current_sha256:
        print("Tighter than the policy in force: takes effect at the next approve/submit/convert")
    else:
        print("Loosened: none")
    return res.exit_code


def run_approve(args, ctx) -> int:
    res = steps.approve(ctx, approver=args.approver, reason=args.reason)
    if args.json:
        print(json.dumps(res.to_json()))
    elif res.event is None:
        print(f"policy {res.policy_sha256}: nothing loosened; this policy is in force")
    else:
        print(f"policy {res.policy_sha256} approved by {args.approver} ({res.event.get('login')}): in force")
        for c in res.changes:
            print(f"  {c}")
    return res.exit_code

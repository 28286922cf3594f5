"""Steps ``policy show`` and ``policy approve`` (``xlexec policy show|approve``).

``show`` compares the config's effective policy with the policy in force in the journal (read
only: nothing is recorded). ``approve`` records the config's policy as in force, approved by a
named approver with a reason, by the rules of the policy in force (``approvers``,
``require_four_eyes``); see :mod:`xlexec.store.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlexec.steps.context import Context
from xlexec.store import policy as store
from xlexec.store.journal import current_user, journal_exists, open_journal


@dataclass
class PolicyShowResult:
    """The config's policy, the policy in force (journal payload, None before first use) and
    the keys in which the config is looser (pending approval)."""

    standing: store.Standing
    in_force: dict[str, Any] | None
    source: str
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        st = self.standing
        return {
            "config": self.source,
            "policy_sha256": st.current_sha256,
            "policy": st.current,
            "in_force_sha256": (self.in_force or {}).get("policy_sha256"),
            "in_force": self.in_force,
            "loosened": st.loosened,
            "changes": st.changes,
            "proposed_by": st.proposed_by,
            "approve_command": store.approve_command(self.source) if st.loosened else None,
        }


def show(ctx: Context) -> PolicyShowResult:
    """The effective policy of ``ctx.config`` against the journal's policy in force (read only)."""
    policy = store.effective_policy(ctx.config)
    if not journal_exists(ctx.live_dir):
        return PolicyShowResult(store.Standing(policy, None), None, ctx.config.source)
    with open_journal(ctx.live_dir) as jr:
        st = store.standing(jr, policy, day=ctx.today(), record=False)
        return PolicyShowResult(st, store.in_force(jr), ctx.config.source)


@dataclass
class PolicyApproveResult:
    """What ``policy approve`` did: the event journaled (None: nothing was loosened, the config's
    policy is in force), the keys it loosened and the new policy in force's sha256."""

    policy_sha256: str
    event: dict[str, Any] | None
    loosened: list[str]
    changes: list[str]
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "policy_sha256": self.policy_sha256,
            "approved": self.event is not None,
            "loosened": self.loosened,
            "changes": self.changes,
            "approver": (self.event or {}).get("approver"),
            "approver_login": (self.event or {}).get("login"),
            "proposed_by": (self.event or {}).get("proposed_by"),
            "reason": (self.event or {}).get("reason"),
        }


def approve(ctx: Context, *, approver: str, reason: str) -> PolicyApproveResult:
    """Record the config's policy as in force (:func:`xlexec.store.policy.approve_policy`)."""
    policy = store.effective_policy(ctx.config)
    st, event = store.approve_policy(
        ctx.journal(), policy, day=ctx.today(), approver=approver, reason=reason, now=ctx.now(), login=current_user()
    )
    return PolicyApproveResult(st.current_sha256, event, st.loosened, st.changes)

"""The words of a denial, as AWS's newer AccessDenied messages put them.

IAM User Guide, "Troubleshoot access denied error messages" → "Access denied error message
examples": an implicit denial reads "… because no <policy type> allows the <action> action", an
explicit one "… with an explicit deny in a <policy type>". ``Decision.reason`` holds the clause
without its connective ("no identity-based policy allows the s3:GetObject action", "explicit deny
in a permissions boundary"); :func:`denial_clause` adds it back.
"""

from __future__ import annotations

from monban.policy.types import Decision

__all__ = ["denial_clause", "explicit_reason", "implicit_reason"]

_POLICY_TYPE = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "service control policy",
}

_WITH_ARTICLE = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
    "scp": "a service control policy",
}


def implicit_reason(stage: str, action: str, trust: bool = False) -> str:
    """The implicit-deny clause: "no identity-based policy allows the s3:GetObject action" and its
    siblings; the resource stage of sts:AssumeRole is the role trust policy."""
    policy_type = "role trust policy" if trust and stage == "resource" else _POLICY_TYPE[stage]
    return f"no {policy_type} allows the {action} action"


def explicit_reason(stage: str, trust: bool = False) -> str:
    """The explicit-deny clause: "explicit deny in a permissions boundary" and its siblings
    ("explicit deny in the role trust policy")."""
    if trust and stage == "resource":
        return "explicit deny in the role trust policy"
    return f"explicit deny in {_WITH_ARTICLE[stage]}"


def denial_clause(decision: Decision) -> str:
    """The tail of an AccessDenied message: " because no …" or " with an explicit deny in …";
    empty for an allowed decision or one without a reason."""
    if decision.reason is None:
        return ""
    if decision.decision == "explicitDeny":
        return f" with an {decision.reason}"
    return f" because {decision.reason}"

"""The engine's plain values: who asks (``Principal``) and the answer (``Decision`` with the
statements that applied). They import nothing of the engine; the question itself
(``AuthzRequest``, ``PolicySet``) is in ``monban.policy.request``, above the compiled policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

PrincipalType = Literal["Account", "User", "AssumedRole", "FederatedUser", "Service", "Anonymous"]
DecisionWord = Literal["allowed", "explicitDeny", "implicitDeny"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. For a role session ``arn`` is the session ARN
    (arn:aws:sts::<acct>:assumed-role/<role>/<session>) and ``role_arn`` the role's ARN
    (what aws:PrincipalArn and a resource policy naming the role see). ``unique_id`` is
    AIDA… for users, AROA…:<session> for sessions, the account id for root."""

    type: PrincipalType
    account: str
    arn: str
    unique_id: str
    role_arn: str | None = None
    service: str | None = None  # for Service principals, e.g. "ec2.amazonaws.com"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    """A statement that applied: which policy, its index in the document, its Sid, its effect."""

    policy: str
    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    stage: str  # "identity", "resource", "boundary", "session", "scp"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer with its reasons, in the EvalDecision words of IAM's simulate API.
    ``reason`` explains a denial the way AWS's AccessDenied messages do ("no identity-based
    policy allows the s3:GetObject action", "explicit deny in a permissions boundary", …)."""

    decision: DecisionWord
    matched: tuple[MatchedStatement, ...] = ()
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allowed"

"""The engine's input and output: who asks, for what, under which policies; and the Decision.

Owned by the evaluation stage (``monban.policy.evaluate``). The server builds these from the
store and the signed request; the CLI builds them from JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    from monban.policy.compiled import CompiledPolicy
    from monban.policy.context import RequestContext

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
class NamedPolicy:
    """A compiled document with the name that explanations use (a policy ARN, or
    ``user/alice/inline-name``-style for inline policies)."""

    name: str
    policy: CompiledPolicy


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The principal's applicable policies. ``session`` is None when the session carries no
    session policy; an empty tuple means "present and allows nothing". ``scps`` holds one tuple per
    organization level (root, OU…, account): each level must allow."""

    identity: tuple[NamedPolicy, ...] = ()
    boundary: NamedPolicy | None = None
    session: tuple[NamedPolicy, ...] | None = None
    scps: tuple[tuple[NamedPolicy, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """One authorization question. ``resource_policy`` is the bucket policy, or for
    sts:AssumeRole the role's trust policy (then ``is_trust_policy`` is True)."""

    principal: Principal
    action: str
    resource: str
    resource_account: str | None
    context: RequestContext
    resource_policy: NamedPolicy | None = None
    is_trust_policy: bool = False


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

"""The engine's question: who asks for what (``AuthzRequest``), under which policies (``PolicySet``).

Owned by the evaluation stage (``monban.policy.evaluate``). The server builds these from the
store and the signed request; the CLI builds them from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from monban.policy.compiled import NamedPolicy
from monban.policy.context import RequestContext
from monban.policy.types import Principal


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

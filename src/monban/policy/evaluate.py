"""Policy evaluation: one request, the caller's policies, and a :class:`Decision` with its reasons.

IAM User Guide, "Policy evaluation logic" ("How AWS enforcement code logic evaluates requests",
"Policy evaluation for requests within a single account", "Cross-account policy evaluation logic"):

1. an explicit Deny in any applicable policy — identity, resource (or role trust), permissions
   boundary, session, SCP — decides: explicit deny;
2. SCPs: every organization level must allow (they apply to every principal of a member account,
   its root user included);
3. a resource whose own policy must allow (role trust policies, KMS key policies: the table in
   ``monban.policy.resource_policies``) is denied unless that policy names the caller;
4. same account: an Allow in the identity policies or in the resource policy is enough; which
   principal the resource policy names matters — a user or session ARN stands on its own, the role
   ARN is still cut by an implicit deny in a permissions boundary or session policy, the account
   (id or ``:root``) delegates to the account's identity policies;
5. cross account: the caller's side (identity ∩ boundary ∩ session) and the resource policy must
   both allow;
6. a permissions boundary or session policy, when present, must allow.

The account root user is allowed by default within its own account: only SCPs and explicit denies
apply. Anonymous callers, AWS service principals and web identity / SAML callers have no identity
policies: the resource (trust) policy alone decides. Structure follows Cedar's authorizer: collect
the satisfied statements per stage, then one small table decides.
"""

from __future__ import annotations

from monban.policy.compiled import CompiledStatement, NamedPolicy
from monban.policy.context import RequestContext
from monban.policy.explain import explicit_reason, implicit_reason
from monban.policy.matching import PrincipalMatch, action_hit, has_identity_policies
from monban.policy.request import AuthzRequest, PolicySet
from monban.policy.resource_policies import required_resource_policy
from monban.policy.types import Decision, MatchedStatement, Principal

__all__ = ["evaluate"]

# One bit per (stage, effect) seen; an absent boundary or session policy counts as allowing.
_IDENTITY_ALLOW, _IDENTITY_DENY = 1, 2
_BOUNDARY_ALLOW, _BOUNDARY_DENY = 4, 8
_SESSION_ALLOW, _SESSION_DENY = 16, 32
_SCP_ALLOW, _SCP_DENY = 64, 128
_RESOURCE_DENY = 256
_SCP_GAP = 512  # some organization level has no Allow
_DENIES = _IDENTITY_DENY | _BOUNDARY_DENY | _SESSION_DENY | _SCP_DENY | _RESOURCE_DENY
_WITHOUT_IDENTITY = frozenset({"Anonymous", "Service", "FederatedUser"})  # may lack identity policies
_DENY_ORDER = (  # the stage an explicit-deny message names, in AWS's evaluation order
    (_SCP_DENY, "scp"),
    (_RESOURCE_DENY, "resource"),
    (_IDENTITY_DENY, "identity"),
    (_BOUNDARY_DENY, "boundary"),
    (_SESSION_DENY, "session"),
)


_NONE, _ACCOUNT, _ROLE, _DIRECT = (
    PrincipalMatch.NONE,
    PrincipalMatch.ACCOUNT,
    PrincipalMatch.ROLE,
    PrincipalMatch.DIRECT,
)


_Request = tuple[str, str, str, RequestContext, list[MatchedStatement]]
"""The request as the scanners read it: the lower-cased action, its service prefix, the resource
ARN, the context, and the list the applying statements are added to. A plain tuple: one is built
per decision, and a tuple costs a fraction of an object."""


def _scan(req: _Request, policies: tuple[NamedPolicy, ...], stage: str, allow: int, deny: int) -> int:
    """``allow``/``deny`` bits for the identity-side policies of one stage (no Principal element);
    each applying statement is added to the request's matched list."""
    flags = 0
    action, service, arn, ctx, matched = req
    for named in policies:
        policy = named.policy
        for exact, prefixes, globs, negate, statement in policy.by_service.get(service, policy.other):
            # action_hit(), inlined: exact names and prefixes decide almost every request
            hit = (
                action in exact
                or action.startswith(prefixes)
                or (bool(globs) and action_hit(exact, (), globs, action))
            )
            if hit is not negate and statement.applies(arn, ctx):
                matched.append(policy.explain(named.name, stage, statement))
                flags |= deny if statement.deny else allow
    return flags


def _scan_scps(req: _Request, levels: tuple[tuple[NamedPolicy, ...], ...]) -> int:
    """IAM User Guide, "SCP evaluation": every organization level must allow; a Deny anywhere denies."""
    flags = 0
    for level in levels:
        found = _scan(req, level, "scp", _SCP_ALLOW, _SCP_DENY)
        flags |= found if found & _SCP_ALLOW else found | _SCP_GAP
    return flags


def _scan_resource(
    req: _Request, named: NamedPolicy, principal: Principal, bounded: bool
) -> tuple[PrincipalMatch, int]:
    """The strongest way an applying Allow names the caller, and the deny bit."""
    best, flags = _NONE, 0
    action, service, arn, ctx, matched = req
    policy = named.policy
    for exact, prefixes, globs, negate, statement in policy.by_service.get(service, policy.other):
        if action_hit(exact, prefixes, globs, action) is negate:
            continue
        kind = _names(statement, principal, bounded)
        if kind is _NONE or not statement.applies(arn, ctx):
            continue
        matched.append(policy.explain(named.name, "resource", statement))
        if statement.deny:
            flags = _RESOURCE_DENY
        elif kind > best:
            best = kind
    return best, flags


def _names(statement: CompiledStatement, principal: Principal, bounded: bool) -> PrincipalMatch:
    """Does the statement's Principal/NotPrincipal cover the caller, and how?

    IAM User Guide, "NotPrincipal": a Deny with NotPrincipal always denies a principal that has a
    permissions boundary, whatever the element lists.
    """
    matcher = statement.principal
    if matcher is None:
        return _NONE
    if not statement.not_principal:
        return matcher.match(principal)
    if statement.deny and bounded:
        return _DIRECT
    excluded = matcher.excludes(principal, every=statement.deny)
    return _NONE if excluded else _DIRECT


def evaluate(request: AuthzRequest, policies: PolicySet) -> Decision:
    """Decide one request under the caller's policies (see the module docstring for the rules)."""
    action = request.action.lower()
    found: list[MatchedStatement] = []
    req = (action, action.partition(":")[0], request.resource, request.context, found)
    flags = _scan_scps(req, policies.scps) if policies.scps else 0
    named = _NONE
    if request.resource_policy is not None:
        bounded = policies.boundary is not None
        named, denied = _scan_resource(req, request.resource_policy, request.principal, bounded)
        flags |= denied
    flags |= _scan(req, policies.identity, "identity", _IDENTITY_ALLOW, _IDENTITY_DENY)
    boundary, session = policies.boundary, policies.session
    if boundary is None:
        flags |= _BOUNDARY_ALLOW
    else:
        flags |= _scan(req, (boundary,), "boundary", _BOUNDARY_ALLOW, _BOUNDARY_DENY)
    if session is None:
        flags |= _SESSION_ALLOW
    else:
        flags |= _scan(req, session, "session", _SESSION_ALLOW, _SESSION_DENY)
    matched = tuple(found)
    rule = required_resource_policy(request.action, request.resource)
    trust = request.is_trust_policy or (rule is not None and rule.trust)
    if flags & _DENIES:
        stage = next(stage for bit, stage in _DENY_ORDER if flags & bit)
        return Decision("explicitDeny", matched, explicit_reason(stage, trust))
    required = request.is_trust_policy or rule is not None
    gap = "scp" if flags & _SCP_GAP else _missing_allow(request, named, flags, required)
    if gap is None:
        return Decision("allowed", matched)
    return Decision("implicitDeny", matched, implicit_reason(gap, request.action, trust))


def _missing_allow(request: AuthzRequest, named: PrincipalMatch, flags: int, required: bool) -> str | None:
    """The stage that lacks a needed Allow, or None when the request is allowed. ``required``:
    the resource's own policy must name the caller (a role's trust policy, a KMS key policy).

    IAM User Guide, "Policy evaluation for requests within a single account" and "Cross-account
    policy evaluation logic"; reference §4 of monban's AWS notes.
    """
    principal = request.principal
    if principal.type in _WITHOUT_IDENTITY and not has_identity_policies(principal):
        return None if named else "resource"
    if required and not named:
        return "resource"
    cut = None if flags & _BOUNDARY_ALLOW else "boundary"
    if cut is None and not flags & _SESSION_ALLOW:
        cut = "session"
    own = None if flags & _IDENTITY_ALLOW or principal.type == "Account" else "identity"
    account = request.resource_account
    if account is not None and account != principal.account:  # cross-account: both sides
        return own or cut or (None if named else "resource")
    if named is _DIRECT:
        return None
    if named is _ROLE:
        return cut
    return own or cut

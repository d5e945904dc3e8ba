"""Authorization: the caller's compiled policy set, one call to ``policy.evaluate``, AccessDenied.

Compiled documents are shared by content (ReadOnlyAccess is compiled once per worker, whoever holds
it); a principal's policy set is cached per IAM generation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from monban.access.audit import denial_reason
from monban.access.context import request_context
from monban.access.principal import ANONYMOUS, Caller, RequestInfo
from monban.access.state import AppState, LruCache
from monban.policy import (
    AuthzRequest,
    Decision,
    MalformedPolicyDocument,
    NamedPolicy,
    PolicyKind,
    PolicySet,
    Principal,
    denial_clause,
    evaluate,
    load_policy,
)
from monban.policy.findings import action_keys, service_key
from monban.protocol.errors import AwsError
from monban.store import iam_read
from monban.store.iam_read import EntityPolicies, PolicyText

log = logging.getLogger("monban")

_COMPILED: LruCache[tuple[str, str, str], NamedPolicy] = LruCache(4096)

Loader = Callable[[str, PolicyKind, str], NamedPolicy]


def compiled(text: PolicyText, kind: PolicyKind, load: Loader = load_policy) -> NamedPolicy:
    """The compiled form of a stored document, shared by every principal that holds it.

    ``load`` compiles on a miss; stored trust policies use a loader that also accepts the unique
    ids IAM leaves where a trusted principal was deleted.
    """
    key = (text.name, text.document, kind.value)
    hit = _COMPILED.get(key)
    if hit is None:
        hit = load(text.document, kind, text.name)
        _COMPILED.put(key, hit)
    return hit


_DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'


def compiled_or_deny(text: PolicyText, kind: PolicyKind) -> NamedPolicy:
    """``compiled``, failing closed: a stored identity, boundary, session or SCP document that no
    longer compiles (written by an older, laxer monban) stands as a Deny of everything under its
    own name — dropping it could drop a Deny and so widen access."""
    try:
        return compiled(text, kind)
    except MalformedPolicyDocument as error:
        log.error("stored policy %s no longer compiles (%s): it denies everything", text.name, error.message)
        return load_policy(_DENY_ALL, PolicyKind.IDENTITY, f"{text.name} (invalid: denies everything)")


def _compile_all(texts: Sequence[PolicyText], kind: PolicyKind) -> tuple[NamedPolicy, ...]:
    return tuple(compiled_or_deny(text, kind) for text in texts)


def _entity_set(entity: EntityPolicies | None) -> PolicySet:
    if entity is None:
        return PolicySet()
    boundary = _compile_all([entity.boundary], PolicyKind.BOUNDARY) if entity.boundary else ()
    return PolicySet(
        identity=_compile_all(entity.identity, PolicyKind.IDENTITY),
        boundary=boundary[0] if boundary else None,
    )


_ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


def _session_set(state: AppState, caller: Caller, base: PolicySet) -> PolicySet:
    claims = caller.session
    if claims is None or (claims.session_policy is None and not claims.policy_arns):
        if claims is not None and claims.kind == "federated":  # GetFederationToken without a policy
            return PolicySet(base.identity, base.boundary, (), base.scps)  # "has no permissions"
        return base
    texts: list[PolicyText] = []
    if claims.session_policy is not None:
        texts.append(PolicyText(f"session/{claims.access_key_id}", claims.session_policy))
    if claims.policy_arns:
        texts += _managed_documents(state, claims.policy_arns)
    return PolicySet(base.identity, base.boundary, _compile_all(texts, PolicyKind.SESSION), base.scps)


def _managed_documents(state: AppState, arns: tuple[str, ...]) -> tuple[PolicyText, ...]:
    """The default versions of a session's policy ARNs, read once per IAM generation (not on
    every request); a policy deleted since the session began is left out (grants nothing)."""

    def load() -> tuple[PolicyText, ...]:
        with state.db.transaction() as session:
            docs = (iam_read.managed_document(session, arn) for arn in arns)
            return tuple(doc for doc in docs if doc is not None)

    return state.cached(("session-policy-arns", arns), load)


def _load_identity(state: AppState, caller: Caller) -> tuple[PolicySet, EntityPolicies | None]:
    p = caller.principal
    with state.db.transaction() as session:
        scps = tuple(
            _compile_all(level, PolicyKind.SCP)
            for level in iam_read.service_control_policies(session, p.account)
        )
        entity: EntityPolicies | None = None
        claims = caller.session
        if claims is not None and claims.kind == "role":
            entity = iam_read.role_policies(session, claims.principal_id)
        elif claims is not None and claims.kind == "federated":  # GetFederationToken: the user's
            if claims.principal_id == p.account:  # the root's: everything, cut by the session
                root = (load_policy(_ALLOW_ALL, PolicyKind.IDENTITY, f"{p.account}/root"),)
                return PolicySet(root, None, None, scps), None
            entity = iam_read.user_policies(session, claims.principal_id)
        elif caller.user_id is not None:
            entity = iam_read.user_policies(session, caller.user_id)
    base = _entity_set(entity)
    return PolicySet(base.identity, base.boundary, None, scps), entity


def policy_set(state: AppState, caller: Caller) -> PolicySet:
    """The caller's identity, boundary, session and SCP policies (cached per IAM generation)."""
    if caller.is_anonymous:
        return PolicySet()
    key = ("policy-set", caller.access_key_id or caller.arn)
    identity, entity = state.cached(key, lambda: _load_identity(state, caller))
    if caller.session is not None and caller.session.kind == "role" and entity is None:
        raise AwsError("InvalidClientTokenId", "The security token included in the request is invalid.")
    return _session_set(state, caller, identity)


def denial_message(caller: Caller, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording, with the newer reason: "… because no identity-based policy
    allows …" or "… with an explicit deny in …" (``policy.denial_clause``)."""
    who = caller.arn if not caller.is_anonymous else "anonymous"
    message = f"User: {who} is not authorized to perform: {action} on resource: {resource}"
    return message + denial_clause(decision)


def authorize(
    state: AppState,
    caller: Caller,
    info: RequestInfo,
    action: str,
    resource: str,
    *,
    resource_account: str | None = None,
    extra_context: Mapping[str, str | Sequence[str] | None] | None = None,
    resource_policy: NamedPolicy | None = None,
    is_trust_policy: bool = False,
) -> Decision:
    """Evaluate one request; raise AccessDenied unless allowed."""
    decision = decide(
        state,
        caller,
        info,
        action,
        resource,
        resource_account=resource_account,
        extra_context=extra_context,
        resource_policy=resource_policy,
        is_trust_policy=is_trust_policy,
    )
    if not decision.allowed:
        reason = denial_reason(action, resource, decision)
        raise AwsError("AccessDenied", denial_message(caller, action, resource, decision), reason=reason)
    return decision


def offered_keys(
    action: str,
    resource: str,
    extra: Mapping[str, str | Sequence[str] | None] | None,
    request_action: str | None = None,
) -> dict[str, str | Sequence[str] | None]:
    """The request's own condition keys as AWS offers them for ``action``.

    Service Authorization Reference: a service's key (``iam:PermissionsBoundary``,
    ``iam:ResourceTag/…``, ``sts:ExternalId``, ``s3:…``) is in the request context only for the
    actions it lists the key for (the action's own keys and its resource types'): any other is
    left out, so that no policy can match a key AWS would not give. An action authorized as part
    of another's request (sts:TagSession and sts:SetSourceIdentity within sts:AssumeRole:
    ``request_action``) sees that request's keys as well. ``aws:ResourceAccount`` is the
    account of the resource's ARN (IAM User Guide, "aws:ResourceAccount"), unless the caller of
    this function knows better (S3 ARNs name no account: the bucket owner is given).
    """
    values: dict[str, str | Sequence[str] | None] = {}
    fields = resource.split(":", 5)
    if len(fields) == 6 and len(fields[4]) == 12 and fields[4].isascii() and fields[4].isdigit():
        values["aws:ResourceAccount"] = fields[4]
    if extra:
        tables = [t for t in (action_keys(action), action_keys(request_action or action)) if t is not None]
        for key, value in extra.items():
            if not service_key(key) or any(table.has(key) for table in tables):
                values[key] = value
    return values


def decide(
    state: AppState,
    caller: Caller,
    info: RequestInfo,
    action: str,
    resource: str,
    *,
    resource_account: str | None = None,
    extra_context: Mapping[str, str | Sequence[str] | None] | None = None,
    resource_policy: NamedPolicy | None = None,
    is_trust_policy: bool = False,
    request_action: str | None = None,
) -> Decision:
    """The engine's Decision for one request, without raising (``request_action``: see
    :func:`offered_keys`)."""
    request = AuthzRequest(
        principal=caller.principal,
        action=action,
        resource=resource,
        resource_account=resource_account if resource_account is not None else caller.account,
        context=request_context(caller, info, offered_keys(action, resource, extra_context, request_action)),
        resource_policy=resource_policy,
        is_trust_policy=is_trust_policy,
    )
    return evaluate(request, policy_set(state, caller))


def decide_by_resource_policy(
    principal: Principal,
    info: RequestInfo,
    action: str,
    resource: str,
    resource_policy: NamedPolicy,
    extra_context: Mapping[str, str | Sequence[str] | None],
    claims: Mapping[str, str | Sequence[str] | None],
    request_action: str | None = None,
) -> Decision:
    """The Decision for a principal that holds no identity policies (a web identity: STS API
    reference, AssumeRoleWithWebIdentity is unsigned and "the role's trust policy" alone decides),
    with the request's keys as AWS offers them for ``action`` (:func:`offered_keys`) and the
    identity provider's ``claims`` as they are (IAM User Guide, "Available keys for AWS web
    identity federation": ``<provider>:sub``…, keys of the provider, of which the Service
    Authorization Reference names only some: not ``token.actions.githubusercontent.com:sub``)."""
    keys = offered_keys(action, resource, extra_context, request_action)
    keys.update(claims)
    request = AuthzRequest(
        principal=principal,
        action=action,
        resource=resource,
        resource_account=principal.account,
        context=request_context(ANONYMOUS, info, keys),
        resource_policy=resource_policy,
        is_trust_policy=True,
    )
    return evaluate(request, PolicySet())

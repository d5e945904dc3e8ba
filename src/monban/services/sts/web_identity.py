"""AssumeRoleWithWebIdentity: role credentials for the holder of an OpenID Connect ID token.

STS API reference, AssumeRoleWithWebIdentity: unsigned (no AWS credentials); RoleArn,
RoleSessionName (2–64), WebIdentityToken (4–20,000), ProviderId (OAuth 2.0 only), Policy,
PolicyArns, DurationSeconds (900–43,200, at most the role's MaxSessionDuration). The token is
verified first (``web_token``); then the role's trust policy decides, with the provider's ARN as
the ``Federated`` principal and the keys of "Available keys for AWS web identity federation":
``<provider>:aud``, ``:sub``, ``:amr``, ``:oaud``, for GitHub Actions also its documented claims
(``token.actions.githubusercontent.com:repository``, ``:job_workflow_ref``…), and
``sts:RoleSessionName``, ``aws:FederatedProvider``, ``aws:RequestTag/…`` and ``aws:TagKeys`` for
session tags from the token's ``https://aws.amazon.com/tags`` claim (which also need
``sts:TagSession``), ``sts:SourceIdentity`` from ``https://aws.amazon.com/source_identity``
(which needs ``sts:SetSourceIdentity``). A refusal is AccessDenied "Not authorized to perform
sts:AssumeRoleWithWebIdentity" (observed), also for a role that does not exist.

The answer adds ``SubjectFromWebIdentityToken`` (``sub``), ``Audience`` and ``Provider`` (for an
IAM OIDC provider its ARN, as AWS answers it for EKS and GitHub tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monban.access.authz import decide_by_resource_policy
from monban.policy import MalformedPolicyDocument, NamedPolicy, Principal
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.services.query import Operation, QueryCall, Result, register
from monban.services.sts import session_rules as rules
from monban.services.sts.assume_role import (
    MAX_DURATION,
    AssumeRoleRequest,
    managed_session_policies,
    policy_arn_checks,
    session_duration,
    trust_context,
)
from monban.services.sts.issue import (
    RoleRecord,
    RoleSessionSpec,
    assumed_role_user,
    find_role,
    parse_role_arn,
    role_session,
    trust_policy,
)
from monban.services.sts.validate import (
    ARN,
    SESSION_NAME,
    SESSION_POLICY,
    Violations,
    integer,
    tag_text_ok,
)
from monban.services.sts.web_token import (
    NOT_A_JWT,
    SOURCE_IDENTITY_CLAIM,
    TAGS_CLAIM,
    VerifiedToken,
    check_claims,
    find_provider,
    invalid,
    unverified,
    verify_signature,
)

OPERATIONS: dict[str, Operation] = {}

ACTION = "sts:AssumeRoleWithWebIdentity"
DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
GITHUB = "token.actions.githubusercontent.com"
COMMON_KEYS = ("aud", "sub", "amr", "oaud")
GITHUB_KEYS = (
    "actor", "actor_id", "base_ref", "enterprise", "enterprise_id", "environment", "event_name",
    "head_ref", "job_workflow_ref", "job_workflow_sha", "ref", "ref_protected", "ref_type",
    "repository", "repository_id", "repository_owner", "repository_owner_id", "repository_visibility",
    "run_attempt", "run_id", "run_number", "runner_environment", "sha", "workflow", "workflow_ref",
    "workflow_sha",
)  # fmt: skip


def read_request(params: QueryParams, floor: int) -> tuple[AssumeRoleRequest, str]:
    """Every constraint of botocore's AssumeRoleWithWebIdentityRequest shape, as an AssumeRole
    request (the parts they share) and the token."""
    checks, raw = Violations(), params.raw
    role_arn, name, token = raw.get("RoleArn"), raw.get("RoleSessionName"), raw.get("WebIdentityToken")
    checks.required(role_arn, "roleArn")
    checks.text(role_arn, "roleArn", low=20, high=2048, pattern=ARN)
    checks.required(name, "roleSessionName")
    checks.text(name, "roleSessionName", low=2, high=64, pattern=SESSION_NAME)
    checks.required(token, "webIdentityToken")
    checks.text(token, "webIdentityToken", low=4, high=20000)
    provider_id = raw.get("ProviderId")
    if provider_id is not None:
        checks.text(provider_id, "providerId", low=4, high=2048)
    policy_arns = policy_arn_checks(checks, params) if any(k.startswith("PolicyArns.") for k in raw) else ()
    policy = raw.get("Policy")
    if policy is not None:
        checks.text(policy, "policy", low=1, pattern=SESSION_POLICY)
    duration = integer(raw.get("DurationSeconds"), "durationSeconds")
    checks.number(duration, "durationSeconds", floor, MAX_DURATION)
    checks.raise_any()
    assert role_arn is not None and name is not None and token is not None
    request = AssumeRoleRequest(role_arn, name, duration, None, policy, policy_arns, (), (), None, None, None)
    return request, token


def _token_tags(claims: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Session tags of the ``https://aws.amazon.com/tags`` claim: ``principal_tags`` (each value a
    one-element list) and ``transitive_tag_keys`` (IAM User Guide, "Passing session tags using
    AssumeRoleWithWebIdentity")."""
    raw = claims.get(TAGS_CLAIM)
    if raw is None:
        return (), ()
    principal = raw.get("principal_tags", {}) if isinstance(raw, dict) else None
    transitive = raw.get("transitive_tag_keys", []) if isinstance(raw, dict) else None
    if not isinstance(principal, dict) or not isinstance(transitive, list) or len(principal) > 50:
        raise invalid("The session tags in the web identity token are not valid.")
    tags: list[tuple[str, str]] = []
    for key, values in principal.items():
        value = values[0] if isinstance(values, list) and len(values) == 1 else values
        if not isinstance(value, str) or not (1 <= len(key) <= 128 and tag_text_ok(key)):
            raise invalid("The session tags in the web identity token are not valid.")
        if len(value) > 256 or not tag_text_ok(value):
            raise invalid("The session tags in the web identity token are not valid.")
        tags.append((key, value))
    if not all(isinstance(k, str) for k in transitive):
        raise invalid("The session tags in the web identity token are not valid.")
    return rules.session_tags(tags, [str(k) for k in transitive], rules.NOTHING_INHERITED)


def _source_identity(claims: Mapping[str, Any]) -> str | None:
    value = claims.get(SOURCE_IDENTITY_CLAIM)
    if value is None:
        return None
    if not isinstance(value, str) or not 2 <= len(value) <= 64 or value.lower().startswith("aws:"):
        raise invalid("The source identity in the web identity token is not valid.")
    return value


def provider_keys(token: VerifiedToken) -> dict[str, str | list[str] | None]:
    """``<provider url>:<claim>`` for the claims AWS makes keys of (strings, or lists of them)."""
    url = token.provider.url
    names = COMMON_KEYS + (GITHUB_KEYS if url.split("/", 1)[0] == GITHUB else ())
    values: dict[str, str | list[str] | None] = {}
    for name in names:
        value = token.audience if name == "aud" else token.claims.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            values[f"{url}:{name}"] = str(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[f"{url}:{name}"] = list(value)
    return values


def _authorize(
    call: QueryCall, token: VerifiedToken, role: RoleRecord | None, values: dict[str, Any], actions: list[str]
) -> None:
    """The trust policy alone decides (a web identity holds no identity policies); sts:TagSession
    and sts:SetSourceIdentity see the keys of the AssumeRoleWithWebIdentity request too."""
    provider = token.provider
    principal = Principal("FederatedUser", provider.arn.split(":")[4], provider.arn, provider.arn)
    policy: NamedPolicy | None = None
    if role is not None:
        try:
            policy = trust_policy(role)
        except MalformedPolicyDocument:  # validated on write; a stale document trusts nobody
            policy = None
    if role is None or policy is None:
        raise AwsError("AccessDenied", DENIED)
    for action in actions:
        decision = decide_by_resource_policy(
            principal, call.info, action, role.arn, policy, values, provider_keys(token), ACTION
        )
        if not decision.allowed:
            raise AwsError("AccessDenied", DENIED)


def _verify(call: QueryCall, token_text: str, account: str) -> VerifiedToken:
    header, claims = unverified(token_text)
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise invalid(NOT_A_JWT)
    with call.read() as session:
        provider = find_provider(session, account, issuer)
    verify_signature(token_text, header, provider, call.state.settings.oidc_ca_bundle)
    return check_claims(claims, provider, int(call.info.now.timestamp()))


def _response(issued: Any, token: VerifiedToken, packed: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "SubjectFromWebIdentityToken": token.subject,
        "AssumedRoleUser": assumed_role_user(issued.claims),
    }
    if packed is not None:
        result["PackedPolicySize"] = packed
    result["Provider"] = token.provider.arn
    result["Audience"] = token.audience
    if issued.claims.source_identity:
        result["SourceIdentity"] = issued.claims.source_identity
    return result


@register(OPERATIONS, "AssumeRoleWithWebIdentity", anonymous=True)
def assume_role_with_web_identity(call: QueryCall) -> Result:
    """STS AssumeRoleWithWebIdentity (see the module docstring for the order of checks)."""
    request, token_text = read_request(call.params, call.state.settings.min_session_seconds)
    parsed = parse_role_arn(request.role_arn)
    if parsed is None:
        raise AwsError("ValidationError", "Request ARN is invalid")
    token = _verify(call, token_text, parsed[0])
    tags, transitive = _token_tags(token.claims)
    source = _source_identity(token.claims)
    policy = rules.session_policy(request.policy)
    with call.read() as session:
        role = find_role(session, request.role_arn)
    values: dict[str, Any] = trust_context(request, role, tags, transitive, source)
    values["aws:FederatedProvider"] = token.provider.arn
    actions = [ACTION] + (["sts:TagSession"] if tags else []) + (["sts:SetSourceIdentity"] if source else [])
    _authorize(call, token, role, values, actions)
    assert role is not None  # _authorize refused otherwise
    duration = session_duration(request, role, chained=False)
    arns = managed_session_policies(call, request.policy_arns, role.account)
    packed = rules.packed_policy_size(policy, arns, tags)
    spec = RoleSessionSpec(
        session_name=request.session_name,
        issued_at=int(call.info.now.timestamp()),
        duration=duration,
        session_policy=policy,
        policy_arns=arns,
        tags=tags,
        transitive_tag_keys=transitive,
        source_identity=source,
        caller_arn=token.provider.arn,
        federated_provider=token.provider.arn,
    )
    return _response(role_session(call.state.token_key(), role, spec), token, packed)

"""AssumeRole: real temporary credentials for a role (reference §1, §4).

Order of checks: parameter constraints (all reported together), root refused, session tags and
source identity against the calling session's chain, the session policy document, then the
trust decision — ``sts:AssumeRole``, plus ``sts:TagSession`` when the session gets tags and
``sts:SetSourceIdentity`` when it gets a source identity, each evaluated by the engine with the
trust policy as resource policy — then duration against MaxSessionDuration and the chaining cap,
the managed session policies, the packed size, MFA. A role that does not exist is denied exactly
as one whose trust policy names nobody: existence is never revealed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from monban.access.audit import denial_reason
from monban.access.authz import decide, denial_message
from monban.access.context import base_context
from monban.policy import MalformedPolicyDocument, NamedPolicy
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.services.query import Operation, QueryCall, Result, register
from monban.services.sts import session_rules as rules
from monban.services.sts.decode import encode_denial, with_encoded_message
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
    EXTERNAL_ID,
    SESSION_NAME,
    SESSION_POLICY,
    TAG_KEY_PATTERN,
    TAG_VALUE_PATTERN,
    Violations,
    integer,
    mfa_fields,
    tag_text_ok,
)

OPERATIONS: dict[str, Operation] = {}

ASSUME = "sts:AssumeRole"
MAX_DURATION = 43200
CHAIN_LIMIT = 3600
DEFAULT_DURATION = 3600
CHAIN_MESSAGE = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
)
MAX_SESSION_MESSAGE = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


class AssumeRoleRequest(NamedTuple):
    """AssumeRole's parameters after the model's constraints (a NamedTuple: built on every
    request, it costs a third of a frozen dataclass)."""

    role_arn: str
    session_name: str
    duration: int | None
    external_id: str | None
    policy: str | None
    policy_arns: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    transitive: tuple[str, ...]
    source_identity: str | None
    serial: str | None
    token_code: str | None


def tag_checks(checks: Violations, params: QueryParams) -> tuple[tuple[str, str], ...]:
    raw = params.member_structs("Tags")
    if len(raw) > 50:
        checks.add(f"[{len(raw)} tags]", "tags", "have length less than or equal to 50")
    tags = []
    for n, item in enumerate(raw, 1):
        key, value = item.get("Key"), item.get("Value")
        checks.required(key, f"tags.{n}.member.key")
        checks.required(value, f"tags.{n}.member.value")
        if key is not None:
            if not key or not tag_text_ok(key):
                checks.add(
                    key, f"tags.{n}.member.key", f"satisfy regular expression pattern: {TAG_KEY_PATTERN}"
                )
            checks.text(key, f"tags.{n}.member.key", low=1, high=128)
        if value is not None:
            if not tag_text_ok(value):
                checks.add(
                    value,
                    f"tags.{n}.member.value",
                    f"satisfy regular expression pattern: {TAG_VALUE_PATTERN}",
                )
            checks.text(value, f"tags.{n}.member.value", low=0, high=256)
        if key is not None and value is not None:
            tags.append((key, value))
    return tuple(tags)


def _transitive_checks(checks: Violations, params: QueryParams) -> tuple[str, ...]:
    keys = params.members("TransitiveTagKeys")
    if len(keys) > 50:
        checks.add(f"[{len(keys)} keys]", "transitiveTagKeys", "have length less than or equal to 50")
    for n, key in enumerate(keys, 1):
        if not key or not tag_text_ok(key):
            checks.add(
                key, f"transitiveTagKeys.{n}.member", f"satisfy regular expression pattern: {TAG_KEY_PATTERN}"
            )
        checks.text(key, f"transitiveTagKeys.{n}.member", low=1, high=128)
    return tuple(keys)


def policy_arn_checks(checks: Violations, params: QueryParams) -> tuple[str, ...]:
    arns = []
    for n, item in enumerate(params.member_structs("PolicyArns"), 1):
        arn = item.get("arn")
        member = f"policyArns.{n}.member.arn"
        checks.required(arn, member)
        checks.text(arn, member, low=20, high=2048, pattern=ARN)
        if arn is not None:
            arns.append(arn)
    return tuple(arns)


def _list_names(raw: Mapping[str, str]) -> set[str]:
    """The names of the list parameters present (``Tags`` of ``Tags.member.1.Key``…)."""
    return {key.partition(".")[0] for key in raw if "." in key}


def read_request(params: QueryParams, floor: int) -> AssumeRoleRequest:
    """Every constraint of botocore's AssumeRoleRequest shape; DurationSeconds's floor is
    ``--min-session-seconds`` (AWS: 900)."""
    checks, raw = Violations(), params.raw
    lists = _list_names(raw)  # the list parsers scan every parameter: run only those present
    role_arn, name = raw.get("RoleArn"), raw.get("RoleSessionName")
    checks.required(role_arn, "roleArn")
    checks.text(role_arn, "roleArn", low=20, high=2048, pattern=ARN)
    checks.required(name, "roleSessionName")
    checks.text(name, "roleSessionName", low=2, high=64, pattern=SESSION_NAME)
    policy_arns = policy_arn_checks(checks, params) if "PolicyArns" in lists else ()
    policy = raw.get("Policy")
    if policy is not None:  # optional members are checked only when present (fewer calls)
        checks.text(policy, "policy", low=1, pattern=SESSION_POLICY)
    duration = integer(raw.get("DurationSeconds"), "durationSeconds")
    checks.number(duration, "durationSeconds", floor, MAX_DURATION)
    tags = tag_checks(checks, params) if "Tags" in lists else ()
    transitive = _transitive_checks(checks, params) if "TransitiveTagKeys" in lists else ()
    external_id = raw.get("ExternalId")
    if external_id is not None:
        checks.text(external_id, "externalId", low=2, high=1224, pattern=EXTERNAL_ID)
    serial, code = raw.get("SerialNumber"), raw.get("TokenCode")
    if serial is not None or code is not None:
        mfa_fields(checks, serial, code)
    source = raw.get("SourceIdentity")
    if source is not None:
        checks.text(source, "sourceIdentity", low=2, high=256, pattern=SESSION_NAME)
    checks.raise_any()
    assert role_arn is not None and name is not None  # required() reported them otherwise
    return AssumeRoleRequest(
        role_arn, name, duration, external_id, policy, policy_arns, tags, transitive, source, serial, code
    )


@dataclass(frozen=True, slots=True)
class TrustedRole:
    """A role and its compiled trust policy (None when the stored document no longer compiles:
    validated on write, a stale document trusts nobody). Kept together so that a request does
    not look the compiled policy up again by its name and document."""

    record: RoleRecord
    policy: NamedPolicy | None


def cached_role(call: QueryCall, role_arn: str) -> TrustedRole | None:
    """The role an ARN names with its compiled trust policy, memoised for the current IAM
    generation (any IAM write, such as UpdateAssumeRolePolicy or DeleteRole, starts a new
    generation)."""

    def load() -> TrustedRole | bool:
        with call.read() as session:
            role = find_role(session, role_arn)
        return TrustedRole(role, _trust_policy(role)) if role is not None else False

    found = call.state.cached(("sts-trusted-role", role_arn), load)
    return found if isinstance(found, TrustedRole) else None


def trust_context(
    request: AssumeRoleRequest,
    role: RoleRecord | None,
    tags: tuple[tuple[str, str], ...],
    transitive: tuple[str, ...],
    source: str | None,
) -> dict[str, str | list[str] | None]:
    """The keys a trust policy sees (reference §6): sts:ExternalId, sts:RoleSessionName,
    sts:SourceIdentity, aws:RequestTag/…, aws:TagKeys, sts:TransitiveTagKeys and the role's tags
    as aws:ResourceTag/… and iam:ResourceTag/… (Service Authorization Reference, STS: AssumeRole
    lists iam:ResourceTag/${TagKey}; its resource type ``role`` both)."""
    values: dict[str, str | list[str] | None] = {
        "sts:RoleSessionName": request.session_name,
        "sts:ExternalId": request.external_id,
        "sts:SourceIdentity": source,
    }
    for key, value in tags:
        values[f"aws:RequestTag/{key}"] = value
    if tags:
        values["aws:TagKeys"] = [k for k, _v in tags]
    if transitive:
        values["sts:TransitiveTagKeys"] = list(transitive)
    for key, value in role.tags if role is not None else ():
        values[f"aws:ResourceTag/{key}"] = value
        values[f"iam:ResourceTag/{key}"] = value
    return values


def _trust_policy(role: RoleRecord) -> NamedPolicy | None:
    try:
        return trust_policy(role)
    except MalformedPolicyDocument:
        return None  # validated on write; a stale document trusts nobody


def authorize_trust(
    call: QueryCall,
    request: AssumeRoleRequest,
    account: str,
    policy: NamedPolicy | None,
    values: dict[str, str | list[str] | None],
    actions: tuple[str, ...],
) -> None:
    """Each action against the role of ``account``, its trust ``policy`` as resource policy
    (reference §4); AccessDenied with AWS's wording and an encoded authorization message
    otherwise."""
    for action in actions:
        decision = decide(
            call.state,
            call.caller,
            call.info,
            action,
            request.role_arn,
            resource_account=account,
            extra_context=values,
            resource_policy=policy,
            is_trust_policy=True,
            request_action=ASSUME,
        )
        if decision.allowed:
            continue
        message = denial_message(call.caller, action, request.role_arn, decision)
        shown = {**base_context(call.caller, call.info), **values}
        blob = encode_denial(call.state, call.caller, action, request.role_arn, decision, shown)
        reason = denial_reason(action, request.role_arn, decision)
        raise AwsError("AccessDenied", with_encoded_message(message, blob), reason=reason)


def session_duration(request: AssumeRoleRequest, role: RoleRecord, chained: bool) -> int:
    """DurationSeconds: default one hour; at most the role's MaxSessionDuration; at most one hour
    when role chaining."""
    if request.duration is None:
        return DEFAULT_DURATION
    if chained and request.duration > CHAIN_LIMIT:
        raise AwsError("ValidationError", CHAIN_MESSAGE)
    if request.duration > role.max_session_duration:
        raise AwsError("ValidationError", MAX_SESSION_MESSAGE)
    return request.duration


def managed_session_policies(call: QueryCall, arns: tuple[str, ...], role_account: str) -> tuple[str, ...]:
    """PolicyArns checked against the store (no database access when there are none)."""
    if not arns:
        return ()
    with call.read() as session:
        return rules.policy_arns(session, arns, role_account)


def _actions(tags: tuple[tuple[str, str], ...], source: str | None) -> tuple[str, ...]:
    actions = ["sts:AssumeRole"]
    if tags:
        actions.append("sts:TagSession")
    if source is not None:
        actions.append("sts:SetSourceIdentity")
    return tuple(actions)


def _response(issued_claims: Any, token_credentials: dict[str, Any], packed: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if issued_claims.source_identity:
        result["SourceIdentity"] = issued_claims.source_identity
    result["AssumedRoleUser"] = assumed_role_user(issued_claims)
    result["Credentials"] = token_credentials
    if packed is not None:
        result["PackedPolicySize"] = packed
    return result


@register(OPERATIONS, "AssumeRole", inline=True)
def assume_role(call: QueryCall) -> Result:
    """STS AssumeRole (API reference; reference §1)."""
    request = read_request(call.params, call.state.settings.min_session_seconds)
    if call.caller.is_root:
        raise AwsError("AccessDenied", "Roles may not be assumed by root accounts.")
    parsed = parse_role_arn(request.role_arn)
    if parsed is None:
        raise AwsError("ValidationError", "Request ARN is invalid")
    chain = rules.inherited(call.caller.session)
    tags, transitive = rules.session_tags(request.tags, request.transitive, chain)
    source = rules.source_identity(request.source_identity, chain)
    policy = rules.session_policy(request.policy)
    mfa_at = rules.verify_mfa(request.serial, request.token_code)
    trusted = cached_role(call, request.role_arn)
    role = trusted.record if trusted is not None else None
    values = trust_context(request, role, tags, transitive, source)
    if mfa_at is not None:
        values["aws:MultiFactorAuthPresent"] = "true"
        values["aws:MultiFactorAuthAge"] = str(max(0, int(call.info.now.timestamp()) - mfa_at))
    trust = trusted.policy if trusted is not None else None
    authorize_trust(call, request, parsed[0], trust, values, _actions(tags, source))
    if role is None:  # never reached: a missing role has no trust policy to allow it
        raise AwsError(
            "AccessDenied", f"User: {call.caller.arn} is not authorized to perform: sts:AssumeRole"
        )
    duration = session_duration(request, role, chain.chained)
    arns = managed_session_policies(call, request.policy_arns, role.account)
    packed = rules.packed_policy_size(policy, arns, tags)
    now = int(call.info.now.timestamp())
    spec = RoleSessionSpec(
        session_name=request.session_name,
        issued_at=now,
        duration=duration,
        session_policy=policy,
        policy_arns=arns,
        tags=tags,
        transitive_tag_keys=transitive,
        source_identity=source,
        chained=chain.chained,
        caller_arn=call.caller.arn,
        mfa_authenticated_at=mfa_at,
    )
    issued = role_session(call.state.token_key(), role, spec)
    return _response(issued.claims, issued.credentials(), packed)

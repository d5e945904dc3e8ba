"""The request context keys of IAM's global condition keys (reference §6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from monban.access.principal import Caller, RequestInfo
from monban.policy.context import RequestContext
from monban.protocol.xml import utc_text

ContextValues = dict[str, str | Sequence[str] | None]


def _principal_keys(caller: Caller, values: ContextValues) -> None:
    p = caller.principal
    if caller.is_anonymous:
        return
    values["aws:PrincipalAccount"] = p.account
    values["aws:PrincipalType"] = p.type
    values["aws:userid"] = p.unique_id
    values["aws:PrincipalArn"] = p.role_arn or p.arn
    if p.type == "User":
        values["aws:username"] = p.arn.rsplit("/", 1)[-1]
    for key, value in p.tags.items():
        values[f"aws:PrincipalTag/{key}"] = value
    if p.tags:
        values["aws:PrincipalTagKeys"] = list(p.tags)


def _session_keys(caller: Caller, values: ContextValues) -> None:
    claims = caller.session
    if claims is None:
        return
    values["aws:TokenIssueTime"] = claims.issue_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    mfa = claims.mfa_authenticated_at is not None
    values["aws:MultiFactorAuthPresent"] = "true" if mfa else "false"
    if claims.mfa_authenticated_at is not None:
        values["aws:MultiFactorAuthAge"] = str(max(0, int(claims.issued_at - claims.mfa_authenticated_at)))
    if claims.source_identity:
        values["aws:SourceIdentity"] = claims.source_identity
    provider = claims.extra.get("federated_provider")
    if provider:  # a web identity session (IAM User Guide, "aws:FederatedProvider")
        values["aws:FederatedProvider"] = provider
    if claims.kind == "role" and claims.instance_profile:
        # instance credentials (EC2 User Guide, "IAM roles for Amazon EC2"; IAM User Guide, global
        # condition keys): ec2:SourceInstanceARN, aws:EC2InstanceSourceVPC,
        # aws:EC2InstanceSourcePrivateIPv4 and ec2:RoleDelivery, sealed into the session
        values.update({key: value for key, value in claims.extra.items() if ":" in key})


def base_context(caller: Caller, info: RequestInfo) -> ContextValues:
    """The keys every request carries, from the caller and the HTTP request."""
    values: ContextValues = {
        "aws:CurrentTime": info.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(info.now.timestamp())),
        "aws:SecureTransport": "true" if info.secure else "false",
        "aws:SourceIp": info.source_ip,
        "aws:RequestedRegion": info.region,
        "aws:UserAgent": info.user_agent,
        "aws:ViaAWSService": "false",
    }
    _principal_keys(caller, values)
    _session_keys(caller, values)
    values.update(info.extra_context)
    return values


Normalized = dict[str, tuple[str, ...]]
_TRUE, _FALSE = ("true",), ("false",)


def _merge(values: Normalized, more: Mapping[str, str | Sequence[str] | None]) -> None:
    """Add ``more`` to normalised ``values``: keys lower-cased, a None value removes the key."""
    for key, value in more.items():
        name = key.lower()
        if value is None:
            values.pop(name, None)
        else:
            values[name] = (value,) if isinstance(value, str) else tuple(value)


def caller_keys(caller: Caller) -> Normalized:
    """The caller's principal and session keys, normalised once per ``Caller`` (authentication
    reuses a Caller across requests within an IAM generation) and kept on it."""
    keys = caller.context_keys
    if keys is None:
        values: ContextValues = {}
        _principal_keys(caller, values)
        _session_keys(caller, values)
        keys = {}
        _merge(keys, values)
        object.__setattr__(caller, "context_keys", keys)  # a memo on an immutable Caller
    return keys


def _time_keys(now: datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """aws:CurrentTime and aws:EpochTime."""
    second = int(now.timestamp())
    return (utc_text(second),), (str(second),)


def request_context(
    caller: Caller, info: RequestInfo, extra: Mapping[str, str | Sequence[str] | None] | None = None
) -> RequestContext:
    """The same keys as ``base_context`` plus ``extra``, built from the caller's normalised keys
    (the per-request part is seven keys)."""
    values = dict(caller_keys(caller))
    values["aws:currenttime"], values["aws:epochtime"] = _time_keys(info.now)
    values["aws:securetransport"] = _TRUE if info.secure else _FALSE
    values["aws:sourceip"] = (info.source_ip,)
    values["aws:requestedregion"] = (info.region,)
    values["aws:useragent"] = (info.user_agent,)
    values["aws:viaawsservice"] = _FALSE
    if info.extra_context:
        _merge(values, info.extra_context)
    if extra:
        _merge(values, extra)
    return RequestContext.of_normalized(values)

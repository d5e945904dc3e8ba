"""The request context keys of IAM's global condition keys (reference §6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monban.policy.context import RequestContext
from monban.server.principal import Caller, RequestInfo

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
    if claims.kind == "role" and claims.instance_profile:
        values["ec2:RoleDelivery"] = "2.0"


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


def request_context(
    caller: Caller, info: RequestInfo, extra: Mapping[str, str | Sequence[str] | None] | None = None
) -> RequestContext:
    values = base_context(caller, info)
    if extra:
        values.update(extra)
    return RequestContext(values)

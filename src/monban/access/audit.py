"""Audit records in CloudTrail's shape (AWS CloudTrail User Guide, "CloudTrail record contents").

The request path builds an ``AuditCall`` (references only: the caller, the request's facts, its
parameters, its result or error) and queues it; the audit thread turns it into the record
(``cloudtrail_record``). What is never written: secret access keys, session tokens, passwords,
private keys, MFA codes, web identity tokens and SAML assertions (their place holds
``HIDDEN_DUE_TO_SECURITY_REASONS``, CloudTrail's own word for a value it withholds). Read-only calls
carry no ``responseElements`` (CloudTrail records null for them) but those that issue credentials.
A denial carries monban's reason in ``additionalEventData.denial``: the decision, the stage, and the
statements that decided it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monban.access.principal import Caller, RequestInfo
from monban.policy import Decision
from monban.protocol.errors import AwsError

EVENT_VERSION = "1.09"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
# request or response members that are secrets, compared lower-cased
SECRETS = frozenset(
    {
        "secretaccesskey",
        "sessiontoken",
        "password",
        "oldpassword",
        "newpassword",
        "privatekey",
        "tokencode",
        "webidentitytoken",
        "samlassertion",
        "authenticationcode1",
        "authenticationcode2",
    }
)
READ_PREFIXES = ("Get", "List", "Describe", "Simulate", "Lookup", "Head", "Decode", "AssumeRole")
# read-only calls whose answer CloudTrail still records: those that issue credentials (their
# credentials' key id and expiry; the secret and the token never)
ISSUING = ("AssumeRole", "GetSessionToken", "GetFederationToken")
_IDENTITY_TYPES = {
    "Account": "Root",
    "User": "IAMUser",
    "AssumedRole": "AssumedRole",
    "FederatedUser": "FederatedUser",
}
_ISSUER_TYPES = {"role": "Role", "user": "IAMUser", "federated": "IAMUser", "root": "Root"}


@dataclass(frozen=True, slots=True)
class AuditCall:
    """What the request path hands the audit thread (no work beyond collecting references)."""

    source: str  # "iam", "sts", "s3", "cloudtrail"
    name: str  # the API's operation name
    info: RequestInfo
    caller: Caller | None
    access_key_id: str | None
    params: Mapping[str, Any]
    result: Any = None
    error: AwsError | None = None
    data_event: bool = False
    recipient: str | None = None  # the resource's account, when not the caller's
    extra: Mapping[str, Any] = field(default_factory=dict)


def denial_reason(action: str, resource: str, decision: Decision) -> dict[str, object]:
    """monban's reason for an AccessDenied: which policies' statements decided it, at which stage."""
    return {
        "action": action,
        "resource": resource,
        "decision": decision.decision,
        "reason": decision.reason,
        "statements": [
            {"policy": m.policy, "sid": m.sid, "index": m.index, "effect": m.effect, "stage": m.stage}
            for m in decision.matched
        ],
    }


_CAMEL: dict[str, str] = {}


def lower_camel(name: str) -> str:
    """``UserName`` → ``userName`` (memoised: the same few hundred member names recur)."""
    camel = _CAMEL.get(name)
    if camel is None:
        camel = name[:1].lower() + name[1:]
        if len(_CAMEL) < 4096:
            _CAMEL[name] = camel
    return camel


def scrub(value: Any) -> Any:
    """``value`` with lower-camel member names and every secret member hidden."""
    if isinstance(value, dict | Mapping):
        return {
            lower_camel(str(k)): HIDDEN if str(k).lower() in SECRETS else scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, datetime):
        return _time(value)
    return value


def _time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_id() -> str:
    """A random (version 4) UUID, as CloudTrail's eventID and the JSON protocol's request ids."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def user_identity(caller: Caller | None, access_key_id: str | None) -> dict[str, Any]:
    """CloudTrail's userIdentity element ("CloudTrail userIdentity element")."""
    if caller is None:  # not authenticated: all that is known is the key it named
        return {"type": "Unknown", "accessKeyId": access_key_id or ""}
    p = caller.principal
    if caller.is_anonymous:
        return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    identity: dict[str, Any] = {
        "type": _IDENTITY_TYPES.get(p.type, p.type),
        "principalId": p.unique_id,
        "arn": p.arn,
        "accountId": p.account,
        "accessKeyId": caller.access_key_id or "",
    }
    claims = caller.session
    if p.type == "User" and claims is None:
        identity["userName"] = p.arn.rsplit("/", 1)[-1]
    if claims is not None:
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": _ISSUER_TYPES.get(claims.kind, "Role"),
                "principalId": claims.principal_id,
                "arn": claims.principal_arn,
                "accountId": claims.account,
                "userName": claims.principal_name,
            },
            "attributes": {
                "creationDate": _time(claims.issue_time),
                "mfaAuthenticated": "true" if claims.mfa_authenticated_at is not None else "false",
            },
        }
        if claims.source_identity is not None:
            context["sourceIdentity"] = claims.source_identity
        identity["sessionContext"] = context
    return identity


def _read_only(name: str) -> bool:
    return name.startswith(READ_PREFIXES)


def cloudtrail_records(call: AuditCall) -> list[dict[str, Any]]:
    """The record of one call; two sharing a ``sharedEventID`` when it crossed accounts (CloudTrail
    logs such a call in the caller's account and in the resource's)."""
    record = _record(call)
    own = record["userIdentity"].get("accountId") or ""
    recipient = call.recipient or own
    if call.recipient is None or recipient == own or not own.isdigit():
        record["recipientAccountId"] = recipient or None
        return [record]
    shared = event_id()
    other = {**record, "eventID": event_id(), "recipientAccountId": recipient, "sharedEventID": shared}
    record.update(recipientAccountId=own, sharedEventID=shared)
    return [record, other]


def _record(call: AuditCall) -> dict[str, Any]:
    info = call.info
    read_only = _read_only(call.name)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(call.caller, call.access_key_id),
        "eventTime": _time(info.now),
        "eventSource": f"{call.source}.amazonaws.com",
        "eventName": call.name,
        "awsRegion": info.region,
        "sourceIPAddress": info.source_ip,
        "userAgent": info.user_agent,
    }
    error = call.error
    if error is not None:
        record["errorCode"] = error.code
        record["errorMessage"] = error.message
    record["requestParameters"] = scrub(call.params) or None
    shown = error is None and (not read_only or call.name.startswith(ISSUING))
    record["responseElements"] = scrub(call.result) if shown else None
    extra = dict(call.extra)
    if error is not None and (error.code.startswith("AccessDenied") or error.code == "UnauthorizedOperation"):
        extra["denial"] = (
            dict(error.reason) if error.reason else {"stage": "request", "reason": error.message}
        )
    if extra:
        record["additionalEventData"] = extra
    record.update(
        requestID=info.request_id,
        eventID=event_id(),
        readOnly=read_only,
        eventType="AwsApiCall",
        managementEvent=not call.data_event,
        eventCategory="Data" if call.data_event else "Management",
    )
    return record

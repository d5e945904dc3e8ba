"""Audit records in CloudTrail's shape (AWS CloudTrail User Guide, "CloudTrail record contents").

The request path builds an ``AuditCall`` (references only: the caller, the request's facts, its
parameters, its result or error) and turns it into the record's JSON line (``audit_lines``: a few
microseconds, orjson writing the JSON); the audit thread (``store/audit_log.py``) only appends
lines to the file. What is never written: secret access keys, session tokens, passwords,
private keys, MFA codes, web identity tokens and SAML assertions (their place holds
``HIDDEN_DUE_TO_SECURITY_REASONS``, CloudTrail's own word for a value it withholds). Read-only calls
carry no ``responseElements`` (CloudTrail records null for them) but those that issue credentials.
A denial carries monban's reason in ``additionalEventData.denial``: the decision, the stage, and the
statements that decided it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

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
# a member name → (its lower-camel form, whether it is a secret); memoised: the same few hundred
# member names recur
_MEMBERS: dict[object, tuple[str, bool]] = {}
_MEMO_LIMIT = 4096


def lower_camel(name: str) -> str:
    """``UserName`` → ``userName`` (memoised: the same few hundred member names recur)."""
    camel = _CAMEL.get(name)
    if camel is None:
        camel = name[:1].lower() + name[1:]
        if len(_CAMEL) < _MEMO_LIMIT:
            _CAMEL[name] = camel
    return camel


def _member(name: object) -> tuple[str, bool]:
    found = _MEMBERS.get(name)
    if found is None:
        text = str(name)
        found = (lower_camel(text), text.lower() in SECRETS)
        if len(_MEMBERS) < _MEMO_LIMIT:
            _MEMBERS[name] = found
    return found


_PLAIN = frozenset({str, int, bool, float, type(None)})


def scrub(value: Any) -> Any:
    """``value`` with lower-camel member names and every secret member hidden."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict or (kind is not datetime and isinstance(value, Mapping)):
        scrubbed = {}
        for k, v in value.items():
            camel, secret = _MEMBERS.get(k) or _member(k)
            scrubbed[camel] = HIDDEN if secret else v if type(v) is str else scrub(v)
        return scrubbed
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, datetime):
        return _time(value)
    return value


_SECONDS: dict[float, str] = {}  # the seconds formatted lately: a busy server formats each many times


def _time(when: datetime) -> str:
    """``2026-01-31T12:00:00Z``."""
    second = when.timestamp() // 1
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= 256:
            _SECONDS.clear()
        text = _SECONDS[second] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def _uuid4(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


_IDS: list[str] = []  # event ids made ahead, 64 from each call of os.urandom


def event_id() -> str:
    """A random (version 4) UUID, as CloudTrail's eventID and the JSON protocol's request ids."""
    try:
        return _IDS.pop()  # atomic: no two callers get the same id
    except IndexError:
        h = os.urandom(16 * 64).hex()
        made = [_uuid4(h[i : i + 32]) for i in range(0, len(h), 32)]
        _IDS.extend(made[1:])
        return made[0]


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


def audit_lines(call: AuditCall) -> bytes:
    """The JSON line (two when the call crossed accounts) of one call's record."""
    return b"".join([_json(record) + b"\n" for record in cloudtrail_records(call)])


def _json(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record, default=str)
    except TypeError:  # orjson refuses a lone surrogate, a key not a string, an integer beyond 64 bits
        return json.dumps(record, separators=(",", ":"), default=str).encode()


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
    if error is not None and error.code.startswith("AccessDenied"):
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

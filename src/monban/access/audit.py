"""Audit records in CloudTrail's shape (AWS CloudTrail User Guide, "CloudTrail record contents").

The request path builds an ``AuditCall`` (references only: the caller, the request's facts, its
parameters, its result or error) and writes its raw facts as one line of JSON (``audit_facts``:
a tuple, one orjson call, no record built); each worker's audit writer process
(``access/audit_writer.py``) turns the facts into the record (``records_from_facts``) and
appends it to the trail. What is never written: secret access keys, session tokens, passwords,
private keys, MFA codes, web identity tokens and SAML assertions (their place holds
``HIDDEN_DUE_TO_SECURITY_REASONS``, CloudTrail's own word for a value it withholds). Read-only calls
carry no ``responseElements`` (CloudTrail records null for them) but those that issue credentials
(so the request path sends no result for them). A denial carries monban's reason in
``additionalEventData.denial``: the decision, the stage, and the statements that decided it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # the writer process imports this module: it needs none of these
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


# the facts of a call, in this order, as ``audit_facts`` writes them and ``records_from_facts``
# reads them: source, name, request id, time, source IP, user agent, region, the caller (``_who``),
# the access key id it named, the request parameters, the result (None when not recorded), the
# error (code, message, denial reason), data event, recipient account, additional event data
Facts = list[Any]
# datetimes as CloudTrail writes them: 2026-01-31T12:00:00Z (a naive one is UTC: the database's)
_FACT_OPTIONS = (
    orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC | orjson.OPT_PASSTHROUGH_DATACLASS
)


def audit_facts(call: AuditCall) -> bytes:
    """One line of JSON holding the call's raw facts (what the request path pays for its record)."""
    info, error = call.info, call.error
    shown = error is None and (not _read_only(call.name) or call.name.startswith(ISSUING))
    facts = (
        call.source,
        call.name,
        info.request_id,
        info.now,
        info.source_ip,
        info.user_agent,
        info.region,
        _who(call.caller),
        call.access_key_id,
        call.params if type(call.params) is dict else dict(call.params),
        call.result if shown else None,
        None if error is None else (error.code, error.message, dict(error.reason or {})),
        call.data_event,
        call.recipient,
        call.extra if type(call.extra) is dict else dict(call.extra),
    )
    try:
        return orjson.dumps(facts, default=_plain, option=_FACT_OPTIONS) + b"\n"
    except TypeError:  # orjson refuses a lone surrogate, a key not a string, an integer beyond 64 bits
        return json.dumps(facts, separators=(",", ":"), default=_plain).encode() + b"\n"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _time(value)
    return dict(value) if isinstance(value, Mapping) else str(value)


def _who(caller: Caller | None) -> tuple[Any, ...] | None:
    """What ``user_identity`` needs of the caller."""
    if caller is None:
        return None
    p, c = caller.principal, caller.session
    claims: tuple[Any, ...] | None = None
    if c is not None:
        mfa = c.mfa_authenticated_at is not None
        claims = (c.kind, c.principal_id, c.principal_arn, c.account, c.principal_name, c.issued_at, mfa)
        claims += (c.source_identity,)
    return (p.type, p.unique_id, p.arn, p.account, caller.access_key_id, claims)


def user_identity(who: Facts | None, access_key_id: str | None) -> dict[str, Any]:
    """CloudTrail's userIdentity element ("CloudTrail userIdentity element") of ``_who``'s facts."""
    if who is None:  # not authenticated: all that is known is the key it named
        return {"type": "Unknown", "accessKeyId": access_key_id or ""}
    kind, unique_id, arn, account, key, claims = who
    if kind == "Anonymous":
        return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    if kind == "Service":  # a service acting on a workload's behalf: EC2 for an instance role
        return {"type": "AWSService", "invokedBy": arn}
    identity: dict[str, Any] = {
        "type": _IDENTITY_TYPES.get(kind, kind),
        "principalId": unique_id,
        "arn": arn,
        "accountId": account,
        "accessKeyId": key or "",
    }
    if kind == "User" and claims is None:
        identity["userName"] = arn.rsplit("/", 1)[-1]
    if claims is not None:
        session, principal_id, principal_arn, session_account, name, issued_at, mfa, source = claims
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": _ISSUER_TYPES.get(session, "Role"),
                "principalId": principal_id,
                "arn": principal_arn,
                "accountId": session_account,
                "userName": name,
            },
            "attributes": {
                "creationDate": _time(datetime.fromtimestamp(issued_at, UTC)),
                "mfaAuthenticated": "true" if mfa else "false",
            },
        }
        if source is not None:
            context["sourceIdentity"] = source
        identity["sessionContext"] = context
    return identity


def _read_only(name: str) -> bool:
    return name.startswith(READ_PREFIXES)


def loads(line: bytes) -> Any:
    """A line of JSON (json where orjson refuses it: a lone surrogate's escape)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def dumps(record: dict[str, Any]) -> bytes:
    """A record's JSON line (without its newline)."""
    try:
        return orjson.dumps(record, default=str)
    except TypeError:  # orjson refuses a lone surrogate, a key not a string, an integer beyond 64 bits
        return json.dumps(record, separators=(",", ":"), default=str).encode()


def cloudtrail_records(call: AuditCall) -> list[dict[str, Any]]:
    """The record(s) the audit writer makes of ``call`` (what ``audit_facts`` sends it)."""
    return records_from_facts(loads(audit_facts(call)))


def records_from_facts(facts: Facts) -> list[dict[str, Any]]:
    """The record of one call; two sharing a ``sharedEventID`` when it crossed accounts (CloudTrail
    logs such a call in the caller's account and in the resource's)."""
    record = _record(facts)
    own = record["userIdentity"].get("accountId") or ""
    wanted = facts[13]
    recipient = wanted or own
    if wanted is None or recipient == own or not own.isdigit():
        record["recipientAccountId"] = recipient or None
        return [record]
    shared = event_id()
    other = {**record, "eventID": event_id(), "recipientAccountId": recipient, "sharedEventID": shared}
    record.update(recipientAccountId=own, sharedEventID=shared)
    return [record, other]


def _record(facts: Facts) -> dict[str, Any]:
    source, name, rid, when, ip, agent, region, who, key, params, result, error, data, _to, extra = facts
    read_only = _read_only(name)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(who, key),
        "eventTime": when,
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
    }
    if error is not None:
        record["errorCode"], record["errorMessage"], reason = error
        if record["errorCode"].startswith("AccessDenied") or record["errorCode"] == "UnauthorizedOperation":
            extra["denial"] = reason or {"stage": "request", "reason": record["errorMessage"]}
    record["requestParameters"] = scrub(params) or None
    record["responseElements"] = scrub(result) if result is not None else None
    if extra:
        record["additionalEventData"] = extra
    record.update(
        requestID=rid,
        eventID=event_id(),
        readOnly=read_only,
        eventType="AwsApiCall",
        managementEvent=not data,
        eventCategory="Data" if data else "Management",
    )
    return record


def service_assume_role(
    service: str,
    role_arn: str,
    session_name: str,
    duration: int,
    region: str,
    result: Mapping[str, Any] | None,
    refused: str | None = None,
) -> AuditCall:
    """The AssumeRole a service makes for a workload (EC2 for an instance's role, ECS for a task's),
    as CloudTrail logs it: ``userIdentity`` ``{"type": "AWSService", "invokedBy": <service>}``, the
    service as source address and user agent, in the role's account; a refusal is AccessDenied."""
    from monban.access.principal import Caller, RequestInfo
    from monban.policy.types import Principal
    from monban.protocol.errors import AwsError

    info = RequestInfo(event_id(), datetime.now(UTC), service, service, True, region)
    caller = Caller(Principal(type="Service", account="", arn=service, unique_id=service, service=service))
    params = {"RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration}
    error = None if refused is None else AwsError("AccessDenied", refused)
    fields = role_arn.split(":", 5)
    account = fields[4] if len(fields) == 6 else None
    return AuditCall("sts", "AssumeRole", info, caller, None, params, result, error, recipient=account)

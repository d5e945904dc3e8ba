"""CloudTrail's LookupEvents, answered from the audit trail (AWS CloudTrail API Reference,
"LookupEvents"), and the filters ``monban audit`` shares with it.

LookupEvents returns the caller's account's management events (not data events: "Lookup
supports ... management events"), newest first, within StartTime–EndTime (default: the last 90
days), matching at most one lookup attribute; MaxResults 1–50 (default 50); a NextToken continues
after the last event of the previous page, and only with the same filters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monban.access.authz import authorize
from monban.access.principal import Caller, RequestInfo
from monban.access.state import AppState
from monban.protocol.errors import AwsError
from monban.store.audit_log import Record, audit_dir, read_records

LOOKUP_DAYS = 90
MAX_RESULTS = 50
ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
# requestParameters members that name a resource, and its CloudTrail resource type
_RESOURCE_MEMBERS = {
    "userName": "AWS::IAM::User",
    "roleName": "AWS::IAM::Role",
    "groupName": "AWS::IAM::Group",
    "policyArn": "AWS::IAM::Policy",
    "roleArn": "AWS::IAM::Role",
    "accessKeyId": "AWS::IAM::AccessKey",
    "instanceProfileName": "AWS::IAM::InstanceProfile",
    "bucketName": "AWS::S3::Bucket",
}


def event_time(record: Record) -> datetime | None:
    try:
        return datetime.strptime(str(record.get("eventTime")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def username(record: Record) -> str:
    """LookupEvents' Username: an IAM user's name, a session's name, "root"."""
    identity = record.get("userIdentity") or {}
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    if kind == "IAMUser" and "userName" in identity:
        return str(identity["userName"])
    arn = str(identity.get("arn") or "")
    return arn.rsplit("/", 1)[-1] if "/" in arn else ""


def resources(record: Record) -> list[dict[str, str]]:
    params = record.get("requestParameters") or {}
    return [
        {"ResourceType": kind, "ResourceName": str(params[member])}
        for member, kind in _RESOURCE_MEMBERS.items()
        if isinstance(params, dict) and isinstance(params.get(member), str)
    ]


def _attribute(record: Record, key: str) -> Iterable[str]:
    identity = record.get("userIdentity") or {}
    if key == "EventId":
        return (str(record.get("eventID")),)
    if key == "EventName":
        return (str(record.get("eventName")),)
    if key == "ReadOnly":
        return ("true" if record.get("readOnly") else "false",)
    if key == "Username":
        return (username(record),)
    if key == "EventSource":
        return (str(record.get("eventSource")),)
    if key == "AccessKeyId":
        return (str(identity.get("accessKeyId") or ""),)
    field = "ResourceType" if key == "ResourceType" else "ResourceName"
    return tuple(resource[field] for resource in resources(record))


@dataclass(frozen=True, slots=True)
class Lookup:
    start: datetime
    end: datetime
    attribute: tuple[str, str] | None
    max_results: int
    next_token: str | None
    insight: bool
    given: str  # the filters as sent (a NextToken is good only with the same ones)


def _number(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AwsError("SerializationException", f"{name} must be a timestamp")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        raise AwsError("InvalidTimeRangeException", f"{name} is out of range.") from None


def _attribute_filter(value: object) -> tuple[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 1:
        raise AwsError("InvalidLookupAttributesException", "You can only specify one lookup attribute.")
    if not value:
        return None
    item = value[0]
    key = item.get("AttributeKey") if isinstance(item, dict) else None
    text = item.get("AttributeValue") if isinstance(item, dict) else None
    if key not in ATTRIBUTE_KEYS or not isinstance(text, str) or not 1 <= len(text) <= 2000:
        raise AwsError("InvalidLookupAttributesException", "Invalid lookup attribute.")
    return str(key), text


def read_lookup(body: Mapping[str, Any], now: datetime) -> Lookup:
    """LookupEvents' request members, validated as CloudTrail does."""
    start = _number(body.get("StartTime"), "StartTime") or now - timedelta(days=LOOKUP_DAYS)
    end = _number(body.get("EndTime"), "EndTime") or now
    if start > end:
        raise AwsError("InvalidTimeRangeException", "Start time must be before end time.")
    size = body.get("MaxResults", MAX_RESULTS)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        raise AwsError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    category = body.get("EventCategory")
    if category is not None and category != "insight":
        raise AwsError("InvalidEventCategoryException", "Invalid EventCategory.")
    token = body.get("NextToken")
    if token is not None and not isinstance(token, str):
        raise AwsError("InvalidNextTokenException", "Invalid NextToken.")
    attribute = _attribute_filter(body.get("LookupAttributes"))
    given = json.dumps([body.get("StartTime"), body.get("EndTime"), attribute])
    return Lookup(start, end, attribute, size, token, category == "insight", given)


def _fingerprint(account: str, lookup: Lookup) -> str:
    return hashlib.sha256(f"{account} {lookup.given}".encode()).hexdigest()[:16]


def _token(event_id: str, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([event_id, fingerprint]).encode()).decode()


def _after(token: str, fingerprint: str) -> str:
    try:
        event_id, seen = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise AwsError("InvalidNextTokenException", "Invalid NextToken.") from None
    if seen != fingerprint or not isinstance(event_id, str):
        raise AwsError("InvalidNextTokenException", "Invalid NextToken.")
    return event_id


def _matching(records: Iterable[Record], account: str, lookup: Lookup) -> Iterator[Record]:
    for record in records:
        when = event_time(record)
        if record.get("recipientAccountId") != account or not record.get("managementEvent"):
            continue
        if when is None or not lookup.start <= when <= lookup.end:
            continue
        if lookup.attribute is not None and lookup.attribute[1] not in _attribute(
            record, lookup.attribute[0]
        ):
            continue
        yield record


def event(record: Record) -> dict[str, Any]:
    """One record as LookupEvents' ``Event``; ``CloudTrailEvent`` is the record as a JSON string."""
    when = event_time(record)
    answer: dict[str, Any] = {
        "EventId": record.get("eventID"),
        "EventName": record.get("eventName"),
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "EventTime": when.timestamp() if when else None,
        "EventSource": record.get("eventSource"),
        "Username": username(record),
        "Resources": resources(record),
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }
    key = (record.get("userIdentity") or {}).get("accessKeyId")
    if key:
        answer["AccessKeyId"] = key
    return answer


def lookup_events(
    state: AppState, caller: Caller, info: RequestInfo, body: Mapping[str, Any]
) -> dict[str, Any]:
    """LookupEvents for ``caller`` (runs on a database thread: it reads the trail's files)."""
    authorize(state, caller, info, "cloudtrail:LookupEvents", "*")
    lookup = read_lookup(body, info.now)
    if lookup.insight:  # monban records no Insights events
        return {"Events": []}
    fingerprint = _fingerprint(caller.account, lookup)
    after = _after(lookup.next_token, fingerprint) if lookup.next_token else None
    state.audit_log.flush()  # this worker's own calls so far
    newest_first = reversed(
        list(_matching(read_records(audit_dir(state.settings.data_dir)), caller.account, lookup))
    )
    page: list[Record] = []
    more = False
    for record in newest_first:
        if after is not None:
            after = None if record.get("eventID") == after else after
            continue
        if len(page) == lookup.max_results:
            more = True
            break
        page.append(record)
    answer: dict[str, Any] = {"Events": [event(record) for record in page]}
    if more:
        answer["NextToken"] = _token(str(page[-1]["eventID"]), fingerprint)
    return answer

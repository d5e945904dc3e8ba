"""Shared pieces of the EC2 handlers: authorization with EC2's denial, DryRun, ids, filters, paging.

A denial is ``UnauthorizedOperation`` (403) with AWS's sentence and an encoded authorization
failure message that ``sts decode-authorization-message`` opens (EC2 API Reference, "Error codes";
STS API Reference, DecodeAuthorizationMessage). A request with ``DryRun=true`` that would be
allowed answers ``DryRunOperation`` (412) and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from monban.access.audit import denial_reason
from monban.access.authz import decide, denial_message
from monban.access.context import base_context
from monban.protocol.errors import AwsError
from monban.protocol.numbers import NotAnInteger, parse_integer
from monban.protocol.query import QueryParams
from monban.services.query import Operation, QueryCall
from monban.services.sts.decode import encode_denial, with_encoded_message
from monban.store import instances as store
from monban.store.instances import InstanceRecord

OPERATIONS: dict[str, Operation] = {}

T = TypeVar("T")
ContextValues = Mapping[str, str | Sequence[str] | None]

INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ASSOCIATION_ID = re.compile(r"^iip-assoc-[0-9a-f]{8,17}$")
EC2_SERVICE = "ec2.amazonaws.com"


def ec2_authorize(call: QueryCall, action: str, resource: str, extra: ContextValues | None = None) -> None:
    """UnauthorizedOperation with the encoded reasons unless ``action`` on ``resource`` is allowed."""
    decision = decide(call.state, call.caller, call.info, action, resource, extra_context=extra)
    if decision.allowed:
        return
    message = "You are not authorized to perform this operation. " + denial_message(
        call.caller, action, resource, decision
    )
    shown = {**base_context(call.caller, call.info), **(extra or {})}
    blob = encode_denial(call.state, call.caller, action, resource, decision, shown)
    reason = denial_reason(action, resource, decision)
    raise AwsError("UnauthorizedOperation", with_encoded_message(message, blob), reason=reason)


def dry_run(call: QueryCall) -> None:
    """Once authorized: DryRunOperation when the request asked for a dry run."""
    if call.params.boolean("DryRun"):
        raise AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")


def instance_arn(call: QueryCall, instance_id: str) -> str:
    return f"arn:aws:ec2:{call.info.region}:{call.caller.account}:instance/{instance_id}"


def region_instances(call: QueryCall, session: Session) -> list[InstanceRecord]:
    """The caller's instances in the Region the request is signed for, by ordinal."""
    mine = store.list_instances(session, call.caller.account)
    return [r for r in mine if r.region == call.info.region]


def instance_ids(params: QueryParams, name: str = "InstanceId") -> list[str]:
    """``InstanceId.N``, each EC2's shape (InvalidInstanceID.Malformed otherwise)."""
    ids = params.indexed(name)
    for value in ids:
        if not INSTANCE_ID.match(value):
            raise AwsError("InvalidInstanceID.Malformed", f'Invalid id: "{value}"')
    return ids


def not_found(ids: Sequence[str]) -> AwsError:
    if len(ids) == 1:
        return AwsError("InvalidInstanceID.NotFound", f"The instance ID '{ids[0]}' does not exist")
    return AwsError("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(ids)}' do not exist")


# --- filters ------------------------------------------------------------------------------------


def _pattern(value: str) -> re.Pattern[str]:
    """EC2 filter values match whole strings, ``*`` any run and ``?`` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value), re.S)


Filters = list[tuple[str, list[re.Pattern[str]]]]


def filters(params: QueryParams, known: Callable[[str], bool]) -> Filters:
    """``Filter.N.Name`` / ``Filter.N.Value.M``; an unknown name is InvalidParameterValue (EC2's
    "The filter 'x' is invalid")."""
    out: Filters = []
    for item in params.indexed_structs("Filter"):
        name = item.get("Name")
        if not name:
            raise AwsError("InvalidParameterValue", "The filter 'null' is invalid")
        if not known(name):
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
        values = [item[k] for k in sorted(item, key=_value_index) if k.startswith("Value.")]
        out.append((name, [_pattern(v) for v in values]))
    return out


def _value_index(key: str) -> int:
    try:
        return parse_integer(key[6:]) if key.startswith("Value.") else -1
    except NotAnInteger:
        return -1


def matches(patterns: list[re.Pattern[str]], values: Iterable[str]) -> bool:
    """A filter holds when any of its values matches any of the resource's values."""
    listed = list(values)
    return any(p.fullmatch(v) for p in patterns for v in listed)


def tag_filter(name: str, patterns: list[re.Pattern[str]], tags: Iterable[tuple[str, str]]) -> bool | None:
    """``tag:<key>``, ``tag-key`` and ``tag-value``; None for another filter name."""
    pairs = list(tags)
    if name.startswith("tag:"):
        return matches(patterns, [v for k, v in pairs if k == name[4:]])
    if name == "tag-key":
        return matches(patterns, [k for k, _ in pairs])
    if name == "tag-value":
        return matches(patterns, [v for _, v in pairs])
    return None


def is_tag_filter(name: str) -> bool:
    return name.startswith("tag:") or name in ("tag-key", "tag-value")


# --- paging -------------------------------------------------------------------------------------


def page_size(params: QueryParams, low: int = 5, high: int = 1000) -> int | None:
    """MaxResults (``low``–``high``) or None when absent."""
    value = params.get("MaxResults")
    if value is None:
        return None
    try:
        size = parse_integer(value)
    except NotAnInteger as exc:
        raise AwsError("InvalidParameterValue", f"Invalid value '{value}' for maxResults") from exc
    if not low <= size <= high:
        raise AwsError(
            "InvalidParameterValue",
            f"Value ( {size} ) for parameter maxResults is invalid. "
            f"Expecting a value between {low} and {high}.",
        )
    return size


def page(items: Sequence[T], params: QueryParams, size: int | None) -> tuple[list[T], str | None]:
    """One page after ``NextToken`` (the count of items already returned, as a decimal string:
    the lists are in a stable order); the next token when more remain."""
    token = params.get("NextToken")
    start = 0
    if token is not None:
        try:
            start = parse_integer(token)
        except NotAnInteger as exc:
            raise AwsError("InvalidPaginationToken", f"Invalid pagination token: {token}") from exc
        if not 0 <= start <= len(items):
            raise AwsError("InvalidPaginationToken", f"Invalid pagination token: {token}")
    if size is None:
        return list(items[start:]), None
    end = start + size
    return list(items[start:end]), (str(end) if end < len(items) else None)


def tag_set(tags: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags]

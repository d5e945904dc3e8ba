"""Tags of instances: CreateTags, DeleteTags, DescribeTags, and the rules RunInstances'
TagSpecification shares.

EC2's limits (User Guide, "Tag restrictions"): at most 50 tags per resource, keys 1–128 and values
0–256 characters, ``aws:`` keys reserved. Tagging is authorized per resource with
``aws:RequestTag/…``, ``aws:TagKeys`` and the resource's own tags (``aws:ResourceTag/…``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.protocol.numbers import NotAnInteger, parse_integer
from monban.protocol.query import QueryParams
from monban.services.ec2.common import (
    INSTANCE_ID,
    OPERATIONS,
    dry_run,
    ec2_authorize,
    filters,
    instance_arn,
    is_tag_filter,
    matches,
    page,
    page_size,
    region_instances,
    tag_filter,
)
from monban.services.query import QueryCall, Result, register
from monban.store import instances as store
from monban.store.instances import InstanceRecord

MAX_TAGS = 50


def _index(key: str) -> int:
    try:
        return parse_integer(key.split(".", 2)[1])
    except (IndexError, NotAnInteger):
        return -1


def tag_pairs(fields: Mapping[str, str], prefix: str = "Tag") -> list[tuple[str, str | None]]:
    """``Tag.N.Key`` / ``Tag.N.Value`` (below one structure, or at the top of a request) in index
    order; a value may be absent (DeleteTags)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in fields.items():
        if key.startswith(prefix + "."):
            rest = key.split(".", 2)
            if len(rest) == 3 and rest[2] in ("Key", "Value"):
                found.setdefault(_index(key), {})[rest[2]] = value
    pairs = []
    for i in sorted(found):
        item = found[i]
        if "Key" not in item:
            raise AwsError("InvalidParameterValue", "Tag key must be specified")
        pairs.append((item["Key"], item.get("Value")))
    return pairs


def check_tags(pairs: Sequence[tuple[str, str | None]]) -> list[tuple[str, str]]:
    out = []
    for key, value in pairs:
        if not 1 <= len(key) <= 128:
            message = f"Tag key exceeds the maximum length of 128 characters: {key}"
            raise AwsError("InvalidParameterValue", message)
        if key.lower().startswith("aws:"):
            raise AwsError(
                "InvalidParameterValue",
                f"Value ( {key} ) for parameter key is invalid. Tag keys starting with 'aws:' are "
                "reserved for internal use",
            )
        if value is not None and len(value) > 256:
            message = f"Tag value exceeds the maximum length of 256 characters: {value}"
            raise AwsError("InvalidParameterValue", message)
        out.append((key, value or ""))
    return out


def merged(existing: Iterable[tuple[str, str]], new: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    tags = dict(existing)
    tags.update(new)
    if len(tags) > MAX_TAGS:
        raise AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
    return list(tags.items())


def request_tag_context(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    listed = list(pairs)
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in listed}
    context["aws:TagKeys"] = [k for k, _ in listed]
    return context


def resource_tag_context(record: InstanceRecord) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key, value in record.tags:
        context[f"aws:ResourceTag/{key}"] = value
        context[f"ec2:ResourceTag/{key}"] = value
    return context


def _targets(call: QueryCall, params: QueryParams) -> list[str]:
    ids = params.indexed("ResourceId")
    if not ids:
        raise AwsError("MissingParameter", "The request must contain the parameter resourceIdSet")
    for value in ids:
        if not INSTANCE_ID.match(value):
            raise AwsError("InvalidID", f"The ID '{value}' is not valid")
    return ids


def _owned(records: Iterable[InstanceRecord], ids: Sequence[str]) -> list[InstanceRecord]:
    mine = {r.instance_id: r for r in records}
    missing = [i for i in ids if i not in mine]
    if missing:
        raise AwsError("InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist")
    return [mine[i] for i in ids]


def _authorized_targets(
    call: QueryCall, session: Session, action: str, pairs: Sequence[tuple[str, str]]
) -> list[InstanceRecord]:
    """The instances ``ResourceId.N`` names, once ``action`` is authorized on each with the
    request's tags and the instance's own, and DryRun answered."""
    records = _owned(region_instances(call, session), _targets(call, call.params))
    for record in records:
        context = {**request_tag_context(pairs), **resource_tag_context(record)}
        ec2_authorize(call, action, instance_arn(call, record.instance_id), context)
    dry_run(call)
    return records


@register(OPERATIONS, "CreateTags")
def create_tags(call: QueryCall) -> Result:
    """ec2:CreateTags on each instance, with the request's and the instance's tags as keys."""
    pairs = check_tags(tag_pairs(call.params.raw))
    if not pairs:
        raise AwsError("MissingParameter", "The request must contain the parameter tagSet")
    with call.write() as session:
        records = _authorized_targets(call, session, "ec2:CreateTags", pairs)
        for record in records:
            store.set_tags(session, record.instance_id, merged(record.tags, pairs))
    return {"return": True}


@register(OPERATIONS, "DeleteTags")
def delete_tags(call: QueryCall) -> Result:
    """ec2:DeleteTags on each instance. A tag given with a value is deleted only when the value
    matches; with no Tag at all, every tag goes (EC2 API Reference, DeleteTags)."""
    raw_pairs = tag_pairs(call.params.raw)
    pairs = check_tags(raw_pairs)
    with call.write() as session:
        records = _authorized_targets(call, session, "ec2:DeleteTags", pairs)
        for record in records:
            kept = [
                (k, v)
                for k, v in record.tags
                if raw_pairs and not any(k == rk and (rv is None or rv == v) for rk, rv in raw_pairs)
            ]
            store.set_tags(session, record.instance_id, kept)
    return {"return": True}


_TAG_FILTERS = frozenset({"key", "value", "resource-id", "resource-type"})


@register(OPERATIONS, "DescribeTags")
def describe_tags(call: QueryCall) -> Result:
    """ec2:DescribeTags (resource ``*``): the tags of the caller's instances in the Region, by key;
    filters key, value, resource-id, resource-type and tag:<key>; MaxResults 5–1000."""
    ec2_authorize(call, "ec2:DescribeTags", "*")
    dry_run(call)
    chosen = filters(call.params, lambda n: n in _TAG_FILTERS or is_tag_filter(n))
    size = page_size(call.params)
    with call.read() as session:
        records = region_instances(call, session)
    rows = []
    for record in records:
        for key, value in record.tags:
            fields = {"resource-id": record.instance_id, "resource-type": "instance"}
            fields |= {"key": key, "value": value}
            if all(_holds(name, pats, fields, record) for name, pats in chosen):
                rows.append(_tag_row(record.instance_id, key, value))
    items, token = page(rows, call.params, size)
    return {"tagSet": items, "nextToken": token}


def _tag_row(instance_id: str, key: str, value: str) -> dict[str, str]:
    return {"resourceId": instance_id, "resourceType": "instance", "key": key, "value": value}


def _holds(name: str, patterns: Any, fields: Mapping[str, str], record: InstanceRecord) -> bool:
    by_tag = tag_filter(name, patterns, record.tags)
    if by_tag is not None:
        return by_tag
    return matches(patterns, [fields[name]])

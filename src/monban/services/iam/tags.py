"""Tags of users and roles: TagUser, UntagUser, ListUserTags, TagRole, UntagRole, ListRoleTags.

IAM User Guide, "Tagging IAM resources": at most 50 tags per entity, keys 1–128 and values 0–256
characters of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``, keys unique case-insensitively (the spelling of
the last write is kept), the ``aws:`` prefix reserved. Tagging an existing key overwrites its
value; untagging a missing key is not an error. Tag* passes ``aws:RequestTag/…`` and
``aws:TagKeys``, Untag* ``aws:TagKeys``; the entity's own tags are ``aws:ResourceTag/…``.
"""

from __future__ import annotations

from collections.abc import Callable

from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    authorized_entity,
    check_name,
    check_tag_keys,
    delete_tags,
    merge_tags,
    page,
    request_tag_context,
    tags_of,
    tags_param,
)
from monban.services.query import Operation, QueryCall, Result, register

OPERATIONS: dict[str, Operation] = {}

# entity type -> (action infix, name limit, quota name)
KINDS = {"user": ("User", 128, "TagsPerUser"), "role": ("Role", 64, "TagsPerRole")}


def required_list(member: str) -> AwsError:
    """A required list that the request left out (the Query protocol cannot send an empty one)."""
    return AwsError(
        "ValidationError",
        f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
        "Member must not be null",
    )


def _entity_name(call: QueryCall, kind: str) -> str:
    label, limit, _quota = KINDS[kind]
    return check_name(call.params.required(f"{label}Name"), f"{kind}Name", limit)


def _tag(kind: str) -> Callable[[QueryCall], Result]:
    label, _limit, quota = KINDS[kind]

    def handler(call: QueryCall) -> Result:
        name = _entity_name(call, kind)
        tags = tags_param(call.params)
        if not tags:
            raise required_list("tags")
        with call.write() as session:
            action = f"iam:Tag{label}"
            entity = authorized_entity(call, session, kind, name, action, request_tag_context(tags))
            merge_tags(session, kind, entity.id, tags, quota)
        return None

    handler.__doc__ = f"Tag{label}: add or overwrite tags (≤ 50 in all, else LimitExceeded)."
    return handler


def _untag(kind: str) -> Callable[[QueryCall], Result]:
    label = KINDS[kind][0]

    def handler(call: QueryCall) -> Result:
        name = _entity_name(call, kind)
        keys = check_tag_keys(call.params.members("TagKeys"))
        if not keys:
            raise required_list("tagKeys")
        with call.write() as session:
            context = {"aws:TagKeys": keys}
            entity = authorized_entity(call, session, kind, name, f"iam:Untag{label}", context)
            delete_tags(session, kind, entity.id, keys)
        return None

    handler.__doc__ = f"Untag{label}: remove tags by key (case-insensitively)."
    return handler


def _list(kind: str) -> Callable[[QueryCall], Result]:
    label = KINDS[kind][0]

    def handler(call: QueryCall) -> Result:
        name = _entity_name(call, kind)
        with call.read() as session:
            entity = authorized_entity(call, session, kind, name, f"iam:List{label}Tags")
            return page(call.params, tags_of(session, kind, entity.id), dict, "Tags")

    handler.__doc__ = f"List{label}Tags: the tags sorted by key, paged."
    return handler


for _kind, (_label, _limit, _quota) in KINDS.items():
    register(OPERATIONS, f"Tag{_label}")(_tag(_kind))
    register(OPERATIONS, f"Untag{_label}")(_untag(_kind))
    register(OPERATIONS, f"List{_label}Tags")(_list(_kind))

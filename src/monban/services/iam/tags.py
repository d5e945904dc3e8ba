"""Tags of users and roles: TagUser, UntagUser, ListUserTags, TagRole, UntagRole, ListRoleTags.

IAM User Guide, "Tagging IAM resources": at most 50 tags per entity, keys 1–128 and values 0–256
characters of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``, keys unique case-insensitively (the spelling of
the last write is kept), the ``aws:`` prefix reserved. Tagging an existing key overwrites its
value; untagging a missing key is not an error. Tag* passes ``aws:RequestTag/…`` and
``aws:TagKeys``, Untag* ``aws:TagKeys``; the entity's own tags are ``aws:ResourceTag/…``.
"""

from __future__ import annotations

from monban.services.iam.common import (
    check_name,
    check_tag_keys,
    delete_tags,
    merge_tags,
    missing_value,
    request_tag_context,
    tags_of,
    tags_param,
)
from monban.services.iam.entities import KINDS, EntityKind, authorized_entity, register_for
from monban.services.iam.paging import page, tag_key
from monban.services.query import Operation, QueryCall, Result

OPERATIONS: dict[str, Operation] = {}

NAME_LIMITS = {"user": 128, "role": 64}  # existingUserNameType, roleNameType


def _entity_name(call: QueryCall, kind: EntityKind) -> str:
    return check_name(call.params.required(kind.param), kind.member, NAME_LIMITS[kind.name])


def tag(call: QueryCall, kind: EntityKind) -> Result:
    """Tag…: add or overwrite tags (≤ 50 in all, else LimitExceeded "Cannot exceed quota for
    TagsPer…: 50")."""
    name = _entity_name(call, kind)
    tags = tags_param(call.params)
    if not tags:
        raise missing_value("tags")
    with call.write() as session:
        action = f"iam:Tag{kind.label}"
        entity = authorized_entity(call, session, kind.name, name, action, request_tag_context(tags))
        merge_tags(session, kind.name, entity.id, tags, f"TagsPer{kind.label}")
    return None


def untag(call: QueryCall, kind: EntityKind) -> Result:
    """Untag…: remove tags by key (case-insensitively)."""
    name = _entity_name(call, kind)
    keys = check_tag_keys(call.params.members("TagKeys"))
    if not keys:
        raise missing_value("tagKeys")
    with call.write() as session:
        context = {"aws:TagKeys": keys}
        entity = authorized_entity(call, session, kind.name, name, f"iam:Untag{kind.label}", context)
        delete_tags(session, kind.name, entity.id, keys)
    return None


def list_tags(call: QueryCall, kind: EntityKind) -> Result:
    """List…Tags: the tags sorted by key, paged."""
    name = _entity_name(call, kind)
    with call.read() as session:
        entity = authorized_entity(call, session, kind.name, name, f"iam:List{kind.label}Tags")
        return page(call.params, tags_of(session, kind.name, entity.id), dict, "Tags", tag_key)


for _kind in (KINDS["user"], KINDS["role"]):
    register_for(OPERATIONS, f"Tag{_kind.label}", tag, _kind)
    register_for(OPERATIONS, f"Untag{_kind.label}", untag, _kind)
    register_for(OPERATIONS, f"List{_kind.label}Tags", list_tags, _kind)

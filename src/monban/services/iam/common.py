"""Shared pieces of the IAM handlers: ARNs, name/path rules, lookups, paging, response shapes.

Rules from reference §3 and the IAM API reference (ValidationError wording from the API model's
constraints).
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError, validation_error
from monban.protocol.query import QueryParams
from monban.services.query import QueryCall
from monban.store.models import Group, InstanceProfile, ManagedPolicy, Role, Tag, User

T = TypeVar("T")

USER_NAME = re.compile(r"^[\w+=,.@-]+$", re.ASCII)  # Java's \w: ASCII only
PATH = re.compile(r"^(/|/[\x21-\x7E]*/)$")
PATH_PREFIX = re.compile(r"^/[\x21-\x7E]*$")


def arn(account: str, kind: str, path: str, name: str) -> str:
    """``arn:aws:iam::<acct>:<kind><path><name>`` (kind: user, role, group, policy, instance-profile)."""
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def check_name(value: str, member: str, max_len: int = 64) -> str:
    """Users and roles: 1–64 of ``[\\w+=,.@-]``; groups, policies, instance profiles up to 128."""
    if len(value) < 1:
        raise validation_error(value, member, "have length greater than or equal to 1")
    if len(value) > max_len:
        raise validation_error(value, member, f"have length less than or equal to {max_len}")
    if not USER_NAME.match(value):
        raise validation_error(value, member, "satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def check_path(value: str | None, member: str = "path") -> str:
    """``/`` or ``/…/``, printable ASCII, at most 512 characters."""
    if value is None:
        return "/"
    if len(value) > 512:
        raise validation_error(value, member, "have length less than or equal to 512")
    if not PATH.match(value):
        raise validation_error(
            value, member, "satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )
    return value


def check_path_prefix(value: str | None) -> str:
    if value is None:
        return "/"
    if len(value) > 512 or not PATH_PREFIX.match(value):
        raise validation_error(
            value, "pathPrefix", "satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*"
        )
    return value


def no_such_entity(kind: str, name: str) -> AwsError:
    """IAM's NoSuchEntity wording, e.g. "The user with name bob cannot be found."."""
    return AwsError("NoSuchEntity", f"The {kind} with name {name} cannot be found.")


def get_user(session: Session, account: str, name: str) -> User:
    user = session.scalar(select(User).where(User.account_id == account, User.name_lower == name.lower()))
    if user is None:
        raise no_such_entity("user", name)
    return user


def get_role(session: Session, account: str, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.account_id == account, Role.name_lower == name.lower()))
    if role is None:
        raise no_such_entity("role", name)
    return role


def get_group(session: Session, account: str, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.account_id == account, Group.name_lower == name.lower()))
    if group is None:
        raise no_such_entity("group", name)
    return group


def get_instance_profile(session: Session, account: str, name: str) -> InstanceProfile:
    query = select(InstanceProfile).where(
        InstanceProfile.account_id == account, InstanceProfile.name_lower == name.lower()
    )
    profile = session.scalar(query)
    if profile is None:
        raise no_such_entity("instance profile", name)
    return profile


def get_managed_policy(session: Session, policy_arn: str) -> ManagedPolicy:
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == policy_arn))
    if policy is None:
        raise AwsError("NoSuchEntity", f"Policy {policy_arn} does not exist or is not attachable.")
    return policy


def page(
    params: QueryParams, items: Sequence[T], render: Callable[[T], Any], list_name: str
) -> dict[str, Any]:
    """AWS paging: ``Marker`` (an opaque position) and ``MaxItems`` (1–1000, default 100)."""
    max_items = params.integer("MaxItems", 100)
    if max_items is None or max_items < 1:
        raise validation_error(max_items, "maxItems", "have value greater than or equal to 1")
    if max_items > 1000:
        raise validation_error(max_items, "maxItems", "have value less than or equal to 1000")
    marker = params.get("Marker")
    start = 0
    if marker:
        if not (marker.isascii() and marker.isdigit()) or int(marker) > len(items):
            raise AwsError("InvalidInput", "Invalid Marker.")
        start = int(marker)
    chunk = items[start : start + max_items]
    out: dict[str, Any] = {list_name: [render(item) for item in chunk]}
    truncated = start + max_items < len(items)
    out["IsTruncated"] = truncated
    if truncated:
        out["Marker"] = str(start + max_items)
    return out


def encode_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986), as written."""
    return urllib.parse.quote(document, safe="")


def tags_of(session: Session, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    query = select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id).order_by(Tag.key)
    return [{"Key": t.key, "Value": t.value} for t in session.scalars(query)]


def user_shape(user: User, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }
    if user.permissions_boundary:
        shape["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": user.permissions_boundary,
        }
    if tags:
        shape["Tags"] = tags
    return shape


def role_shape(role: Role, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": encode_document(role.trust_policy),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.permissions_boundary:
        shape["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": role.permissions_boundary,
        }
    if tags:
        shape["Tags"] = tags
    if role.last_used_at:
        shape["RoleLastUsed"] = {"LastUsedDate": role.last_used_at, "Region": role.last_used_region}
    return shape


def group_shape(group: Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
    }


# --- tags, condition-key context, access checks (IAM part A) -------------------------------------

MAX_TAGS = 50
TAG_KEY_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
TAG_VALUE_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_char(char: str) -> bool:
    """One character of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (letters, separators, numbers)."""
    return unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION


def check_tag_key(key: str | None, member: str) -> str:
    """A tag key: 1–128 characters of the tag alphabet; ``aws:`` is reserved (IAM User Guide,
    "Tagging IAM resources": "You can't use the prefix aws: in tag keys")."""
    if key is None:
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
            "Member must not be null",
        )
    if len(key) < 1:
        raise validation_error(key, member, "have length greater than or equal to 1")
    if len(key) > 128:
        raise validation_error(key, member, "have length less than or equal to 128")
    if not all(_tag_char(c) for c in key):
        raise validation_error(key, member, f"satisfy regular expression pattern: {TAG_KEY_PATTERN}")
    if key.lower().startswith("aws:"):
        raise AwsError("InvalidInput", "User-defined tag keys can't start with 'aws:'.")
    return key


def check_tag_value(value: str | None, member: str) -> str:
    """A tag value: 0–256 characters of the tag alphabet."""
    if value is None:
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
            "Member must not be null",
        )
    if len(value) > 256:
        raise validation_error(value, member, "have length less than or equal to 256")
    if not all(_tag_char(c) for c in value):
        raise validation_error(value, member, f"satisfy regular expression pattern: {TAG_VALUE_PATTERN}")
    return value


def check_tags(tags: Sequence[Mapping[str, str | None]]) -> list[tuple[str, str]]:
    """Validate a ``Tags`` list (≤ 50, keys unique case-insensitively, case kept)."""
    if len(tags) > MAX_TAGS:
        raise validation_error(
            "[" + ", ".join(str(t.get("Key")) for t in tags) + "]",
            "tags",
            f"have length less than or equal to {MAX_TAGS}",
        )
    out: list[tuple[str, str]] = []
    for index, tag in enumerate(tags, start=1):
        key = check_tag_key(tag.get("Key"), f"tags.{index}.member.key")
        value = check_tag_value(tag.get("Value"), f"tags.{index}.member.value")
        out.append((key, value))
    if len({key.lower() for key, _ in out}) != len(out):
        raise AwsError(
            "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    return out


def tags_param(params: QueryParams) -> list[tuple[str, str]]:
    """``Tags.member.N.Key`` / ``.Value`` of a request, validated."""
    return check_tags(params.member_structs("Tags"))


def check_tag_keys(keys: Sequence[str]) -> list[str]:
    """``TagKeys.member.N`` of an Untag call."""
    if len(keys) > MAX_TAGS:
        raise validation_error(
            "[" + ", ".join(keys) + "]", "tagKeys", f"have length less than or equal to {MAX_TAGS}"
        )
    return [check_tag_key(key, f"tagKeys.{index}.member") for index, key in enumerate(keys, start=1)]


def merge_tags(
    session: Session, entity_type: str, entity_id: str, tags: Sequence[tuple[str, str]], quota: str
) -> None:
    """Add or overwrite tags (a key matches case-insensitively; the new spelling is kept).

    More than 50 tags on the entity afterwards → LimitExceeded "Cannot exceed quota for <quota>: 50".
    """
    query = select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id)
    existing = {t.key_lower: t for t in session.scalars(query)}
    new_keys = {key.lower() for key, _ in tags}
    if len(existing.keys() | new_keys) > MAX_TAGS:
        raise AwsError("LimitExceeded", f"Cannot exceed quota for {quota}: {MAX_TAGS}")
    for key, value in tags:
        row = existing.get(key.lower())
        if row is None:
            row = Tag(
                entity_type=entity_type, entity_id=entity_id, key_lower=key.lower(), key=key, value=value
            )
            session.add(row)
            existing[key.lower()] = row
        else:
            row.key, row.value = key, value
    session.flush()


def delete_tags(
    session: Session, entity_type: str, entity_id: str, keys: Sequence[str] | None = None
) -> None:
    """Remove the named tags (case-insensitively), or every tag of the entity when ``keys`` is None."""
    query = delete(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id)
    if keys is not None:
        query = query.where(Tag.key_lower.in_([key.lower() for key in keys]))
    session.execute(query)


def request_tag_context(tags: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` for a request that sets tags."""
    context: dict[str, str | list[str]] = {f"aws:RequestTag/{key}": value for key, value in tags}
    context["aws:TagKeys"] = [key for key, _ in tags]
    return context


def resource_tag_context(session: Session, entity_type: str, entity_id: str) -> dict[str, str]:
    """``aws:ResourceTag/<key>`` and ``iam:ResourceTag/<key>`` of an existing user or role."""
    context: dict[str, str] = {}
    for tag in tags_of(session, entity_type, entity_id):
        context[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
        context[f"iam:ResourceTag/{tag['Key']}"] = tag["Value"]
    return context


def find_user(session: Session, account: str, name: str) -> User | None:
    return session.scalar(select(User).where(User.account_id == account, User.name_lower == name.lower()))


def find_group(session: Session, account: str, name: str) -> Group | None:
    return session.scalar(select(Group).where(Group.account_id == account, Group.name_lower == name.lower()))


def find_role(session: Session, account: str, name: str) -> Role | None:
    return session.scalar(select(Role).where(Role.account_id == account, Role.name_lower == name.lower()))


POLICY_ARN = re.compile(r"^arn:aws:iam::(\d{12}|aws):policy/[\x21-\x7E]+$")


def check_policy_arn(value: str, member: str = "policyArn") -> str:
    """A managed policy ARN: 20–2048 characters (arnType), ``arn:aws:iam::<acct>|aws:policy/…``."""
    if len(value) < 20:
        raise validation_error(value, member, "have length greater than or equal to 20")
    if len(value) > 2048:
        raise validation_error(value, member, "have length less than or equal to 2048")
    if not POLICY_ARN.match(value):
        raise AwsError("InvalidInput", f"ARN {value} is not valid.")
    return value


def boundary_policy(session: Session, account: str, value: str) -> ManagedPolicy:
    """A permissions boundary: an AWS managed policy or a customer managed one of this account,
    else NoSuchEntity "Scope ARN: <arn> does not exist or is not attachable."."""
    check_policy_arn(value, "permissionsBoundary")
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == value))
    if policy is None or policy.account_id not in (account, "aws"):
        raise AwsError("NoSuchEntity", f"Scope ARN: {value} does not exist or is not attachable.")
    return policy


# --- managed-policy visibility (IAM part B) ------------------------------------------------------


def visible_policy(session: Session, account: str, policy_arn: str) -> ManagedPolicy:
    """A managed policy the account can see: its own or an AWS managed one. Another account's
    policy does not exist for it: NoSuchEntity "Policy <arn> does not exist or is not attachable."."""
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == policy_arn))
    if policy is None or policy.account_id not in (account, "aws"):
        raise AwsError("NoSuchEntity", f"Policy {policy_arn} does not exist or is not attachable.")
    return policy


def authorized_entity(
    call: QueryCall,
    session: Session,
    kind: str,
    name: str,
    action: str,
    extra_context: Mapping[str, str | Sequence[str] | None] | None = None,
) -> User | Group | Role:
    """Look ``name`` up, authorize ``action`` on it, then report NoSuchEntity if it is missing.

    Authorization comes first, as in AWS (an unauthorized caller learns nothing about existence):
    on the entity's ARN when it exists, else on the ARN it would have with the default path.
    Users and roles add their tags as ``aws:ResourceTag/…`` / ``iam:ResourceTag/…`` and their
    boundary as ``iam:PermissionsBoundary``.
    """
    finders = {"user": find_user, "group": find_group, "role": find_role}
    entity = finders[kind](session, call.caller.account, name)
    context: dict[str, str | Sequence[str] | None] = dict(extra_context or {})
    if isinstance(entity, User | Role):
        context.update(resource_tag_context(session, kind, entity.id))
        if entity.permissions_boundary:
            context.setdefault("iam:PermissionsBoundary", entity.permissions_boundary)
    target = entity.arn if entity is not None else arn(call.caller.account, kind, "/", name)
    call.authorize(action, target, extra_context=context or None)
    if entity is None:
        raise no_such_entity(kind, name)
    return entity


def authorized_user(call: QueryCall, session: Session, name: str, action: str) -> User:
    return cast(User, authorized_entity(call, session, "user", name, action))


def authorized_group(call: QueryCall, session: Session, name: str, action: str) -> Group:
    return cast(Group, authorized_entity(call, session, "group", name, action))


def authorized_role(call: QueryCall, session: Session, name: str, action: str) -> Role:
    return cast(Role, authorized_entity(call, session, "role", name, action))

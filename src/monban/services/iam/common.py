"""Shared pieces of the IAM handlers: ARNs, name/path rules, lookups, paging, response shapes, tags.
(The user/group/role kinds, authorization of a named entity and DeleteConflict checks are in
:mod:`monban.services.iam.entities`.)

Rules from reference §3 and the IAM API reference (ValidationError wording from the API model's
constraints).
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monban.access.principal import Caller
from monban.credentials import ids
from monban.protocol.errors import AwsError, validation_error
from monban.protocol.query import QueryParams
from monban.services.query import QueryCall
from monban.store import principals
from monban.store.accounts import now
from monban.store.managed import as_row, aws_policy, is_aws_arn
from monban.store.models import (
    Group,
    InstanceProfile,
    ManagedPolicy,
    Role,
    Tag,
    User,
)

T = TypeVar("T")
Named = TypeVar("Named", User, Group, Role, InstanceProfile)
Entity = User | Group | Role
EntityType = Literal["user", "group", "role"]
ContextValues = dict[str, str | Sequence[str] | None]

USER_NAME = re.compile(r"^[\w+=,.@-]+$", re.ASCII)  # Java's \w: ASCII only
PATH = re.compile(r"^(/|/[\x21-\x7E]*/)$")
PATH_PREFIX = re.compile(r"^/[\x21-\x7E]*$")
POLICY_ARN = re.compile(r"^arn:aws:iam::(\d{12}|aws):policy/[\x21-\x7E]+$", re.ASCII)


# --- parameters ----------------------------------------------------------------------------------


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


def check_enum(value: str | None, member: str, allowed: Sequence[str]) -> str | None:
    """An enum parameter: ValidationError "… Member must satisfy enum value set: [A, B]"."""
    if value is not None and value not in allowed:
        raise validation_error(value, member, f"satisfy enum value set: [{', '.join(allowed)}]")
    return value


def ascii_number(text: str) -> bool:
    """Only ASCII digits (``protocol.numbers``): ``str.isdigit`` alone accepts '²'."""
    return text.isascii() and text.isdigit()


def missing_value(member: str) -> AwsError:
    """A required member the request left out (the Query protocol cannot send an empty list)."""
    return AwsError(
        "ValidationError",
        f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
        "Member must not be null",
    )


def check_policy_arn(value: str, member: str = "policyArn") -> str:
    """A managed policy ARN: 20–2048 characters (arnType), ``arn:aws:iam::<acct>|aws:policy/…``."""
    if len(value) < 20:
        raise validation_error(value, member, "have length greater than or equal to 20")
    if len(value) > 2048:
        raise validation_error(value, member, "have length less than or equal to 2048")
    if not POLICY_ARN.match(value):
        raise AwsError("InvalidInput", f"ARN {value} is not valid.")
    return value


# --- lookups -------------------------------------------------------------------------------------


def no_such_entity(kind: str, name: str) -> AwsError:
    """IAM's NoSuchEntity wording, e.g. "The user with name bob cannot be found."."""
    return AwsError("NoSuchEntity", f"The {kind} with name {name} cannot be found.")


def already_exists(label: str, name: str) -> AwsError:
    """EntityAlreadyExists "User with name bob already exists." (label: User, Group, Role)."""
    return AwsError("EntityAlreadyExists", f"{label} with name {name} already exists.")


def find_named(session: Session, model: type[Named], account: str, name: str) -> Named | None:
    """The user, group, role or instance profile ``name`` of the account (names are unique
    case-insensitively)."""
    query = select(model).where(model.account_id == account, model.name_lower == name.lower())
    return session.scalar(query)


def insert_named(
    session: Session,
    model: type[Named],
    id_prefix: str,
    kind: str,
    account: str,
    name: str,
    path: str,
    **fields: Any,
) -> Named:
    """Store a new user, group, role or instance profile: a unique id (``id_prefix``: AIDA, AGPA,
    AROA, AIPA), its ARN, its creation time."""
    row = model(
        id=ids.unique_id(id_prefix), account_id=account, name=name, name_lower=name.lower(), path=path,
        arn=arn(account, kind, path, name), created_at=now(), **fields,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def find_user(session: Session, account: str, name: str) -> User | None:
    return find_named(session, User, account, name)


def find_group(session: Session, account: str, name: str) -> Group | None:
    return find_named(session, Group, account, name)


def find_role(session: Session, account: str, name: str) -> Role | None:
    return find_named(session, Role, account, name)


def get_user(session: Session, account: str, name: str) -> User:
    user = find_user(session, account, name)
    if user is None:
        raise no_such_entity("user", name)
    return user


def calling_user(session: Session, caller: Caller) -> User:
    """The IAM user that signed the request, for an operation whose UserName was left out (IAM
    "determines the user name implicitly based on the AWS access key ID used to sign the request");
    any other caller must name the user (ValidationError)."""
    own = session.get(User, caller.user_id) if caller.user_id and caller.principal.type == "User" else None
    if own is None:
        raise AwsError("ValidationError", "Must specify userName when calling with non-User credentials")
    return own


def find_visible_policy(session: Session, account: str, policy_arn: str) -> ManagedPolicy | None:
    """A managed policy the account can see: its own or an AWS managed one (another account's
    policy does not exist for it)."""
    if is_aws_arn(policy_arn):
        aws = aws_policy(policy_arn)
        return as_row(aws) if aws is not None else None
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == policy_arn))
    return policy if policy is not None and policy.account_id == account else None


def policies_by_arn(session: Session, account: str, arns: Iterable[str]) -> list[ManagedPolicy]:
    """The visible managed policies among ``arns`` (the account's own and AWS managed ones), in
    name order."""
    wanted = set(arns)
    aws = [as_row(p) for p in map(aws_policy, wanted) if p is not None]
    query = select(ManagedPolicy).where(ManagedPolicy.account_id == account, ManagedPolicy.arn.in_(wanted))
    return sorted([*session.scalars(query), *aws], key=lambda p: (p.name_lower, p.arn))


def visible_policy(session: Session, account: str, policy_arn: str) -> ManagedPolicy:
    """NoSuchEntity "Policy <arn> does not exist or is not attachable." unless visible."""
    policy = find_visible_policy(session, account, policy_arn)
    if policy is None:
        raise AwsError("NoSuchEntity", f"Policy {policy_arn} does not exist or is not attachable.")
    return policy


def boundary_policy(session: Session, account: str, value: str) -> ManagedPolicy:
    """A permissions boundary (CreateUser, CreateRole, Put…PermissionsBoundary, the bootstrap
    file): an AWS managed policy or a customer managed one of this account, else NoSuchEntity
    "Scope ARN: <arn> does not exist or is not attachable."."""
    check_policy_arn(value, "permissionsBoundary")
    policy = find_visible_policy(session, account, value)
    if policy is None:
        raise AwsError("NoSuchEntity", f"Scope ARN: {value} does not exist or is not attachable.")
    return policy


# --- response shapes -----------------------------------------------------------------------------


def encode_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986), as written."""
    return urllib.parse.quote(document, safe="")


def boundary_shape(boundary: str | None) -> dict[str, str] | None:
    """The AttachedPermissionsBoundary structure (None: no boundary, the element is left out)."""
    if not boundary:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}


def entity_shape(label: str, entity: Entity) -> dict[str, Any]:
    """Path, <label>Name, <label>Id, Arn, CreateDate — what every User, Group and Role shape starts with."""
    return {
        "Path": entity.path,
        f"{label}Name": entity.name,
        f"{label}Id": entity.id,
        "Arn": entity.arn,
        "CreateDate": entity.created_at,
    }


def listed_user(user: User) -> dict[str, Any]:
    """A user as List* operations and GetGroup show it: without PermissionsBoundary and Tags
    (ListUsers docs; AWS returns the boundary from GetUser only, awsdocs/iam-user-guide#81)."""
    return entity_shape("User", user)


def _in_full(shape: dict[str, Any], entity: User | Role, tags: list[dict[str, str]] | None) -> dict[str, Any]:
    """A listed user or role with what only Get…/Create… show: its boundary and its tags."""
    if entity.permissions_boundary:
        shape["PermissionsBoundary"] = boundary_shape(entity.permissions_boundary)
    if tags:
        shape["Tags"] = tags
    return shape


def user_shape(user: User, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The User of GetUser and CreateUser."""
    return _in_full(listed_user(user), user, tags)


def trust_document(session: Session, role: Role) -> str:
    """The role's trust policy as IAM shows it: principals by their current ARN, a deleted one by
    its unique id (:func:`monban.store.principals.render`), URL-encoded."""
    return encode_document(principals.render(session, role.trust_policy))


def listed_role(session: Session, role: Role) -> dict[str, Any]:
    """A role as ListRoles and the instance-profile operations show it: without PermissionsBoundary,
    RoleLastUsed and Tags (ListRoles docs; AWS returns the boundary from GetRole only,
    awsdocs/iam-user-guide#81)."""
    return {
        **entity_shape("Role", role),
        "AssumeRolePolicyDocument": trust_document(session, role),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }


def role_shape(session: Session, role: Role, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The Role of GetRole, CreateRole and UpdateRoleDescription (with RoleLastUsed once used)."""
    shape = _in_full(listed_role(session, role), role, tags)
    if role.last_used_at:
        shape["RoleLastUsed"] = {"LastUsedDate": role.last_used_at, "Region": role.last_used_region}
    return shape


def group_shape(group: Group) -> dict[str, Any]:
    return entity_shape("Group", group)


# --- tags ----------------------------------------------------------------------------------------

MAX_TAGS = 50
TAG_KEY_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
TAG_VALUE_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def tags_of(session: Session, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    query = select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id).order_by(Tag.key)
    return [{"Key": t.key, "Value": t.value} for t in session.scalars(query)]


def _tag_char(char: str) -> bool:
    """One character of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (letters, separators, numbers)."""
    return unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION


def check_tag_key(key: str | None, member: str) -> str:
    """A tag key: 1–128 characters of the tag alphabet; ``aws:`` is reserved (IAM User Guide,
    "Tagging IAM resources": "You can't use the prefix aws: in tag keys")."""
    if key is None:
        raise missing_value(member)
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
        raise missing_value(member)
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


# IAM User Guide, "Permissions required for tagging IAM resources" (tag on create): a Create…
# request with Tags needs the service's Tag… action on the new resource too.
TAG_ON_CREATE: Mapping[str, str] = {
    "iam:CreateUser": "iam:TagUser",
    "iam:CreateRole": "iam:TagRole",
    "iam:CreatePolicy": "iam:TagPolicy",
    "iam:CreateInstanceProfile": "iam:TagInstanceProfile",
    "iam:CreateOpenIDConnectProvider": "iam:TagOpenIDConnectProvider",
    "iam:CreateSAMLProvider": "iam:TagSAMLProvider",
    "iam:CreateVirtualMFADevice": "iam:TagMFADevice",
    "iam:UploadServerCertificate": "iam:TagServerCertificate",
}


def authorize_create(
    call: QueryCall,
    action: str,
    resource: str,
    tags: Sequence[tuple[str, str]],
    context: Mapping[str, str | Sequence[str] | None] | None = None,
) -> None:
    """Authorize a Create… request on the new resource's ARN with ``aws:RequestTag/…`` and
    ``aws:TagKeys`` (plus ``context``); with Tags, its Tag… action as well (``TAG_ON_CREATE``)."""
    values: ContextValues = dict(request_tag_context(tags)) if tags else {}
    values.update(context or {})
    call.authorize(action, resource, extra_context=values)
    if tags:
        call.authorize(TAG_ON_CREATE[action], resource, extra_context=dict(request_tag_context(tags)))


def resource_tag_context(session: Session, entity_type: str, entity_id: str) -> dict[str, str]:
    """``aws:ResourceTag/<key>`` and ``iam:ResourceTag/<key>`` of an existing user or role."""
    context: dict[str, str] = {}
    for tag in tags_of(session, entity_type, entity_id):
        context[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
        context[f"iam:ResourceTag/{tag['Key']}"] = tag["Value"]
    return context

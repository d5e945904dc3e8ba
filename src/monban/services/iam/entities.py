"""Users, groups and roles as one thing: their kinds (names the API derives from ``User``,
``Group``, ``Role``), authorization of a named entity, renames, and DeleteConflict checks.

IAM API reference for the actions using them; the Service Authorization Reference for the condition
keys an existing user or role brings (``aws:ResourceTag/…``, ``iam:ResourceTag/…``,
``iam:PermissionsBoundary``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    ContextValues,
    Entity,
    EntityType,
    already_exists,
    arn,
    check_name,
    check_path,
    find_named,
    no_such_entity,
    resource_tag_context,
)
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import Attachment, Group, InlinePolicy, Role, User


@dataclass(frozen=True, slots=True)
class EntityKind:
    """One kind of policy holder as the API names it: ``user`` (store and ARN), ``User`` (as in
    AttachUserPolicy), ``UserName`` (the parameter), ``userName`` (ValidationError wording)."""

    name: EntityType
    label: str
    model: type[User] | type[Group] | type[Role]

    @property
    def param(self) -> str:
        return f"{self.label}Name"

    @property
    def member(self) -> str:
        return f"{self.name}Name"


KINDS: dict[str, EntityKind] = {
    "user": EntityKind("user", "User", User),
    "group": EntityKind("group", "Group", Group),
    "role": EntityKind("role", "Role", Role),
}


def find_entity(session: Session, kind: str, account: str, name: str) -> Entity | None:
    model: Any = KINDS[kind].model
    return cast(Entity | None, find_named(session, model, account, name))


def register_for(
    table: dict[str, Operation],
    name: str,
    handler: Callable[[QueryCall, EntityKind], Result],
    kind: EntityKind,
) -> None:
    """Register ``handler`` bound to one kind as the operation ``name`` (e.g. AttachUserPolicy)."""

    def run(call: QueryCall) -> Result:
        return handler(call, kind)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = handler.__doc__
    register(table, name)(run)


def entity_context(session: Session, kind: str, entity: Entity) -> ContextValues:
    """Users and roles carry their tags (``aws:ResourceTag/…``, ``iam:ResourceTag/…``) and their
    boundary (``iam:PermissionsBoundary``) as condition keys; groups none."""
    if isinstance(entity, Group):
        return {}
    values: ContextValues = dict(resource_tag_context(session, kind, entity.id))
    if entity.permissions_boundary:
        values["iam:PermissionsBoundary"] = entity.permissions_boundary
    return values


SERVICE_ROLE_PATH = "/aws-service-role/"
# Role actions IAM refuses on a service-linked role (the service alone changes it).
PROTECTED_ACTIONS = frozenset(
    {
        "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
        "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole",
    }
)  # fmt: skip


def is_service_linked(role: Role) -> bool:
    """A service-linked role (IAM User Guide, "Using service-linked roles"): its path."""
    return role.path.startswith(SERVICE_ROLE_PATH)


def refuse_protected(role: Role, action: str) -> None:
    """UnmodifiableEntity for an ordinary edit of a service-linked role."""
    if action in PROTECTED_ACTIONS and is_service_linked(role):
        raise AwsError(
            "UnmodifiableEntity",
            f"Cannot perform the operation on the protected role '{role.name}' - this role is only "
            "modifiable by AWS",
        )


def refuse_reserved_path(path: str | None) -> None:
    """CreateRole: the ``/aws-service-role/`` path belongs to service-linked roles."""
    if path is not None and path.startswith(SERVICE_ROLE_PATH):
        raise AwsError(
            "InvalidInput", "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles"
        )


def authorized_entity(
    call: QueryCall,
    session: Session,
    kind: str,
    name: str,
    action: str,
    extra_context: Mapping[str, str | Sequence[str] | None] | None = None,
) -> Entity:
    """Look ``name`` up, authorize ``action`` on it, then report NoSuchEntity if it is missing.

    Authorization comes first, as in AWS (an unauthorized caller learns nothing about existence):
    on the entity's ARN with :func:`entity_context` when it exists, else on the ARN it would have
    with the default path. ``extra_context`` (the request's own keys) wins over the entity's.
    """
    entity = find_entity(session, kind, call.caller.account, name)
    if entity is None:
        call.authorize(action, arn(call.caller.account, kind, "/", name), extra_context=extra_context)
        raise no_such_entity(kind, name)
    context = entity_context(session, kind, entity)
    context.update(extra_context or {})
    call.authorize(action, entity.arn, extra_context=context)
    if isinstance(entity, Role):
        refuse_protected(entity, action)
    return entity


def authorized_user(call: QueryCall, session: Session, name: str, action: str) -> User:
    return cast(User, authorized_entity(call, session, "user", name, action))


def authorized_group(call: QueryCall, session: Session, name: str, action: str) -> Group:
    return cast(Group, authorized_entity(call, session, "group", name, action))


def update_entity(call: QueryCall, kind: EntityKind, name_limit: int, new_name_limit: int) -> Result:
    """UpdateUser / UpdateGroup: New<Label>Name and NewPath (keys, groups and policies follow the
    entity: they hang on its id). The caller needs the action on the new ARN too ("the requester
    must have appropriate permissions on both the source object and the target object"); the new
    name must be free (EntityAlreadyExists)."""
    params = call.params
    name = check_name(params.required(kind.param), kind.member, name_limit)
    new_name = params.get(f"New{kind.param}")
    if new_name is not None:
        check_name(new_name, f"new{kind.label}Name", new_name_limit)
    new_path = params.get("NewPath")
    if new_path is not None:
        check_path(new_path, "newPath")
    action = f"iam:Update{kind.label}"
    with call.write() as session:
        entity = cast(User | Group, authorized_entity(call, session, kind.name, name, action))
        target_name, target_path = new_name or entity.name, new_path or entity.path
        target_arn = arn(entity.account_id, kind.name, target_path, target_name)
        if target_arn != entity.arn:
            call.authorize(action, target_arn)
        renamed = target_name.lower() != entity.name_lower
        if renamed and find_entity(session, kind.name, entity.account_id, target_name):
            raise already_exists(kind.label, target_name)
        entity.name, entity.name_lower = target_name, target_name.lower()
        entity.path, entity.arn = target_path, target_arn
        session.flush()
    return None


# --- DeleteConflict ------------------------------------------------------------------------------

MUST_DELETE_POLICIES = "Cannot delete entity, must delete policies first."
MUST_DETACH_POLICIES = "Cannot delete entity, must detach all policies first."
MUST_REMOVE_ROLES = "Cannot delete entity, must remove roles from instance profile first."
MUST_REMOVE_USERS = "Cannot delete entity, must remove users from group first."


@dataclass(frozen=True, slots=True)
class Conflict:
    """Something that must be removed before an entity can be deleted: rows of ``model`` matching
    ``where``, and AWS's DeleteConflict message for them."""

    model: Any
    where: tuple[Any, ...]
    message: str


def inline_conflict(entity_type: str, entity_id: str) -> Conflict:
    where = (InlinePolicy.entity_type == entity_type, InlinePolicy.entity_id == entity_id)
    return Conflict(InlinePolicy, where, MUST_DELETE_POLICIES)


def attached_conflict(entity_type: str, entity_id: str) -> Conflict:
    where = (Attachment.entity_type == entity_type, Attachment.entity_id == entity_id)
    return Conflict(Attachment, where, MUST_DETACH_POLICIES)


def refuse_delete(session: Session, *conflicts: Conflict) -> None:
    """DeleteConflict (409) naming the first of ``conflicts`` (in the order the Delete… reference
    lists what to remove first) that still has rows."""
    for conflict in conflicts:
        count = select(func.count()).select_from(conflict.model).where(*conflict.where)
        if session.scalar(count):
            raise AwsError("DeleteConflict", conflict.message)

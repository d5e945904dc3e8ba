"""Managed-policy attachments and permissions boundaries of users, groups and roles.

Attach{User,Group,Role}Policy, Detach{User,Group,Role}Policy, ListAttached{User,Group,Role}Policies,
ListEntitiesForPolicy, Put/Delete{User,Role}PermissionsBoundary — IAM API reference for each;
IAM User Guide, "IAM and AWS STS quotas" (10 managed policies per user, group or role) and
"Permissions boundaries for IAM entities". Authorization follows the Service Authorization
Reference: the resource is the user, group or role; ``iam:PolicyARN`` names the policy being
attached, ``iam:PermissionsBoundary`` the entity's boundary (for Put…PermissionsBoundary: the new one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    arn,
    check_name,
    check_path,
    check_policy_arn,
    find_group,
    find_role,
    find_user,
    no_such_entity,
    page,
    resource_tag_context,
    visible_policy,
)
from monban.services.iam.managed_policies import authorized_policy, check_enum, check_policy_path
from monban.services.iam.roles import check_boundary
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import Attachment, Group, ManagedPolicy, Role, User

OPERATIONS: dict[str, Operation] = {}

MAX_ATTACHED = 10
ContextValues = dict[str, str | Sequence[str] | None]
Entity = User | Group | Role


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of entity that managed policies attach to."""

    name: str  # "user" | "group" | "role"
    title: str  # "User" — as in AttachUserPolicy
    param: str  # "UserName"
    member: str  # "userName" (ValidationError wording)
    max_len: int
    quota: str  # LimitExceeded "Cannot exceed quota for PoliciesPerUser: 10"
    find: Callable[[Session, str, str], Entity | None]


KINDS = {
    "user": Kind("user", "User", "UserName", "userName", 64, "PoliciesPerUser", find_user),
    "group": Kind("group", "Group", "GroupName", "groupName", 128, "PoliciesPerGroup", find_group),
    "role": Kind("role", "Role", "RoleName", "roleName", 64, "PoliciesPerRole", find_role),
}


def entity_context(session: Session, kind: Kind, entity: Entity) -> ContextValues:
    """Users and roles carry their tags and permissions boundary as condition keys; groups none."""
    if isinstance(entity, Group):
        return {}
    values: ContextValues = dict(resource_tag_context(session, kind.name, entity.id))
    if entity.permissions_boundary:
        values["iam:PermissionsBoundary"] = entity.permissions_boundary
    return values


def authorized_entity(
    call: QueryCall, session: Session, kind: Kind, action: str, extra: ContextValues | None = None
) -> Entity:
    """The user, group or role named by the request, once ``action`` on it is authorized; a
    missing one is AccessDenied to a caller who may not act on it, NoSuchEntity otherwise."""
    name = check_name(call.params.required(kind.param), kind.member, kind.max_len)
    account = call.caller.account
    entity = kind.find(session, account, name)
    if entity is None:
        call.authorize(action, arn(account, kind.name, "/", name), extra_context=extra)
        raise no_such_entity(kind.name, name)
    context = entity_context(session, kind, entity)
    context.update(extra or {})
    call.authorize(action, entity.arn, extra_context=context)
    return entity


def attached_arns(session: Session, kind: Kind, entity: Entity) -> list[str]:
    query = select(Attachment.policy_arn).where(
        Attachment.entity_type == kind.name, Attachment.entity_id == entity.id
    )
    return list(session.scalars(query))


# --- attach / detach / list --------------------------------------------------------------------


def attach(call: QueryCall, kind: Kind) -> Result:
    """Attach…Policy: the policy must be the account's own or AWS managed (NoSuchEntity "Policy
    <arn> does not exist or is not attachable."); attaching it again changes nothing; at most 10."""
    policy_arn = check_policy_arn(call.params.required("PolicyArn"))
    with call.write() as session:
        action = f"iam:Attach{kind.title}Policy"
        entity = authorized_entity(call, session, kind, action, {"iam:PolicyARN": policy_arn})
        visible_policy(session, call.caller.account, policy_arn)
        existing = attached_arns(session, kind, entity)
        if policy_arn in existing:
            return None
        if len(existing) >= MAX_ATTACHED:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for {kind.quota}: {MAX_ATTACHED}")
        session.add(Attachment(entity_type=kind.name, entity_id=entity.id, policy_arn=policy_arn))
        session.flush()
    return None


def detach(call: QueryCall, kind: Kind) -> Result:
    """Detach…Policy: NoSuchEntity "Policy <arn> was not found." when it is not attached."""
    policy_arn = check_policy_arn(call.params.required("PolicyArn"))
    with call.write() as session:
        action = f"iam:Detach{kind.title}Policy"
        entity = authorized_entity(call, session, kind, action, {"iam:PolicyARN": policy_arn})
        row = session.get(Attachment, (kind.name, entity.id, policy_arn))
        if row is None:
            raise AwsError("NoSuchEntity", f"Policy {policy_arn} was not found.")
        session.delete(row)
        session.flush()
    return None


def list_attached(call: QueryCall, kind: Kind) -> Result:
    """ListAttached…Policies: AttachedPolicies (PolicyName, PolicyArn), PathPrefix on the policy path."""
    raw_prefix = call.params.get("PathPrefix")
    prefix = check_policy_path(raw_prefix, "pathPrefix") if raw_prefix else "/"
    with call.read() as session:
        entity = authorized_entity(call, session, kind, f"iam:ListAttached{kind.title}Policies")
        arns = attached_arns(session, kind, entity)
        query = select(ManagedPolicy).where(ManagedPolicy.arn.in_(arns))
        policies = sorted(session.scalars(query), key=lambda p: (p.name_lower, p.arn))
        shown = [p for p in policies if p.path.startswith(prefix)]
        return page(
            call.params, shown, lambda p: {"PolicyName": p.name, "PolicyArn": p.arn}, "AttachedPolicies"
        )


def _register(name: str, handler: Callable[[QueryCall, Kind], Result], kind: Kind) -> None:
    def run(call: QueryCall) -> Result:
        return handler(call, kind)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = handler.__doc__
    register(OPERATIONS, name)(run)


for _kind in KINDS.values():
    _register(f"Attach{_kind.title}Policy", attach, _kind)
    _register(f"Detach{_kind.title}Policy", detach, _kind)
    _register(f"ListAttached{_kind.title}Policies", list_attached, _kind)


# --- entities of a policy ----------------------------------------------------------------------

_ENTITY_FILTERS = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


E = TypeVar("E", User, Group, Role)


def _attached_to(session: Session, model: type[E], kind: str, account: str, policy_arn: str) -> list[E]:
    query = (
        select(model)
        .join(Attachment, Attachment.entity_id == model.id)
        .where(
            Attachment.entity_type == kind, Attachment.policy_arn == policy_arn, model.account_id == account
        )
    )
    return list(session.scalars(query))


def _bounded_by(session: Session, model: type[User] | type[Role], account: str, policy_arn: str) -> list[Any]:
    query = select(model).where(model.account_id == account, model.permissions_boundary == policy_arn)
    return list(session.scalars(query))


def _entities(session: Session, account: str, policy_arn: str, usage: str | None) -> list[tuple[str, Entity]]:
    """(kind, entity) pairs using the policy in the account: as a permissions policy (attached),
    as a permissions boundary, or either (no PolicyUsageFilter)."""
    found: dict[str, tuple[str, Entity]] = {}
    if usage in (None, "PermissionsPolicy"):
        for user in _attached_to(session, User, "user", account, policy_arn):
            found[user.id] = ("user", user)
        for group in _attached_to(session, Group, "group", account, policy_arn):
            found[group.id] = ("group", group)
        for role in _attached_to(session, Role, "role", account, policy_arn):
            found[role.id] = ("role", role)
    if usage in (None, "PermissionsBoundary"):
        for name, model in (("user", User), ("role", Role)):
            for entity in _bounded_by(session, model, account, policy_arn):
                found[entity.id] = (name, entity)
    return sorted(found.values(), key=lambda pair: (pair[0], pair[1].name_lower))


_LISTS = {"user": ("PolicyUsers", "UserName", "UserId"), "group": ("PolicyGroups", "GroupName", "GroupId"),
          "role": ("PolicyRoles", "RoleName", "RoleId")}  # fmt: skip


@register(OPERATIONS, "ListEntitiesForPolicy")
def list_entities_for_policy(call: QueryCall) -> Result:
    """ListEntitiesForPolicy: PolicyGroups, PolicyUsers, PolicyRoles; EntityFilter, PathPrefix,
    PolicyUsageFilter; one page over the three lists together."""
    p = call.params
    entity_filter = check_enum(p.get("EntityFilter"), "entityFilter", _ENTITY_FILTERS)
    usage = check_enum(p.get("PolicyUsageFilter"), "policyUsageFilter", _USAGES)
    prefix = check_path(p.get("PathPrefix"), "pathPrefix")
    with call.read() as session:
        policy = authorized_policy(call, session, p.required("PolicyArn"), "iam:ListEntitiesForPolicy")
        pairs = [
            pair
            for pair in _entities(session, call.caller.account, policy.arn, usage)
            if pair[1].path.startswith(prefix) and entity_filter in (None, pair[0].title())
        ]
        shaped = page(p, pairs, lambda pair: pair, "Entities")
    out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    for kind, entity in shaped.pop("Entities"):
        list_name, name_key, id_key = _LISTS[kind]
        out[list_name].append({name_key: entity.name, id_key: entity.id})
    out.update(shaped)
    return out


# --- permissions boundaries --------------------------------------------------------------------


def put_boundary(call: QueryCall, kind: Kind) -> Result:
    """Put…PermissionsBoundary: the policy must exist (NoSuchEntity "Scope ARN: <arn> does not
    exist or is not attachable."); ``iam:PermissionsBoundary`` is the boundary being set."""
    boundary = call.params.required("PermissionsBoundary")
    check_policy_arn(boundary, "permissionsBoundary")
    with call.write() as session:
        action = f"iam:Put{kind.title}PermissionsBoundary"
        entity = authorized_entity(call, session, kind, action, {"iam:PermissionsBoundary": boundary})
        check_boundary(session, call.caller.account, boundary)
        cast(User | Role, entity).permissions_boundary = boundary
        session.flush()
    return None


def delete_boundary(call: QueryCall, kind: Kind) -> Result:
    """Delete…PermissionsBoundary: the entity is no longer bounded (a no-op when it was not)."""
    with call.write() as session:
        entity = authorized_entity(call, session, kind, f"iam:Delete{kind.title}PermissionsBoundary")
        cast(User | Role, entity).permissions_boundary = None
        session.flush()
    return None


for _kind in (KINDS["user"], KINDS["role"]):
    _register(f"Put{_kind.title}PermissionsBoundary", put_boundary, _kind)
    _register(f"Delete{_kind.title}PermissionsBoundary", delete_boundary, _kind)

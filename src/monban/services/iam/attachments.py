"""Managed-policy attachments and permissions boundaries of users, groups and roles.

Attach{User,Group,Role}Policy, Detach{User,Group,Role}Policy, ListAttached{User,Group,Role}Policies,
ListEntitiesForPolicy, Put/Delete{User,Role}PermissionsBoundary — IAM API reference for each;
IAM User Guide, "IAM and AWS STS quotas" (10 managed policies per user, group or role) and
"Permissions boundaries for IAM entities". Authorization follows the Service Authorization
Reference: the resource is the user, group or role; ``iam:PolicyARN`` names the policy being
attached, ``iam:PermissionsBoundary`` the entity's boundary (for Put…PermissionsBoundary: the new one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    ContextValues,
    Entity,
    boundary_policy,
    check_enum,
    check_name,
    check_path,
    check_policy_arn,
    page,
    policies_by_arn,
    visible_policy,
)
from monban.services.iam.entities import KINDS, EntityKind, authorized_entity, register_for
from monban.services.iam.managed_policies import authorized_policy, check_policy_path
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import Attachment, Role, User

OPERATIONS: dict[str, Operation] = {}

MAX_ATTACHED = 10
NAME_LIMITS = {"user": 64, "group": 128, "role": 64}  # userNameType, groupNameType, roleNameType


def policies_quota(kind: str) -> AwsError:
    """LimitExceeded "Cannot exceed quota for PoliciesPerUser: 10" (IAM quotas)."""
    return AwsError(
        "LimitExceeded", f"Cannot exceed quota for PoliciesPer{KINDS[kind].label}: {MAX_ATTACHED}"
    )


def _entity(
    call: QueryCall, session: Session, kind: EntityKind, action: str, extra: ContextValues | None = None
) -> Entity:
    """The user, group or role named by the request, once ``action`` on it is authorized."""
    name = check_name(call.params.required(kind.param), kind.member, NAME_LIMITS[kind.name])
    return authorized_entity(call, session, kind.name, name, action, extra)


def attached_arns(session: Session, entity_type: str, entity_id: str) -> list[str]:
    query = select(Attachment.policy_arn).where(
        Attachment.entity_type == entity_type, Attachment.entity_id == entity_id
    )
    return list(session.scalars(query))


# --- attach / detach / list --------------------------------------------------------------------


def attach(call: QueryCall, kind: EntityKind) -> Result:
    """Attach…Policy: the policy must be the account's own or AWS managed (NoSuchEntity "Policy
    <arn> does not exist or is not attachable."); attaching it again changes nothing; at most 10."""
    policy_arn = check_policy_arn(call.params.required("PolicyArn"))
    with call.write() as session:
        action = f"iam:Attach{kind.label}Policy"
        entity = _entity(call, session, kind, action, {"iam:PolicyARN": policy_arn})
        visible_policy(session, call.caller.account, policy_arn)
        attach_policies(session, kind.name, entity.id, [policy_arn])
    return None


def attach_policies(session: Session, entity_type: str, entity_id: str, arns: Sequence[str]) -> None:
    """Attach what is not attached yet (attaching again changes nothing); at most 10 in all, else
    nothing is attached (also used by the bootstrap file)."""
    present = set(attached_arns(session, entity_type, entity_id))
    missing = [a for a in dict.fromkeys(arns) if a not in present]
    if len(present) + len(missing) > MAX_ATTACHED:
        raise policies_quota(entity_type)
    for policy_arn in missing:
        session.add(Attachment(entity_type=entity_type, entity_id=entity_id, policy_arn=policy_arn))
    session.flush()


def detach(call: QueryCall, kind: EntityKind) -> Result:
    """Detach…Policy: NoSuchEntity "Policy <arn> was not found." when it is not attached."""
    policy_arn = check_policy_arn(call.params.required("PolicyArn"))
    with call.write() as session:
        action = f"iam:Detach{kind.label}Policy"
        entity = _entity(call, session, kind, action, {"iam:PolicyARN": policy_arn})
        row = session.get(Attachment, (kind.name, entity.id, policy_arn))
        if row is None:
            raise AwsError("NoSuchEntity", f"Policy {policy_arn} was not found.")
        session.delete(row)
        session.flush()
    return None


def list_attached(call: QueryCall, kind: EntityKind) -> Result:
    """ListAttached…Policies: AttachedPolicies (PolicyName, PolicyArn), PathPrefix on the policy path."""
    raw_prefix = call.params.get("PathPrefix")
    prefix = check_policy_path(raw_prefix, "pathPrefix") if raw_prefix else "/"
    with call.read() as session:
        entity = _entity(call, session, kind, f"iam:ListAttached{kind.label}Policies")
        arns = attached_arns(session, kind.name, entity.id)
        policies = policies_by_arn(session, entity.account_id, arns)
        shown = [p for p in policies if p.path.startswith(prefix)]
        return page(
            call.params, shown, lambda p: {"PolicyName": p.name, "PolicyArn": p.arn}, "AttachedPolicies"
        )


for _kind in KINDS.values():
    register_for(OPERATIONS, f"Attach{_kind.label}Policy", attach, _kind)
    register_for(OPERATIONS, f"Detach{_kind.label}Policy", detach, _kind)
    register_for(OPERATIONS, f"ListAttached{_kind.label}Policies", list_attached, _kind)


# --- entities of a policy ----------------------------------------------------------------------

_ENTITY_FILTERS = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


def _entities(session: Session, account: str, policy_arn: str, usage: str | None) -> list[tuple[str, Entity]]:
    """(kind, entity) pairs using the policy in the account: as a permissions policy (attached),
    as a permissions boundary, or either (no PolicyUsageFilter)."""
    found: dict[str, tuple[str, Entity]] = {}
    for kind in KINDS.values():
        model: Any = kind.model
        if usage in (None, "PermissionsPolicy"):
            attached = (
                select(model)
                .join(Attachment, Attachment.entity_id == model.id)
                .where(Attachment.entity_type == kind.name, Attachment.policy_arn == policy_arn)
            )
            found.update(
                (e.id, (kind.name, e)) for e in session.scalars(attached.where(model.account_id == account))
            )
        if usage in (None, "PermissionsBoundary") and kind.name != "group":
            bounded = select(model).where(
                model.account_id == account, model.permissions_boundary == policy_arn
            )
            found.update((e.id, (kind.name, e)) for e in session.scalars(bounded))
    return sorted(found.values(), key=lambda pair: (pair[0], pair[1].name_lower))


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
        label = KINDS[kind].label
        out[f"Policy{label}s"].append({f"{label}Name": entity.name, f"{label}Id": entity.id})
    out.update(shaped)
    return out


# --- permissions boundaries --------------------------------------------------------------------


def put_boundary(call: QueryCall, kind: EntityKind) -> Result:
    """Put…PermissionsBoundary: the policy must exist (NoSuchEntity "Scope ARN: <arn> does not
    exist or is not attachable."); ``iam:PermissionsBoundary`` is the boundary being set."""
    boundary = call.params.required("PermissionsBoundary")
    check_policy_arn(boundary, "permissionsBoundary")
    with call.write() as session:
        action = f"iam:Put{kind.label}PermissionsBoundary"
        entity = _entity(call, session, kind, action, {"iam:PermissionsBoundary": boundary})
        boundary_policy(session, call.caller.account, boundary)
        cast(User | Role, entity).permissions_boundary = boundary
        session.flush()
    return None


def delete_boundary(call: QueryCall, kind: EntityKind) -> Result:
    """Delete…PermissionsBoundary: the entity is no longer bounded (a no-op when it was not)."""
    with call.write() as session:
        entity = _entity(call, session, kind, f"iam:Delete{kind.label}PermissionsBoundary")
        cast(User | Role, entity).permissions_boundary = None
        session.flush()
    return None


for _kind in (KINDS["user"], KINDS["role"]):
    register_for(OPERATIONS, f"Put{_kind.label}PermissionsBoundary", put_boundary, _kind)
    register_for(OPERATIONS, f"Delete{_kind.label}PermissionsBoundary", delete_boundary, _kind)

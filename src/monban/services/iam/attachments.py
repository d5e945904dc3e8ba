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

from sqlalchemy import or_, select
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
    policies_by_arn,
    visible_policy,
)
from monban.services.iam.entities import KINDS, EntityKind, authorized_entity, register_for
from monban.services.iam.managed_policies import authorized_policy, check_policy_path
from monban.services.iam.paging import Window, after, by_path, keyed, page, policy_key, window
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import Attachment, ManagedPolicy, Role, User

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


def _attached_shape(policy: ManagedPolicy) -> dict[str, str]:
    return {"PolicyName": policy.name, "PolicyArn": policy.arn}


def list_attached(call: QueryCall, kind: EntityKind) -> Result:
    """ListAttached…Policies: AttachedPolicies (PolicyName, PolicyArn), PathPrefix on the policy path."""
    raw_prefix = call.params.get("PathPrefix")
    prefix = check_policy_path(raw_prefix, "pathPrefix") if raw_prefix else "/"
    with call.read() as session:
        entity = _entity(call, session, kind, f"iam:ListAttached{kind.label}Policies")
        arns = attached_arns(session, kind.name, entity.id)
        policies = policies_by_arn(session, entity.account_id, arns)
        shown = [p for p in policies if p.path.startswith(prefix)]
        return page(call.params, shown, _attached_shape, "AttachedPolicies", policy_key, width=2)


for _kind in KINDS.values():
    register_for(OPERATIONS, f"Attach{_kind.label}Policy", attach, _kind)
    register_for(OPERATIONS, f"Detach{_kind.label}Policy", detach, _kind)
    register_for(OPERATIONS, f"ListAttached{_kind.label}Policies", list_attached, _kind)


# --- entities of a policy ----------------------------------------------------------------------

_ENTITY_FILTERS = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


def _entities(
    session: Session,
    account: str,
    policy_arn: str,
    usage: str | None,
    prefix: str,
    wanted: str | None,
    chosen: Window,
) -> list[tuple[str, Entity]]:
    """(kind, entity) pairs of the account using the policy as a permissions policy (attached),
    as a permissions boundary, or either (no PolicyUsageFilter), under ``prefix``, by kind then
    lower-case name: at most ``MaxItems + 1`` past the Marker, one query per kind."""
    found: list[tuple[str, Entity]] = []
    for name in sorted(KINDS):
        kind, model = KINDS[name], cast(Any, KINDS[name].model)
        if wanted not in (None, kind.label) or (chosen.after is not None and name < chosen.after[0]):
            continue
        uses = []
        if usage in (None, "PermissionsPolicy"):
            users = select(Attachment.entity_id).where(
                Attachment.entity_type == name, Attachment.policy_arn == policy_arn
            )
            uses.append(model.id.in_(users))
        if usage in (None, "PermissionsBoundary") and name != "group":
            uses.append(model.permissions_boundary == policy_arn)
        start = chosen.after[1:] if chosen.after is not None and chosen.after[0] == name else None
        conditions = [
            model.account_id == account,
            or_(*uses),
            by_path(model, prefix),
            after([model.name_lower], start),
        ]
        query = select(model).where(*(c for c in conditions if c is not None)).order_by(model.name_lower)
        found += [(name, row) for row in session.scalars(query.limit(chosen.size + 1 - len(found)))]
        if len(found) > chosen.size:
            break
    return found


@register(OPERATIONS, "ListEntitiesForPolicy")
def list_entities_for_policy(call: QueryCall) -> Result:
    """ListEntitiesForPolicy: PolicyGroups, PolicyUsers, PolicyRoles; EntityFilter, PathPrefix,
    PolicyUsageFilter; one page over the three lists together (groups, roles, users)."""
    p = call.params
    entity_filter = check_enum(p.get("EntityFilter"), "entityFilter", _ENTITY_FILTERS)
    usage = check_enum(p.get("PolicyUsageFilter"), "policyUsageFilter", _USAGES)
    prefix = check_path(p.get("PathPrefix"), "pathPrefix")
    with call.read() as session:
        policy = authorized_policy(call, session, p.required("PolicyArn"), "iam:ListEntitiesForPolicy")
        chosen = window(p, 2)
        pairs = _entities(session, call.caller.account, policy.arn, usage, prefix, entity_filter, chosen)
        shaped = keyed(
            chosen, pairs, lambda pair: (pair[0], pair[1].name_lower), lambda pair: pair, "Entities"
        )
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

"""GetAccountAuthorizationDetails: every user, group, role and managed policy of the account with
their relationships (IAM API reference). Authorized on ``*`` (the action has no resource type).

``Filter.member.N`` picks entity types (User, Role, Group, LocalManagedPolicy, AWSManagedPolicy);
one MaxItems/Marker position runs across the four lists, in that order. Documents are returned
URL-encoded. AWS managed policies appear when something in the account uses them (attached, or
as a permissions boundary), as AWS lists them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.services.iam.attachments import attached_arns
from monban.services.iam.common import (
    boundary_shape,
    check_enum,
    encode_document,
    entity_shape,
    group_shape,
    policies_by_arn,
    tags_of,
    trust_document,
)
from monban.services.iam.entities import KINDS
from monban.services.iam.groups import groups_of
from monban.services.iam.inline_policies import inline_rows
from monban.services.iam.instance_profiles import profile_shape, profiles_of
from monban.services.iam.managed_policies import policy_shape, usage_counts, version_shape, versions_of
from monban.services.iam.paging import Key, Window, after, keyed, policy_key, window
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.managed import is_aws_arn
from monban.store.models import Group, ManagedPolicy, Role, User

OPERATIONS: dict[str, Operation] = {}

ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
LISTS = {"user": "UserDetailList", "group": "GroupDetailList", "role": "RoleDetailList", "policy": "Policies"}
Usage = tuple[dict[str, int], dict[str, int]]  # (attachments, boundary uses) per policy ARN


def _filter(call: QueryCall) -> set[str]:
    chosen = call.params.members("Filter")
    for index, value in enumerate(chosen, start=1):
        check_enum(value, f"filter.{index}.member", ENTITY_TYPES)
    return set(chosen or ENTITY_TYPES)


def _inline(session: Session, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    return [
        {"PolicyName": row.name, "PolicyDocument": encode_document(row.document)}
        for row in inline_rows(session, entity_type, entity_id)
    ]


def _attached(session: Session, account: str, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    arns = attached_arns(session, entity_type, entity_id)
    return [{"PolicyName": p.name, "PolicyArn": p.arn} for p in policies_by_arn(session, account, arns)]


def _user(session: Session, user: User) -> dict[str, Any]:
    """UserDetail: the User shape with its inline and attached policies, groups, boundary and tags."""
    return {
        **entity_shape("User", user),
        "UserPolicyList": _inline(session, "user", user.id),
        "GroupList": [group.name for group in groups_of(session, user)],
        "AttachedManagedPolicies": _attached(session, user.account_id, "user", user.id),
        "PermissionsBoundary": boundary_shape(user.permissions_boundary),
        "Tags": tags_of(session, "user", user.id),
    }


def _group(session: Session, group: Group) -> dict[str, Any]:
    return {
        **group_shape(group),
        "GroupPolicyList": _inline(session, "group", group.id),
        "AttachedManagedPolicies": _attached(session, group.account_id, "group", group.id),
    }


def _role(session: Session, role: Role) -> dict[str, Any]:
    """RoleDetail: with its instance profiles (their roles as ListRoles shows them), policies,
    boundary, tags and last use."""
    last_used: dict[str, Any] = {}
    if role.last_used_at:
        last_used = {"LastUsedDate": role.last_used_at, "Region": role.last_used_region}
    return {
        **entity_shape("Role", role),
        "AssumeRolePolicyDocument": trust_document(session, role),
        "InstanceProfileList": [profile_shape(session, profile) for profile in profiles_of(session, role)],
        "RolePolicyList": _inline(session, "role", role.id),
        "AttachedManagedPolicies": _attached(session, role.account_id, "role", role.id),
        "PermissionsBoundary": boundary_shape(role.permissions_boundary),
        "Tags": tags_of(session, "role", role.id),
        "RoleLastUsed": last_used,
    }


def _policy(session: Session, usage: Usage, policy: ManagedPolicy) -> dict[str, Any]:
    """ManagedPolicyDetail: the Policy shape with every version's document, oldest first."""
    attached, bounded = usage
    versions = sorted(versions_of(session, policy, documents=True), key=lambda v: v.created_at)
    return {
        **policy_shape(policy, attached.get(policy.arn, 0), bounded.get(policy.arn, 0)),
        "PolicyVersionList": [version_shape(policy, v, document=True) for v in versions],
    }


SEGMENTS = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")  # the answer's order
Item = tuple[str, Key, Any]  # (list kind, sort key, row)


def _segment(session: Session, account: str, label: str, start: Key | None, limit: int) -> list[Any]:
    """One Filter type's rows by lower-case name then ARN, past ``start``: one keyset query; the
    AWS managed policies the account uses (attached, or as a permissions boundary) from the catalogue."""
    if label == "AWSManagedPolicy":
        attached, bounded = usage_counts(session, account)
        used = [arn for arn in attached.keys() | bounded.keys() if is_aws_arn(arn)]
        rows = [
            row for row in policies_by_arn(session, account, used) if start is None or policy_key(row) > start
        ]
        return rows[:limit]
    model: Any = ManagedPolicy if label == "LocalManagedPolicy" else KINDS[label.lower()].model
    columns = [model.name_lower, model.arn]
    conditions = [model.account_id == account, after(columns, start)]
    query = select(model).where(*(c for c in conditions if c is not None)).order_by(*columns)
    return list(session.scalars(query.limit(limit)))


def _entities(session: Session, account: str, chosen: set[str], place: Window) -> list[Item]:
    """Everything to report, in output order, past the Marker: at most ``MaxItems + 1`` items."""
    found: list[Item] = []
    for index, label in enumerate(SEGMENTS):
        tag = str(index)
        if label not in chosen or (place.after is not None and tag < place.after[0]):
            continue
        start = place.after[1:] if place.after is not None and place.after[0] == tag else None
        kind = "policy" if label.endswith("Policy") else label.lower()
        for row in _segment(session, account, label, start, place.size + 1 - len(found)):
            found.append((kind, (tag, *policy_key(row)), row))
        if len(found) > place.size:
            break
    return found


@register(OPERATIONS, "GetAccountAuthorizationDetails")
def get_account_authorization_details(call: QueryCall) -> Result:
    chosen = _filter(call)
    account = call.caller.account
    call.authorize("iam:GetAccountAuthorizationDetails", "*")
    place = window(call.params, 3)
    with call.read() as session:
        items = _entities(session, account, chosen, place)
        usage = usage_counts(session, account, [row.arn for kind, _, row in items if kind == "policy"])
        renderers = {
            "user": lambda row: _user(session, row),
            "group": lambda row: _group(session, row),
            "role": lambda row: _role(session, row),
            "policy": lambda row: _policy(session, usage, row),
        }
        paged = keyed(place, items, lambda item: item[1], lambda item: item, "Items")
        result: dict[str, Any] = {name: [] for name in LISTS.values()}
        for kind, _, row in paged["Items"]:
            result[LISTS[kind]].append(renderers[kind](row))
        result["IsTruncated"] = paged["IsTruncated"]
        result["Marker"] = paged.get("Marker")
        return result

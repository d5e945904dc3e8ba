"""GetAccountAuthorizationDetails: every user, group, role and managed policy of the account with
their relationships (IAM API reference). Authorized on ``*`` (the action has no resource type).

``Filter.member.N`` picks entity types (User, Role, Group, LocalManagedPolicy, AWSManagedPolicy);
one MaxItems/Marker position runs across the four lists, in that order. Documents are returned
URL-encoded. AWS managed policies appear when something in the account uses them (attached, or
as a permissions boundary), as AWS lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.protocol.errors import validation_error
from monban.services.iam.common import encode_document, page, tags_of
from monban.services.iam.groups import groups_of
from monban.services.iam.inline_policies import inline_rows
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import (
    Attachment,
    Group,
    InstanceProfile,
    InstanceProfileRole,
    ManagedPolicy,
    PolicyVersion,
    Role,
    User,
)

OPERATIONS: dict[str, Operation] = {}

ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
LISTS = {"user": "UserDetailList", "group": "GroupDetailList", "role": "RoleDetailList", "policy": "Policies"}


def _filter(call: QueryCall) -> set[str]:
    chosen = call.params.members("Filter")
    for index, value in enumerate(chosen, start=1):
        if value not in ENTITY_TYPES:
            raise validation_error(
                value, f"filter.{index}.member", "satisfy enum value set: [" + ", ".join(ENTITY_TYPES) + "]"
            )
    return set(chosen or ENTITY_TYPES)


def _boundary(arn: str | None) -> dict[str, str] | None:
    if not arn:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def _inline(session: Session, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    return [
        {"PolicyName": row.name, "PolicyDocument": encode_document(row.document)}
        for row in inline_rows(session, entity_type, entity_id)
    ]


def _attached(session: Session, entity_type: str, entity_id: str) -> list[dict[str, str]]:
    query = (
        select(ManagedPolicy)
        .join(Attachment, Attachment.policy_arn == ManagedPolicy.arn)
        .where(Attachment.entity_type == entity_type, Attachment.entity_id == entity_id)
        .order_by(ManagedPolicy.name_lower)
    )
    return [{"PolicyName": p.name, "PolicyArn": p.arn} for p in session.scalars(query)]


def _user(session: Session, user: User) -> dict[str, Any]:
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
        "UserPolicyList": _inline(session, "user", user.id),
        "GroupList": [group.name for group in groups_of(session, user)],
        "AttachedManagedPolicies": _attached(session, "user", user.id),
        "PermissionsBoundary": _boundary(user.permissions_boundary),
        "Tags": tags_of(session, "user", user.id),
    }


def _group(session: Session, group: Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
        "GroupPolicyList": _inline(session, "group", group.id),
        "AttachedManagedPolicies": _attached(session, "group", group.id),
    }


def _role_summary(session: Session, role: Role) -> dict[str, Any]:
    """The Role shape inside an instance profile."""
    return {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": encode_document(role.trust_policy),
        "Description": role.description,
        "MaxSessionDuration": role.max_session_duration,
    }


def _profiles(session: Session, role: Role) -> list[dict[str, Any]]:
    query = (
        select(InstanceProfile)
        .join(InstanceProfileRole, InstanceProfileRole.profile_id == InstanceProfile.id)
        .where(InstanceProfileRole.role_id == role.id)
        .order_by(InstanceProfile.name_lower)
    )
    out = []
    for profile in session.scalars(query):
        members = select(Role).join(InstanceProfileRole, InstanceProfileRole.role_id == Role.id)
        roles = session.scalars(members.where(InstanceProfileRole.profile_id == profile.id))
        out.append(
            {
                "Path": profile.path,
                "InstanceProfileName": profile.name,
                "InstanceProfileId": profile.id,
                "Arn": profile.arn,
                "CreateDate": profile.created_at,
                "Roles": [_role_summary(session, r) for r in roles],
                "Tags": tags_of(session, "instance-profile", profile.id) or None,
            }
        )
    return out


def _role(session: Session, role: Role) -> dict[str, Any]:
    last_used: dict[str, Any] = {}
    if role.last_used_at:
        last_used = {"LastUsedDate": role.last_used_at, "Region": role.last_used_region}
    return {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": encode_document(role.trust_policy),
        "InstanceProfileList": _profiles(session, role),
        "RolePolicyList": _inline(session, "role", role.id),
        "AttachedManagedPolicies": _attached(session, "role", role.id),
        "PermissionsBoundary": _boundary(role.permissions_boundary),
        "Tags": tags_of(session, "role", role.id),
        "RoleLastUsed": last_used,
    }


def _usage(session: Session, account: str, policy_arn: str) -> tuple[int, int]:
    """(attachments, boundary uses) of a policy among this account's users, groups and roles."""
    attached = 0
    for model, entity_type in ((User, "user"), (Group, "group"), (Role, "role")):
        query = (
            select(Attachment)
            .join(model, model.id == Attachment.entity_id)
            .where(
                Attachment.entity_type == entity_type,
                Attachment.policy_arn == policy_arn,
                model.account_id == account,
            )
        )
        attached += len(list(session.scalars(query)))
    boundary = 0
    for holder in (User, Role):
        query_b = select(holder).where(
            holder.account_id == account, holder.permissions_boundary == policy_arn
        )
        boundary += len(list(session.scalars(query_b)))
    return attached, boundary


def _policy(session: Session, account: str, policy: ManagedPolicy) -> dict[str, Any]:
    attached, boundary = _usage(session, account, policy.arn)
    versions = session.scalars(
        select(PolicyVersion).where(PolicyVersion.policy_id == policy.id).order_by(PolicyVersion.created_at)
    )
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": boundary,
        "IsAttachable": True,
        "Description": policy.description,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
        "PolicyVersionList": [
            {
                "Document": encode_document(v.document),
                "VersionId": v.version_id,
                "IsDefaultVersion": v.version_id == policy.default_version_id,
                "CreateDate": v.created_at,
            }
            for v in versions
        ],
    }


def _aws_policies_in_use(session: Session, account: str) -> list[ManagedPolicy]:
    used: set[str] = set()
    for model, entity_type in ((User, "user"), (Group, "group"), (Role, "role")):
        query = (
            select(Attachment.policy_arn)
            .join(model, model.id == Attachment.entity_id)
            .where(Attachment.entity_type == entity_type, model.account_id == account)
        )
        used.update(session.scalars(query))
    for holder in (User, Role):
        query_b = select(holder.permissions_boundary).where(
            holder.account_id == account, holder.permissions_boundary.is_not(None)
        )
        used.update(arn for arn in session.scalars(query_b) if arn)
    rows = select(ManagedPolicy).where(ManagedPolicy.account_id == "aws", ManagedPolicy.arn.in_(used))
    return list(session.scalars(rows.order_by(ManagedPolicy.name_lower)))


def _entities(session: Session, account: str, chosen: set[str]) -> list[tuple[str, Any]]:
    """Everything to report, in output order, as (list kind, row)."""
    items: list[tuple[str, Any]] = []
    by_name: Sequence[tuple[str, Any, Any]] = (
        ("User", User, User.name_lower),
        ("Group", Group, Group.name_lower),
        ("Role", Role, Role.name_lower),
    )
    for kind, model, order in by_name:
        if kind in chosen:
            rows = session.scalars(select(model).where(model.account_id == account).order_by(order))
            items += [(kind.lower(), row) for row in rows]
    policies: list[ManagedPolicy] = []
    if "LocalManagedPolicy" in chosen:
        local = select(ManagedPolicy).where(ManagedPolicy.account_id == account)
        policies += session.scalars(local.order_by(ManagedPolicy.name_lower))
    if "AWSManagedPolicy" in chosen:
        policies += _aws_policies_in_use(session, account)
    items += [("policy", policy) for policy in policies]
    return items


@register(OPERATIONS, "GetAccountAuthorizationDetails")
def get_account_authorization_details(call: QueryCall) -> Result:
    chosen = _filter(call)
    account = call.caller.account
    call.authorize("iam:GetAccountAuthorizationDetails", "*")
    with call.read() as session:
        renderers = {
            "user": lambda row: _user(session, row),
            "group": lambda row: _group(session, row),
            "role": lambda row: _role(session, row),
            "policy": lambda row: _policy(session, account, row),
        }
        paged = page(call.params, _entities(session, account, chosen), lambda item: item, "Items")
        result: dict[str, Any] = {name: [] for name in LISTS.values()}
        for kind, row in paged["Items"]:
            result[LISTS[kind]].append(renderers[kind](row))
        result["IsTruncated"] = paged["IsTruncated"]
        result["Marker"] = paged.get("Marker")
        return result

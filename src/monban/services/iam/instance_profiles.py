"""Instance profiles: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles,
DeleteInstanceProfile, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
ListInstanceProfilesForRole.

IAM API reference for each action; IAM User Guide, "Using instance profiles" and "IAM and AWS STS
quotas": an instance profile holds at most one role (LimitExceeded "Cannot exceed quota for
InstanceSessionsPerInstanceProfile: 1"); it cannot be deleted while it holds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    arn,
    check_name,
    check_path,
    check_path_prefix,
    delete_tags,
    find_role,
    merge_tags,
    no_such_entity,
    page,
    request_tag_context,
    role_shape,
    tags_of,
    tags_param,
)
from monban.services.iam.roles import authorized_role
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.models import InstanceProfile, InstanceProfileRole, Role

OPERATIONS: dict[str, Operation] = {}

ROLES_PER_PROFILE = 1
ContextValues = dict[str, str | Sequence[str] | None]


def profile_not_found(name: str) -> AwsError:
    return AwsError("NoSuchEntity", f"Instance Profile {name} cannot be found.")


def find_profile(session: Session, account: str, name: str) -> InstanceProfile | None:
    query = select(InstanceProfile).where(
        InstanceProfile.account_id == account, InstanceProfile.name_lower == name.lower()
    )
    return session.scalar(query)


def authorized_profile(call: QueryCall, session: Session, action: str) -> InstanceProfile:
    """The profile named by InstanceProfileName once ``action`` on it is authorized (a missing one
    is AccessDenied to a caller who may not act on it, NoSuchEntity otherwise)."""
    name = check_name(call.params.required("InstanceProfileName"), "instanceProfileName", 128)
    account = call.caller.account
    profile = find_profile(session, account, name)
    if profile is None:
        call.authorize(action, arn(account, "instance-profile", "/", name))
        raise profile_not_found(name)
    tags = {
        f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags_of(session, "instance-profile", profile.id)
    }
    call.authorize(action, profile.arn, extra_context=dict(tags))
    return profile


def roles_of(session: Session, profile: InstanceProfile) -> list[Role]:
    query = (
        select(Role)
        .join(InstanceProfileRole, InstanceProfileRole.role_id == Role.id)
        .where(InstanceProfileRole.profile_id == profile.id)
    )
    return list(session.scalars(query))


def profile_shape(session: Session, profile: InstanceProfile, *, tags: bool = True) -> dict[str, Any]:
    """The InstanceProfile structure, with its role(s) in full."""
    shape: dict[str, Any] = {
        "Path": profile.path,
        "InstanceProfileName": profile.name,
        "InstanceProfileId": profile.id,
        "Arn": profile.arn,
        "CreateDate": profile.created_at,
        "Roles": [role_shape(role) for role in roles_of(session, profile)],
    }
    profile_tags = tags_of(session, "instance-profile", profile.id) if tags else []
    if profile_tags:
        shape["Tags"] = profile_tags
    return shape


@register(OPERATIONS, "CreateInstanceProfile")
def create_instance_profile(call: QueryCall) -> Result:
    """CreateInstanceProfile: EntityAlreadyExists "Instance Profile <name> already exists."."""
    p = call.params
    name = check_name(p.required("InstanceProfileName"), "instanceProfileName", 128)
    path = check_path(p.get("Path"))
    tags = tags_param(p)
    account = call.caller.account
    profile_arn = arn(account, "instance-profile", path, name)
    context: ContextValues = dict(request_tag_context(tags)) if tags else {}
    call.authorize("iam:CreateInstanceProfile", profile_arn, extra_context=context)
    with call.write() as session:
        if find_profile(session, account, name) is not None:
            raise AwsError("EntityAlreadyExists", f"Instance Profile {name} already exists.")
        profile = InstanceProfile(
            id=ids.unique_id(ids.INSTANCE_PROFILE_PREFIX), account_id=account, name=name,
            name_lower=name.lower(), path=path, arn=profile_arn, created_at=now(),
        )  # fmt: skip
        session.add(profile)
        session.flush()
        if tags:
            merge_tags(session, "instance-profile", profile.id, tags, "TagsPerInstanceProfile")
        return {"InstanceProfile": profile_shape(session, profile)}


@register(OPERATIONS, "GetInstanceProfile")
def get_instance_profile(call: QueryCall) -> Result:
    with call.read() as session:
        profile = authorized_profile(call, session, "iam:GetInstanceProfile")
        return {"InstanceProfile": profile_shape(session, profile)}


@register(OPERATIONS, "ListInstanceProfiles")
def list_instance_profiles(call: QueryCall) -> Result:
    """ListInstanceProfiles: PathPrefix and paging; Tags are left out of listings."""
    prefix = check_path_prefix(call.params.get("PathPrefix"))
    call.authorize("iam:ListInstanceProfiles", "*")
    with call.read() as session:
        query = select(InstanceProfile).where(InstanceProfile.account_id == call.caller.account)
        profiles = sorted(
            (ip for ip in session.scalars(query) if ip.path.startswith(prefix)), key=lambda ip: ip.name_lower
        )
        return page(
            call.params, profiles, lambda ip: profile_shape(session, ip, tags=False), "InstanceProfiles"
        )


@register(OPERATIONS, "DeleteInstanceProfile")
def delete_instance_profile(call: QueryCall) -> Result:
    """DeleteInstanceProfile: DeleteConflict "Cannot delete entity, must remove roles from
    instance profile first." while it holds a role."""
    with call.write() as session:
        profile = authorized_profile(call, session, "iam:DeleteInstanceProfile")
        if roles_of(session, profile):
            raise AwsError(
                "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first."
            )
        delete_tags(session, "instance-profile", profile.id)
        session.delete(profile)
        session.flush()
    return None


def _role_in(session: Session, call: QueryCall) -> Role:
    """The role named by RoleName (in the caller's account), or NoSuchEntity."""
    name = check_name(call.params.required("RoleName"), "roleName")
    role = find_role(session, call.caller.account, name)
    if role is None:
        raise no_such_entity("role", name)
    return role


@register(OPERATIONS, "AddRoleToInstanceProfile")
def add_role_to_instance_profile(call: QueryCall) -> Result:
    """AddRoleToInstanceProfile: one role per profile (LimitExceeded)."""
    with call.write() as session:
        profile = authorized_profile(call, session, "iam:AddRoleToInstanceProfile")
        role = _role_in(session, call)
        if roles_of(session, profile):
            raise AwsError(
                "LimitExceeded",
                f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}",
            )
        session.add(InstanceProfileRole(profile_id=profile.id, role_id=role.id))
        session.flush()
    return None


@register(OPERATIONS, "RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(call: QueryCall) -> Result:
    with call.write() as session:
        profile = authorized_profile(call, session, "iam:RemoveRoleFromInstanceProfile")
        role = _role_in(session, call)
        link = session.get(InstanceProfileRole, (profile.id, role.id))
        if link is None:
            raise AwsError("NoSuchEntity", f"The role with name {role.name} cannot be found.")
        session.delete(link)
        session.flush()
    return None


@register(OPERATIONS, "ListInstanceProfilesForRole")
def list_instance_profiles_for_role(call: QueryCall) -> Result:
    with call.read() as session:
        role = authorized_role(
            call, session, call.params.required("RoleName"), "iam:ListInstanceProfilesForRole"
        )
        query = (
            select(InstanceProfile)
            .join(InstanceProfileRole, InstanceProfileRole.profile_id == InstanceProfile.id)
            .where(InstanceProfileRole.role_id == role.id)
        )
        profiles = sorted(session.scalars(query), key=lambda ip: ip.name_lower)
        return page(
            call.params, profiles, lambda ip: profile_shape(session, ip, tags=False), "InstanceProfiles"
        )

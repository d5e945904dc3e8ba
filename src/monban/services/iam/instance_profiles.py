"""Instance profiles: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles,
DeleteInstanceProfile, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
ListInstanceProfilesForRole.

IAM API reference for each action; IAM User Guide, "Using instance profiles" and "IAM and AWS STS
quotas": an instance profile holds at most one role (LimitExceeded "Cannot exceed quota for
InstanceSessionsPerInstanceProfile: 1"); it cannot be deleted while it holds one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    arn,
    authorize_create,
    check_name,
    check_path,
    delete_tags,
    find_named,
    find_role,
    insert_named,
    listed_role,
    merge_tags,
    no_such_entity,
    tags_of,
    tags_param,
)
from monban.services.iam.entities import MUST_REMOVE_ROLES, Conflict, refuse_delete
from monban.services.iam.paging import list_in_path, name_key, page
from monban.services.iam.roles import authorized_role, passed_role
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import InstanceProfile, InstanceProfileRole, Role

OPERATIONS: dict[str, Operation] = {}

ROLES_PER_PROFILE = 1
PROFILE_NAME = 128


def profile_not_found(name: str) -> AwsError:
    return AwsError("NoSuchEntity", f"Instance Profile {name} cannot be found.")


def find_profile(session: Session, account: str, name: str) -> InstanceProfile | None:
    return find_named(session, InstanceProfile, account, name)


def authorized_profile(call: QueryCall, session: Session, action: str) -> InstanceProfile:
    """The profile named by InstanceProfileName once ``action`` on it is authorized (a missing one
    is AccessDenied to a caller who may not act on it, NoSuchEntity otherwise)."""
    name = check_name(call.params.required("InstanceProfileName"), "instanceProfileName", PROFILE_NAME)
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


def create_profile_record(session: Session, account: str, name: str, path: str) -> InstanceProfile:
    """Insert an instance profile (EntityAlreadyExists "Instance Profile <name> already exists.");
    also used by the bootstrap file."""
    if find_profile(session, account, name) is not None:
        raise AwsError("EntityAlreadyExists", f"Instance Profile {name} already exists.")
    return insert_named(
        session, InstanceProfile, ids.INSTANCE_PROFILE_PREFIX, "instance-profile", account, name, path
    )


def roles_of(session: Session, profile: InstanceProfile) -> list[Role]:
    query = (
        select(Role)
        .join(InstanceProfileRole, InstanceProfileRole.role_id == Role.id)
        .where(InstanceProfileRole.profile_id == profile.id)
    )
    return list(session.scalars(query))


def profiles_of(session: Session, role: Role) -> list[InstanceProfile]:
    """The instance profiles holding ``role``, by name."""
    query = (
        select(InstanceProfile)
        .join(InstanceProfileRole, InstanceProfileRole.profile_id == InstanceProfile.id)
        .where(InstanceProfileRole.role_id == role.id)
    )
    return sorted(session.scalars(query), key=lambda ip: ip.name_lower)


def add_profile_role(session: Session, profile: InstanceProfile, role: Role) -> None:
    """One role per profile: LimitExceeded "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"."""
    if roles_of(session, profile):
        raise AwsError(
            "LimitExceeded",
            f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}",
        )
    session.add(InstanceProfileRole(profile_id=profile.id, role_id=role.id))
    session.flush()


def profile_shape(session: Session, profile: InstanceProfile, *, tags: bool = True) -> dict[str, Any]:
    """The InstanceProfile structure; its role(s) as ListRoles shows them (no PermissionsBoundary,
    RoleLastUsed or Tags: AWS returns those from GetRole only)."""
    shape: dict[str, Any] = {
        "Path": profile.path,
        "InstanceProfileName": profile.name,
        "InstanceProfileId": profile.id,
        "Arn": profile.arn,
        "CreateDate": profile.created_at,
        "Roles": [listed_role(session, role) for role in roles_of(session, profile)],
    }
    profile_tags = tags_of(session, "instance-profile", profile.id) if tags else []
    if profile_tags:
        shape["Tags"] = profile_tags
    return shape


@register(OPERATIONS, "CreateInstanceProfile")
def create_instance_profile(call: QueryCall) -> Result:
    """CreateInstanceProfile: EntityAlreadyExists "Instance Profile <name> already exists."."""
    p = call.params
    name = check_name(p.required("InstanceProfileName"), "instanceProfileName", PROFILE_NAME)
    path = check_path(p.get("Path"))
    tags = tags_param(p)
    account = call.caller.account
    authorize_create(call, "iam:CreateInstanceProfile", arn(account, "instance-profile", path, name), tags)
    with call.write() as session:
        profile = create_profile_record(session, account, name, path)
        if tags:
            merge_tags(session, "instance-profile", profile.id, tags, "TagsPerInstanceProfile")
        return {"InstanceProfile": profile_shape(session, profile)}


@register(OPERATIONS, "GetInstanceProfile")
def get_instance_profile(call: QueryCall) -> Result:
    with call.read() as session:
        profile = authorized_profile(call, session, "iam:GetInstanceProfile")
        return {"InstanceProfile": profile_shape(session, profile)}


def _listed(session: Session, profile: InstanceProfile) -> dict[str, Any]:
    """Tags are left out of listings."""
    return profile_shape(session, profile, tags=False)


@register(OPERATIONS, "ListInstanceProfiles")
def list_instance_profiles(call: QueryCall) -> Result:
    """ListInstanceProfiles: PathPrefix and paging; Tags are left out of listings."""
    return list_in_path(call, InstanceProfile, "iam:ListInstanceProfiles", None, "InstanceProfiles", _listed)


@register(OPERATIONS, "DeleteInstanceProfile")
def delete_instance_profile(call: QueryCall) -> Result:
    """DeleteInstanceProfile: DeleteConflict "Cannot delete entity, must remove roles from
    instance profile first." while it holds a role."""
    with call.write() as session:
        profile = authorized_profile(call, session, "iam:DeleteInstanceProfile")
        refuse_delete(
            session,
            Conflict(InstanceProfileRole, (InstanceProfileRole.profile_id == profile.id,), MUST_REMOVE_ROLES),
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
    """AddRoleToInstanceProfile: iam:AddRoleToInstanceProfile on the profile, then iam:PassRole
    on the role (``passed_role``); one role per profile (LimitExceeded)."""
    name = check_name(call.params.required("RoleName"), "roleName")
    with call.write() as session:
        profile = authorized_profile(call, session, "iam:AddRoleToInstanceProfile")
        add_profile_role(session, profile, passed_role(call, session, name))
    return None


@register(OPERATIONS, "RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(call: QueryCall) -> Result:
    with call.write() as session:
        profile = authorized_profile(call, session, "iam:RemoveRoleFromInstanceProfile")
        role = _role_in(session, call)
        link = session.get(InstanceProfileRole, (profile.id, role.id))
        if link is None:
            raise no_such_entity("role", role.name)
        session.delete(link)
        session.flush()
    return None


@register(OPERATIONS, "ListInstanceProfilesForRole")
def list_instance_profiles_for_role(call: QueryCall) -> Result:
    with call.read() as session:
        action = "iam:ListInstanceProfilesForRole"
        role = authorized_role(call, session, call.params.required("RoleName"), action)
        profiles = profiles_of(session, role)
        return page(call.params, profiles, lambda ip: _listed(session, ip), "InstanceProfiles", name_key)

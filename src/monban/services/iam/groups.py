"""Groups: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup, AddUserToGroup,
RemoveUserFromGroup, ListGroupsForUser.

Group actions are authorized on the group's ARN (AddUserToGroup and RemoveUserFromGroup too, per
the service authorization reference); ListGroups on ``arn:aws:iam::<acct>:group<PathPrefix>``;
ListGroupsForUser on the user's ARN. A user belongs to at most 10 groups (IAM quotas).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    arn,
    authorized_group,
    authorized_user,
    check_name,
    check_path,
    check_path_prefix,
    find_group,
    get_user,
    group_shape,
    page,
)
from monban.services.iam.users import listed_user
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.models import Attachment, Group, GroupMember, InlinePolicy, User

OPERATIONS: dict[str, Operation] = {}

GROUP_NAME = 128
GROUPS_PER_USER = 10


def create_group_record(session: Session, account: str, name: str, path: str = "/") -> Group:
    """Insert a group (unique case-insensitively in the account: EntityAlreadyExists)."""
    if find_group(session, account, name) is not None:
        raise AwsError("EntityAlreadyExists", f"Group with name {name} already exists.")
    group = Group(
        id=ids.unique_id(ids.GROUP_PREFIX),
        account_id=account,
        name=name,
        name_lower=name.lower(),
        path=path,
        arn=arn(account, "group", path, name),
        created_at=now(),
    )
    session.add(group)
    session.flush()
    return group


def group_members(session: Session, group: Group) -> list[User]:
    query = (
        select(User)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group.id)
        .order_by(User.name_lower)
    )
    return list(session.scalars(query))


def groups_of(session: Session, user: User) -> list[Group]:
    query = (
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user.id)
        .order_by(Group.name_lower)
    )
    return list(session.scalars(query))


def add_member(session: Session, group: Group, user: User) -> None:
    """Idempotent; LimitExceeded "Cannot exceed quota for GroupsPerUser: 10" past the quota."""
    if session.get(GroupMember, (group.id, user.id)) is not None:
        return
    count = session.scalar(
        select(func.count()).select_from(GroupMember).where(GroupMember.user_id == user.id)
    )
    if (count or 0) >= GROUPS_PER_USER:
        raise AwsError("LimitExceeded", f"Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}")
    session.add(GroupMember(group_id=group.id, user_id=user.id))
    session.flush()


def _group_name(call: QueryCall, name: str = "GroupName", member: str = "groupName") -> str:
    return check_name(call.params.required(name), member, GROUP_NAME)


@register(OPERATIONS, "CreateGroup")
def create_group(call: QueryCall) -> Result:
    name = _group_name(call)
    path = check_path(call.params.get("Path"))
    account = call.caller.account
    with call.write() as session:
        call.authorize("iam:CreateGroup", arn(account, "group", path, name))
        return {"Group": group_shape(create_group_record(session, account, name, path))}


@register(OPERATIONS, "GetGroup")
def get_group(call: QueryCall) -> Result:
    """GetGroup: the group and its users (paged by MaxItems/Marker)."""
    name = _group_name(call)
    with call.read() as session:
        group = authorized_group(call, session, name, "iam:GetGroup")
        users = page(call.params, group_members(session, group), listed_user, "Users")
        return {"Group": group_shape(group), **users}


@register(OPERATIONS, "ListGroups")
def list_groups(call: QueryCall) -> Result:
    prefix = check_path_prefix(call.params.get("PathPrefix"))
    account = call.caller.account
    call.authorize("iam:ListGroups", f"arn:aws:iam::{account}:group{prefix}")
    with call.read() as session:
        query = (
            select(Group)
            .where(Group.account_id == account, Group.path.startswith(prefix, autoescape=True))
            .order_by(Group.name_lower)
        )
        return page(call.params, list(session.scalars(query)), group_shape, "Groups")


@register(OPERATIONS, "UpdateGroup")
def update_group(call: QueryCall) -> Result:
    """UpdateGroup: NewGroupName / NewPath; permission needed on both the old and the new ARN."""
    params = call.params
    name = _group_name(call)
    new_name = params.get("NewGroupName")
    if new_name is not None:
        check_name(new_name, "newGroupName", GROUP_NAME)
    new_path = params.get("NewPath")
    if new_path is not None:
        check_path(new_path, "newPath")
    with call.write() as session:
        group = authorized_group(call, session, name, "iam:UpdateGroup")
        target_name = new_name or group.name
        target_path = new_path or group.path
        target_arn = arn(group.account_id, "group", target_path, target_name)
        if target_arn != group.arn:
            call.authorize("iam:UpdateGroup", target_arn)
        if target_name.lower() != group.name_lower and find_group(session, group.account_id, target_name):
            raise AwsError("EntityAlreadyExists", f"Group with name {target_name} already exists.")
        group.name, group.name_lower = target_name, target_name.lower()
        group.path, group.arn = target_path, target_arn
        session.flush()
    return None


def _group_conflict(session: Session, group: Group) -> str | None:
    """DeleteGroup: members, inline policies, attached policies must be removed first."""
    if session.scalar(select(GroupMember).where(GroupMember.group_id == group.id).limit(1)) is not None:
        return "Cannot delete entity, must remove users from group first."
    inline = select(InlinePolicy).where(
        InlinePolicy.entity_type == "group", InlinePolicy.entity_id == group.id
    )
    if session.scalar(inline.limit(1)) is not None:
        return "Cannot delete entity, must delete policies first."
    attached = select(Attachment).where(Attachment.entity_type == "group", Attachment.entity_id == group.id)
    if session.scalar(attached.limit(1)) is not None:
        return "Cannot delete entity, must detach all policies first."
    return None


@register(OPERATIONS, "DeleteGroup")
def delete_group(call: QueryCall) -> Result:
    name = _group_name(call)
    with call.write() as session:
        group = authorized_group(call, session, name, "iam:DeleteGroup")
        conflict = _group_conflict(session, group)
        if conflict is not None:
            raise AwsError("DeleteConflict", conflict)
        session.delete(group)
        session.flush()
    return None


def _user_name(call: QueryCall) -> str:
    return check_name(call.params.required("UserName"), "userName", 128)


@register(OPERATIONS, "AddUserToGroup")
def add_user_to_group(call: QueryCall) -> Result:
    group_name, user_name = _group_name(call), _user_name(call)
    with call.write() as session:
        group = authorized_group(call, session, group_name, "iam:AddUserToGroup")
        add_member(session, group, get_user(session, group.account_id, user_name))
    return None


@register(OPERATIONS, "RemoveUserFromGroup")
def remove_user_from_group(call: QueryCall) -> Result:
    group_name, user_name = _group_name(call), _user_name(call)
    with call.write() as session:
        group = authorized_group(call, session, group_name, "iam:RemoveUserFromGroup")
        user = get_user(session, group.account_id, user_name)
        member = session.get(GroupMember, (group.id, user.id))
        if member is None:
            raise AwsError("NoSuchEntity", f"User {user.name} not in group {group.name}")
        session.delete(member)
        session.flush()
    return None


@register(OPERATIONS, "ListGroupsForUser")
def list_groups_for_user(call: QueryCall) -> Result:
    with call.read() as session:
        user = authorized_user(call, session, _user_name(call), "iam:ListGroupsForUser")
        return page(call.params, groups_of(session, user), group_shape, "Groups")

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
    already_exists,
    arn,
    check_name,
    check_path,
    find_group,
    get_user,
    group_shape,
    insert_named,
    listed_user,
)
from monban.services.iam.entities import (
    KINDS,
    MUST_REMOVE_USERS,
    Conflict,
    attached_conflict,
    authorized_group,
    authorized_user,
    inline_conflict,
    refuse_delete,
    update_entity,
)
from monban.services.iam.paging import Key, after, keyed, list_in_path, name_key, page, window
from monban.services.iam.users import EXISTING_NAME
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import Group, GroupMember, User

OPERATIONS: dict[str, Operation] = {}

GROUP_NAME = 128
GROUPS_PER_USER = 10


def create_group_record(session: Session, account: str, name: str, path: str = "/") -> Group:
    """Insert a group (unique case-insensitively in the account: EntityAlreadyExists)."""
    if find_group(session, account, name) is not None:
        raise already_exists("Group", name)
    return insert_named(session, Group, ids.GROUP_PREFIX, "group", account, name, path)


def group_members(
    session: Session, group: Group, start: Key | None = None, limit: int | None = None
) -> list[User]:
    """The group's users by lower-case name, past ``start`` (a Marker's key), at most ``limit``."""
    query = (
        select(User)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group.id)
        .order_by(User.name_lower)
    )
    later = after([User.name_lower], start)
    if later is not None:
        query = query.where(later)
    return list(session.scalars(query.limit(limit)))


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
        chosen = window(call.params)
        members = group_members(session, group, chosen.after, chosen.size + 1)
        users = keyed(chosen, members, name_key, listed_user, "Users")
        return {"Group": group_shape(group), **users}


@register(OPERATIONS, "ListGroups")
def list_groups(call: QueryCall) -> Result:
    """ListGroups: groups whose path starts with PathPrefix, by name; MaxItems/Marker paging."""
    return list_in_path(call, Group, "iam:ListGroups", "group", "Groups", lambda _, group: group_shape(group))


@register(OPERATIONS, "UpdateGroup")
def update_group(call: QueryCall) -> Result:
    """UpdateGroup: NewGroupName / NewPath, permission needed on both the old and the new ARN."""
    return update_entity(call, KINDS["group"], GROUP_NAME, GROUP_NAME)


@register(OPERATIONS, "DeleteGroup")
def delete_group(call: QueryCall) -> Result:
    """DeleteGroup: DeleteConflict while it has members, inline or attached policies (in that order)."""
    name = _group_name(call)
    with call.write() as session:
        group = authorized_group(call, session, name, "iam:DeleteGroup")
        members = Conflict(GroupMember, (GroupMember.group_id == group.id,), MUST_REMOVE_USERS)
        refuse_delete(
            session, members, inline_conflict("group", group.id), attached_conflict("group", group.id)
        )
        session.delete(group)
        session.flush()
    return None


def _user_name(call: QueryCall) -> str:
    return check_name(call.params.required("UserName"), "userName", EXISTING_NAME)


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
        return page(call.params, groups_of(session, user), group_shape, "Groups", name_key)

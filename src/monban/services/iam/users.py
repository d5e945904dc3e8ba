"""Users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser.

IAM API reference (CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser) and the service
authorization reference: every user action is authorized on the user's ARN, ListUsers on
``arn:aws:iam::<acct>:user<PathPrefix>`` (what AWS's AccessDenied shows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.services.iam.common import (
    ContextValues,
    already_exists,
    arn,
    authorize_create,
    boundary_policy,
    calling_user,
    check_name,
    check_path,
    find_user,
    insert_named,
    listed_user,
    merge_tags,
    no_such_entity,
    tags_of,
    tags_param,
    user_shape,
)
from monban.services.iam.entities import (
    KINDS,
    MUST_REMOVE_USERS,
    Conflict,
    attached_conflict,
    authorized_user,
    entity_context,
    find_entity,
    inline_conflict,
    refuse_delete,
    update_entity,
)
from monban.services.iam.paging import list_in_path
from monban.services.iam.roles import delete_principal
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.models import AccessKey, Account, GroupMember, User

OPERATIONS: dict[str, Operation] = {}

USER_NAME = 64  # userNameType
EXISTING_NAME = 128  # existingUserNameType: lookups accept up to 128 characters


def create_user_record(
    session: Session,
    account: str,
    name: str,
    path: str = "/",
    *,
    boundary: str | None = None,
    tags: Sequence[tuple[str, str]] = (),
) -> User:
    """Insert a user (name unique case-insensitively in the account: EntityAlreadyExists)."""
    if find_user(session, account, name) is not None:
        raise already_exists("User", name)
    user = insert_named(
        session, User, ids.USER_PREFIX, "user", account, name, path, permissions_boundary=boundary
    )
    if tags:
        merge_tags(session, "user", user.id, tags, "TagsPerUser")
    return user


def _root_user(session: Session, account: str) -> dict[str, Any]:
    """GetUser called by the account root without UserName: the account itself."""
    row = session.get(Account, account)
    return {
        "UserId": account,
        "Arn": f"arn:aws:iam::{account}:root",
        "CreateDate": row.created_at if row else now(),
    }


@dataclass(frozen=True, slots=True)
class _UserView:
    """What GetUser answers for a named user, cached per IAM generation (read-only)."""

    arn: str
    context: ContextValues
    shape: dict[str, Any]


def _user_view(call: QueryCall, name: str) -> _UserView | None:
    """The named user's ARN, condition keys and response shape, from the per-generation cache
    (any IAM write starts a new generation, so a change is seen at once on this worker)."""
    account = call.caller.account

    def load() -> _UserView | bool:
        with call.read() as session:
            user = find_entity(session, "user", account, name)
            if not isinstance(user, User):
                return False
            context = entity_context(session, "user", user)
            return _UserView(user.arn, context, user_shape(user, tags_of(session, "user", user.id)))

    view = call.state.cached(("iam-get-user", account, name.lower()), load)
    return view if isinstance(view, _UserView) else None


@register(OPERATIONS, "GetUser", inline=True)
def get_user_op(call: QueryCall) -> Result:
    """GetUser: without UserName, the caller itself (an IAM user, or root → the account).

    A named user is answered from the per-generation cache, authorized first as AWS does (an
    unauthorized caller learns nothing about existence)."""
    name = call.params.get("UserName")
    caller = call.caller
    if name is not None:
        check_name(name, "userName", EXISTING_NAME)
        view = _user_view(call, name)
        if view is None:
            call.authorize("iam:GetUser", arn(caller.account, "user", "/", name))
            raise no_such_entity("user", name)
        call.authorize("iam:GetUser", view.arn, extra_context=view.context)
        return {"User": view.shape}
    with call.read() as session:
        if caller.is_root:
            call.authorize("iam:GetUser", caller.arn)
            return {"User": _root_user(session, caller.account)}
        name = calling_user(session, caller).name
        user = authorized_user(call, session, name, "iam:GetUser")
        return {"User": user_shape(user, tags_of(session, "user", user.id))}


@register(OPERATIONS, "CreateUser")
def create_user(call: QueryCall) -> Result:
    """CreateUser: Path, PermissionsBoundary (an existing managed policy), Tags (needs iam:TagUser too)."""
    params = call.params
    name = check_name(params.required("UserName"), "userName")
    path = check_path(params.get("Path"))
    boundary = params.get("PermissionsBoundary")
    tags = tags_param(params)
    account = call.caller.account
    user_arn = arn(account, "user", path, name)
    context = {} if boundary is None else {"iam:PermissionsBoundary": boundary}
    with call.write() as session:
        authorize_create(call, "iam:CreateUser", user_arn, tags, context)
        if boundary is not None:
            boundary_policy(session, account, boundary)
        user = create_user_record(session, account, name, path, boundary=boundary, tags=tags)
        return {"User": user_shape(user, tags_of(session, "user", user.id))}


@register(OPERATIONS, "ListUsers")
def list_users(call: QueryCall) -> Result:
    """ListUsers: users whose path starts with PathPrefix, by name; MaxItems/Marker paging."""
    return list_in_path(call, User, "iam:ListUsers", "user", "Users", lambda _, user: listed_user(user))


@register(OPERATIONS, "UpdateUser")
def update_user(call: QueryCall) -> Result:
    """UpdateUser: NewUserName / NewPath, permission needed on both the old and the new ARN."""
    return update_entity(call, KINDS["user"], EXISTING_NAME, USER_NAME)


def delete_conflicts(user: User) -> tuple[Conflict, ...]:
    """What DeleteUser wants removed first, in the order its reference lists them: access keys,
    inline policies, attached managed policies, group memberships."""
    return (
        Conflict(
            AccessKey, (AccessKey.user_id == user.id,), "Cannot delete entity, must delete access keys first."
        ),
        inline_conflict("user", user.id),
        attached_conflict("user", user.id),
        Conflict(GroupMember, (GroupMember.user_id == user.id,), MUST_REMOVE_USERS),
    )


@register(OPERATIONS, "DeleteUser")
def delete_user(call: QueryCall) -> Result:
    """DeleteUser: DeleteConflict (409) while the user still has keys, policies or groups."""
    name = check_name(call.params.required("UserName"), "userName", EXISTING_NAME)
    with call.write() as session:
        user = authorized_user(call, session, name, "iam:DeleteUser")
        refuse_delete(session, *delete_conflicts(user))
        delete_principal(session, "user", user)
    return None

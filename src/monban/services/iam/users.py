"""Users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser.

IAM API reference (CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser) and the service
authorization reference: every user action is authorized on the user's ARN, ListUsers on
``arn:aws:iam::<acct>:user<PathPrefix>`` (what AWS's AccessDenied shows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.protocol.errors import AwsError
from monban.services.iam.common import (
    arn,
    authorized_user,
    boundary_policy,
    check_name,
    check_path,
    check_path_prefix,
    delete_tags,
    find_user,
    merge_tags,
    page,
    request_tag_context,
    tags_of,
    tags_param,
    user_shape,
)
from monban.services.iam.roles import rebind_trust_policies
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.models import AccessKey, Account, Attachment, GroupMember, InlinePolicy, User

OPERATIONS: dict[str, Operation] = {}

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
        raise AwsError("EntityAlreadyExists", f"User with name {name} already exists.")
    user = User(
        id=ids.unique_id(ids.USER_PREFIX),
        account_id=account,
        name=name,
        name_lower=name.lower(),
        path=path,
        arn=arn(account, "user", path, name),
        created_at=now(),
        permissions_boundary=boundary,
    )
    session.add(user)
    session.flush()
    if tags:
        merge_tags(session, "user", user.id, tags, "TagsPerUser")
    return user


def listed_user(user: User) -> dict[str, Any]:
    """A user as List* operations show it: without PermissionsBoundary and Tags (ListUsers docs)."""
    shape = user_shape(user)
    shape.pop("PermissionsBoundary", None)
    return shape


def _root_user(session: Session, account: str) -> dict[str, Any]:
    """GetUser called by the account root without UserName: the account itself."""
    row = session.get(Account, account)
    return {
        "UserId": account,
        "Arn": f"arn:aws:iam::{account}:root",
        "CreateDate": row.created_at if row else now(),
    }


@register(OPERATIONS, "GetUser")
def get_user_op(call: QueryCall) -> Result:
    """GetUser: without UserName, the caller itself (an IAM user, or root → the account)."""
    name = call.params.get("UserName")
    caller = call.caller
    with call.read() as session:
        if name is None:
            if caller.is_root:
                call.authorize("iam:GetUser", caller.arn)
                return {"User": _root_user(session, caller.account)}
            own = (
                session.get(User, caller.user_id)
                if caller.user_id and caller.principal.type == "User"
                else None
            )
            if own is None:
                raise AwsError(
                    "ValidationError", "Must specify userName when calling with non-User credentials"
                )
            name = own.name
        check_name(name, "userName", EXISTING_NAME)
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
    context: dict[str, Any] = request_tag_context(tags) if tags else {}
    if boundary is not None:
        context["iam:PermissionsBoundary"] = boundary
    with call.write() as session:
        call.authorize("iam:CreateUser", user_arn, extra_context=context or None)
        if tags:
            call.authorize("iam:TagUser", user_arn, extra_context=context)
        if boundary is not None:
            boundary_policy(session, account, boundary)
        user = create_user_record(session, account, name, path, boundary=boundary, tags=tags)
        return {"User": user_shape(user, tags_of(session, "user", user.id))}


@register(OPERATIONS, "ListUsers")
def list_users(call: QueryCall) -> Result:
    """ListUsers: users whose path starts with PathPrefix, by name; MaxItems/Marker paging."""
    prefix = check_path_prefix(call.params.get("PathPrefix"))
    account = call.caller.account
    call.authorize("iam:ListUsers", f"arn:aws:iam::{account}:user{prefix}")
    with call.read() as session:
        query = (
            select(User)
            .where(User.account_id == account, User.path.startswith(prefix, autoescape=True))
            .order_by(User.name_lower)
        )
        return page(call.params, list(session.scalars(query)), listed_user, "Users")


@register(OPERATIONS, "UpdateUser")
def update_user(call: QueryCall) -> Result:
    """UpdateUser: NewUserName / NewPath. Renaming needs permission on both the old and the new
    ARN ("the requester must have appropriate permissions on both the source object and the
    target object"). Keys, groups and policies follow the user (they hang on its id)."""
    params = call.params
    name = check_name(params.required("UserName"), "userName", EXISTING_NAME)
    new_name = params.get("NewUserName")
    if new_name is not None:
        check_name(new_name, "newUserName")
    new_path = params.get("NewPath")
    if new_path is not None:
        check_path(new_path, "newPath")
    with call.write() as session:
        user = authorized_user(call, session, name, "iam:UpdateUser")
        target_name = new_name or user.name
        target_path = new_path or user.path
        target_arn = arn(user.account_id, "user", target_path, target_name)
        if target_arn != user.arn:
            call.authorize("iam:UpdateUser", target_arn)
        if target_name.lower() != user.name_lower and find_user(session, user.account_id, target_name):
            raise AwsError("EntityAlreadyExists", f"User with name {target_name} already exists.")
        user.name, user.name_lower, user.path, user.arn = (
            target_name,
            target_name.lower(),
            target_path,
            target_arn,
        )
        session.flush()
    return None


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def delete_conflict(session: Session, user: User) -> str | None:
    """Why DeleteUser must refuse, in the order the DeleteUser reference lists what to remove
    first: access keys, inline policies, attached managed policies, group memberships."""
    if _count(session, AccessKey, AccessKey.user_id == user.id):
        return "Cannot delete entity, must delete access keys first."
    inline = (InlinePolicy.entity_type == "user", InlinePolicy.entity_id == user.id)
    if _count(session, InlinePolicy, *inline):
        return "Cannot delete entity, must delete policies first."
    if _count(session, Attachment, Attachment.entity_type == "user", Attachment.entity_id == user.id):
        return "Cannot delete entity, must detach all policies first."
    if _count(session, GroupMember, GroupMember.user_id == user.id):
        return "Cannot delete entity, must remove users from group first."
    return None


@register(OPERATIONS, "DeleteUser")
def delete_user(call: QueryCall) -> Result:
    """DeleteUser: DeleteConflict (409) while the user still has keys, policies or groups."""
    name = check_name(call.params.required("UserName"), "userName", EXISTING_NAME)
    with call.write() as session:
        user = authorized_user(call, session, name, "iam:DeleteUser")
        conflict = delete_conflict(session, user)
        if conflict is not None:
            raise AwsError("DeleteConflict", conflict)
        delete_tags(session, "user", user.id)
        user_arn, user_id = user.arn, user.id
        session.delete(user)
        session.flush()
        # trust policies naming the user now name its unique id: a namesake is not trusted
        rebind_trust_policies(session, user_arn, user_id)
    return None

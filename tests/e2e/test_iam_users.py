"""Users through boto3: CreateUser (path, tags, boundary), GetUser, ListUsers (prefix, paging),
UpdateUser, DeleteUser (conflicts, trust rebinding), errors and authorization."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, allow, deny, document, error_of, first_account, uid
from tests.e2e.server import Server

IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def test_create_user_with_path_tags_and_boundary(acct: Account) -> None:
    iam = acct.iam()
    name = uid("full")
    created = iam.create_user(
        UserName=name,
        Path="/engineering/team/",
        PermissionsBoundary=IAM_READ,
        Tags=[{"Key": "Team", "Value": "identity"}, {"Key": "cost center", "Value": "4 2"}],
    )["User"]
    assert created["Arn"] == acct.arn("user", name, "/engineering/team/")
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) == 21
    assert created["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": IAM_READ,
    }
    fetched = iam.get_user(UserName=name)["User"]
    assert fetched["Path"] == "/engineering/team/"
    assert sorted(t["Key"] for t in fetched["Tags"]) == ["Team", "cost center"]
    assert fetched["PermissionsBoundary"]["PermissionsBoundaryArn"] == IAM_READ


def test_create_user_errors(acct: Account) -> None:
    iam = acct.iam()
    name = uid("dup")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName=name.upper())  # names are unique case-insensitively
    assert error_of(caught) == ("EntityAlreadyExists", 409, f"User with name {name.upper()} already exists.")
    with pytest.raises(ClientError) as caught:
        iam.create_user(
            UserName=uid("bad-boundary"), PermissionsBoundary=acct.arn("policy", "no-such-policy")
        )
    code, status, message = error_of(caught)
    assert (code, status) == ("NoSuchEntity", 404) and "does not exist or is not attachable" in message
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName="bad name!")
    code, status, message = error_of(caught)
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName=uid("path"), Path="no-slashes")
    assert error_of(caught)[:2] == ("ValidationError", 400)


def test_get_user_without_name_is_the_caller(acct: Account) -> None:
    name, key = acct.user("self", allow("iam:GetUser", acct.arn("user", "${aws:username}")))
    me = acct.iam(key).get_user()["User"]
    assert me["UserName"] == name and me["Arn"] == acct.arn("user", name)
    root = acct.iam().get_user()["User"]
    assert root["UserId"] == acct.id and root["Arn"] == f"arn:aws:iam::{acct.id}:root"


def test_get_missing_user_is_no_such_entity(acct: Account) -> None:
    missing = uid("ghost")
    with pytest.raises(ClientError) as caught:
        acct.iam().get_user(UserName=missing)
    assert error_of(caught) == ("NoSuchEntity", 404, f"The user with name {missing} cannot be found.")


def test_list_users_path_prefix_and_paging(acct: Account) -> None:
    iam = acct.iam()
    prefix = f"/{uid('list')}/"
    names = sorted(uid("member") for _ in range(5))
    for name in names:
        iam.create_user(UserName=name, Path=prefix, Tags=[{"Key": "k", "Value": "v"}])
    iam.create_user(UserName=uid("outside"), Path="/elsewhere/")
    first = iam.list_users(PathPrefix=prefix, MaxItems=2)
    assert [u["UserName"] for u in first["Users"]] == names[:2]
    assert first["IsTruncated"] is True and first["Marker"]
    assert "Tags" not in first["Users"][0] and "PermissionsBoundary" not in first["Users"][0]
    rest = iam.list_users(PathPrefix=prefix, Marker=first["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == names[2:] and rest["IsTruncated"] is False
    pages = iam.get_paginator("list_users").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2})
    paged = [user["UserName"] for page in pages for user in page["Users"]]
    assert paged == names


def test_update_user_renames_and_moves(acct: Account) -> None:
    iam = acct.iam()
    name, key = acct.user("old", allow("iam:GetUser"))
    new_name = uid("new")
    iam.update_user(UserName=name, NewUserName=new_name, NewPath="/moved/")
    user = iam.get_user(UserName=new_name)["User"]
    assert user["Arn"] == acct.arn("user", new_name, "/moved/") and user["Path"] == "/moved/"
    with pytest.raises(ClientError) as caught:
        iam.get_user(UserName=name)
    assert error_of(caught)[0] == "NoSuchEntity"
    # the key and the inline policy followed the user
    assert acct.iam(key).get_user()["User"]["UserName"] == new_name
    assert iam.list_user_policies(UserName=new_name)["PolicyNames"] == ["test-policy"]
    taken = uid("taken")
    iam.create_user(UserName=taken)
    with pytest.raises(ClientError) as caught:
        iam.update_user(UserName=new_name, NewUserName=taken)
    assert error_of(caught)[:2] == ("EntityAlreadyExists", 409)
    assert iam.get_user(UserName=new_name)["User"]["Path"] == "/moved/"  # unchanged


def test_update_user_needs_permission_on_both_names(acct: Account) -> None:
    target = uid("target")
    acct.iam().create_user(UserName=target)
    _name, key = acct.user("renamer", allow("iam:UpdateUser", acct.arn("user", target)))
    with pytest.raises(ClientError) as caught:
        acct.iam(key).update_user(UserName=target, NewUserName=uid("renamed"))
    code, status, message = error_of(caught)
    assert (code, status) == ("AccessDenied", 403) and "iam:UpdateUser" in message
    assert acct.iam().get_user(UserName=target)["User"]["UserName"] == target


def test_delete_user_conflicts_in_order(acct: Account) -> None:
    iam = acct.iam()
    name, key = acct.user("conflicted", allow("s3:ListBucket"))
    group = uid("group")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=IAM_READ)
    steps = [
        ("access keys", lambda: iam.delete_access_key(UserName=name, AccessKeyId=key[0])),
        ("delete policies", lambda: iam.delete_user_policy(UserName=name, PolicyName="test-policy")),
        ("detach all policies", lambda: iam.detach_user_policy(UserName=name, PolicyArn=IAM_READ)),
        ("remove users from group", lambda: iam.remove_user_from_group(GroupName=group, UserName=name)),
    ]
    messages = {
        "access keys": "Cannot delete entity, must delete access keys first.",
        "delete policies": "Cannot delete entity, must delete policies first.",
        "detach all policies": "Cannot delete entity, must detach all policies first.",
        "remove users from group": "Cannot delete entity, must remove users from group first.",
    }
    for step, fix in steps:
        with pytest.raises(ClientError) as caught:
            iam.delete_user(UserName=name)
        assert error_of(caught) == ("DeleteConflict", 409, messages[step])
        fix()
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as caught:
        iam.get_user(UserName=name)
    assert error_of(caught)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as caught:
        iam.delete_user(UserName=name)
    assert error_of(caught)[:2] == ("NoSuchEntity", 404)


def test_deleted_user_is_not_trusted_as_a_namesake(acct: Account) -> None:
    """A trust policy bound to a deleted user shows its unique id; a re-created user of the same
    name cannot assume the role."""
    iam = acct.iam()
    name, key = acct.user("trusted")
    user_id = iam.get_user(UserName=name)["User"]["UserId"]
    role = uid("role")
    trust = document(
        {"Effect": "Allow", "Principal": {"AWS": acct.arn("user", name)}, "Action": "sts:AssumeRole"}
    )
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    sts = acct.client("sts", key)
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="before")["Credentials"]["AccessKeyId"]
    iam.delete_access_key(UserName=name, AccessKeyId=key[0])
    iam.delete_user(UserName=name)
    policy = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert json.dumps(policy).count(user_id) == 1 and acct.arn("user", name) not in json.dumps(policy)
    iam.create_user(UserName=name)
    new_key = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(ClientError) as caught:
        acct.client("sts", (new_key["AccessKeyId"], new_key["SecretAccessKey"])).assume_role(
            RoleArn=role_arn, RoleSessionName="after"
        )
    assert error_of(caught)[:2] == ("AccessDenied", 403)


def test_user_without_permissions_is_denied(acct: Account) -> None:
    name, key = acct.user("nobody")
    target = uid("target")
    with pytest.raises(ClientError) as caught:
        acct.iam(key).create_user(UserName=target)
    assert error_of(caught) == (
        "AccessDenied",
        403,
        f"User: {acct.arn('user', name)} is not authorized to perform: iam:CreateUser on resource: "
        f"{acct.arn('user', target)} because no identity-based policy allows the iam:CreateUser action",
    )
    with pytest.raises(ClientError) as caught:
        acct.iam(key).list_users()
    code, _status, message = error_of(caught)
    assert code == "AccessDenied"
    assert f"iam:ListUsers on resource: arn:aws:iam::{acct.id}:user/ because" in message


def test_allowed_user_can_manage_users_and_deny_wins(acct: Account) -> None:
    prefix = f"/{uid('managed')}/"
    _name, key = acct.user(
        "admin",
        allow(["iam:CreateUser", "iam:GetUser", "iam:DeleteUser", "iam:ListUsers"]),
        deny("iam:DeleteUser", acct.arn("user", "protected-*", prefix)),
    )
    iam = acct.iam(key)
    plain, protected = uid("plain"), uid("protected")
    iam.create_user(UserName=plain, Path=prefix)
    iam.create_user(UserName=protected, Path=prefix)
    assert {u["UserName"] for u in iam.list_users(PathPrefix=prefix)["Users"]} == {plain, protected}
    iam.delete_user(UserName=plain)
    with pytest.raises(ClientError) as caught:
        iam.delete_user(UserName=protected)
    code, _status, message = error_of(caught)
    assert code == "AccessDenied" and "explicit deny in an identity-based policy" in message
    assert iam.get_user(UserName=protected)["User"]["UserName"] == protected


def test_unauthorized_caller_learns_nothing_about_existence(acct: Account) -> None:
    _name, key = acct.user("prober")
    for target in (uid("ghost"), acct.user("real")[0]):
        with pytest.raises(ClientError) as caught:
            acct.iam(key).get_user(UserName=target)
        assert error_of(caught)[:2] == ("AccessDenied", 403)


def test_create_user_with_tags_needs_tag_permission(acct: Account) -> None:
    _name, key = acct.user("creator", allow("iam:CreateUser"))
    iam = acct.iam(key)
    iam.create_user(UserName=uid("untagged"))
    tagged = uid("tagged")
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName=tagged, Tags=[{"Key": "a", "Value": "b"}])
    code, _status, message = error_of(caught)
    assert code == "AccessDenied" and "iam:TagUser" in message
    with pytest.raises(ClientError) as caught:
        acct.iam().get_user(UserName=tagged)
    assert error_of(caught)[0] == "NoSuchEntity"  # nothing half-created

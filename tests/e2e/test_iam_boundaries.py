"""Permissions boundaries through boto3: Put/Delete{User,Role}PermissionsBoundary, their validation and
authorization, and their effect on the bounded entity's own requests (users and role sessions)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, account_of, allow, document, error, new_entity, uid
from tests.e2e.server import Server

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
OTHER_ACCOUNT = "123456789012"


def s3_and_iam_get_boundary(iam: Any) -> str:
    """A customer managed boundary allowing only s3:* and iam:Get*."""
    text = document(allow(["s3:*", "iam:Get*"]))
    return str(iam.create_policy(PolicyName=uid("boundary"), PolicyDocument=text)["Policy"]["Arn"])


def admin_user(server: Server) -> tuple[str, Any]:
    iam = server.client("iam")
    name = uid("admin")
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))


def test_boundary_limits_an_administrator(server: Server) -> None:
    iam = server.client("iam")
    boundary = s3_and_iam_get_boundary(iam)
    name, client = admin_user(server)
    client.create_user(UserName=uid("before"))  # AdministratorAccess alone allows it
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    shown = iam.get_user(UserName=name)["User"]["PermissionsBoundary"]
    assert shown["PermissionsBoundaryArn"] == boundary
    with pytest.raises(ClientError) as caught:
        client.create_user(UserName=uid("blocked"))
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith("because no permissions boundary allows the iam:CreateUser action")
    assert client.get_user(UserName=name)["User"]["UserName"] == name  # iam:Get* is inside the boundary
    with pytest.raises(ClientError) as caught:
        client.list_users()  # allowed by the identity policy, outside the boundary
    assert error(caught)[0] == "AccessDenied"
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    client.create_user(UserName=uid("after"))


def test_boundary_does_not_grant(server: Server) -> None:
    iam = server.client("iam")
    name = uid("plain")
    iam.create_user(UserName=name)
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=ADMIN)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    with pytest.raises(ClientError) as caught:
        client.list_roles()
    code, message, _ = error(caught)
    assert code == "AccessDenied"
    assert message.endswith("because no identity-based policy allows the iam:ListRoles action")


def test_role_boundary_limits_its_sessions(server: Server) -> None:
    iam = server.client("iam")
    account = next(iter(server.roots))
    boundary = s3_and_iam_get_boundary(iam)
    role = uid("bounded")
    trust = document({"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"})
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=boundary)
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    caller = uid("caller")
    iam.create_user(UserName=caller)
    iam.put_user_policy(
        UserName=caller, PolicyName="assume", PolicyDocument=document(allow("sts:AssumeRole"))
    )
    key = iam.create_access_key(UserName=caller)["AccessKey"]
    sts = server.client("sts", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="bounded")["Credentials"]
    session = server.client(
        "iam",
        key=(credentials["AccessKeyId"], credentials["SecretAccessKey"]),
        token=credentials["SessionToken"],
    )
    assert session.get_role(RoleName=role)["Role"]["RoleName"] == role
    with pytest.raises(ClientError) as caught:
        session.create_user(UserName=uid("blocked"))
    assert error(caught)[0] == "AccessDenied"
    iam.delete_role_permissions_boundary(RoleName=role)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=role)["Role"]
    session.create_user(UserName=uid("now-allowed"))


def test_boundary_policy_must_exist_in_the_account(server: Server) -> None:
    iam = server.client("iam")
    name = uid("u")
    iam.create_user(UserName=name)
    missing = f"arn:aws:iam::{next(iter(server.roots))}:policy/{uid('nope')}"
    foreign = server.client("iam", account=OTHER_ACCOUNT).create_policy(
        PolicyName=uid("foreign"), PolicyDocument=document(allow("s3:*"))
    )["Policy"]["Arn"]
    for arn in (missing, foreign):
        with pytest.raises(ClientError) as caught:
            iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn)
        assert error(caught) == (
            "NoSuchEntity",
            f"Scope ARN: {arn} does not exist or is not attachable.",
            404,
        )
    with pytest.raises(ClientError) as caught:
        iam.put_role_permissions_boundary(RoleName=uid("ghost"), PermissionsBoundary=S3_READ_ONLY)
    assert error(caught)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as caught:
        iam.put_user_permissions_boundary(
            UserName=name, PermissionsBoundary="arn:aws:iam::aws:user/not-a-policy"
        )
    assert error(caught) == ("InvalidInput", "ARN arn:aws:iam::aws:user/not-a-policy is not valid.", 400)


def test_setting_a_boundary_can_be_required_by_condition(server: Server) -> None:
    iam = server.client("iam")
    account = next(iter(server.roots))
    actions = ["iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]
    condition = {"StringEquals": {"iam:PermissionsBoundary": S3_READ_ONLY}}
    delegate = document(allow(actions, f"arn:aws:iam::{account}:user/*", Condition=condition))
    manager = uid("manager")
    iam.create_user(UserName=manager)
    iam.put_user_policy(UserName=manager, PolicyName="delegate", PolicyDocument=delegate)
    key = iam.create_access_key(UserName=manager)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    target = uid("target")
    iam.create_user(UserName=target)
    with pytest.raises(ClientError) as caught:
        client.put_user_permissions_boundary(UserName=target, PermissionsBoundary=ADMIN)
    assert error(caught)[0] == "AccessDenied"
    client.put_user_permissions_boundary(UserName=target, PermissionsBoundary=S3_READ_ONLY)
    client.delete_user_permissions_boundary(UserName=target)  # the key holds the current boundary
    with pytest.raises(ClientError) as caught:
        client.delete_user_permissions_boundary(UserName=target)  # now there is none
    assert error(caught)[0] == "AccessDenied"


def test_a_missing_boundary_is_refused_alike_everywhere(server: Server) -> None:
    """CreateUser, CreateRole and Put{User,Role}PermissionsBoundary share one check and AWS's wording."""
    iam = server.client("iam")
    missing = f"arn:aws:iam::{account_of(server)}:policy/{uid('nope')}"
    user, role = new_entity(iam, "user"), new_entity(iam, "role")
    for call in (
        lambda: iam.create_user(UserName=uid("u"), PermissionsBoundary=missing),
        lambda: iam.create_role(
            RoleName=uid("r"), AssumeRolePolicyDocument=EC2_TRUST, PermissionsBoundary=missing
        ),
        lambda: iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=missing),
        lambda: iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=missing),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == (
            "NoSuchEntity",
            f"Scope ARN: {missing} does not exist or is not attachable.",
            404,
        )


def test_only_get_user_and_get_role_show_the_boundary(server: Server) -> None:
    """AWS returns PermissionsBoundary from GetUser and GetRole only: not from ListUsers, GetGroup's
    users, ListRoles or the roles of an instance profile (awsdocs/iam-user-guide#81). The
    instance-profile operations showed it before (they used GetRole's shape)."""
    iam = server.client("iam")
    path = f"/{uid('listed')}/"
    user, group, role = (new_entity(iam, kind, path) for kind in ("user", "group", "role"))
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=S3_READ_ONLY)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=S3_READ_ONLY)
    iam.add_user_to_group(GroupName=group, UserName=user)
    profile = uid("profile")
    iam.create_instance_profile(InstanceProfileName=profile, Path=path)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    assert (
        iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == S3_READ_ONLY
    )
    assert (
        iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == S3_READ_ONLY
    )
    users = iam.list_users(PathPrefix=path)["Users"] + iam.get_group(GroupName=group)["Users"]
    roles = iam.list_roles(PathPrefix=path)["Roles"]
    roles += iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    for listing in (
        iam.list_instance_profiles(PathPrefix=path),
        iam.list_instance_profiles_for_role(RoleName=role),
    ):
        roles += [entry for shown in listing["InstanceProfiles"] for entry in shown["Roles"]]
    assert [u["UserName"] for u in users] == [user, user]
    assert [r["RoleName"] for r in roles] == [role] * 4
    assert all("PermissionsBoundary" not in entry for entry in users + roles)

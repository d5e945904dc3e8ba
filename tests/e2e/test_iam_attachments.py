"""Managed-policy attachments through boto3: Attach/Detach/ListAttached for users, groups and roles,
the 10-policy quota, ListEntitiesForPolicy, the effect of an attachment on the entity's requests."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import allow, document, error, new_entity, uid
from tests.e2e.server import Server

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def calls(iam: Any, kind: str) -> tuple[Any, Any, Any, str]:
    """(attach, detach, list, name parameter) of one kind."""
    title = kind.title()
    return (
        getattr(iam, f"attach_{kind}_policy"),
        getattr(iam, f"detach_{kind}_policy"),
        getattr(iam, f"list_attached_{kind}_policies"),
        f"{title}Name",
    )


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_attach_list_detach(server: Server, kind: str) -> None:
    iam = server.client("iam")
    name = new_entity(iam, kind)
    attach, detach, listed, param = calls(iam, kind)
    path = f"/{uid('p')}/"
    local = iam.create_policy(PolicyName=uid("local"), Path=path, PolicyDocument=document(allow("s3:*")))[
        "Policy"
    ]
    attach(**{param: name, "PolicyArn": READ_ONLY})
    attach(**{param: name, "PolicyArn": local["Arn"]})
    attach(**{param: name, "PolicyArn": local["Arn"]})  # attaching again changes nothing
    shown = listed(**{param: name})["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in shown) == sorted([READ_ONLY, local["Arn"]])
    assert {p["PolicyName"] for p in shown} == {"ReadOnlyAccess", local["PolicyName"]}
    assert listed(**{param: name, "PathPrefix": path})["AttachedPolicies"] == [
        {"PolicyName": local["PolicyName"], "PolicyArn": local["Arn"]}
    ]
    assert iam.get_policy(PolicyArn=local["Arn"])["Policy"]["AttachmentCount"] == 1
    detach(**{param: name, "PolicyArn": READ_ONLY})
    with pytest.raises(ClientError) as caught:
        detach(**{param: name, "PolicyArn": READ_ONLY})
    assert error(caught) == ("NoSuchEntity", f"Policy {READ_ONLY} was not found.", 404)
    assert [p["PolicyArn"] for p in listed(**{param: name})["AttachedPolicies"]] == [local["Arn"]]


@pytest.mark.parametrize(
    ("kind", "quota"),
    [("user", "PoliciesPerUser"), ("group", "PoliciesPerGroup"), ("role", "PoliciesPerRole")],
)
def test_ten_managed_policies_per_entity(server: Server, kind: str, quota: str) -> None:
    iam = server.client("iam")
    name = new_entity(iam, kind)
    attach, _, listed, param = calls(iam, kind)
    arns = [
        iam.create_policy(PolicyName=uid("q"), PolicyDocument=document(allow("s3:GetObject")))["Policy"][
            "Arn"
        ]
        for _ in range(11)
    ]
    for policy_arn in arns[:10]:
        attach(**{param: name, "PolicyArn": policy_arn})
    with pytest.raises(ClientError) as caught:
        attach(**{param: name, "PolicyArn": arns[10]})
    assert error(caught) == ("LimitExceeded", f"Cannot exceed quota for {quota}: 10", 409)
    attach(**{param: name, "PolicyArn": arns[0]})  # already attached: still fine at the quota
    assert len(listed(**{param: name})["AttachedPolicies"]) == 10


def test_attach_errors(server: Server) -> None:
    iam = server.client("iam")
    user = new_entity(iam, "user")
    missing = f"arn:aws:iam::{next(iter(server.roots))}:policy/{uid('nope')}"
    with pytest.raises(ClientError) as caught:
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    assert error(caught) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)
    ghost = uid("ghost")
    with pytest.raises(ClientError) as caught:
        iam.attach_role_policy(RoleName=ghost, PolicyArn=READ_ONLY)
    assert error(caught) == ("NoSuchEntity", f"The role with name {ghost} cannot be found.", 404)
    with pytest.raises(ClientError) as caught:
        iam.attach_group_policy(GroupName=ghost, PolicyArn=READ_ONLY)
    assert error(caught) == ("NoSuchEntity", f"The group with name {ghost} cannot be found.", 404)
    with pytest.raises(ClientError) as caught:
        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:role/NotAPolicy")
    assert error(caught) == ("InvalidInput", "ARN arn:aws:iam::aws:role/NotAPolicy is not valid.", 400)


def test_list_entities_for_policy(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{uid('ents')}/"
    policy = iam.create_policy(PolicyName=uid("shared"), PolicyDocument=document(allow("s3:*")))["Policy"][
        "Arn"
    ]
    user, group, role = (
        new_entity(iam, "user", path),
        new_entity(iam, "group", path),
        new_entity(iam, "role", path),
    )
    bounded = new_entity(iam, "user", path)
    iam.attach_user_policy(UserName=user, PolicyArn=policy)
    iam.attach_group_policy(GroupName=group, PolicyArn=policy)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    iam.put_user_permissions_boundary(UserName=bounded, PermissionsBoundary=policy)
    everything = iam.list_entities_for_policy(PolicyArn=policy)
    assert sorted(u["UserName"] for u in everything["PolicyUsers"]) == sorted([user, bounded])
    assert [g["GroupName"] for g in everything["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in everything["PolicyRoles"]] == [role]
    assert everything["PolicyRoles"][0]["RoleId"].startswith("AROA")
    attached_only = iam.list_entities_for_policy(PolicyArn=policy, PolicyUsageFilter="PermissionsPolicy")
    assert [u["UserName"] for u in attached_only["PolicyUsers"]] == [user]
    bounds = iam.list_entities_for_policy(PolicyArn=policy, PolicyUsageFilter="PermissionsBoundary")
    assert ([u["UserName"] for u in bounds["PolicyUsers"]], bounds["PolicyRoles"]) == ([bounded], [])
    roles_only = iam.list_entities_for_policy(PolicyArn=policy, EntityFilter="Role")
    assert (roles_only["PolicyUsers"], roles_only["PolicyGroups"], len(roles_only["PolicyRoles"])) == (
        [],
        [],
        1,
    )
    assert iam.list_entities_for_policy(PolicyArn=policy, PathPrefix="/elsewhere/")["PolicyUsers"] == []
    pages = list(
        iam.get_paginator("list_entities_for_policy").paginate(
            PolicyArn=policy, PaginationConfig={"PageSize": 1}
        )
    )
    assert len(pages) == 4
    assert sum(len(p["PolicyUsers"]) + len(p["PolicyGroups"]) + len(p["PolicyRoles"]) for p in pages) == 4


def test_attachments_grant_and_detaching_revokes(server: Server) -> None:
    iam = server.client("iam")
    user = new_entity(iam, "user")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    with pytest.raises(ClientError) as caught:
        client.list_roles(MaxItems=1)
    assert error(caught)[0] == "AccessDenied"
    iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    assert "Roles" in client.list_roles(MaxItems=1)
    iam.detach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    group = new_entity(iam, "group")
    iam.add_user_to_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as caught:
        client.list_roles(MaxItems=1)
    assert error(caught)[0] == "AccessDenied"
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    assert "Roles" in client.list_roles(MaxItems=1)


def test_attach_is_authorized_with_the_policy_arn(server: Server) -> None:
    iam = server.client("iam")
    account = next(iter(server.roots))
    target = new_entity(iam, "user")
    only_s3 = document(
        allow(["iam:AttachUserPolicy", "iam:DetachUserPolicy"], f"arn:aws:iam::{account}:user/*",
              Condition={"ArnEquals": {"iam:PolicyARN": S3_READ_ONLY}}),
        allow("iam:ListAttachedUserPolicies", f"arn:aws:iam::{account}:user/*"),
    )  # fmt: skip
    admin = new_entity(iam, "user")
    iam.put_user_policy(UserName=admin, PolicyName="attach", PolicyDocument=only_s3)
    key = iam.create_access_key(UserName=admin)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    client.attach_user_policy(UserName=target, PolicyArn=S3_READ_ONLY)
    with pytest.raises(ClientError) as caught:
        client.attach_user_policy(UserName=target, PolicyArn=READ_ONLY)
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:AttachUserPolicy on resource: arn:aws:iam::{account}:user/{target}" in message
    assert [
        p["PolicyArn"] for p in client.list_attached_user_policies(UserName=target)["AttachedPolicies"]
    ] == [S3_READ_ONLY]
    with pytest.raises(ClientError) as caught:
        client.list_attached_group_policies(GroupName=new_entity(iam, "group"))
    assert error(caught)[0] == "AccessDenied"

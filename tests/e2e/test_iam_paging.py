"""IAM paging by key: every List operation walked page by page with a small MaxItems gives each
entity once, in AWS's order (lower-case name, code point order), the same as one large page; a
garbled Marker is InvalidInput and a forged one shows nothing of another account. Runs on
SQLite and, with ``--backend postgres``, on PostgreSQL (where names take COLLATE "C")."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, aws_cli, document, first_account, second_account, uid
from tests.e2e.server import Server

# names whose code point order differs from a locale's (punctuation, digits, case)
STEMS = ["a-b", "ab", "a.b", "A_b", "a+b", "a=b", "a,b", "a@b", "B", "b0", "b-", "Zed", "z9", "_x", "0a"]


def walk(
    call: Callable[..., dict[str, Any]], list_name: str, size: int, marker: str | None = None, **params: Any
) -> list[Any]:
    """Every page of a list with MaxItems ``size`` (from ``marker``): markers are followed until
    IsTruncated is false."""
    items: list[Any] = []
    while True:
        answer = call(MaxItems=size, **params, **({"Marker": marker} if marker else {}))
        items += answer[list_name]
        if not answer["IsTruncated"]:
            assert "Marker" not in answer
            return items
        assert len(answer[list_name]) == size
        marker = answer["Marker"]


def named(iam: Any, kind: str, path: str) -> list[str]:
    """One entity of ``kind`` per stem under ``path``; their names."""
    names = [f"{stem}{uid('')}" for stem in STEMS]
    for name in names:
        if kind == "role":
            iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=EC2_TRUST)
        elif kind == "user":
            iam.create_user(UserName=name, Path=path)
        elif kind == "group":
            iam.create_group(GroupName=name, Path=path)
        else:
            iam.create_instance_profile(InstanceProfileName=name, Path=path)
    return sorted(names, key=str.lower)


LISTS = [
    ("role", "list_roles", "Roles", "RoleName"),
    ("user", "list_users", "Users", "UserName"),
    ("group", "list_groups", "Groups", "GroupName"),
    ("instance-profile", "list_instance_profiles", "InstanceProfiles", "InstanceProfileName"),
]


@pytest.mark.parametrize(("kind", "operation", "list_name", "field"), LISTS)
def test_entity_lists_page_by_name(
    server: Server, kind: str, operation: str, list_name: str, field: str
) -> None:
    iam = first_account(server).iam()
    path = f"/{uid('p')}/"
    names = named(iam, kind, path)
    call = getattr(iam, operation)
    for size in (1, 2, 7, 1000):
        assert [item[field] for item in walk(call, list_name, size, PathPrefix=path)] == names


def test_the_cli_follows_markers(server: Server) -> None:
    account = first_account(server)
    path = f"/{uid('cli')}/"
    names = named(account.iam(), "role", path)
    listed = aws_cli(server, "iam", "list-roles", "--path-prefix", path, "--page-size", "4", key=account.root)
    assert listed.returncode == 0, listed.stderr
    assert [role["RoleName"] for role in json.loads(listed.stdout)["Roles"]] == names


def test_group_members_and_entities_for_policy(server: Server) -> None:
    iam = first_account(server).iam()
    path = f"/{uid('g')}/"
    group = uid("members")
    iam.create_group(GroupName=group)
    users = named(iam, "user", path)
    roles = named(iam, "role", path)
    policy = iam.create_policy(PolicyName=uid("used"), PolicyDocument=document(_read()))["Policy"]["Arn"]
    for user in users:
        iam.add_user_to_group(GroupName=group, UserName=user)
        iam.attach_user_policy(UserName=user, PolicyArn=policy)
    for role in roles[::2]:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    for role in roles[1::2]:
        iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=policy)
    iam.attach_group_policy(GroupName=group, PolicyArn=policy)
    members = walk(lambda **p: iam.get_group(GroupName=group, **p), "Users", 3)
    assert [user["UserName"] for user in members] == users
    for size in (1, 4, 1000):
        pages = _entity_pages(iam, policy, size)
        assert [g["GroupName"] for g in pages["PolicyGroups"]] == [group]
        assert [u["UserName"] for u in pages["PolicyUsers"]] == users
        assert [r["RoleName"] for r in pages["PolicyRoles"]] == roles
    bounds = _entity_pages(iam, policy, 2, PolicyUsageFilter="PermissionsBoundary")
    assert [r["RoleName"] for r in bounds["PolicyRoles"]] == roles[1::2] and not bounds["PolicyUsers"]
    only_roles = _entity_pages(iam, policy, 3, EntityFilter="Role", PathPrefix=path)
    assert [r["RoleName"] for r in only_roles["PolicyRoles"]] == roles and not only_roles["PolicyGroups"]


def _read() -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def _entity_pages(iam: Any, policy: str, size: int, **params: Any) -> dict[str, list[Any]]:
    lists: dict[str, list[Any]] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    marker: str | None = None
    while True:
        extra = {"Marker": marker} if marker else {}
        answer = iam.list_entities_for_policy(PolicyArn=policy, MaxItems=size, **params, **extra)
        assert sum(len(answer[name]) for name in lists) <= size
        for name in lists:
            lists[name] += answer[name]
        if not answer["IsTruncated"]:
            return lists
        marker = answer["Marker"]


def test_policies_page_across_local_and_aws(server: Server) -> None:
    iam = first_account(server).iam()
    path = f"/{uid('pol')}/"
    names = [f"{stem}{uid('')}" for stem in STEMS]
    for name in names:
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=document(_read()))
    local = walk(iam.list_policies, "Policies", 4, Scope="Local", PathPrefix=path)
    assert [p["PolicyName"] for p in local] == sorted(names, key=str.lower)
    aws = walk(iam.list_policies, "Policies", 1000, Scope="AWS")
    assert walk(iam.list_policies, "Policies", 97, Scope="AWS") == aws
    assert [(p["PolicyName"].lower(), p["Arn"]) for p in aws] == sorted(
        (p["PolicyName"].lower(), p["Arn"]) for p in aws
    )
    everything = walk(iam.list_policies, "Policies", 250)
    keys = [(p["PolicyName"].lower(), p["Arn"]) for p in everything]
    assert keys == sorted(set(keys)) and {p["Arn"] for p in local + aws} <= {p["Arn"] for p in everything}


def test_account_authorization_details_pages(server: Server) -> None:
    account = second_account(server)
    iam = account.iam()
    path = f"/{uid('gaad')}/"
    users, roles = named(iam, "user", path), named(iam, "role", path)
    seen: dict[str, list[str]] = {"UserDetailList": [], "RoleDetailList": [], "GroupDetailList": []}
    marker: str | None = None
    while True:
        extra = {"Marker": marker} if marker else {}
        answer = iam.get_account_authorization_details(Filter=["User", "Role", "Group"], MaxItems=3, **extra)
        for name, field in (
            ("UserDetailList", "UserName"),
            ("RoleDetailList", "RoleName"),
            ("GroupDetailList", "GroupName"),
        ):
            seen[name] += [item[field] for item in answer[name]]
        if not answer["IsTruncated"]:
            break
        marker = answer["Marker"]
    for name, expected in (("UserDetailList", users), ("RoleDetailList", roles)):
        assert len(seen[name]) == len(set(seen[name]))
        assert [n for n in seen[name] if n in set(expected)] == expected
        assert seen[name] == sorted(seen[name], key=str.lower)


def test_small_lists_page_by_key(server: Server) -> None:
    iam = first_account(server).iam()
    role = uid("tagged")
    tags = [{"Key": f"k{index:02d}", "Value": str(index)} for index in range(12)]
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, Tags=tags)
    for index in range(5):
        iam.put_role_policy(RoleName=role, PolicyName=f"inline-{index}", PolicyDocument=document(_read()))
    assert walk(lambda **p: iam.list_role_tags(RoleName=role, **p), "Tags", 5) == tags
    names = walk(lambda **p: iam.list_role_policies(RoleName=role, **p), "PolicyNames", 2)
    assert names == [f"inline-{index}" for index in range(5)]


def _marker(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


@pytest.mark.parametrize(
    "marker",
    [
        "not-a-marker",
        "42",
        _marker(["a", "b"]),
        _marker([1]),
        _marker({"a": 1}),
        _marker(["\ud800"]),
        _marker(["a\x00"]),
    ],
)
def test_a_garbled_marker_is_invalid_input(server: Server, marker: str) -> None:
    iam = first_account(server).iam()
    with pytest.raises(ClientError) as caught:
        iam.list_roles(Marker=marker)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidInput", 400)
    assert error["Error"]["Message"] == "Invalid Marker."


def test_a_forged_marker_shows_nothing_of_another_account(server: Server) -> None:
    owner, other = first_account(server), second_account(server)
    names = named(owner.iam(), "role", f"/{uid('mine')}/")
    first = owner.iam().list_roles(MaxItems=1)
    assert first["IsTruncated"]
    theirs = {role["RoleName"] for role in walk(other.iam().list_roles, "Roles", 50)}
    for marker in (first["Marker"], _marker([""]), _marker([names[0].lower()])):
        listed = walk(other.iam().list_roles, "Roles", 50, marker)
        assert {role["RoleName"] for role in listed} <= theirs
        assert not set(names) & {role["RoleName"] for role in listed}

"""Groups through boto3: create, get (members, paging), list, update, delete (conflicts),
membership, and group policies that grant their members permissions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, allow, document, error_of, first_account, uid
from tests.e2e.server import Server


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def test_create_get_and_list(acct: Account) -> None:
    iam = acct.iam()
    prefix = f"/{uid('groups')}/"
    name = uid("group")
    created = iam.create_group(GroupName=name, Path=prefix)["Group"]
    assert created["Arn"] == acct.arn("group", name, prefix)
    assert created["GroupId"].startswith("AGPA") and len(created["GroupId"]) == 21
    fetched = iam.get_group(GroupName=name.upper())
    assert fetched["Group"]["GroupId"] == created["GroupId"] and fetched["Users"] == []
    other = uid("group")
    iam.create_group(GroupName=other, Path=prefix)
    listed = iam.list_groups(PathPrefix=prefix)
    assert [g["GroupName"] for g in listed["Groups"]] == sorted([name, other])
    with pytest.raises(ClientError) as caught:
        iam.create_group(GroupName=name)
    assert error_of(caught) == ("EntityAlreadyExists", 409, f"Group with name {name} already exists.")


def test_membership_and_paging(acct: Account) -> None:
    iam = acct.iam()
    group = uid("team")
    iam.create_group(GroupName=group)
    members = sorted(uid("member") for _ in range(3))
    for member in members:
        iam.create_user(UserName=member)
        iam.add_user_to_group(GroupName=group, UserName=member)
    iam.add_user_to_group(GroupName=group, UserName=members[0])  # again: no change
    first = iam.get_group(GroupName=group, MaxItems=2)
    assert [u["UserName"] for u in first["Users"]] == members[:2] and first["IsTruncated"]
    rest = iam.get_group(GroupName=group, Marker=first["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == members[2:] and not rest["IsTruncated"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=members[1])["Groups"]] == [group]
    iam.remove_user_from_group(GroupName=group, UserName=members[1])
    assert iam.list_groups_for_user(UserName=members[1])["Groups"] == []
    with pytest.raises(ClientError) as caught:
        iam.remove_user_from_group(GroupName=group, UserName=members[1])
    assert error_of(caught)[:2] == ("NoSuchEntity", 404)
    ghost = uid("ghost")
    with pytest.raises(ClientError) as caught:
        iam.add_user_to_group(GroupName=group, UserName=ghost)
    assert error_of(caught) == ("NoSuchEntity", 404, f"The user with name {ghost} cannot be found.")


def test_groups_per_user_quota(acct: Account) -> None:
    iam = acct.iam()
    user = uid("joiner")
    iam.create_user(UserName=user)
    for _ in range(10):
        group = uid("g")
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName=user)
    extra = uid("g")
    iam.create_group(GroupName=extra)
    with pytest.raises(ClientError) as caught:
        iam.add_user_to_group(GroupName=extra, UserName=user)
    assert error_of(caught) == ("LimitExceeded", 409, "Cannot exceed quota for GroupsPerUser: 10")
    assert len(iam.list_groups_for_user(UserName=user)["Groups"]) == 10


def test_update_group(acct: Account) -> None:
    iam = acct.iam()
    name, member = uid("before"), uid("member")
    iam.create_group(GroupName=name)
    iam.create_user(UserName=member)
    iam.add_user_to_group(GroupName=name, UserName=member)
    new_name = uid("after")
    iam.update_group(GroupName=name, NewGroupName=new_name, NewPath="/renamed/")
    group = iam.get_group(GroupName=new_name)
    assert group["Group"]["Arn"] == acct.arn("group", new_name, "/renamed/")
    assert [u["UserName"] for u in group["Users"]] == [member]
    with pytest.raises(ClientError) as caught:
        iam.get_group(GroupName=name)
    assert error_of(caught) == ("NoSuchEntity", 404, f"The group with name {name} cannot be found.")
    taken = uid("taken")
    iam.create_group(GroupName=taken)
    with pytest.raises(ClientError) as caught:
        iam.update_group(GroupName=new_name, NewGroupName=taken)
    assert error_of(caught)[:2] == ("EntityAlreadyExists", 409)


def test_delete_group_conflicts(acct: Account) -> None:
    iam = acct.iam()
    group, member = uid("doomed"), uid("member")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=member)
    iam.add_user_to_group(GroupName=group, UserName=member)
    iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=document(allow("s3:ListBucket")))
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    fixes = [
        (
            "Cannot delete entity, must remove users from group first.",
            lambda: iam.remove_user_from_group(GroupName=group, UserName=member),
        ),
        (
            "Cannot delete entity, must delete policies first.",
            lambda: iam.delete_group_policy(GroupName=group, PolicyName="p"),
        ),
        (
            "Cannot delete entity, must detach all policies first.",
            lambda: iam.detach_group_policy(
                GroupName=group, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
            ),
        ),
    ]
    for message, fix in fixes:
        with pytest.raises(ClientError) as caught:
            iam.delete_group(GroupName=group)
        assert error_of(caught) == ("DeleteConflict", 409, message)
        fix()
    iam.delete_group(GroupName=group)
    with pytest.raises(ClientError) as caught:
        iam.delete_group(GroupName=group)
    assert error_of(caught)[:2] == ("NoSuchEntity", 404)


def test_group_policy_grants_members(acct: Account) -> None:
    iam = acct.iam()
    name, key = acct.user("grouped")
    with pytest.raises(ClientError) as caught:
        acct.iam(key).list_groups()
    code, _status, message = error_of(caught)
    assert code == "AccessDenied" and f"iam:ListGroups on resource: arn:aws:iam::{acct.id}:group/ " in message
    group = uid("readers")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="list", PolicyDocument=document(allow("iam:ListGroups")))
    iam.add_user_to_group(GroupName=group, UserName=name)
    assert group in {g["GroupName"] for g in acct.iam(key).list_groups()["Groups"]}
    iam.remove_user_from_group(GroupName=group, UserName=name)
    with pytest.raises(ClientError) as caught:
        acct.iam(key).list_groups()
    assert error_of(caught)[0] == "AccessDenied"


def test_group_actions_are_authorized_on_the_group(acct: Account) -> None:
    allowed, denied = uid("open"), uid("closed")
    iam = acct.iam()
    for group in (allowed, denied):
        iam.create_group(GroupName=group)
    member = uid("member")
    iam.create_user(UserName=member)
    _name, key = acct.user("manager", allow("iam:AddUserToGroup", acct.arn("group", allowed)))
    acct.iam(key).add_user_to_group(GroupName=allowed, UserName=member)
    with pytest.raises(ClientError) as caught:
        acct.iam(key).add_user_to_group(GroupName=denied, UserName=member)
    code, _status, message = error_of(caught)
    assert (
        code == "AccessDenied" and f"iam:AddUserToGroup on resource: {acct.arn('group', denied)}" in message
    )
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=member)["Groups"]] == [allowed]

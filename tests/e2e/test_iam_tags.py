"""Tags of users and roles through boto3: tag, overwrite (case-insensitive keys), untag, list with
paging, the 50-tag quota, invalid keys and values, the reserved ``aws:`` prefix, and tag-based
authorization (aws:RequestTag, aws:TagKeys, iam:ResourceTag)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import (
    Account,
    allow,
    error_of,
    first_account,
    uid,
)
from tests.e2e.server import Server


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _ops(iam: Any, kind: str, name: str) -> tuple[Any, Any, Any]:
    """(tag, untag, list) bound to one user or role."""
    label = kind.capitalize()
    ident = {f"{label}Name": name}
    return (
        lambda tags: getattr(iam, f"tag_{kind}")(**ident, Tags=tags),
        lambda keys: getattr(iam, f"untag_{kind}")(**ident, TagKeys=keys),
        lambda **paging: getattr(iam, f"list_{kind}_tags")(**ident, **paging),
    )


@pytest.mark.parametrize("kind", ["user", "role"])
def test_tag_overwrite_untag_and_list(acct: Account, kind: str) -> None:
    name = acct.entity(kind)
    tag, untag, listed = _ops(acct.iam(), kind, name)
    tag(
        [
            {"Key": "Team", "Value": "a"},
            {"Key": "stage", "Value": ""},
            {"Key": "Ünïcode key", "Value": "välue +=.@-"},
        ]
    )
    tag([{"Key": "TEAM", "Value": "b"}])  # same key, another spelling: overwritten, new spelling kept
    tags = listed()["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"TEAM": "b", "stage": "", "Ünïcode key": "välue +=.@-"}
    first = listed(MaxItems=2)
    assert len(first["Tags"]) == 2 and first["IsTruncated"]
    assert len(listed(Marker=first["Marker"])["Tags"]) == 1
    untag(["team", "no-such-key"])  # case-insensitive; a missing key is not an error
    assert {t["Key"] for t in listed()["Tags"]} == {"stage", "Ünïcode key"}
    getter = (
        acct.iam().get_user(UserName=name)["User"]
        if kind == "user"
        else acct.iam().get_role(RoleName=name)["Role"]
    )
    assert {t["Key"] for t in getter["Tags"]} == {"stage", "Ünïcode key"}


@pytest.mark.parametrize("kind", ["user", "role"])
def test_fifty_tag_quota(acct: Account, kind: str) -> None:
    name = acct.entity(kind)
    tag, _untag, listed = _ops(acct.iam(), kind, name)
    tag([{"Key": f"k{i}", "Value": str(i)} for i in range(50)])
    tag([{"Key": "K7", "Value": "overwritten"}])  # still 50
    with pytest.raises(ClientError) as caught:
        tag([{"Key": "one-too-many", "Value": "x"}])
    quota = "TagsPerUser" if kind == "user" else "TagsPerRole"
    assert error_of(caught) == ("LimitExceeded", 409, f"Cannot exceed quota for {quota}: 50")
    assert len(listed()["Tags"]) == 50


def test_invalid_tags_are_refused_whole(acct: Account) -> None:
    name = acct.entity("user")
    iam = acct.iam(parameter_validation=False)
    tag, _untag, listed = _ops(iam, "user", name)
    cases = [
        (
            [{"Key": "ok", "Value": "1"}, {"Key": "NOWAY!", "Value": ""}],
            "ValidationError",
            "tags.2.member.key",
        ),
        (
            [{"Key": "k" * 129, "Value": ""}],
            "ValidationError",
            "Member must have length less than or equal to 128",
        ),
        (
            [{"Key": "k", "Value": "v" * 257}],
            "ValidationError",
            "Member must have length less than or equal to 256",
        ),
        ([{"Key": "k", "Value": "semi;colon"}], "ValidationError", "tags.1.member.value"),
        (
            [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}],
            "InvalidInput",
            "Duplicate tag keys found.",
        ),
        ([{"Key": "aws:reserved", "Value": "1"}], "InvalidInput", "aws:"),
        ([{"Key": str(i), "Value": ""} for i in range(51)], "ValidationError", "less than or equal to 50"),
    ]
    for tags, code, fragment in cases:
        with pytest.raises(ClientError) as caught:
            tag(tags)
        got_code, status, message = error_of(caught)
        assert (got_code, status) == (code, 400) and fragment in message, message
    assert listed()["Tags"] == []  # nothing half-applied


def test_untag_key_validation(acct: Account) -> None:
    name = acct.entity("role")
    with pytest.raises(ClientError) as caught:
        acct.iam(parameter_validation=False).untag_role(RoleName=name, TagKeys=["bad!"])
    code, status, message = error_of(caught)
    assert (code, status) == ("ValidationError", 400) and "tagKeys.1.member" in message


def test_missing_entities(acct: Account) -> None:
    ghost = uid("ghost")
    with pytest.raises(ClientError) as caught:
        acct.iam().tag_user(UserName=ghost, Tags=[{"Key": "a", "Value": "b"}])
    assert error_of(caught) == ("NoSuchEntity", 404, f"The user with name {ghost} cannot be found.")
    with pytest.raises(ClientError) as caught:
        acct.iam().list_role_tags(RoleName=ghost)
    assert error_of(caught) == ("NoSuchEntity", 404, f"The role with name {ghost} cannot be found.")


def test_tag_conditions(acct: Account) -> None:
    """Only tag users already tagged team=blue, only with the key "project"."""
    policy = allow(
        "iam:TagUser",
        "*",
        Condition={
            "StringEquals": {"iam:ResourceTag/team": "blue"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["project"]},
        },
    )
    _name, key = acct.user("tagger", policy)
    blue, red = uid("blue"), uid("red")
    acct.iam().create_user(UserName=blue, Tags=[{"Key": "team", "Value": "blue"}])
    acct.iam().create_user(UserName=red, Tags=[{"Key": "team", "Value": "red"}])
    tagger = acct.iam(key)
    tagger.tag_user(UserName=blue, Tags=[{"Key": "project", "Value": "x"}])
    for user, tags in ((red, [{"Key": "project", "Value": "x"}]), (blue, [{"Key": "team", "Value": "red"}])):
        with pytest.raises(ClientError) as caught:
            tagger.tag_user(UserName=user, Tags=tags)
        assert error_of(caught)[:2] == ("AccessDenied", 403)
    assert {t["Key"]: t["Value"] for t in acct.iam().list_user_tags(UserName=blue)["Tags"]} == {
        "team": "blue",
        "project": "x",
    }


def test_request_tag_condition_on_create_user(acct: Account) -> None:
    policy = allow(
        ["iam:CreateUser", "iam:TagUser"], "*", Condition={"StringEquals": {"aws:RequestTag/team": "blue"}}
    )
    _name, key = acct.user("creator", policy)
    ok = uid("blue")
    acct.iam(key).create_user(UserName=ok, Tags=[{"Key": "team", "Value": "blue"}])
    with pytest.raises(ClientError) as caught:
        acct.iam(key).create_user(UserName=uid("red"), Tags=[{"Key": "team", "Value": "red"}])
    assert error_of(caught)[0] == "AccessDenied"
    assert acct.iam().list_user_tags(UserName=ok)["Tags"] == [{"Key": "team", "Value": "blue"}]

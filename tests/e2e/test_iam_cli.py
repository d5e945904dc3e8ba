"""A representative set of IAM part-A operations through the `aws` CLI in a subprocess (v1, JSON
output): users, keys, groups, inline policies, tags, account details, and errors as the CLI shows
them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.iam_support import Account, allow, aws_cli, document, first_account, uid
from tests.e2e.server import Server


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _ok(acct: Account, *args: str, key: tuple[str, str] | None = None) -> Any:
    done = aws_cli(acct.server, *args, key=key or acct.root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def _fails(acct: Account, *args: str, key: tuple[str, str] | None = None) -> str:
    done = aws_cli(acct.server, *args, key=key or acct.root)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_user_lifecycle(acct: Account) -> None:
    name, new_name = uid("cli-user"), uid("cli-renamed")
    created = _ok(
        acct, "iam", "create-user", "--user-name", name, "--path", "/cli/", "--tags", "Key=team,Value=cli"
    )
    assert created["User"]["Arn"] == acct.arn("user", name, "/cli/")
    assert _ok(acct, "iam", "get-user", "--user-name", name)["User"]["Tags"] == [
        {"Key": "team", "Value": "cli"}
    ]
    listed = _ok(acct, "iam", "list-users", "--path-prefix", "/cli/")
    assert name in [u["UserName"] for u in listed["Users"]]
    _ok(acct, "iam", "update-user", "--user-name", name, "--new-user-name", new_name)
    assert "(NoSuchEntity)" in _fails(acct, "iam", "get-user", "--user-name", name)
    assert "(EntityAlreadyExists)" in _fails(acct, "iam", "create-user", "--user-name", new_name)
    _ok(acct, "iam", "delete-user", "--user-name", new_name)


def test_access_keys_and_self_service(acct: Account) -> None:
    name = uid("cli-keys")
    _ok(acct, "iam", "create-user", "--user-name", name)
    own = acct.arn("user", "${aws:username}")
    statements = document(allow(["iam:ListAccessKeys", "iam:GetUser"], own))
    _ok(
        acct,
        "iam",
        "put-user-policy",
        "--user-name",
        name,
        "--policy-name",
        "self",
        "--policy-document",
        statements,
    )
    key = _ok(acct, "iam", "create-access-key", "--user-name", name)["AccessKey"]
    pair = (key["AccessKeyId"], key["SecretAccessKey"])
    assert _ok(acct, "iam", "get-user", key=pair)["User"]["UserName"] == name
    assert _ok(acct, "iam", "list-access-keys", key=pair)["AccessKeyMetadata"][0]["AccessKeyId"] == pair[0]
    denied = _fails(acct, "iam", "create-access-key", key=pair)
    assert "(AccessDenied)" in denied and "iam:CreateAccessKey" in denied
    _ok(
        acct,
        "iam",
        "update-access-key",
        "--user-name",
        name,
        "--access-key-id",
        pair[0],
        "--status",
        "Inactive",
    )
    assert "(InvalidClientTokenId)" in _fails(acct, "iam", "get-user", key=pair)
    last = _ok(acct, "iam", "get-access-key-last-used", "--access-key-id", pair[0])
    assert last["AccessKeyLastUsed"]["ServiceName"] == "iam"
    _ok(acct, "iam", "delete-access-key", "--user-name", name, "--access-key-id", pair[0])
    gone = _fails(acct, "iam", "delete-access-key", "--user-name", name, "--access-key-id", pair[0])
    assert "(NoSuchEntity)" in gone


def test_groups_and_policies(acct: Account) -> None:
    group, user = uid("cli-group"), uid("cli-member")
    _ok(acct, "iam", "create-group", "--group-name", group)
    _ok(acct, "iam", "create-user", "--user-name", user)
    _ok(acct, "iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    got = _ok(acct, "iam", "get-group", "--group-name", group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    policy = document(allow("s3:ListBucket", "arn:aws:s3:::example"))
    _ok(
        acct,
        "iam",
        "put-group-policy",
        "--group-name",
        group,
        "--policy-name",
        "p",
        "--policy-document",
        policy,
    )
    fetched = _ok(acct, "iam", "get-group-policy", "--group-name", group, "--policy-name", "p")
    assert fetched["PolicyDocument"] == json.loads(policy)
    assert _ok(acct, "iam", "list-group-policies", "--group-name", group)["PolicyNames"] == ["p"]
    conflict = _fails(acct, "iam", "delete-group", "--group-name", group)
    assert "(DeleteConflict)" in conflict and "must remove users from group first" in conflict
    groups = _ok(acct, "iam", "list-groups-for-user", "--user-name", user)["Groups"]
    assert [g["GroupName"] for g in groups] == [group]
    bad = _fails(
        acct, "iam", "put-user-policy", "--user-name", user, "--policy-name", "bad", "--policy-document", "{}"
    )
    assert "(MalformedPolicyDocument)" in bad


def test_tags_and_account_details(acct: Account) -> None:
    user = uid("cli-tagged")
    _ok(acct, "iam", "create-user", "--user-name", user)
    _ok(acct, "iam", "tag-user", "--user-name", user, "--tags", "Key=a,Value=1", "Key=b,Value=2")
    _ok(acct, "iam", "untag-user", "--user-name", user, "--tag-keys", "a")
    assert _ok(acct, "iam", "list-user-tags", "--user-name", user)["Tags"] == [{"Key": "b", "Value": "2"}]
    invalid = _fails(acct, "iam", "tag-user", "--user-name", user, "--tags", "Key=aws:x,Value=1")
    assert "(InvalidInput)" in invalid
    details = _ok(acct, "iam", "get-account-authorization-details", "--filter", "User")
    assert user in [u["UserName"] for u in details["UserDetailList"]]  # the CLI follows the pages
    assert details["RoleDetailList"] == []


def test_validation_error_through_the_cli(acct: Account) -> None:
    message = _fails(acct, "iam", "create-user", "--user-name", "spaces are bad")
    assert "(ValidationError)" in message and "userName" in message

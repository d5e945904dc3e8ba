"""Access keys through boto3: create (quota), list, deactivate (the key stops working), reactivate,
delete, self-service without UserName, root's own keys, GetAccessKeyLastUsed."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, allow, error_of, first_account, second_account, uid
from tests.e2e.server import Server


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def test_create_list_and_quota(acct: Account) -> None:
    iam = acct.iam()
    name = uid("keys")
    iam.create_user(UserName=name)
    first = iam.create_access_key(UserName=name)["AccessKey"]
    assert first["UserName"] == name and first["Status"] == "Active"
    assert first["AccessKeyId"].startswith("AKIA") and len(first["AccessKeyId"]) == 20
    assert len(first["SecretAccessKey"]) == 40
    second = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(ClientError) as caught:
        iam.create_access_key(UserName=name)
    assert error_of(caught) == ("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all(set(k) == {"UserName", "AccessKeyId", "Status", "CreateDate"} for k in listed)
    page = iam.list_access_keys(UserName=name, MaxItems=1)
    assert len(page["AccessKeyMetadata"]) == 1 and page["IsTruncated"] is True


def test_inactive_key_is_invalid_until_reactivated(acct: Account) -> None:
    name, key = acct.user("toggle")
    sts = acct.client("sts", key)
    assert sts.get_caller_identity()["Arn"] == acct.arn("user", name)
    acct.iam().update_access_key(UserName=name, AccessKeyId=key[0], Status="Inactive")
    assert acct.iam().list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    for call in (sts.get_caller_identity, acct.iam(key).list_access_keys):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == (
            "InvalidClientTokenId",
            403,
            "The security token included in the request is invalid.",
        )
    acct.iam().update_access_key(UserName=name, AccessKeyId=key[0], Status="Active")
    assert sts.get_caller_identity()["Arn"] == acct.arn("user", name)


def test_deleted_key_is_invalid(acct: Account) -> None:
    name, key = acct.user("deleted")
    acct.iam().delete_access_key(UserName=name, AccessKeyId=key[0])
    with pytest.raises(ClientError) as caught:
        acct.client("sts", key).get_caller_identity()
    assert error_of(caught)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as caught:
        acct.iam().delete_access_key(UserName=name, AccessKeyId=key[0])
    assert error_of(caught) == ("NoSuchEntity", 404, f"The Access Key with id {key[0]} cannot be found.")


def test_key_of_another_user_is_not_found(acct: Account) -> None:
    owner, key = acct.user("owner")
    other = uid("other")
    acct.iam().create_user(UserName=other)
    with pytest.raises(ClientError) as caught:
        acct.iam().update_access_key(UserName=other, AccessKeyId=key[0], Status="Inactive")
    assert error_of(caught)[:2] == ("NoSuchEntity", 404)
    assert acct.iam().list_access_keys(UserName=owner)["AccessKeyMetadata"][0]["Status"] == "Active"


def test_self_service_without_user_name(acct: Account) -> None:
    own = acct.arn("user", "${aws:username}")
    actions = ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:DeleteAccessKey"]
    name, key = acct.user("rotator", allow(actions, own))
    iam = acct.iam(key)
    new = iam.create_access_key()["AccessKey"]
    assert new["UserName"] == name
    assert {k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]} == {
        key[0],
        new["AccessKeyId"],
    }
    iam.update_access_key(AccessKeyId=new["AccessKeyId"], Status="Inactive")
    iam.delete_access_key(AccessKeyId=new["AccessKeyId"])
    assert [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]] == [key[0]]
    # the same policy does not reach another user's keys
    other = uid("victim")
    acct.iam().create_user(UserName=other)
    with pytest.raises(ClientError) as caught:
        iam.create_access_key(UserName=other)
    code, status, message = error_of(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:CreateAccessKey on resource: {acct.arn('user', other)}" in message


def test_user_without_permission_cannot_list_own_keys(acct: Account) -> None:
    name, key = acct.user("bare")
    with pytest.raises(ClientError) as caught:
        acct.iam(key).list_access_keys()
    assert error_of(caught) == (
        "AccessDenied",
        403,
        f"User: {acct.arn('user', name)} is not authorized to perform: iam:ListAccessKeys on resource: "
        f"{acct.arn('user', name)} because no identity-based policy allows the iam:ListAccessKeys action",
    )


def test_root_manages_its_own_keys(server: Server) -> None:
    acct = second_account(server)
    iam = acct.iam()
    root_key = acct.root[0]
    before = {k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
    assert root_key in before
    created = iam.create_access_key()["AccessKey"]
    assert "UserName" not in created
    new_key = (created["AccessKeyId"], created["SecretAccessKey"])
    assert acct.client("sts", new_key).get_caller_identity()["Arn"] == f"arn:aws:iam::{acct.id}:root"
    try:
        if len(before) + 1 >= 2:
            with pytest.raises(ClientError) as caught:
                iam.create_access_key()
            assert error_of(caught)[0] == "LimitExceeded"
    finally:
        iam.delete_access_key(AccessKeyId=created["AccessKeyId"])
    with pytest.raises(ClientError) as caught:
        acct.client("sts", new_key).get_caller_identity()
    assert error_of(caught)[0] == "InvalidClientTokenId"


def test_access_key_last_used(acct: Account) -> None:
    name, key = acct.user("used")
    fresh = acct.iam().get_access_key_last_used(AccessKeyId=key[0])
    assert fresh["UserName"] == name
    assert fresh["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    acct.client("sts", key).get_caller_identity()
    used = acct.iam().get_access_key_last_used(AccessKeyId=key[0])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "sts" and used["Region"] == "us-east-1" and used["LastUsedDate"]


def test_access_key_last_used_is_account_scoped(server: Server) -> None:
    mine, theirs = first_account(server), second_account(server)
    _name, key = theirs.user("foreign")
    with pytest.raises(ClientError) as caught:
        mine.iam().get_access_key_last_used(AccessKeyId=key[0])
    code, status, message = error_of(caught)
    assert (code, status) == ("AccessDenied", 403) and f"access key {key[0]}" in message
    assert theirs.iam().get_access_key_last_used(AccessKeyId=key[0])["AccessKeyLastUsed"]["ServiceName"]


def test_create_key_for_missing_user(acct: Account) -> None:
    ghost = uid("ghost")
    with pytest.raises(ClientError) as caught:
        acct.iam().create_access_key(UserName=ghost)
    assert error_of(caught) == ("NoSuchEntity", 404, f"The user with name {ghost} cannot be found.")


def test_role_session_must_name_the_user(acct: Account) -> None:
    """Without UserName, non-user credentials get ValidationError (IAM's wording)."""
    name, key = acct.user("assumer")
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'
        + acct.arn("user", name)
        + '"},"Action":"sts:AssumeRole"}]}'
    )
    role = uid("keyless")
    role_arn = acct.iam().create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    acct.iam().put_role_policy(
        RoleName=role,
        PolicyName="keys",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}',
    )
    creds = acct.client("sts", key).assume_role(RoleArn=role_arn, RoleSessionName="keyless")["Credentials"]
    session = acct.server.client(
        "iam", key=(creds["AccessKeyId"], creds["SecretAccessKey"]), token=creds["SessionToken"]
    )
    with pytest.raises(ClientError) as caught:
        session.list_access_keys()
    assert error_of(caught) == (
        "ValidationError",
        400,
        "Must specify userName when calling with non-User credentials",
    )

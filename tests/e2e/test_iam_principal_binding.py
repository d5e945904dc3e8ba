"""Issue 11, findings 2, 3, 4 and 7, through boto3 against a real server: the role AssumeRole
decides about is the one it would assume (its exact ARN); trust and bucket policies bind the
principals they name to unique ids, so they follow a rename and never grant a namesake; a bucket
policy may not name principals that do not exist."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import (
    Account,
    allow,
    deny,
    document,
    error,
    first_account,
    second_account,
    trust,
)
from tests.e2e.server import Server
from tests.e2e.test_s3_support import s3_client

ASSUME = "sts:AssumeRole"


def mixed(prefix: str) -> str:
    """A name with upper-case letters, unused by other tests."""
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def assume(account: Account, key: tuple[str, str], role_arn: str) -> dict[str, Any]:
    sts = account.client("sts", key=key)
    result: dict[str, Any] = sts.assume_role(RoleArn=role_arn, RoleSessionName="binding")
    return result


def assume_error(account: Account, key: tuple[str, str], role_arn: str) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        assume(account, key, role_arn)
    return error(caught)


def bucket_with_policy(owner: Account, *statements: dict[str, Any]) -> str:
    name = f"bind-{uuid.uuid4().hex[:12]}"
    s3 = s3_client(owner.server, owner.root)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"data")
    text = document(*statements).replace("BUCKET", name)
    s3.put_bucket_policy(Bucket=name, Policy=text)
    return name


def read(server: Server, key: tuple[str, str], bucket: str) -> str:
    """``ok`` when the key may read the object, else the error code."""
    try:
        s3_client(server, key).get_object(Bucket=bucket, Key="k")
    except ClientError as caught:
        return str(caught.response["Error"]["Code"])
    return "ok"


def shown_principal(owner: Account, bucket: str) -> Any:
    text = s3_client(owner.server, owner.root).get_bucket_policy(Bucket=bucket)["Policy"]
    return json.loads(text)["Statement"][0]["Principal"]


def get_object_for(principal: str | list[str]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::BUCKET/*",
    }


def delete_user(account: Account, name: str) -> None:
    iam = account.iam()
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    iam.delete_user(UserName=name)


# --- finding 2: AssumeRole decides about the role it would assume ------------------------------


@pytest.mark.parametrize("cross_account", [False, True], ids=["same-account", "cross-account"])
def test_deny_on_a_role_holds_for_every_spelling_of_its_arn(server: Server, cross_account: bool) -> None:
    caller_account = first_account(server)
    role_account = second_account(server) if cross_account else caller_account
    name = mixed("Admin")
    role_arn = role_account.iam().create_role(
        RoleName=name, AssumeRolePolicyDocument=trust({"AWS": caller_account.id})
    )["Role"]["Arn"]
    _, denied = caller_account.user("mallory", allow("*"), deny(ASSUME, role_arn))
    _, allowed = caller_account.user("trusted", allow(ASSUME))
    assert assume(caller_account, allowed, role_arn)["AssumedRoleUser"]["Arn"].split("/")[1] == name
    for spelling in (name.lower(), name.upper(), name[0] + name[1:].lower()):
        other = role_arn.replace(name, spelling)
        code, message, status = assume_error(caller_account, denied, other)
        assert (code, status) == ("AccessDenied", 403)
        assert f"on resource: {other}" in message
        # a role ARN is case-sensitive: the other spelling names no role, for any caller
        assert assume_error(caller_account, allowed, other)[0] == "AccessDenied"
    assert assume_error(caller_account, denied, role_arn)[0] == "AccessDenied"


def test_a_wrong_case_role_arn_is_refused_like_a_missing_role(server: Server) -> None:
    account = first_account(server)
    name = mixed("Ops")
    role_arn = account.iam().create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": account.id}))[
        "Role"
    ]["Arn"]
    _, key = account.user("caller", allow(ASSUME))
    wrong = assume_error(account, key, role_arn.replace(name, name.lower()))
    missing_arn = role_arn.replace(name, mixed("Gone"))
    missing = assume_error(account, key, missing_arn)
    assert wrong[0] == missing[0] == "AccessDenied"
    assert wrong[1].split(" on resource: ")[0] == missing[1].split(" on resource: ")[0]


@pytest.mark.parametrize("kind", ["user", "role", "group"])
def test_get_update_delete_by_name_are_judged_on_the_stored_arn(server: Server, kind: str) -> None:
    account = first_account(server)
    iam = account.iam()
    name = mixed("Victim")
    label = kind.capitalize()
    if kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": account.id}))
    else:
        getattr(iam, f"create_{kind}")(**{f"{label}Name": name})
    stored = account.arn(kind, name)
    _, key = account.user("mallory", allow("*"), deny("iam:*", stored))
    theirs = account.iam(key=key)
    for spelling in (name.lower(), name.upper()):
        calls = [(f"get_{kind}", {f"{label}Name": spelling}), (f"delete_{kind}", {f"{label}Name": spelling})]
        if kind != "role":
            calls.append((f"update_{kind}", {f"{label}Name": spelling, "NewPath": "/moved/"}))
        for operation, params in calls:
            with pytest.raises(ClientError) as caught:
                getattr(theirs, operation)(**params)
            code, message, status = error(caught)
            assert (code, status) == ("AccessDenied", 403), operation
            assert message.endswith(
                f"on resource: {stored} with an explicit deny in an identity-based policy"
            )
    assert getattr(iam, f"get_{kind}")(**{f"{label}Name": name.lower()})[label]["Arn"] == stored


# --- finding 3: a policy naming a deleted principal grants no one -------------------------------


def test_bucket_policy_of_a_deleted_user_grants_the_namesake_nothing(server: Server) -> None:
    owner = first_account(server)
    name = mixed("carol")
    iam = owner.iam()
    user_id = iam.create_user(UserName=name)["User"]["UserId"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    carol = (key["AccessKeyId"], key["SecretAccessKey"])
    bucket = bucket_with_policy(owner, get_object_for(owner.arn("user", name)))
    assert read(server, carol, bucket) == "ok"
    delete_user(owner, name)
    assert shown_principal(owner, bucket) == {"AWS": user_id}
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert read(server, (key["AccessKeyId"], key["SecretAccessKey"]), bucket) == "AccessDenied"
    assert shown_principal(owner, bucket) == {"AWS": user_id}


def test_bucket_policy_of_a_deleted_role_grants_its_namesake_nothing(server: Server) -> None:
    owner, other = first_account(server), second_account(server)
    name = mixed("reader")
    _, key = other.user("assumer", allow(ASSUME))
    role = other.iam().create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": other.id}))["Role"]
    other.iam().put_role_policy(
        RoleName=name, PolicyName="read", PolicyDocument=document(allow("s3:GetObject"))
    )
    bucket = bucket_with_policy(owner, get_object_for(role["Arn"]))
    creds = assume(other, key, role["Arn"])["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"])
    assert s3_client(server, session, token=creds["SessionToken"]).get_object(Bucket=bucket, Key="k")
    other.iam().delete_role_policy(RoleName=name, PolicyName="read")
    other.iam().delete_role(RoleName=name)
    assert shown_principal(owner, bucket) == {"AWS": role["RoleId"]}
    other.iam().create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": other.id}))
    other.iam().put_role_policy(
        RoleName=name, PolicyName="read", PolicyDocument=document(allow("s3:GetObject"))
    )
    creds = assume(other, key, role["Arn"])["Credentials"]
    client = s3_client(server, (creds["AccessKeyId"], creds["SecretAccessKey"]), token=creds["SessionToken"])
    with pytest.raises(ClientError) as caught:
        client.get_object(Bucket=bucket, Key="k")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


# --- finding 4: policies follow a rename -------------------------------------------------------


def test_trust_and_bucket_policies_follow_update_user(server: Server) -> None:
    account = first_account(server)
    iam = account.iam()
    name = mixed("alice")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(allow(ASSUME)))
    made = iam.create_access_key(UserName=name)["AccessKey"]
    alice = (made["AccessKeyId"], made["SecretAccessKey"])
    old_arn = account.arn("user", name)
    role_name = mixed("role")
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust({"AWS": old_arn}))["Role"][
        "Arn"
    ]
    bucket = bucket_with_policy(account, get_object_for(old_arn))
    new_name, new_path = f"{name}-old", "/moved/"
    iam.update_user(UserName=name, NewUserName=new_name, NewPath=new_path)
    new_arn = account.arn("user", new_name, new_path)
    shown = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": new_arn}
    listed = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role_name]
    assert listed[0]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": new_arn}
    assert shown_principal(account, bucket) == {"AWS": new_arn}
    # the renamed user keeps the role and the object …
    assert assume(account, alice, role_arn)["AssumedRoleUser"]["Arn"].endswith("/binding")
    assert read(server, alice, bucket) == "ok"
    # … and a newcomer with the old name gains neither
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(allow(ASSUME)))
    made = iam.create_access_key(UserName=name)["AccessKey"]
    newcomer = (made["AccessKeyId"], made["SecretAccessKey"])
    assert assume_error(account, newcomer, role_arn)[0] == "AccessDenied"
    assert read(server, newcomer, bucket) == "AccessDenied"
    # the policies may be written back as shown
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(shown))
    assert assume(account, alice, role_arn)


# --- finding 7: a bucket policy may not name principals that do not exist ----------------------


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::{own}:user/no-such-user",
        "arn:aws:iam::{own}:role/no-such-role",
        "arn:aws:iam::{own}:group/{group}",
        "arn:aws:iam::{own}:user/{upper}",
        "999999999999",
        "arn:aws:iam::999999999999:root",
        "arn:aws:iam::999999999999:user/x",
        "arn:aws:sts::999999999999:assumed-role/r/s",
    ],
)
def test_bucket_policy_refuses_principals_that_do_not_exist(server: Server, principal: str) -> None:
    owner = first_account(server)
    iam = owner.iam()
    user_name, group = mixed("real").lower(), mixed("grp")
    iam.create_user(UserName=user_name)
    iam.create_group(GroupName=group)
    value = principal.format(own=owner.id, group=group, upper=user_name.upper())
    name = f"bind-{uuid.uuid4().hex[:12]}"
    s3 = s3_client(server, owner.root)
    s3.create_bucket(Bucket=name)
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket=name, Policy=document(get_object_for(value)).replace("BUCKET", name))
    assert error(caught) == ("MalformedPolicy", "Invalid principal in policy", 400)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_policy(Bucket=name)
    assert error(caught)[0] == "NoSuchBucketPolicy"


def test_bucket_policy_accepts_known_accounts_and_existing_entities(server: Server) -> None:
    owner, other = first_account(server), second_account(server)
    user_name = mixed("real")
    user_arn = owner.iam().create_user(UserName=user_name)["User"]["Arn"]
    principals = [other.id, f"arn:aws:iam::{other.id}:root", user_arn, "*"]
    bucket = bucket_with_policy(owner, get_object_for(principals))
    assert shown_principal(owner, bucket) == {"AWS": principals}

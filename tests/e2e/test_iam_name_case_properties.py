"""Property (issue 11, finding 2's class): for every IAM entity lookup — AssumeRole's role, Get /
Update / Delete by name, the principals of trust and bucket policies — a mixed-case spelling of a
name never changes whose policy decides. IAM names are unique case-insensitively, ARNs in policies
match case-sensitively: the decision is always about the stored entity, and an ARN that differs in
case names no entity at all. Hypothesis drives boto3 against the session's real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.iam_support import Account, allow, deny, document, error, first_account, trust
from tests.e2e.server import Server
from tests.e2e.test_s3_support import s3_client

PROPERTY = settings(
    max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class World:
    """One account's role and user (names with upper and lower case), a caller denied everything
    on them, a caller allowed to assume the role, and a bucket."""

    account: Account
    role: dict[str, Any]
    user: dict[str, Any]
    denied: tuple[str, str]
    allowed: tuple[str, str]
    bucket: str
    holder: str  # a role whose trust policy the principal property rewrites


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[World]:
    account = first_account(server)
    iam = account.iam()
    tag = uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=f"Admin-{tag}", AssumeRolePolicyDocument=trust({"AWS": account.id}))[
        "Role"
    ]
    user = iam.create_user(UserName=f"Victim-{tag}")["User"]
    _, denied = account.user(
        "mallory", allow("*"), deny(["iam:*", "sts:AssumeRole"], [role["Arn"], user["Arn"]])
    )
    _, allowed = account.user("trusted", allow("sts:AssumeRole"))
    bucket = f"case-{tag}"
    s3_client(server, account.root).create_bucket(Bucket=bucket)
    holder = iam.create_role(RoleName=f"holder-{tag}", AssumeRolePolicyDocument=trust({"AWS": account.id}))
    yield World(account, role, user, denied, allowed, bucket, holder["Role"]["RoleName"])


def spelling(name: str) -> st.SearchStrategy[str]:
    """Every upper/lower-case spelling of ``name``."""
    flips = st.lists(st.booleans(), min_size=len(name), max_size=len(name))
    return flips.map(lambda up: "".join(c.upper() if u else c.lower() for c, u in zip(name, up, strict=True)))


def variants(world: World, kind: str) -> st.SearchStrategy[str]:
    name = world.role["RoleName"] if kind == "role" else world.user["UserName"]
    return spelling(name)


@PROPERTY
@given(data=st.data())
def test_assume_role_decides_about_the_stored_role(world: World, data: st.DataObject) -> None:
    name = data.draw(variants(world, "role"))
    arn = world.role["Arn"].replace(world.role["RoleName"], name)
    sts = world.account.client("sts", key=world.denied)
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=arn, RoleSessionName="prop")
    assert error(caught)[0] == "AccessDenied"
    sts = world.account.client("sts", key=world.allowed)
    if name != world.role["RoleName"]:
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=arn, RoleSessionName="prop")
        assert error(caught)[0] == "AccessDenied"
    else:
        user = sts.assume_role(RoleArn=arn, RoleSessionName="prop")["AssumedRoleUser"]
        assert user["AssumedRoleId"].split(":")[0] == world.role["RoleId"]


@PROPERTY
@given(data=st.data(), kind=st.sampled_from(["role", "user"]))
def test_get_update_delete_by_name_decide_about_the_stored_entity(
    world: World, data: st.DataObject, kind: str
) -> None:
    entity = world.role if kind == "role" else world.user
    label = kind.capitalize()
    name = data.draw(variants(world, kind))
    operation = data.draw(st.sampled_from(["get", "delete", "update", "tag"]))
    params: dict[str, Any] = {f"{label}Name": name}
    if operation == "update":
        params["NewPath" if kind == "user" else "Description"] = "/moved/" if kind == "user" else "changed"
    if operation == "tag":
        params["Tags"] = [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as caught:
        getattr(world.account.iam(key=world.denied), f"{operation}_{kind}")(**params)
    code, message, _ = error(caught)
    assert code == "AccessDenied" and f"on resource: {entity['Arn']} " in message
    found = getattr(world.account.iam(), f"get_{kind}")(**{f"{label}Name": name})[label]
    assert (found[f"{label}Id"], found["Arn"]) == (entity[f"{label}Id"], entity["Arn"])


@PROPERTY
@given(data=st.data(), kind=st.sampled_from(["role", "user"]), where=st.sampled_from(["trust", "bucket"]))
def test_policy_principals_name_the_exact_entity_or_none(
    world: World, data: st.DataObject, kind: str, where: str
) -> None:
    entity = world.role if kind == "role" else world.user
    stored_name = entity["RoleName" if kind == "role" else "UserName"]
    name = data.draw(variants(world, kind))
    principal = entity["Arn"].replace(stored_name, name)
    s3 = s3_client(world.account.server, world.account.root)
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject"}
    try:
        if where == "bucket":
            text = document({**statement, "Resource": f"arn:aws:s3:::{world.bucket}/*"})
            s3.put_bucket_policy(Bucket=world.bucket, Policy=text)
            shown = s3.get_bucket_policy(Bucket=world.bucket)["Policy"]
        else:
            iam = world.account.iam()
            iam.update_assume_role_policy(RoleName=world.holder, PolicyDocument=trust({"AWS": principal}))
            shown = str(iam.get_role(RoleName=world.holder)["Role"]["AssumeRolePolicyDocument"])
    except ClientError as refused:
        assert name != stored_name
        assert refused.response["Error"]["Code"] in ("MalformedPolicy", "MalformedPolicyDocument")
        return
    assert name == stored_name and entity["Arn"] in shown

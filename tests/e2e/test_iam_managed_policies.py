"""Managed policies and their versions through boto3: CreatePolicy … SetDefaultPolicyVersion,
ListPolicies' filters, AWS managed policies, account isolation and authorization."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import account_of, allow, document, error, uid, user_client
from tests.e2e.server import Server

OTHER_ACCOUNT = "123456789012"  # the second account of tests/e2e/bootstrap.yaml
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


S3_READ = document(allow(["s3:GetObject", "s3:ListBucket"]))


def test_create_and_get_policy(server: Server) -> None:
    iam = server.client("iam")
    name = uid("policy")
    created = iam.create_policy(
        PolicyName=name, Path="/team/a/", PolicyDocument=S3_READ, Description="read s3",
        Tags=[{"Key": "owner", "Value": "team-a"}],
    )["Policy"]  # fmt: skip
    assert created["PolicyId"].startswith("ANPA") and len(created["PolicyId"]) == 21
    assert created["Arn"] == f"arn:aws:iam::{account_of(server)}:policy/team/a/{name}"
    assert (created["DefaultVersionId"], created["AttachmentCount"], created["IsAttachable"]) == (
        "v1",
        0,
        True,
    )
    fetched = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert fetched["Description"] == "read s3"
    assert fetched["Tags"] == [{"Key": "owner", "Value": "team-a"}]
    assert fetched["PermissionsBoundaryUsageCount"] == 0
    version = iam.get_policy_version(PolicyArn=created["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(S3_READ)
    assert version["IsDefaultVersion"] is True


def test_policy_names_are_unique_in_the_account_whatever_the_path(server: Server) -> None:
    iam = server.client("iam")
    name = uid("policy")
    iam.create_policy(PolicyName=name, PolicyDocument=S3_READ)
    with pytest.raises(ClientError) as caught:
        iam.create_policy(PolicyName=name.upper(), Path="/other/", PolicyDocument=S3_READ)
    message = f"A policy called {name.upper()} already exists. Duplicate names are not allowed."
    assert error(caught) == ("EntityAlreadyExists", message, 409)


@pytest.mark.parametrize(
    ("text", "code", "message", "status"),
    [
        (json.dumps({"Statement": [allow("s3:*")]}), "MalformedPolicyDocument",
         "Policy document must be version 2012-10-17 or greater.", 400),
        (document({**allow("s3:*"), "Principal": "*"}), "MalformedPolicyDocument",
         "Policy document should not specify a principal.", 400),
        (document(allow([f"s3:Get{n:05d}" for n in range(700)])), "LimitExceeded",
         "Cannot exceed quota for PolicySize: 6144", 409),
    ],
)  # fmt: skip
def test_policy_documents_are_validated(
    server: Server, text: str, code: str, message: str, status: int
) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as caught:
        iam.create_policy(PolicyName=uid("policy"), PolicyDocument=text)
    assert error(caught) == (code, message, status)


def test_policy_versions_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    policy_arn = iam.create_policy(PolicyName=uid("policy"), PolicyDocument=S3_READ)["Policy"]["Arn"]
    v2 = iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=document(allow("s3:*")))[
        "PolicyVersion"
    ]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", False)
    v3 = iam.create_policy_version(
        PolicyArn=policy_arn, PolicyDocument=document(allow("ec2:*")), SetAsDefault=True
    )
    assert v3["PolicyVersion"]["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"] == "v3"
    listed = iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed] == [
        ("v3", True),
        ("v2", False),
        ("v1", False),
    ]
    for _ in range(2):
        iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=S3_READ)
    with pytest.raises(ClientError) as caught:
        iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=S3_READ)
    assert error(caught) == (
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an "
        "existing version.",
        409,
    )
    with pytest.raises(ClientError) as caught:
        iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v3")
    assert error(caught) == ("DeleteConflict", "Cannot delete the default version of a policy.", 409)
    iam.set_default_policy_version(PolicyArn=policy_arn, VersionId="v1")
    iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v3")
    with pytest.raises(ClientError) as caught:
        iam.get_policy_version(PolicyArn=policy_arn, VersionId="v3")
    assert error(caught) == (
        "NoSuchEntity",
        f"Policy {policy_arn} version v3 does not exist or is not attachable.",
        404,
    )
    with pytest.raises(ClientError) as caught:
        iam.set_default_policy_version(PolicyArn=policy_arn, VersionId="v9")
    assert error(caught)[0] == "NoSuchEntity"
    assert (
        iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=S3_READ)["PolicyVersion"]["VersionId"]
        == "v6"
    )
    with pytest.raises(ClientError) as caught:
        iam.get_policy_version(PolicyArn=policy_arn, VersionId="version1")
    assert error(caught)[0] == "ValidationError"


def test_default_version_decides_what_the_policy_allows(server: Server) -> None:
    iam = server.client("iam")
    name = uid("u")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    policy_arn = iam.create_policy(PolicyName=uid("policy"), PolicyDocument=S3_READ)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
    with pytest.raises(ClientError) as caught:
        client.list_roles()
    assert error(caught)[0] == "AccessDenied"
    iam.create_policy_version(
        PolicyArn=policy_arn, PolicyDocument=document(allow("iam:ListRoles")), SetAsDefault=True
    )
    assert "Roles" in client.list_roles(MaxItems=1)
    iam.set_default_policy_version(PolicyArn=policy_arn, VersionId="v1")
    with pytest.raises(ClientError) as caught:
        client.list_roles()
    assert error(caught)[0] == "AccessDenied"


def test_delete_policy_conflicts(server: Server) -> None:
    iam = server.client("iam")
    policy_arn = iam.create_policy(PolicyName=uid("policy"), PolicyDocument=S3_READ)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=S3_READ)
    with pytest.raises(ClientError) as caught:
        iam.delete_policy(PolicyArn=policy_arn)
    assert error(caught) == (
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's "
        "versions. The default version is deleted with the policy.",
        409,
    )
    iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v2")
    role = uid("role")
    trust = document(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["AttachmentCount"] == 1
    with pytest.raises(ClientError) as caught:
        iam.delete_policy(PolicyArn=policy_arn)
    assert error(caught) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_role_policy(RoleName=role, PolicyArn=policy_arn)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=policy_arn)
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    with pytest.raises(ClientError) as caught:
        iam.delete_policy(PolicyArn=policy_arn)
    assert error(caught) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.delete_policy(PolicyArn=policy_arn)
    with pytest.raises(ClientError) as caught:
        iam.get_policy(PolicyArn=policy_arn)
    assert error(caught) == ("NoSuchEntity", f"Policy {policy_arn} was not found.", 404)


def test_list_policies_filters(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{uid('list')}/"
    names = sorted(uid("policy") for _ in range(3))
    arns = [
        iam.create_policy(PolicyName=n, Path=path, PolicyDocument=S3_READ)["Policy"]["Arn"] for n in names
    ]
    local = iam.list_policies(Scope="Local", PathPrefix=path)["Policies"]
    assert [p["PolicyName"] for p in local] == names
    assert all("Description" not in p and "Tags" not in p for p in local)
    role = uid("role")
    trust = document(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust, PermissionsBoundary=arns[2])
    iam.attach_role_policy(RoleName=role, PolicyArn=arns[0])
    attached = iam.list_policies(Scope="Local", PathPrefix=path, OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in attached] == [arns[0]]
    bounds = iam.list_policies(Scope="Local", PathPrefix=path, PolicyUsageFilter="PermissionsBoundary")[
        "Policies"
    ]
    assert [p["Arn"] for p in bounds] == [arns[2]]
    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2)
    rest = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert [p["PolicyName"] for p in first["Policies"] + rest["Policies"]] == names
    aws = [p for page in iam.get_paginator("list_policies").paginate(Scope="AWS") for p in page["Policies"]]
    assert READ_ONLY in {p["Arn"] for p in aws}
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws)
    everything = {
        p["Arn"] for page in iam.get_paginator("list_policies").paginate() for p in page["Policies"]
    }
    assert {READ_ONLY, *arns} <= everything
    with pytest.raises(ClientError) as caught:
        server.client("iam", parameter_validation=False).list_policies(Scope="Mine")
    assert error(caught)[0] == "ValidationError"


def test_aws_managed_policies_cannot_be_changed(server: Server) -> None:
    iam = server.client("iam")
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PolicyName"] == "ReadOnlyAccess"
    calls = [
        lambda: iam.create_policy_version(PolicyArn=READ_ONLY, PolicyDocument=S3_READ),
        lambda: iam.delete_policy(PolicyArn=READ_ONLY),
        lambda: iam.set_default_policy_version(PolicyArn=READ_ONLY, VersionId="v1"),
        lambda: iam.delete_policy_version(PolicyArn=READ_ONLY, VersionId="v1"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        code, message, status = error(caught)
        assert (code, status) == ("AccessDenied", 403)
        assert f"on resource: {READ_ONLY}" in message


def test_policies_of_another_account_are_invisible(server: Server) -> None:
    mine, theirs = server.client("iam"), server.client("iam", account=OTHER_ACCOUNT)
    foreign = theirs.create_policy(PolicyName=uid("foreign"), PolicyDocument=S3_READ)["Policy"]["Arn"]
    assert foreign.startswith(f"arn:aws:iam::{OTHER_ACCOUNT}:policy/")
    with pytest.raises(ClientError) as caught:
        mine.get_policy(PolicyArn=foreign)
    assert error(caught) == ("NoSuchEntity", f"Policy {foreign} was not found.", 404)
    with pytest.raises(ClientError) as caught:
        mine.create_policy_version(PolicyArn=foreign, PolicyDocument=S3_READ)
    assert error(caught)[0] == "NoSuchEntity"
    assert foreign not in {p["Arn"] for p in mine.list_policies(Scope="Local")["Policies"]}
    name = uid("u")
    mine.create_user(UserName=name)
    with pytest.raises(ClientError) as caught:
        mine.attach_user_policy(UserName=name, PolicyArn=foreign)
    assert error(caught) == ("NoSuchEntity", f"Policy {foreign} does not exist or is not attachable.", 404)


def test_malformed_policy_arn_is_invalid_input(server: Server) -> None:
    with pytest.raises(ClientError) as caught:
        server.client("iam").get_policy(PolicyArn="arn:aws:s3:::not-a-policy-at-all")
    assert error(caught) == ("InvalidInput", "ARN arn:aws:s3:::not-a-policy-at-all is not valid.", 400)


def test_policy_calls_need_permission(server: Server) -> None:
    account = account_of(server)
    path = f"/{uid('own')}/"
    _, allowed = user_client(
        server,
        document(
            allow(
                ["iam:CreatePolicy", "iam:GetPolicy", "iam:CreatePolicyVersion"],
                f"arn:aws:iam::{account}:policy{path}*",
            )
        ),
    )
    _, nobody = user_client(server)
    name = uid("policy")
    with pytest.raises(ClientError) as caught:
        nobody.create_policy(PolicyName=name, Path=path, PolicyDocument=S3_READ)
    assert error(caught)[0] == "AccessDenied"
    policy_arn = allowed.create_policy(PolicyName=name, Path=path, PolicyDocument=S3_READ)["Policy"]["Arn"]
    assert allowed.get_policy(PolicyArn=policy_arn)["Policy"]["PolicyName"] == name
    allowed.create_policy_version(PolicyArn=policy_arn, PolicyDocument=S3_READ)
    with pytest.raises(ClientError) as caught:
        allowed.delete_policy_version(PolicyArn=policy_arn, VersionId="v2")
    assert error(caught)[0] == "AccessDenied"
    for call in (lambda: nobody.get_policy(PolicyArn=policy_arn), lambda: nobody.list_policies()):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught)[0] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        allowed.create_policy(PolicyName=uid("policy"), PolicyDocument=S3_READ)
    assert error(caught)[0] == "AccessDenied"

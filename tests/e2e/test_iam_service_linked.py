"""Service-linked roles and GetAccountSummary through boto3 and the `aws` CLI: the role's name,
path and trust, its protection from ordinary edits, deletion as a task, and the account's counts and
quotas."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import (
    Account,
    allow,
    aws_cli,
    document,
    error,
    first_account,
    second_account,
    trust,
    uid,
)
from tests.e2e.server import Server

PROTECTED = "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS"
TASK = re.compile(r"^task/aws-service-role/([^/]+)/([^/]+)/[0-9a-f-]{36}$")


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _fails(call: Any, code: str, message: str | None = None) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert error(caught)[0] == code, error(caught)
    if message is not None:
        assert error(caught)[1] == message


def test_create_service_linked_role(acct: Account) -> None:
    iam = acct.iam()
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="web")[
        "Role"
    ]
    assert role["RoleName"] == "AWSServiceRoleForAutoScaling_web"
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Arn"] == acct.arn("role", "AWSServiceRoleForAutoScaling_web", role["Path"])
    assert role["RoleId"].startswith("AROA")
    fetched = iam.get_role(RoleName=role["RoleName"])["Role"]
    assert fetched["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "autoscaling.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    listed = iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]
    assert role["RoleName"] in {r["RoleName"] for r in listed}
    _fails(
        lambda: iam.create_service_linked_role(
            AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="web"
        ),
        "InvalidInput",
        "Service role name AWSServiceRoleForAutoScaling_web has been taken in this account, please try a "
        "different suffix.",
    )
    _fails(lambda: iam.create_service_linked_role(AWSServiceName="nosuch.amazonaws.com"), "InvalidInput")
    _fails(
        lambda: iam.create_role(
            RoleName=uid("r"), Path="/aws-service-role/x/", AssumeRolePolicyDocument=trust({"Service": "x"})
        ),
        "InvalidInput",
        "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles",
    )


def test_service_linked_roles_are_protected(acct: Account) -> None:
    iam = acct.iam()
    name = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com", CustomSuffix=uid("p")[-10:])[
        "Role"
    ]["RoleName"]
    refused = PROTECTED.format(name)
    policy = document(allow("s3:GetObject"))
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    for call in (
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust({"AWS": acct.id})),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn=read_only),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy),
        lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=read_only),
        lambda: iam.tag_role(RoleName=name, Tags=[{"Key": "k", "Value": "v"}]),
    ):
        _fails(call, "UnmodifiableEntity", refused)
    described = iam.update_role_description(RoleName=name, Description="ours")["Role"]
    assert described["Description"] == "ours"


def test_delete_service_linked_role_is_a_task(acct: Account) -> None:
    iam = acct.iam()
    suffix = uid("d")[-10:]
    name = iam.create_service_linked_role(
        AWSServiceName="elasticbeanstalk.amazonaws.com", CustomSuffix=suffix
    )["Role"]["RoleName"]
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    match = TASK.match(task)
    assert match is not None and match.groups() == ("elasticbeanstalk.amazonaws.com", name)
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    _fails(lambda: iam.get_role(RoleName=name), "NoSuchEntity")
    other = second_account(acct.server).iam()
    _fails(lambda: other.get_service_linked_role_deletion_status(DeletionTaskId=task), "NoSuchEntity")
    _fails(
        lambda: iam.get_service_linked_role_deletion_status(DeletionTaskId="task/nonsense"), "InvalidInput"
    )
    ordinary = uid("plain")
    iam.create_role(RoleName=ordinary, AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    _fails(lambda: iam.delete_service_linked_role(RoleName=ordinary), "InvalidInput")


def test_service_linked_role_calls_need_permission(acct: Account) -> None:
    _, key = acct.user("slr")
    iam = acct.iam(key)
    _fails(lambda: iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com"), "AccessDenied")
    _fails(lambda: iam.get_account_summary(), "AccessDenied")
    scoped = document(
        allow(
            "iam:CreateServiceLinkedRole",
            "*",
            Condition={"StringEquals": {"iam:AWSServiceName": "rds.amazonaws.com"}},
        )
    )
    rds_user, rds_key = acct.user("slr-rds")
    acct.iam().put_user_policy(UserName=rds_user, PolicyName="slr", PolicyDocument=scoped)
    scoped_iam = acct.iam(rds_key)
    _fails(lambda: scoped_iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com"), "AccessDenied")
    suffix = uid("s")[-10:]
    role = scoped_iam.create_service_linked_role(AWSServiceName="rds.amazonaws.com", CustomSuffix=suffix)[
        "Role"
    ]
    assert role["RoleName"] == f"AWSServiceRoleForRDS_{suffix}"


def _count(iam: Any, operation: str, key: str) -> int:
    return sum(len(page[key]) for page in iam.get_paginator(operation).paginate())


def test_account_summary_counts_the_store(acct: Account) -> None:
    iam = acct.iam()
    iam.create_user(UserName=uid("sum"))
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] == _count(iam, "list_users", "Users")
    assert summary["Groups"] == _count(iam, "list_groups", "Groups")
    assert summary["Roles"] == _count(iam, "list_roles", "Roles")
    assert summary["InstanceProfiles"] == _count(iam, "list_instance_profiles", "InstanceProfiles")
    local = sum(len(page["Policies"]) for page in iam.get_paginator("list_policies").paginate(Scope="Local"))
    assert summary["Policies"] == local
    assert summary["AccountAccessKeysPresent"] == 1
    assert summary["UsersQuota"] == 5000 and summary["RolesQuota"] == 1000
    assert summary["GroupsQuota"] == 300 and summary["PoliciesQuota"] == 1500
    assert summary["AttachedPoliciesPerRoleQuota"] == 10 and summary["VersionsPerPolicyQuota"] == 5
    assert summary["PolicySizeQuota"] == 6144 and summary["AssumeRolePolicySizeQuota"] == 2048
    name = uid("sum")
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == summary["Users"] + 1
    assert after["PolicyVersionsInUse"] == summary["PolicyVersionsInUse"] + 1


def test_the_cli_drives_service_linked_roles_and_the_summary(acct: Account) -> None:
    def ok(*args: str) -> Any:
        done = aws_cli(acct.server, *args, key=acct.root)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    suffix = uid("c")[-10:]
    role = ok(
        "iam",
        "create-service-linked-role",
        "--aws-service-name",
        "lambda.amazonaws.com",
        "--custom-suffix",
        suffix,
    )
    name = role["Role"]["RoleName"]
    assert name == f"AWSServiceRoleForLambda_{suffix}"
    done = aws_cli(acct.server, "iam", "delete-role", "--role-name", name, key=acct.root)
    assert done.returncode != 0 and "(UnmodifiableEntity)" in done.stderr
    task = ok("iam", "delete-service-linked-role", "--role-name", name)["DeletionTaskId"]
    status = ok("iam", "get-service-linked-role-deletion-status", "--deletion-task-id", task)
    assert status == {"Status": "SUCCEEDED"}
    summary = ok("iam", "get-account-summary")["SummaryMap"]
    assert summary["UsersQuota"] == 5000 and summary["Users"] >= 1

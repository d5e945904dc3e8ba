"""The policy simulator through boto3: SimulatePrincipalPolicy and SimulateCustomPolicy — decisions,
matched statements and their positions, context entries, boundaries, resource policies, paging."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import EC2_TRUST, document, error, uid
from tests.e2e.server import Server

OTHER_ACCOUNT = "123456789012"


def statement(effect: str, action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def decisions(results: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}


def test_user_policies_inline_group_and_managed(server: Server) -> None:
    iam = server.client("iam")
    user, group = uid("u"), uid("g")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    inline = document(statement("Allow", "s3:GetObject", "arn:aws:s3:::bucket/*", Sid="Read"))
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=inline)
    iam.put_group_policy(
        GroupName=group, PolicyName="no-delete", PolicyDocument=document(statement("Deny", "s3:DeleteObject"))
    )
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"],
        ResourceArns=["arn:aws:s3:::bucket/key"],
    )["EvaluationResults"]
    resource = "arn:aws:s3:::bucket/key"
    assert decisions(results) == {
        ("s3:GetObject", resource): "allowed",
        ("s3:DeleteObject", resource): "explicitDeny",
        ("ec2:RunInstances", resource): "implicitDeny",
    }
    get, delete, run = results
    sources = {(m["SourcePolicyId"], m["SourcePolicyType"]) for m in get["MatchedStatements"]}
    assert sources == {("read", "user"), ("AmazonS3FullAccess", "aws-managed")}
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in delete["MatchedStatements"]] == [
        ("no-delete", "group")
    ]
    assert run["MatchedStatements"] == []
    assert get["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"


def test_matched_statement_positions(server: Server) -> None:
    iam = server.client("iam")
    user = uid("u")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    pretty = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [statement("Allow", "s3:ListBucket"), statement("Allow", "sqs:*")],
        },
        indent=4,
    )
    iam.put_user_policy(UserName=user, PolicyName="pretty", PolicyDocument=pretty)
    result = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["sqs:SendMessage"])[
        "EvaluationResults"
    ][0]
    matched = result["MatchedStatements"][0]
    lines = pretty.splitlines()
    start, end = matched["StartPosition"], matched["EndPosition"]
    assert lines[start["Line"] - 1][start["Column"] - 2] == "{"
    assert lines[end["Line"] - 1][end["Column"] - 2] == "}"
    assert '"sqs:*"' in "\n".join(lines[start["Line"] - 1 : end["Line"]])


def test_context_entries_and_missing_values(server: Server) -> None:
    iam = server.client("iam")
    condition = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    policies = [document(statement("Allow", "s3:GetObject", Condition=condition))]
    without = iam.simulate_custom_policy(PolicyInputList=policies, ActionNames=["s3:GetObject"])
    result = without["EvaluationResults"][0]
    assert (result["EvalDecision"], result["MissingContextValues"]) == ("implicitDeny", ["aws:SourceIp"])
    entry = {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}
    inside = iam.simulate_custom_policy(
        PolicyInputList=policies, ActionNames=["s3:GetObject"], ContextEntries=[entry]
    )
    assert inside["EvaluationResults"][0]["EvalDecision"] == "allowed"
    assert inside["EvaluationResults"][0]["MissingContextValues"] == []
    outside = {**entry, "ContextKeyValues": ["192.168.0.1"]}
    denied = iam.simulate_custom_policy(
        PolicyInputList=policies, ActionNames=["s3:GetObject"], ContextEntries=[outside]
    )
    assert denied["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    variable = [document(statement("Allow", "s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))]
    missing = iam.simulate_custom_policy(PolicyInputList=variable, ActionNames=["s3:GetObject"])
    assert missing["EvaluationResults"][0]["MissingContextValues"] == ["aws:username"]
    tags = {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["a", "b"], "ContextKeyType": "stringList"}
    all_values = [
        document(
            statement(
                "Allow", "iam:TagUser", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
            )
        )
    ]
    tagged = iam.simulate_custom_policy(
        PolicyInputList=all_values, ActionNames=["iam:TagUser"], ContextEntries=[tags]
    )
    assert tagged["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_aws_example_of_simulate_custom_policy(server: Server) -> None:
    """The AWS CLI's documented example: statement positions Line 1, Column 38 to Column 167."""
    text = (
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
        '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
    )
    entry = {
        "ContextKeyName": "aws:CurrentTime",
        "ContextKeyValues": ["2019-04-25T11:00:00Z"],
        "ContextKeyType": "date",
    }
    iam = server.client("iam")
    result = iam.simulate_custom_policy(
        PolicyInputList=[text], ActionNames=["dynamodb:CreateBackup"], ContextEntries=[entry]
    )
    first = result["EvaluationResults"][0]
    assert (first["EvalActionName"], first["EvalResourceName"], first["EvalDecision"]) == (
        "dynamodb:CreateBackup", "*", "allowed",
    )  # fmt: skip
    assert first["MatchedStatements"] == [
        {"SourcePolicyId": "PolicyInputList.1", "StartPosition": {"Line": 1, "Column": 38},
         "EndPosition": {"Line": 1, "Column": 167}}
    ]  # fmt: skip
    early = {**entry, "ContextKeyValues": ["2014-04-25T11:00:00Z"]}
    denied = iam.simulate_custom_policy(
        PolicyInputList=[text], ActionNames=["dynamodb:CreateBackup"], ContextEntries=[early]
    )
    late = denied["EvaluationResults"][0]
    assert (late["EvalDecision"], late["MatchedStatements"]) == ("implicitDeny", [])


def test_boundaries_in_the_simulation(server: Server) -> None:
    iam = server.client("iam")
    role = uid("role")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.put_role_permissions_boundary(
        RoleName=role, PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    )
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "iam:CreateUser"]
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in results] == [
        True,
        False,
    ]
    widened = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["iam:CreateUser"],
        PermissionsBoundaryPolicyInputList=[document(statement("Allow", "iam:*"))],
    )["EvaluationResults"][0]
    assert widened["EvalDecision"] == "allowed"
    extra = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:GetObject"],
        PolicyInputList=[document(statement("Deny", "s3:*"))],
    )["EvaluationResults"][0]
    assert extra["EvalDecision"] == "explicitDeny"
    assert extra["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"


def test_groups_and_resource_policies(server: Server) -> None:
    iam = server.client("iam")
    account = next(iter(server.roots))
    group = uid("g")
    group_arn = iam.create_group(GroupName=group)["Group"]["Arn"]
    iam.put_group_policy(
        GroupName=group, PolicyName="sqs", PolicyDocument=document(statement("Allow", "sqs:*"))
    )
    assert decisions(
        iam.simulate_principal_policy(PolicySourceArn=group_arn, ActionNames=["sqs:SendMessage"])[
            "EvaluationResults"
        ]
    ) == {("sqs:SendMessage", "*"): "allowed"}
    bucket_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/reader"},
                           "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}],
        }
    )  # fmt: skip
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(
            PolicySourceArn=group_arn, ActionNames=["s3:GetObject"], ResourcePolicy=bucket_policy,
            ResourceArns=["arn:aws:s3:::shared/x"],
        )  # fmt: skip
    assert error(caught)[0::2] == ("InvalidInput", 400)
    result = iam.simulate_principal_policy(
        PolicySourceArn=group_arn, ActionNames=["s3:GetObject"], ResourcePolicy=bucket_policy,
        ResourceArns=["arn:aws:s3:::shared/x"], CallerArn=f"arn:aws:iam::{account}:user/reader",
    )["EvaluationResults"][0]  # fmt: skip
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    custom = iam.simulate_custom_policy(
        PolicyInputList=[document(statement("Allow", "s3:GetObject"))], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::shared/x"], ResourcePolicy=bucket_policy,
        ResourceOwner=f"arn:aws:iam::{OTHER_ACCOUNT}:root", CallerArn=f"arn:aws:iam::{account}:user/reader",
    )["EvaluationResults"][0]  # fmt: skip
    assert custom["EvalDecision"] == "allowed"
    assert custom["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}


def test_paging_and_errors(server: Server) -> None:
    iam = server.client("iam")
    actions = [f"s3:Action{n}" for n in range(5)]
    policies = [document(statement("Allow", "s3:*"))]
    first = iam.simulate_custom_policy(PolicyInputList=policies, ActionNames=actions, MaxItems=3)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 3
    rest = iam.simulate_custom_policy(PolicyInputList=policies, ActionNames=actions, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in first["EvaluationResults"] + rest["EvaluationResults"]] == actions
    with pytest.raises(ClientError) as caught:
        iam.simulate_custom_policy(PolicyInputList=["{bad"], ActionNames=["s3:GetObject"])
    assert error(caught) == ("InvalidInput", "Syntax errors in policy.", 400)
    ghost = f"arn:aws:iam::{next(iter(server.roots))}:user/{uid('ghost')}"
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn=ghost, ActionNames=["s3:GetObject"])
    assert error(caught) == (
        "NoSuchEntity",
        f"The user with name {ghost.rsplit('/', 1)[-1]} cannot be found.",
        404,
    )


def test_simulation_needs_permission(server: Server) -> None:
    iam = server.client("iam")
    account = next(iter(server.roots))
    target = uid("target")
    target_arn = iam.create_user(UserName=target)["User"]["Arn"]
    user = uid("u")
    iam.create_user(UserName=user)
    only_custom = document(statement("Allow", "iam:SimulateCustomPolicy"))
    iam.put_user_policy(UserName=user, PolicyName="sim", PolicyDocument=only_custom)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))
    custom = client.simulate_custom_policy(
        PolicyInputList=[only_custom], ActionNames=["iam:SimulateCustomPolicy"]
    )
    assert custom["EvaluationResults"][0]["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as caught:
        client.simulate_principal_policy(PolicySourceArn=target_arn, ActionNames=["s3:GetObject"])
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:SimulatePrincipalPolicy on resource: {target_arn}" in message
    allowed = document(
        statement("Allow", "iam:SimulatePrincipalPolicy", f"arn:aws:iam::{account}:user/{target}")
    )
    iam.put_user_policy(UserName=user, PolicyName="principal", PolicyDocument=allowed)
    result = client.simulate_principal_policy(PolicySourceArn=target_arn, ActionNames=["s3:GetObject"])
    assert result["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_organization_policies_in_a_custom_simulation(server: Server) -> None:
    iam = server.client("iam")
    scp = document(statement("Allow", "*"), statement("Deny", "s3:DeleteObject"))
    results = iam.simulate_custom_policy(
        PolicyInputList=[document(statement("Allow", "s3:*"))],
        ActionNames=["s3:GetObject", "s3:DeleteObject"],
        OrderedOrganizationPolicyInputList=[{"ServiceControlPolicyInputList": [scp]}],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "explicitDeny"]
    assert [r["OrganizationsDecisionDetail"]["AllowedByOrganizations"] for r in results] == [True, False]

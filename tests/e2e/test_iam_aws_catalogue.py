"""Every AWS managed policy, through boto3 and the `aws` CLI: ListPolicies --scope AWS over the
whole catalogue, GetPolicy / GetPolicyVersion / ListPolicyVersions with AWS's fields and history,
attaching one and seeing it grant, ListEntitiesForPolicy, and `monban simulate` naming one by ARN."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.parse
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, aws_cli, error, first_account, trust, uid
from tests.e2e.server import Server

DYNAMO_READ = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
POLICY_ID = re.compile(r"^ANPA[A-Z2-7]{17}$")


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _aws_policies(iam: Any, **params: Any) -> list[dict[str, Any]]:
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS", **params)
    return [policy for page in pages for policy in page["Policies"]]


def test_list_policies_scope_aws_is_the_whole_catalogue(acct: Account) -> None:
    policies = _aws_policies(acct.iam())
    arns = [p["Arn"] for p in policies]
    assert len(arns) == len(set(arns)) > 1300
    assert {DYNAMO_READ, ADMIN} <= set(arns)
    assert all(POLICY_ID.match(p["PolicyId"]) and p["IsAttachable"] for p in policies)
    assert all(p["Arn"] == f"arn:aws:iam::aws:policy{p['Path']}{p['PolicyName']}" for p in policies)
    paths = {p["Path"] for p in policies}
    assert {"/", "/service-role/", "/aws-service-role/", "/job-function/"} <= paths
    roles = _aws_policies(acct.iam(), PathPrefix="/service-role/")
    assert roles and all(p["Path"] == "/service-role/" for p in roles)
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in {p["Arn"] for p in roles}


def test_get_policy_answers_as_aws_does(acct: Account) -> None:
    iam = acct.iam()
    policy = iam.get_policy(PolicyArn=DYNAMO_READ)["Policy"]
    assert policy["PolicyName"] == "AmazonDynamoDBReadOnlyAccess"
    assert policy["Path"] == "/" and policy["DefaultVersionId"] == "v15"
    assert policy["CreateDate"].isoformat() == "2015-02-06T18:40:12+00:00"
    assert policy["UpdateDate"].isoformat() == "2024-11-18T17:38:15+00:00"
    assert POLICY_ID.match(policy["PolicyId"])
    assert policy["AttachmentCount"] == 0 and policy["PermissionsBoundaryUsageCount"] == 0
    job = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")["Policy"]
    assert job["Path"] == "/job-function/"
    with pytest.raises(ClientError) as caught:
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchManagedPolicy")
    assert error(caught)[:2] == (
        "NoSuchEntity",
        "Policy arn:aws:iam::aws:policy/NoSuchManagedPolicy was not found.",
    )


def test_policy_versions_carry_the_history(acct: Account) -> None:
    iam = acct.iam()
    versions = [
        v
        for page in iam.get_paginator("list_policy_versions").paginate(PolicyArn=DYNAMO_READ)
        for v in page["Versions"]
    ]
    assert [v["VersionId"] for v in versions] == [f"v{n}" for n in range(15, 0, -1)]
    assert [v["IsDefaultVersion"] for v in versions] == [True] + [False] * 14
    current = iam.get_policy_version(PolicyArn=DYNAMO_READ, VersionId="v15")["PolicyVersion"]
    first = iam.get_policy_version(PolicyArn=DYNAMO_READ, VersionId="v1")["PolicyVersion"]
    assert current["IsDefaultVersion"] and not first["IsDefaultVersion"]
    assert first["CreateDate"].isoformat() == "2015-02-06T18:40:12+00:00"
    current_actions = current["Document"]["Statement"][0]["Action"]
    assert "dynamodb:GetItem" in current_actions and current["Document"] != first["Document"]
    with pytest.raises(ClientError) as caught:
        iam.get_policy_version(PolicyArn=DYNAMO_READ, VersionId="v16")
    assert error(caught)[0] == "NoSuchEntity"


def test_aws_managed_policy_attaches_grants_and_is_listed(acct: Account) -> None:
    iam = acct.iam()
    name, key = acct.user("dynamo-reader")
    with pytest.raises(ClientError) as caught:
        acct.iam(key).simulate_principal_policy(PolicySourceArn=acct.arn("user", name), ActionNames=["x:y"])
    assert error(caught)[0] == "AccessDenied"
    iam.attach_user_policy(UserName=name, PolicyArn=DYNAMO_READ)
    role = uid("dynamo-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    iam.attach_role_policy(RoleName=role, PolicyArn=DYNAMO_READ)
    results = iam.simulate_principal_policy(
        PolicySourceArn=acct.arn("user", name), ActionNames=["dynamodb:GetItem", "dynamodb:PutItem"]
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    assert iam.get_policy(PolicyArn=DYNAMO_READ)["Policy"]["AttachmentCount"] == 2
    entities = iam.list_entities_for_policy(PolicyArn=DYNAMO_READ)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [name]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonDynamoDBReadOnlyAccess", "PolicyArn": DYNAMO_READ}]
    only = _aws_policies(iam, OnlyAttached=True)
    assert DYNAMO_READ in {p["Arn"] for p in only}
    iam.detach_user_policy(UserName=name, PolicyArn=DYNAMO_READ)
    iam.detach_role_policy(RoleName=role, PolicyArn=DYNAMO_READ)
    assert iam.get_policy(PolicyArn=DYNAMO_READ)["Policy"]["AttachmentCount"] == 0


def test_aws_managed_policies_stay_read_only(acct: Account) -> None:
    iam = acct.iam()
    for call in (
        lambda: iam.delete_policy(PolicyArn=DYNAMO_READ),
        lambda: iam.create_policy_version(
            PolicyArn=DYNAMO_READ, PolicyDocument=json.dumps({"Statement": []})
        ),
        lambda: iam.set_default_policy_version(PolicyArn=DYNAMO_READ, VersionId="v1"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught)[0] == "AccessDenied"
    assert iam.get_policy(PolicyArn=DYNAMO_READ)["Policy"]["DefaultVersionId"] == "v15"


def test_the_cli_reads_the_catalogue(acct: Account) -> None:
    def ok(*args: str) -> Any:
        done = aws_cli(acct.server, *args, key=acct.root)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    listed = ok("iam", "list-policies", "--scope", "AWS", "--path-prefix", "/job-function/")
    assert "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess" in {p["Arn"] for p in listed["Policies"]}
    policy = ok("iam", "get-policy", "--policy-arn", DYNAMO_READ)["Policy"]
    assert policy["DefaultVersionId"] == "v15" and policy["CreateDate"].startswith("2015-02-06T18:40:12")
    version = ok("iam", "get-policy-version", "--policy-arn", DYNAMO_READ, "--version-id", "v3")
    assert version["PolicyVersion"]["VersionId"] == "v3"
    assert version["PolicyVersion"]["Document"]["Version"] == "2012-10-17"
    everything = ok("iam", "list-policies", "--scope", "AWS")["Policies"]
    assert len(everything) > 1300 and DYNAMO_READ in {p["Arn"] for p in everything}


def test_monban_simulate_names_aws_managed_policies_by_arn() -> None:
    request = {
        "principal": "arn:aws:iam::111122223333:user/alice",
        "action": "dynamodb:Query",
        "resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
        "identity_policies": [DYNAMO_READ],
    }
    denied = {**request, "action": "dynamodb:DeleteTable"}
    done = subprocess.run(
        [sys.executable, "-m", "monban.cli", "simulate"],
        input="\n".join(json.dumps(r) for r in (request, denied)),
        capture_output=True,
        text=True,
        check=True,
    )
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["decision"] == "allowed"
    assert first["matched"][0]["policy"] == "AmazonDynamoDBReadOnlyAccess"
    assert second["decision"] == "implicitDeny"


def test_policy_documents_come_url_encoded_like_aws(acct: Account) -> None:
    """The raw GetPolicyVersion response carries the document URL-encoded (boto3 decodes it)."""
    iam = acct.iam()
    captured: dict[str, bytes] = {}
    iam.meta.events.register(
        "after-call.iam.GetPolicyVersion",
        lambda http_response, **_: captured.update(body=http_response.content),
    )
    iam.get_policy_version(PolicyArn=ADMIN, VersionId="v1")
    match = re.search(rb"<Document>(.*?)</Document>", captured["body"])
    assert match is not None
    assert json.loads(urllib.parse.unquote(match.group(1).decode())) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }

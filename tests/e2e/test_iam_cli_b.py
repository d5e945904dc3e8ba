"""Roles, managed policies, attachments, boundaries, instance profiles and the simulator through the
``aws`` CLI (v1) in a subprocess, JSON output."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.e2e.iam_support import EC2_TRUST, aws_cli, uid
from tests.e2e.server import Server


def aws(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """``aws --endpoint-url <server> iam <args> --output json`` as the first account's root."""
    return aws_cli(server, "iam", *args, key=next(iter(server.roots.values())))


def ok(server: Server, *args: str) -> Any:
    done = aws(server, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_roles_and_instance_profiles_with_the_cli(server: Server) -> None:
    role, profile = uid("cli-role"), uid("cli-profile")
    created = ok(server, "create-role", "--role-name", role, "--path", "/cli/",
                 "--assume-role-policy-document", EC2_TRUST, "--description", "from the cli")  # fmt: skip
    assert created["Role"]["RoleId"].startswith("AROA")
    fetched = ok(server, "get-role", "--role-name", role)["Role"]
    assert fetched["AssumeRolePolicyDocument"] == json.loads(EC2_TRUST)
    assert fetched["Description"] == "from the cli"
    ok(server, "update-role", "--role-name", role, "--max-session-duration", "7200")
    listed = ok(server, "list-roles", "--path-prefix", "/cli/")["Roles"]
    assert {r["RoleName"]: r["MaxSessionDuration"] for r in listed}[role] == 7200
    ok(server, "create-instance-profile", "--instance-profile-name", profile)
    ok(server, "add-role-to-instance-profile", "--instance-profile-name", profile, "--role-name", role)
    shown = ok(server, "get-instance-profile", "--instance-profile-name", profile)["InstanceProfile"]
    assert [r["RoleName"] for r in shown["Roles"]] == [role]
    refused = aws(server, "delete-role", "--role-name", role)
    assert refused.returncode != 0
    assert "DeleteConflict" in refused.stderr
    assert "must remove roles from instance profile first" in refused.stderr
    ok(server, "remove-role-from-instance-profile", "--instance-profile-name", profile, "--role-name", role)
    ok(server, "delete-instance-profile", "--instance-profile-name", profile)
    ok(server, "delete-role", "--role-name", role)
    missing = aws(server, "get-role", "--role-name", role)
    assert missing.returncode != 0
    assert (
        f"(NoSuchEntity) when calling the GetRole operation: The role with name {role} cannot be found."
        in missing.stderr
    )


def test_policies_attachments_and_boundaries_with_the_cli(server: Server) -> None:
    role, name = uid("cli-role"), uid("cli-policy")
    ok(server, "create-role", "--role-name", role, "--assume-role-policy-document", EC2_TRUST)
    text = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    policy = ok(server, "create-policy", "--policy-name", name, "--policy-document", text)["Policy"]
    ok(
        server,
        "create-policy-version",
        "--policy-arn",
        policy["Arn"],
        "--policy-document",
        text,
        "--set-as-default",
    )
    versions = ok(server, "list-policy-versions", "--policy-arn", policy["Arn"])["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v2", True), ("v1", False)]
    document = ok(server, "get-policy-version", "--policy-arn", policy["Arn"], "--version-id", "v2")
    assert document["PolicyVersion"]["Document"] == json.loads(text)
    ok(server, "attach-role-policy", "--role-name", role, "--policy-arn", policy["Arn"])
    attached = ok(server, "list-attached-role-policies", "--role-name", role)["AttachedPolicies"]
    assert attached == [{"PolicyName": name, "PolicyArn": policy["Arn"]}]
    entities = ok(server, "list-entities-for-policy", "--policy-arn", policy["Arn"])
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    ok(server, "put-role-permissions-boundary", "--role-name", role, "--permissions-boundary", boundary)
    role_arn = ok(server, "get-role", "--role-name", role)["Role"]["Arn"]
    simulated = ok(server, "simulate-principal-policy", "--policy-source-arn", role_arn,
                   "--action-names", "s3:GetObject", "s3:PutObject")["EvaluationResults"]  # fmt: skip
    assert [r["EvalDecision"] for r in simulated] == ["allowed", "implicitDeny"]
    assert simulated[0]["MatchedStatements"][0]["SourcePolicyId"] == name
    ok(server, "delete-role-permissions-boundary", "--role-name", role)
    ok(server, "detach-role-policy", "--role-name", role, "--policy-arn", policy["Arn"])
    ok(server, "delete-policy-version", "--policy-arn", policy["Arn"], "--version-id", "v1")
    ok(server, "delete-policy", "--policy-arn", policy["Arn"])
    limited = aws(server, "attach-role-policy", "--role-name", role, "--policy-arn", policy["Arn"])
    assert limited.returncode != 0
    assert f"Policy {policy['Arn']} does not exist or is not attachable." in limited.stderr

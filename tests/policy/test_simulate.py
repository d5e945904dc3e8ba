"""``monban simulate``: request building, principals from ARNs, JSON in and out, errors."""

from __future__ import annotations

import io
import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pytest

from monban.policy.simulate import (
    InvalidInput,
    answer,
    build_request,
    decision_json,
    main,
    principal_from_arn,
    principal_keys,
    run,
)
from monban.policy.types import Decision, MatchedStatement

A = "111122223333"
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
BASE = {"principal": f"arn:aws:iam::{A}:user/alice", "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"}


def lines(*items: Any) -> list[str]:
    return [(item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items]


def simulate(*items: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    run(lines(*items), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


# --- principals ----------------------------------------------------------------------------------


def test_principal_from_arn_forms() -> None:
    root = principal_from_arn(f"arn:aws:iam::{A}:root")
    assert (root.type, root.account, root.unique_id) == ("Account", A, A)
    user = principal_from_arn(f"arn:aws:iam::{A}:user/path/alice")
    assert user.type == "User" and user.unique_id.startswith("AIDA") and len(user.unique_id) == 21
    assert user.unique_id == principal_from_arn(f"arn:aws:iam::{A}:user/path/alice").unique_id
    role = principal_from_arn(f"arn:aws:iam::{A}:role/ci/deployer")
    assert role.type == "AssumedRole" and role.role_arn == f"arn:aws:iam::{A}:role/ci/deployer"
    assert role.arn == f"arn:aws:sts::{A}:assumed-role/deployer/monban-simulate"
    assert role.unique_id.startswith("AROA") and role.unique_id.endswith(":monban-simulate")
    session = principal_from_arn(f"arn:aws:sts::{A}:assumed-role/app/s1")
    assert session.role_arn == f"arn:aws:iam::{A}:role/app" and session.unique_id.endswith(":s1")
    federated = principal_from_arn(f"arn:aws:sts::{A}:federated-user/jane")
    assert (federated.type, federated.unique_id) == ("FederatedUser", f"{A}:jane")
    oidc = principal_from_arn(f"arn:aws:iam::{A}:oidc-provider/example.com")
    assert (oidc.type, oidc.unique_id) == ("FederatedUser", "example.com")
    assert principal_from_arn("*").type == principal_from_arn("anonymous").type == "Anonymous"
    assert principal_from_arn("accounts.google.com").type == "FederatedUser"
    service = principal_from_arn("ec2.amazonaws.com")
    assert (service.type, service.service) == ("Service", "ec2.amazonaws.com")


@pytest.mark.parametrize(
    "value",
    [
        "alice",
        "arn:aws:iam::123:user/alice",
        f"arn:aws:iam::{A}:group/admins",
        f"arn:aws:iam::{A}:user/",
        f"arn:aws:sts::{A}:assumed-role/app",
        f"arn:aws:sts::{A}:something/x",
        f"arn:aws:s3::{A}:bucket",
        f"nra:aws:iam::{A}:root",
    ],
)
def test_principal_from_arn_rejects(value: str) -> None:
    with pytest.raises(InvalidInput, match="not a principal ARN"):
        principal_from_arn(value)


def test_principal_object_fills_in_from_the_arn() -> None:
    request, _ = build_request(
        {**BASE, "principal": {"arn": f"arn:aws:sts::{A}:assumed-role/app/s1", "tags": {"team": "blue"}}}
    )
    principal = request.principal
    assert principal.type == "AssumedRole" and principal.role_arn == f"arn:aws:iam::{A}:role/app"
    assert principal.tags == {"team": "blue"}
    assert request.context.get("aws:PrincipalTag/team") == ("blue",)
    assert request.context.get("aws:PrincipalArn") == (f"arn:aws:iam::{A}:role/app",)
    explicit = build_request(
        {
            **BASE,
            "principal": {
                "type": "User",
                "account": A,
                "arn": "arn:x",
                "unique_id": "AIDAX",
                "service": None,
            },
        }
    )[0].principal
    assert (explicit.type, explicit.account, explicit.unique_id, explicit.role_arn) == (
        "User",
        A,
        "AIDAX",
        None,
    )
    bare = build_request({**BASE, "principal": {"type": "Anonymous"}})[0].principal
    assert (bare.arn, bare.account, bare.unique_id) == ("*", "", "")


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ({"type": "Robot", "arn": f"arn:aws:iam::{A}:root"}, "principal type must be one of"),
        ({"arn": f"arn:aws:iam::{A}:root", "tags": ["a"]}, "tags must be an object"),
        ({"arn": f"arn:aws:iam::{A}:root", "tags": {"a": 1}}, "tags must be an object"),
        ({"arn": 7}, "arn must be a string"),
        ({"arn": "alice"}, "not a principal ARN"),
        (42, "principal must be an ARN or an object"),
        (None, "principal must be an ARN or an object"),
    ],
)
def test_principal_errors(principal: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_request({**BASE, "principal": principal})


def test_principal_keys() -> None:
    user = principal_from_arn(f"arn:aws:iam::{A}:user/alice")
    keys = principal_keys(user)
    assert keys["aws:username"] == "alice" and keys["aws:PrincipalType"] == "User"
    assert keys["aws:PrincipalArn"] == user.arn and keys["aws:userid"] == user.unique_id
    assert "aws:username" not in principal_keys(principal_from_arn(f"arn:aws:iam::{A}:root"))
    assert principal_keys(principal_from_arn("*")) == {}
    assert principal_keys(principal_from_arn("ec2.amazonaws.com")) == {}


# --- requests ------------------------------------------------------------------------------------


def test_context_values_and_overrides() -> None:
    request, _ = build_request(
        {
            **BASE,
            "context": {
                "aws:SecureTransport": True,
                "aws:MultiFactorAuthPresent": False,
                "s3:max-keys": 10,
                "aws:TagKeys": ["a", "b"],
                "aws:username": "override",
                "aws:SourceIp": None,
                "n": [1, True],
            },
        }
    )
    ctx = request.context
    assert ctx.get("aws:SecureTransport") == ("true",) and ctx.get("aws:MultiFactorAuthPresent") == ("false",)
    assert ctx.get("s3:max-keys") == ("10",) and ctx.get("aws:TagKeys") == ("a", "b")
    assert ctx.get("aws:username") == ("override",) and ctx.get("aws:SourceIp") is None
    assert ctx.get("n") == ("1", "true")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"context": []}, "context must be an object"),
        ({"context": {"k": {"nested": 1}}}, "context value of k"),
        ({"action": ""}, "action and resource are required"),
        ({"resource": None}, "action and resource are required"),
        ({"is_trust_policy": "yes"}, "is_trust_policy must be a boolean"),
        ({"resource_account": 5}, "resource_account must be a string"),
        ({"identity_policies": {}}, "identity-policy must be a list"),
        ({"session_policies": "x"}, "session-policy must be a list"),
        ({"scps": {}}, "scps must be a list of lists"),
        ({"scps": [{}]}, "scp-1 must be a list"),
        ({"identity_policies": [7]}, "a policy must be a JSON object or its text"),
        ({"identity_policies": [{"name": 7, "document": ALLOW_S3}]}, "name must be a string"),
    ],
)
def test_request_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_request({**BASE, **change})


def test_policies_are_named_and_kinded() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"}],
    }
    request, policies = build_request(
        {
            **BASE,
            "resource_account": "444455556666",
            "identity_policies": [ALLOW_S3, {"name": "custom", "document": json.dumps(ALLOW_S3)}],
            "permissions_boundary": ALLOW_S3,
            "session_policies": [],
            "scps": [[ALLOW_S3], [ALLOW_S3, ALLOW_S3]],
            "resource_policy": trust,
            "is_trust_policy": True,
        }
    )
    assert [p.name for p in policies.identity] == ["identity-policy-1", "custom"]
    assert policies.boundary is not None and policies.boundary.name == "permissions-boundary"
    assert policies.session == ()
    assert [[p.name for p in level] for level in policies.scps] == [["scp-1-1"], ["scp-2-1", "scp-2-2"]]
    assert request.resource_policy is not None and request.resource_policy.name == "trust-policy"
    assert request.is_trust_policy and request.resource_account == "444455556666"
    _, bare = build_request(BASE)
    assert bare.session is None and bare.boundary is None and bare.scps == ()


def test_aws_managed_policies_by_arn() -> None:
    """A policy given as an AWS managed policy's ARN is its default version from the catalogue."""
    dynamo = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"
    table = "arn:aws:dynamodb:us-east-1:111122223333:table/t"
    asked = {**BASE, "action": "dynamodb:GetItem", "resource": table}
    [allowed, named, denied, unknown] = simulate(
        {**asked, "identity_policies": [dynamo]},
        {**asked, "identity_policies": [{"name": "dynamo", "document": dynamo}]},
        {**asked, "action": "dynamodb:PutItem", "identity_policies": [dynamo]},
        {**asked, "identity_policies": ["arn:aws:iam::aws:policy/NoSuchPolicy"]},
    )
    assert allowed["decision"] == "allowed"
    assert allowed["matched"][0]["policy"] == "AmazonDynamoDBReadOnlyAccess"
    assert named["matched"][0]["policy"] == "dynamo"
    assert denied["decision"] == "implicitDeny"
    assert unknown["error"] == {
        "code": "InvalidInput",
        "message": "NoSuchPolicy: no AWS managed policy arn:aws:iam::aws:policy/NoSuchPolicy",
    }


def test_decision_json() -> None:
    decision = Decision("allowed", (MatchedStatement("p", 2, "Sid", "Allow", "identity"),))
    assert decision_json(decision) == {
        "decision": "allowed",
        "matched": [{"policy": "p", "index": 2, "sid": "Sid", "effect": "Allow", "stage": "identity"}],
        "reason": None,
    }


# --- run and main --------------------------------------------------------------------------------


def test_run_json_lines() -> None:
    results = simulate({**BASE, "identity_policies": [ALLOW_S3]}, "", BASE, "   ")
    assert [r["decision"] for r in results] == ["allowed", "implicitDeny"]
    assert results[1]["reason"] == "no identity-based policy allows the s3:GetObject action"


def test_run_one_document_and_a_list() -> None:
    pretty = json.dumps({**BASE, "identity_policies": [ALLOW_S3]}, indent=2)
    out = io.StringIO()
    run([pretty], out)
    assert json.loads(out.getvalue())["decision"] == "allowed"
    out = io.StringIO()
    run([json.dumps([BASE, BASE])], out)
    assert len(out.getvalue().splitlines()) == 2


def test_run_reports_bad_lines_and_goes_on() -> None:
    bad_policy = {**BASE, "identity_policies": [{"Statement": "nope"}]}
    results = simulate("not json", [1, 2], bad_policy, {"principal": "who"}, BASE)
    assert results[0]["error"]["code"] == "InvalidInput" and "not JSON" in results[0]["error"]["message"]
    assert results[1]["error"] == {"code": "InvalidInput", "message": "a request must be a JSON object"}
    assert results[2]["error"] == {"code": "MalformedPolicyDocument", "message": "Syntax errors in policy."}
    assert results[3]["error"]["code"] == "InvalidInput"
    assert results[4]["decision"] == "implicitDeny"


def test_answer_never_raises() -> None:
    assert answer("text")["error"]["code"] == "InvalidInput"


def test_main_reads_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(lines({**BASE, "identity_policies": [ALLOW_S3]})), encoding="utf-8")
    assert main([str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "allowed"


def test_main_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(BASE) + "\n"))
    assert main([]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "implicitDeny"


def test_main_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert "monban simulate:" in capsys.readouterr().err


def test_module_entry_point(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["monban.policy.simulate", "-"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(BASE)))
    monkeypatch.delitem(sys.modules, "monban.policy.simulate")
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("monban.policy.simulate", run_name="__main__")
    assert exited.value.code == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "implicitDeny"

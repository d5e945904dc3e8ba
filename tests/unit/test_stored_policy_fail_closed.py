"""A stored document that no longer compiles fails closed: it denies, it never just disappears."""

from __future__ import annotations

from monban.access.authz import compiled_or_deny
from monban.policy import (
    AuthzRequest,
    NamedPolicy,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
)
from monban.services.s3.access import BucketFacts, bucket_policy
from monban.store.iam_read import PolicyText

ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
UNPARSABLE = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Bogus":1}]}'
)
ALICE = Principal("User", "123456789010", "arn:aws:iam::123456789010:user/alice", "AIDAEXAMPLEALICE00001")


def _request(action: str, resource: str, resource_policy: NamedPolicy | None = None) -> AuthzRequest:
    return AuthzRequest(ALICE, action, resource, "123456789010", RequestContext({}), resource_policy)


def test_unparsable_identity_policy_denies_everything() -> None:
    allow = compiled_or_deny(PolicyText("user/alice/allow", ALLOW_ALL), PolicyKind.IDENTITY)
    broken = compiled_or_deny(PolicyText("user/alice/broken", UNPARSABLE), PolicyKind.IDENTITY)
    decision = evaluate(_request("iam:GetUser", "*"), PolicySet(identity=(allow, broken)))
    assert decision.decision == "explicitDeny"
    assert any("invalid: denies everything" in m.policy for m in decision.matched)


def test_unparsable_bucket_policy_denies_all_but_policy_management() -> None:
    facts = BucketFacts("bucket", "123456789010", "us-east-1", UNPARSABLE)
    policy = bucket_policy(facts)
    allow = compiled_or_deny(PolicyText("user/alice/allow", ALLOW_ALL), PolicyKind.IDENTITY)
    identity = PolicySet(identity=(allow,))
    read = evaluate(_request("s3:GetObject", "arn:aws:s3:::bucket/key", policy), identity)
    assert read.decision == "explicitDeny"
    mend = evaluate(_request("s3:PutBucketPolicy", "arn:aws:s3:::bucket", policy), identity)
    assert mend.allowed

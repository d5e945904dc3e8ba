"""``action_keys`` and ``service_key``: the condition keys the Service Authorization Reference
offers per action, which the server keeps a request's context to."""

from __future__ import annotations

import pytest

from monban.policy.findings import action_keys, service_key


def test_an_action_offers_its_own_keys_and_its_resource_types() -> None:
    assume = action_keys("sts:AssumeRole")
    assert assume is not None
    assert assume.has("sts:ExternalId") and assume.has("STS:externalid")
    assert assume.has("iam:ResourceTag/env") and assume.has("aws:ResourceTag/env")  # resource type role
    assert not assume.has("iam:PermissionsBoundary")
    get_user = action_keys("IAM:GetUser")
    assert get_user is not None and not get_user.has("iam:PermissionsBoundary")
    assert get_user.has("iam:ResourceTag/team")
    get_group = action_keys("iam:GetGroup")  # resource type group: no keys of its own
    assert get_group is not None and not get_group.has("aws:ResourceTag/team")
    get_object = action_keys("s3:GetObject")  # S3 writes a family as <key>
    assert get_object is not None and get_object.has("s3:ExistingObjectTag/team")


@pytest.mark.parametrize("action", ["nosuchservice:Do", "iam:NoSuchAction", "iam"])
def test_unknown_actions_offer_nothing(action: str) -> None:
    assert action_keys(action) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("iam:PermissionsBoundary", True),
        ("STS:ExternalId", True),
        ("saml:sub", True),
        ("accounts.google.com:aud", True),
        ("aws:SourceIp", False),
        ("AWS:ResourceTag/x", False),
        ("oidc.example.com/id/ABC:sub", False),
        ("nosuchservice:key", False),
    ],
)
def test_service_keys(key: str, expected: bool) -> None:
    assert service_key(key) is expected

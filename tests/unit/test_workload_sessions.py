"""IMDSv2 tokens (bound to their instance, expiring, unforgeable) and the workload sessions' lifetime
and cache (the same set until the refresh margin, then the next)."""

from __future__ import annotations

import secrets

from monban.credentials.keyring import KeyRing
from monban.credentials.session import TokenKey
from monban.services.imds.tokens import issue_token, token_valid
from monban.services.sts.issue import Issued, RoleRecord
from monban.services.sts.service_session import (
    Lifetime,
    Refused,
    ServiceRequest,
    SessionCache,
    issue_for_service,
    workload_lifetime,
)

RING = KeyRing.from_master(secrets.token_bytes(32))
TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
ROLE = RoleRecord(
    "AROAEXAMPLEEXAMPLE123", "123456789010", "web", "/", "arn:aws:iam::123456789010:role/web", TRUST, 3600, ()
)


def test_a_token_is_bound_to_its_instance_and_expires() -> None:
    token = issue_token(RING, "i-0123456789abcdef0", now=1_000, ttl=60)
    assert token_valid(RING, token, "i-0123456789abcdef0", 1_059)
    assert not token_valid(RING, token, "i-0123456789abcdef0", 1_060)
    assert not token_valid(RING, token, "i-0123456789abcdef1", 1_001)
    assert not token_valid(KeyRing.from_master(secrets.token_bytes(32)), token, "i-0123456789abcdef0", 1_001)
    for bad in ("", "x", token[:-1], token + "A", "é" * 10, "A" * 300):
        assert not token_valid(RING, bad, "i-0123456789abcdef0", 1_001)


def test_lifetimes() -> None:
    assert workload_lifetime(900) == Lifetime(21600, 900)
    assert workload_lifetime(2) == Lifetime(6, 2)
    assert workload_lifetime(0) == Lifetime(3, 1)


def test_the_same_set_until_the_margin() -> None:
    cache = SessionCache(Lifetime(21600, 900))
    request = ServiceRequest(
        ROLE.arn, "ec2.amazonaws.com", "i-0123456789abcdef0", (("ec2:RoleDelivery", "2.0"),)
    )

    def issue(now: int) -> Issued | Refused:
        return cache.get(
            "k",
            now,
            lambda: issue_for_service(TokenKey(0, RING.sessions), ROLE, request, cache.lifetime, now),
        )

    first = issue(0)
    assert isinstance(first, Issued) and first.claims.extra == {"ec2:RoleDelivery": "2.0"}
    assert first.claims.instance_profile is False and first.claims.session_name == "i-0123456789abcdef0"
    assert issue(21600 - 901) is first
    second = issue(21600 - 900)
    assert isinstance(second, Issued) and second.claims.access_key_id != first.claims.access_key_id


def test_a_service_the_trust_policy_does_not_name_is_refused() -> None:
    request = ServiceRequest(ROLE.arn, "ecs-tasks.amazonaws.com", "task")
    refused = issue_for_service(TokenKey(0, RING.sessions), ROLE, request, Lifetime(3600, 900), 0)
    assert isinstance(refused, Refused) and "ecs-tasks.amazonaws.com" in refused.reason

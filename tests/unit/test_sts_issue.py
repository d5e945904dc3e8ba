"""Minting role sessions, and a service principal (EC2) against a trust policy."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

from monban.credentials.keyring import KeyRing
from monban.credentials.session import TokenKey, account_of_access_key_id, open_token
from monban.services.sts.issue import (
    RoleRecord,
    RoleSessionSpec,
    assumed_role_user,
    role_session,
    service_may_assume,
)
from monban.services.sts.session_rules import inherited

RING = KeyRing.from_master(secrets.token_bytes(32))
KEY0 = {0: RING.sessions}  # the key ring of a database without rows: key 0 alone


def role(trust: Mapping[str, object]) -> RoleRecord:
    return RoleRecord(
        id="AROAEXAMPLEEXAMPLE123",
        account="123456789010",
        name="web",
        path="/apps/",
        arn="arn:aws:iam::123456789010:role/apps/web",
        trust_policy=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        max_session_duration=3600,
        tags=(("env", "prod"),),
    )


EC2_TRUST = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}


def test_ec2_may_assume_a_role_that_trusts_it() -> None:
    assert service_may_assume(role(EC2_TRUST), "ec2.amazonaws.com").allowed
    assert not service_may_assume(role(EC2_TRUST), "lambda.amazonaws.com").allowed


def test_trust_conditions_see_the_role_tags() -> None:
    conditioned = {**EC2_TRUST, "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}
    assert not service_may_assume(role(conditioned), "ec2.amazonaws.com").allowed


def test_instance_profile_session() -> None:
    record = role(EC2_TRUST)
    spec = RoleSessionSpec(
        session_name="i-0123456789abcdef0", issued_at=1_000, duration=21600, instance_profile=True
    )
    issued = role_session(TokenKey(0, RING.sessions), record, spec)
    claims = open_token(issued.token, issued.claims.access_key_id, KEY0.get)
    assert claims == issued.claims and claims.expires_at == 22_600
    assert account_of_access_key_id(claims.access_key_id) == "123456789010"
    assert assumed_role_user(claims) == {
        "AssumedRoleId": "AROAEXAMPLEEXAMPLE123:i-0123456789abcdef0",
        "Arn": "arn:aws:sts::123456789010:assumed-role/web/i-0123456789abcdef0",
    }
    assert not inherited(claims).chained  # instance credentials assuming a role is not chaining
    assert set(issued.credentials()) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}

"""The AssumeRole hot path's shortcuts give what the general code gives.

read_request runs the list parsers (Tags, PolicyArns, TransitiveTagKeys) only for lists present;
the session rules return early when there is nothing to merge; the key id, secret and nonce come
from one random draw; Expiration is formatted from the epoch second, not rendered from a datetime.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from monban.credentials.keyring import KeyRing
from monban.credentials.session import SessionClaims, TokenKey, account_of_access_key_id, open_token
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.protocol.xml import STS_NS, query_response
from monban.services.sts import assume_role as ar
from monban.services.sts import session_rules as rules
from monban.services.sts.issue import (
    Issued,
    RoleRecord,
    RoleSessionSpec,
    expiration_text,
    fresh_keys,
    issue,
    role_session,
)
from tests.unit.test_sts_rules import role_claims

ARN = "arn:aws:iam::123456789010:role/read-only"
RING = KeyRing.from_master(secrets.token_bytes(32))
KEY0 = {0: RING.sessions}  # the key ring of a database without rows: key 0 alone

PARAMS = [
    {"RoleArn": ARN, "RoleSessionName": "s1"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "Action": "AssumeRole", "Version": "2011-06-15"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "Tags.member.1.Key": "a", "Tags.member.1.Value": "b"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "Tags.member.1.Key": "a"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "Tags.member.x.Key": "a", "Tags": "b"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "TransitiveTagKeys.member.2": "k", "Tags.member.2.Key": "k"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "PolicyArns.member.1.arn": "short", "Foo.Bar": "x"},
    {"RoleArn": "x", "RoleSessionName": "!", "DurationSeconds": "1", "PolicyArns.member.1.arn": "a"},
    {"RoleSessionName": "s1", "ExternalId": "x", "SourceIdentity": "y", "TokenCode": "1", "Policy": ""},
    {"RoleArn": ARN, "RoleSessionName": "s1", "SerialNumber": "arn:aws:iam::123456789010:mfa/alice"},
    {"RoleArn": ARN, "RoleSessionName": "s1", "TransitiveTagKeys.member.1": ""},
]


def _outcome(params: dict[str, str]) -> object:
    try:
        return ar.read_request(QueryParams(params), 900)
    except AwsError as error:
        return (error.code, error.message)


@pytest.mark.parametrize("params", PARAMS)
def test_skipping_absent_lists_changes_nothing(
    params: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _outcome(params)
    every_list = {"Tags", "PolicyArns", "TransitiveTagKeys"}
    monkeypatch.setattr(ar, "_list_names", lambda raw: every_list)  # parse every list, always
    assert fast == _outcome(params)


@pytest.mark.parametrize("claims", [None, role_claims(), role_claims(kind="user")])
def test_nothing_requested_keeps_the_chain(claims: SessionClaims | None) -> None:
    chain = rules.inherited(claims)
    assert rules.session_tags((), (), chain) == (tuple(chain.tags), tuple(chain.transitive_keys))
    assert rules.session_tags([], [], chain) == rules.session_tags((), (), chain)


def test_no_policy_and_no_tags_pack_to_nothing() -> None:
    assert rules.packed_policy_size(None, (), ()) is None
    assert rules.packed_policy_size(None, (), (("a", "b"),)) is not None


def test_fresh_keys_are_fresh_and_well_formed() -> None:
    seen: set[object] = set()
    for _ in range(200):
        akid, secret, nonce = fresh_keys("123456789010")
        assert akid.startswith("ASIA") and len(akid) == 20
        assert account_of_access_key_id(akid) == "123456789010"
        assert len(secret) == 40 and len(nonce) == 12
        seen.update((akid, secret, nonce))
    assert len(seen) == 600


@pytest.mark.parametrize("epoch", [0, 1_700_003_600, 1_700_003_601, 1_700_003_600, 4_102_444_799])
def test_expiration_text_is_the_rendered_datetime(epoch: int) -> None:
    as_datetime = query_response("X", {"E": datetime.fromtimestamp(epoch, UTC)}, STS_NS, "r")
    assert query_response("X", {"E": expiration_text(epoch)}, STS_NS, "r") == as_datetime


def _record() -> RoleRecord:
    trust = '{"Version":"2012-10-17","Statement":[]}'
    return RoleRecord("AROAEXAMPLE", "123456789010", "web", "/", f"{ARN}", trust, 3600, ())


def test_minted_sessions_open_and_render() -> None:
    issued = role_session(TokenKey(0, RING.sessions), _record(), RoleSessionSpec("s", 1_700_000_000, 900))
    assert open_token(issued.token, issued.claims.access_key_id, KEY0.get) == issued.claims
    assert issued.credentials()["Expiration"] == "2023-11-14T22:28:20Z"
    again = issue(TokenKey(0, RING.sessions), issued.claims)
    assert isinstance(again, Issued) and again.claims.access_key_id != issued.claims.access_key_id
    assert open_token(again.token, again.claims.access_key_id, KEY0.get) == again.claims

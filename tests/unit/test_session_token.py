"""Session tokens and ASIA key ids: sealed, bound to their key, carrying their account."""

from __future__ import annotations

import base64
import secrets

import pytest

from monban.credentials.keyring import KeyRing
from monban.credentials.session import (
    InvalidSessionToken,
    SessionClaims,
    account_of_access_key_id,
    open_token,
    seal_token,
    session_access_key_id,
)

RING = KeyRing.from_master(secrets.token_bytes(32))


def claims(**changes: object) -> SessionClaims:
    base: dict[str, object] = {
        "access_key_id": session_access_key_id("123456789010"),
        "secret_access_key": "s" * 40,
        "kind": "role",
        "account": "123456789010",
        "issued_at": 1_700_000_000,
        "expires_at": 1_700_003_600,
        "principal_id": "AROAEXAMPLEEXAMPLEEX",
        "principal_name": "read-only",
        "principal_arn": "arn:aws:iam::123456789010:role/read-only",
        "session_name": "test-session",
        "tags": (("Project", "blue"),),
        "transitive_tag_keys": ("Project",),
        "source_identity": "alice",
    }
    base.update(changes)
    return SessionClaims(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("account", ["123456789010", "000000000001", "999999999999", "123456789012"])
def test_asia_id_encodes_its_account(account: str) -> None:
    akid = session_access_key_id(account)
    assert akid.startswith("ASIA") and len(akid) == 20
    assert set(akid[4:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert account_of_access_key_id(akid) == account


def test_asia_ids_differ() -> None:
    assert len({session_access_key_id("123456789010") for _ in range(1000)}) == 1000


def test_aws_documented_key_decodes_to_its_account() -> None:
    # AWS's documentation example key ASIAY34FZKBOKMUTVV7A belongs to account 609629065308
    # (the decoding public tools use).
    assert account_of_access_key_id("ASIAY34FZKBOKMUTVV7A") == "609629065308"


@pytest.mark.parametrize(
    "bad", ["", "ASIA", "ASIA1111111111111111", "ASIA!AAAAAAAAAAAAAAA", "ASIAAAAAAAAAAAAAAAA"]
)
def test_undecodable_ids_give_no_account(bad: str) -> None:
    assert account_of_access_key_id(bad) is None


def test_an_account_must_be_twelve_digits() -> None:
    with pytest.raises(ValueError):
        session_access_key_id("12345")


def test_round_trip_keeps_every_claim() -> None:
    original = claims(policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",), session_policy="{}")
    token = seal_token(original, RING.sessions)
    assert open_token(token, original.access_key_id, RING.sessions) == original


def test_token_is_bound_to_its_key_id() -> None:
    original = claims()
    token = seal_token(original, RING.sessions)
    with pytest.raises(InvalidSessionToken):
        open_token(token, session_access_key_id("123456789010"), RING.sessions)


def test_one_flipped_byte_anywhere_is_refused() -> None:
    original = claims()
    token = seal_token(original, RING.sessions)
    prefix, body = token[:12], bytearray(base64.b64decode(token[12:]))
    for index in (0, 12, len(body) // 2, len(body) - 1):
        flipped = bytearray(body)
        flipped[index] ^= 0x01
        tampered = prefix + base64.b64encode(bytes(flipped)).decode()
        with pytest.raises(InvalidSessionToken):
            open_token(tampered, original.access_key_id, RING.sessions)


def test_another_master_key_cannot_open_it() -> None:
    original = claims()
    token = seal_token(original, RING.sessions)
    other = KeyRing.from_master(secrets.token_bytes(32))
    with pytest.raises(InvalidSessionToken):
        open_token(token, original.access_key_id, other.sessions)


@pytest.mark.parametrize(
    "junk", ["", "IQoJbW9uYmFu", "IQoJbW9uYmFu!!!", "x" * 100, "IQoJbW9uYmFu" + "A" * 9000]
)
def test_garbage_tokens_are_refused(junk: str) -> None:
    with pytest.raises(InvalidSessionToken):
        open_token(junk, "ASIAAAAAAAAAAAAAAAAA", RING.sessions)

"""Session tokens and ASIA key ids: sealed, bound to their key, carrying their account."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import MISSING, fields

import pytest

from monban.credentials import ids
from monban.credentials.keyring import NONCE_BYTES, KeyRing, Sealer
from monban.credentials.session import (
    KEYED_PREFIX,
    TOKEN_PREFIX,
    InvalidSessionToken,
    SessionClaims,
    TokenKey,
    _to_json,
    account_of_access_key_id,
    open_token,
    seal_token,
    session_access_key_id,
    token_key_id,
)

RING = KeyRing.from_master(secrets.token_bytes(32))
KEY = TokenKey(0, RING.sessions)
KEY0 = {0: RING.sessions}  # the key ring of a database without rows: key 0 alone


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
    token = seal_token(original, KEY)
    assert open_token(token, original.access_key_id, KEY0.get) == original


def test_token_is_bound_to_its_key_id() -> None:
    original = claims()
    token = seal_token(original, KEY)
    with pytest.raises(InvalidSessionToken):
        open_token(token, session_access_key_id("123456789010"), KEY0.get)


def test_one_flipped_byte_anywhere_is_refused() -> None:
    original = claims()
    token = seal_token(original, KEY)
    prefix, body = token[:12], bytearray(base64.b64decode(token[12:]))
    for index in (0, 12, len(body) // 2, len(body) - 1):
        flipped = bytearray(body)
        flipped[index] ^= 0x01
        tampered = prefix + base64.b64encode(bytes(flipped)).decode()
        with pytest.raises(InvalidSessionToken):
            open_token(tampered, original.access_key_id, KEY0.get)


def test_another_master_key_cannot_open_it() -> None:
    original = claims()
    token = seal_token(original, KEY)
    other = KeyRing.from_master(secrets.token_bytes(32))
    with pytest.raises(InvalidSessionToken):
        open_token(token, original.access_key_id, {0: other.sessions}.get)


def test_a_token_names_its_key_and_opens_only_with_it() -> None:
    original = claims()
    seven = Sealer(secrets.token_bytes(32))
    token = seal_token(original, TokenKey(7, seven))
    assert token.startswith(KEYED_PREFIX) and not token.startswith(TOKEN_PREFIX)
    assert token_key_id(token)[0] == 7
    assert open_token(token, original.access_key_id, {7: seven}.get) == original
    with pytest.raises(InvalidSessionToken):  # the ring no longer has it
        open_token(token, original.access_key_id, KEY0.get)
    with pytest.raises(InvalidSessionToken):  # another key under its id
        open_token(token, original.access_key_id, {7: RING.sessions}.get)
    renamed = (
        KEYED_PREFIX
        + base64.b64encode((0).to_bytes(4, "big") + base64.b64decode(token[len(KEYED_PREFIX) :])[4:]).decode()
    )
    with pytest.raises(InvalidSessionToken):  # its id changed to one whose key did not seal it
        open_token(renamed, original.access_key_id, {0: RING.sessions, 7: seven}.get)


def test_key_zero_tokens_keep_the_shape_issued_before_the_ring() -> None:
    token = seal_token(claims(), KEY)
    assert token.startswith(TOKEN_PREFIX)
    assert token_key_id(token)[0] == 0


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "IQoJbW9uYmFu",
        "IQoJbW9uYmFu!!!",
        "x" * 100,
        "IQoJbW9uYmFu" + "A" * 9000,
        "IQoKbW9uYmFu",
        "IQoKbW9uYmFuAAA=",
        "IQoKbW9uYmFu" + "A" * 64,
    ],
)
def test_garbage_tokens_are_refused(junk: str) -> None:
    with pytest.raises(InvalidSessionToken):
        open_token(junk, "ASIAAAAAAAAAAAAAAAAA", KEY0.get)


# The token's JSON is written out field by field (for speed): it must stay what the generic
# encoding of every set field gives, and cover every field SessionClaims has.


def _generic_json(c: SessionClaims) -> bytes:
    unset: tuple[object, ...] = (None, (), [], {}, False)
    data = {f.name: v for f in fields(SessionClaims) if (v := getattr(c, f.name)) not in unset}
    return json.dumps(data, separators=(",", ":")).encode()


EVERY_FIELD = claims(
    session_policy='{"Version":"2012-10-17","Statement":[]}',
    policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789010:policy/x"),
    tags=(("Équipe", 'quo"te\\back'), ("k", "")),
    transitive_tag_keys=("Équipe",),
    mfa_authenticated_at=1_699_999_000,
    chained=True,
    instance_profile=True,
    caller_arn="arn:aws:iam::123456789010:user/alice",
    extra={"note": "\u2603 \n\t\u0001"},
)


def test_the_sample_sets_every_field() -> None:
    for f in fields(SessionClaims):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        assert getattr(EVERY_FIELD, f.name) != default, f"set {f.name} in EVERY_FIELD"


@pytest.mark.parametrize(
    "sample",
    [
        EVERY_FIELD,
        claims(),
        claims(session_name=None, tags=(), transitive_tag_keys=(), source_identity=None),
        claims(session_name="", session_policy="", source_identity="\ud800 lone surrogate"),
        claims(kind="root", principal_name="root", principal_arn="arn:aws:iam::123456789010:root"),
    ],
)
def test_token_json_is_the_generic_encoding(sample: SessionClaims) -> None:
    assert _to_json(sample) == _generic_json(sample)
    assert open_token(seal_token(sample, KEY), sample.access_key_id, KEY0.get) == sample


def test_zero_epochs_survive_the_round_trip() -> None:
    sample = claims(issued_at=0, mfa_authenticated_at=0)
    assert open_token(seal_token(sample, KEY), sample.access_key_id, KEY0.get) == sample


def _b32_key_id(account: str, random: bytes) -> str:
    """AWS's layout spelled out with base64.b32encode (what session_access_key_id computes)."""
    head = ((random[0] >> 7) << 47) | (int(account) << 7) | (random[0] & 0x7F)
    return "ASIA" + base64.b32encode(head.to_bytes(6, "big") + random[1:]).decode()


@pytest.mark.parametrize(
    "random",
    [bytes(5), b"\xff" * 5, b"\x80\x00\x00\x00\x01", b"\x7f\xff\xff\xff\xfe", b"\x12\x34\x56\x78\x9a"],
)
@pytest.mark.parametrize("account", ["123456789010", "000000000000", "999999999999", "609629065308"])
def test_asia_id_layout_from_given_random_bytes(account: str, random: bytes) -> None:
    akid = session_access_key_id(account, random)
    assert akid == _b32_key_id(account, random)
    assert account_of_access_key_id(akid) == account


def test_asia_id_takes_exactly_its_random_bytes() -> None:
    for wrong in (b"", bytes(4), bytes(6)):
        with pytest.raises(ValueError):
            session_access_key_id("123456789010", wrong)


def test_a_given_nonce_leads_the_sealed_value() -> None:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = RING.sessions.seal(b"payload", b"aad", nonce)
    assert sealed[:NONCE_BYTES] == nonce
    assert RING.sessions.open(sealed, b"aad") == b"payload"
    with pytest.raises(ValueError):
        RING.sessions.seal(b"payload", b"aad", nonce[:-1])


def test_secrets_from_given_random_bytes() -> None:
    random = secrets.token_bytes(ids.SECRET_RANDOM_BYTES)
    assert ids.secret_access_key(random) == base64.b64encode(random).decode()
    assert len(ids.secret_access_key()) == 40
    with pytest.raises(ValueError):
        ids.secret_access_key(random[:-1])

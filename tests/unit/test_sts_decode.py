"""Encoded authorization messages: sealed per account, decoded into AWS's JSON shape."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import cast

import pytest

from monban.access.principal import Caller
from monban.access.state import AppState
from monban.credentials.keyring import KeyRing
from monban.policy import Decision, MatchedStatement, Principal
from monban.protocol.errors import AwsError
from monban.services.sts.decode import MAX_ENCODED, decode_message, encode_denial, with_encoded_message


@dataclass
class FakeState:
    keyring: KeyRing


STATE = cast(AppState, FakeState(KeyRing.from_master(secrets.token_bytes(32))))
BOB = Caller(
    Principal("User", "123456789012", "arn:aws:iam::123456789012:user/bob", "AIDABOB"), "AKIAX", "AIDABOB"
)
ROLE = "arn:aws:iam::123456789010:role/read-only"
DENY = Decision(
    "explicitDeny",
    (MatchedStatement("arn:aws:iam::123456789010:role/read-only/trust", 0, "NoBob", "Deny", "resource"),),
    "explicit deny in the role trust policy",
)


def test_round_trip_in_aws_shape() -> None:
    values = {"sts:RoleSessionName": "s", "aws:TagKeys": ["a", "b"], "aws:ResourceTag/secret": "x"}
    blob = encode_denial(STATE, BOB, "sts:AssumeRole", ROLE, DENY, values)
    decoded = json.loads(decode_message(STATE, "123456789012", blob))
    assert decoded["allowed"] is False and decoded["explicitDeny"] is True
    assert decoded["matchedStatements"]["items"][0]["statementId"] == "NoBob"
    assert decoded["matchedStatements"]["items"][0]["effect"] == "DENY"
    assert decoded["failures"] == {"items": []}
    context = decoded["context"]
    assert context["principal"] == {"id": "AIDABOB", "name": "bob", "arn": BOB.arn}
    assert context["action"] == "sts:AssumeRole" and context["resource"] == ROLE
    keys = {item["key"]: item["values"]["items"] for item in context["conditions"]["items"]}
    assert keys["aws:TagKeys"] == [{"value": "a"}, {"value": "b"}]
    assert "aws:ResourceTag/secret" not in keys  # the resource's tags are not the caller's to read


def test_another_account_cannot_decode() -> None:
    blob = encode_denial(STATE, BOB, "sts:AssumeRole", ROLE, DENY, {})
    with pytest.raises(AwsError) as caught:
        decode_message(STATE, "123456789010", blob)
    assert caught.value.code == "InvalidAuthorizationMessageException"


@pytest.mark.parametrize("junk", ["x", "not base64 !!", "AAAA", "A" * 200])
def test_garbage_is_invalid(junk: str) -> None:
    with pytest.raises(AwsError) as caught:
        decode_message(STATE, "123456789012", junk)
    assert caught.value.code == "InvalidAuthorizationMessageException" and caught.value.status == 400


def test_a_flipped_character_is_invalid() -> None:
    blob = encode_denial(STATE, BOB, "sts:AssumeRole", ROLE, DENY, {})
    flipped = blob[:20] + ("A" if blob[20] != "A" else "B") + blob[21:]
    with pytest.raises(AwsError):
        decode_message(STATE, "123456789012", flipped)


def test_huge_contexts_still_fit_the_parameter_limit() -> None:
    values = {f"aws:RequestTag/{secrets.token_hex(30)}": secrets.token_hex(120) for _ in range(200)}
    blob = encode_denial(STATE, BOB, "sts:AssumeRole", ROLE, DENY, values)
    assert len(blob) <= MAX_ENCODED
    assert json.loads(decode_message(STATE, "123456789012", blob))["context"]["action"] == "sts:AssumeRole"


def test_message_form() -> None:
    assert with_encoded_message("User: x is not authorized", "BLOB") == (
        "User: x is not authorized. Encoded authorization failure message: BLOB"
    )

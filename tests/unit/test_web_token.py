"""Web identity token checks: ES256 as well as RS256, no symmetric or unsigned tokens, audiences
given as a list, and the five minutes of clock skew on exp, nbf and iat."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from monban.protocol.errors import AwsError
from monban.services.sts.web_token import NOT_A_JWT, Provider, check_claims, unverified, verify_signature

ISSUER = "https://issuer.example.com"
KEY = ec.generate_private_key(ec.SECP256R1())
JWK = {**ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "ec-1", "alg": "ES256"}
PROVIDER = Provider("arn:aws:iam::111122223333:oidc-provider/issuer.example.com", "issuer.example.com",
                    ("app",), json.dumps({"keys": [JWK]}))  # fmt: skip


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "user-1", "aud": "app", "iat": now, "exp": now + 600, **changes}


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(AwsError) as caught:
        call()
    return caught.value.code, caught.value.message


def test_an_es256_token_verifies() -> None:
    token = jwt.encode(_claims(), KEY, algorithm="ES256", headers={"kid": "ec-1"})
    header, claims = unverified(token)
    verify_signature(token, header, PROVIDER, None)
    verified = check_claims(claims, PROVIDER, int(time.time()))
    assert (verified.subject, verified.audience) == ("user-1", "app")


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_symmetric_and_unsigned_tokens_are_not_id_tokens(algorithm: str) -> None:
    token = jwt.encode(_claims(), "secret-secret-secret-secret-secret" if algorithm == "HS256" else None,
                       algorithm=algorithm)  # fmt: skip
    assert _error(lambda: unverified(token)) == ("InvalidIdentityToken", NOT_A_JWT)


def test_a_list_of_audiences_needs_one_client_id() -> None:
    now = int(time.time())
    assert check_claims(_claims(aud=["other", "app"]), PROVIDER, now).audience == "app"
    assert _error(lambda: check_claims(_claims(aud=["other"]), PROVIDER, now)) == (
        "InvalidIdentityToken",
        "Incorrect token audience",
    )


def test_five_minutes_of_skew() -> None:
    now = int(time.time())
    check_claims(_claims(exp=now - 299), PROVIDER, now)
    check_claims(_claims(nbf=now + 299, iat=now + 299), PROVIDER, now)
    code, message = _error(lambda: check_claims(_claims(exp=now - 301), PROVIDER, now))
    assert (code, message) == (
        "ExpiredTokenException",
        f"Token expired: current date/time {now} must be before the expiration date/time{now - 301}",
    )
    assert _error(lambda: check_claims(_claims(nbf=now + 301), PROVIDER, now))[0] == "InvalidIdentityToken"
    assert _error(lambda: check_claims(_claims(exp="soon"), PROVIDER, now)) == (
        "InvalidIdentityToken",
        NOT_A_JWT,
    )

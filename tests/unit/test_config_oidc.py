"""OIDCProviders in the bootstrap file (CloudFormation's Url, ClientIdList, ThumbprintList, Tags,
and monban's Jwks inline or from a file), and the test issuer's keys, tokens and JWKS."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest

from monban.config import BootstrapError, load_bootstrap
from monban.credentials.keyring import KeyRing
from monban.oidc_issuer import jwks, key_path, token
from monban.store.db import Database
from monban.store.models import OidcProvider
from tests.unit.test_config import account, apply, parse, problems, store

__all__ = ["store"]  # the fixture
ISSUER = "https://token.actions.githubusercontent.com"


def test_the_issuer_key_is_private_and_its_tokens_verify(tmp_path: Path) -> None:
    signed = token(
        tmp_path, ISSUER, "repo:acme/app:ref:refs/heads/main", "sts.amazonaws.com", 600, [("x", 1)]
    )
    assert stat.S_IMODE(key_path(tmp_path, ISSUER).stat().st_mode) == 0o600
    keys = jwt.PyJWKSet.from_dict(jwks(tmp_path, ISSUER))
    header = jwt.get_unverified_header(signed)
    key = next(k for k in keys.keys if k.key_id == header["kid"])
    claims = jwt.decode(signed, key.key, algorithms=["RS256"], audience="sts.amazonaws.com", issuer=ISSUER)
    assert claims["sub"] == "repo:acme/app:ref:refs/heads/main" and claims["x"] == 1
    assert claims["exp"] - claims["iat"] == 600
    assert jwks(tmp_path, ISSUER) == jwks(tmp_path, ISSUER)  # one key per issuer, kept
    assert jwks(tmp_path, "https://other.example.com") != jwks(tmp_path, ISSUER)


def test_an_expired_token_was_issued_before_it_expired(tmp_path: Path) -> None:
    claims = jwt.decode(token(tmp_path, ISSUER, "s", "a", -600, []), options={"verify_signature": False})
    assert claims["iat"] < claims["exp"] < claims["iat"] + 1200


def test_providers_with_inline_and_file_jwks(tmp_path: Path) -> None:
    document = jwks(tmp_path, ISSUER)
    (tmp_path / "keys.json").write_text(json.dumps(document))
    path = tmp_path / "bootstrap.yaml"
    body = f"""\
        OIDCProviders:
          - Url: {ISSUER}
            ClientIdList: [sts.amazonaws.com]
            ThumbprintList: ["{"a" * 40}"]
            Tags: [{{Key: ci, Value: github}}]
            Jwks: keys.json
          - Url: https://oidc.eks.us-east-1.amazonaws.com/id/ABC
            Jwks: {json.dumps(document)}
        """
    path.write_text(account(body))
    github, eks = load_bootstrap(path).accounts[0].oidc_providers
    assert github.url == "token.actions.githubusercontent.com" and github.client_ids == ("sts.amazonaws.com",)
    assert github.tags == (("ci", "github"),) and json.loads(github.jwks or "") == document
    assert eks.url == "oidc.eks.us-east-1.amazonaws.com/id/ABC" and json.loads(eks.jwks or "") == document


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("{Url: http://issuer.example.com}", "OIDCProviders[0]: InvalidInput: Invalid Url."),
        ('{Url: "https://a.example.com", ThumbprintList: [abc]}', "OIDCProviders[0]: ValidationError"),
        ('{Url: "https://a.example.com", Jwks: {keys: []}}', "OIDCProviders[0].Jwks: not a usable JWKS"),
        (
            '{Url: "https://a.example.com", Jwks: missing.json}',
            "OIDCProviders[0].Jwks: cannot read the JWKS file",
        ),
        ('{Url: "https://a.example.com", Audience: x}', "OIDCProviders[0].Audience: unknown field"),
    ],
)
def test_bad_providers_are_named_by_path(provider: str, expected: str) -> None:
    found = problems(account(f"OIDCProviders: [{provider}]"))
    assert any(expected in problem for problem in found), found


def test_a_url_is_declared_once() -> None:
    found = problems(
        account("OIDCProviders: [{Url: 'https://a.example.com'}, {Url: 'https://a.example.com'}]")
    )
    assert "duplicate provider" in found[0]


def test_apply_creates_then_updates(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    for client_id in ("one", "two"):
        apply(
            store,
            account(f"OIDCProviders: [{{Url: 'https://a.example.com', ClientIdList: [{client_id}]}}]"),
            tmp_path,
        )
    with store[0].transaction() as session:
        rows = session.query(OidcProvider).all()
        assert [(r.arn, json.loads(r.client_ids)) for r in rows] == [
            ("arn:aws:iam::111122223333:oidc-provider/a.example.com", ["two"])
        ]
    with pytest.raises(BootstrapError):
        parse(account("OIDCProviders: [{ClientIdList: [x]}]"))

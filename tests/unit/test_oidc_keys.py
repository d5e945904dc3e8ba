"""An OIDC issuer's keys: discovery over HTTPS against the local test issuer (its discovery document
must name the issuer itself, its jwks_uri must be HTTPS), and declared key sets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monban.oidc_issuer import jwks
from monban.protocol.errors import AwsError
from monban.services.sts.oidc_keys import discover, issuer_key
from tests.e2e.web_identity_support import HttpsIssuer, https_issuer

__all__ = ["https_issuer"]  # the fixture
DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def issuer(https_issuer: HttpsIssuer) -> Iterator[HttpsIssuer]:
    """The issuer, its discovery document restored after each test."""
    saved = https_issuer.documents[DISCOVERY]
    yield https_issuer
    https_issuer.documents[DISCOVERY] = saved


def _discovery(served: HttpsIssuer, **fields: str) -> None:
    document = {"issuer": served.url, "jwks_uri": f"{served.url}/jwks", **fields}
    served.documents[DISCOVERY] = json.dumps(document).encode()


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(AwsError) as caught:
        call()
    return caught.value.code


def test_discovery_finds_the_published_key(issuer: HttpsIssuer) -> None:
    keys = discover(issuer.url, issuer.ca_bundle)
    assert [k.key_id for k in keys.keys] == [jwks(issuer.keys, issuer.url)["keys"][0]["kid"]]


def test_the_discovery_document_must_name_its_issuer(issuer: HttpsIssuer) -> None:
    _discovery(issuer, issuer="https://evil.example.com")
    assert _code(lambda: discover(issuer.url, issuer.ca_bundle)) == "InvalidIdentityToken"


def test_the_jwks_uri_must_be_https(issuer: HttpsIssuer) -> None:
    _discovery(issuer, jwks_uri=issuer.url.replace("https://", "http://") + "/jwks")
    assert _code(lambda: discover(issuer.url, issuer.ca_bundle)) == "InvalidIdentityToken"


def test_an_unreachable_issuer(issuer: HttpsIssuer) -> None:
    assert _code(lambda: discover("https://127.0.0.1:9", issuer.ca_bundle)) == "IDPCommunicationError"


def test_a_declared_key_set(tmp_path: Path) -> None:
    document = json.dumps(jwks(tmp_path, "https://a.example.com"))
    kid = json.loads(document)["keys"][0]["kid"]
    assert issuer_key("https://a.example.com", kid, document, None).key_id == kid
    assert issuer_key("https://a.example.com", None, document, None).key_id == kid  # the only key
    assert (
        _code(lambda: issuer_key("https://a.example.com", "other", document, None)) == "InvalidIdentityToken"
    )

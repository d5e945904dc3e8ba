"""The aws-c-auth SigV4 vectors (38 cases, each signed by header and by query)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monban import sigv4
from monban.sigv4 import HttpRequest

from .helpers import (
    SIGV4_VECTORS,
    assert_all_mutations_rejected,
    assert_rejected,
    authorization_field,
    load_json,
    parse_http,
    query_field,
    read_text,
    sha256_hex,
    suite_verifier,
)

SUITE = SIGV4_VECTORS / "aws-c-auth-v4"


@dataclass(frozen=True)
class Case:
    name: str
    context: dict[str, Any]
    body: bytes
    directory: Path

    def text(self, name: str) -> str:
        return read_text(self.directory / name)

    def signed(self, style: str) -> HttpRequest:
        request, _ = parse_http(self.text(f"{style}-signed-request.txt"))
        return request

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.context["timestamp"].replace("Z", "+00:00"))

    @property
    def normalize(self) -> bool:
        return bool(self.context["normalize"])

    @property
    def secret(self) -> str:
        return str(self.context["credentials"]["secret_access_key"])

    @property
    def token(self) -> str | None:
        token = self.context["credentials"].get("token")
        return None if token is None else str(token)


def _load(directory: Path) -> Case:
    _, body = parse_http(read_text(directory / "request.txt"))
    return Case(directory.name, load_json(directory / "context.json"), body, directory)


CASES = [_load(context.parent) for context in sorted(SUITE.glob("*/context.json"))]
IDS = [case.name for case in CASES]


def test_the_whole_suite_is_here() -> None:
    assert len(CASES) == 38


def _signed_headers(case: Case, style: str) -> tuple[str, ...]:
    request = case.signed(style)
    if style == "header":
        authorization = request.header("authorization")
        assert authorization is not None
        return tuple(authorization_field(authorization, "SignedHeaders").split(";"))
    return tuple(query_field(request.query, "X-Amz-SignedHeaders").replace("%3B", ";").split(";"))


def _check(case: Case, style: str) -> None:
    """Canonical request, string to sign and signature equal the vector's; the signed request verifies."""
    request = case.signed(style)
    omit = ["X-Amz-Signature"]
    if case.context.get("omit_session_token"):
        omit.append("X-Amz-Security-Token")  # the token is added after signing in this case
    canonical = sigv4.canonical_request(
        request,
        _signed_headers(case, style),
        sha256_hex(case.body),
        normalize_path=case.normalize,
        double_encode=True,
        omit_query=omit if style == "query" else (),
    )
    assert canonical == case.text(f"{style}-canonical-request.txt")
    scope = sigv4.CredentialScope(
        "AKIDEXAMPLE", "20150830", case.context["region"], case.context["service"], "aws4_request"
    )
    to_sign = sigv4.string_to_sign(case.now, scope, canonical)
    assert to_sign == case.text(f"{style}-string-to-sign.txt")
    key = sigv4.signing_key(case.secret, "20150830", case.context["region"], case.context["service"])
    assert sigv4.sign(key, to_sign) == case.text(f"{style}-signature.txt").strip()
    signed = sigv4.parse(request)
    assert signed is not None
    assert signed.presigned is (style == "query")
    assert signed.security_token == case.token
    _verifier(case)(request)


def _verifier(case: Case, *, secret: str | None = None) -> Callable[[HttpRequest], None]:
    return suite_verifier(
        normalize=case.normalize, body=case.body, now=case.now, secret=secret or case.secret
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_header_signing(case: Case) -> None:
    _check(case, "header")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_query_signing(case: Case) -> None:
    _check(case, "query")
    signed = sigv4.parse(case.signed("query"))
    assert signed is not None
    assert signed.expires == case.context["expiration_in_seconds"]


@pytest.mark.parametrize("style", ["header", "query"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mutations_are_rejected(case: Case, style: str) -> None:
    request = case.signed(style)
    assert_all_mutations_rejected(_verifier(case), request, _signed_headers(case, style))
    assert_rejected(_verifier(case, secret=case.secret.lower()), request)


def _path_normalizes(case: Case) -> bool:
    path = case.signed("header").path
    normalized = sigv4.canonical_uri(path, normalize=True, double_encode=True)
    return normalized != sigv4.canonical_uri(path, normalize=False, double_encode=True)


UNNORMALIZED = [case for case in CASES if not case.normalize and _path_normalizes(case)]


def test_unnormalized_cases_exist() -> None:
    assert len(UNNORMALIZED) == 6


@pytest.mark.parametrize("style", ["header", "query"])
@pytest.mark.parametrize("case", UNNORMALIZED, ids=[case.name for case in UNNORMALIZED])
def test_unnormalized_path_fails_under_normalization(case: Case, style: str) -> None:
    """A path signed as sent (S3 style) does not verify when the server normalizes it, and vice versa."""
    check = suite_verifier(normalize=True, body=case.body, now=case.now)
    assert_rejected(check, case.signed(style))


TOKEN_AFTER = [case for case in CASES if case.context.get("omit_session_token")]


@pytest.mark.parametrize("case", TOKEN_AFTER, ids=[case.name for case in TOKEN_AFTER])
def test_token_added_after_signing_still_binds_everything_else(case: Case) -> None:
    """post-sts-header-after: the unsigned token may be dropped or changed, nothing else may."""
    request = case.signed("query")
    token = query_field(request.query, "X-Amz-Security-Token")
    _verifier(case)(replace(request, query=request.query.replace(token, "other")))
    assert_rejected(_verifier(case), replace(request, query=request.query + "&X-Amz-Security-Token=second"))

"""Shared helpers for the SigV4 tests: vector loading, raw HTTP parsing, botocore capture, mutations."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from monban import sigv4
from monban.sigv4 import HttpRequest, SigV4Error

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"  # tests/conformance (README.md there)
SIGV4_VECTORS = CONFORMANCE / "sigv4"

# The AWS SigV4 test suite's fixed inputs (botocore-aws4 and aws-c-auth-v4).
SUITE_KEY_ID = "AKIDEXAMPLE"
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SUITE_REGION = "us-east-1"
SUITE_SERVICE = "service"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_json(path: Path) -> Any:
    return json.loads(read_text(path))


def parse_http(text: str) -> tuple[HttpRequest, bytes]:
    """A raw HTTP/1.1 request as the vectors write it: request line, headers (folded lines kept), body.

    Header values lose their leading and trailing whitespace (as an HTTP server strips OWS); a
    continuation line is appended after a newline, as it arrived.
    """
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rsplit(" ", 1)[0] if rest.endswith(("HTTP/1.1", "HTTP/1.0")) else rest
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return HttpRequest(method, path, query, tuple(headers)), body.encode("utf-8")


def authorization_field(authorization: str, name: str) -> str:
    match = re.search(rf"{name}=([^,\s]+)", authorization)
    assert match, f"{name} not in {authorization!r}"
    return match.group(1)


def query_field(query: str, name: str) -> str:
    for member in query.split("&"):
        key, _, value = member.partition("=")
        if key == name:
            return value
    raise AssertionError(f"{name} not in {query!r}")


# --- mutations -------------------------------------------------------------------------------------


def flip_hex(text: str, index: int = 0) -> str:
    """``text`` with the hex digit at ``index`` changed."""
    old = text[index]
    new = "0" if old != "0" else "1"
    return text[:index] + new + text[index + 1 :]


def with_header(request: HttpRequest, name: str, transform: Callable[[str], str]) -> HttpRequest:
    headers = tuple(
        (key, transform(value) if key.lower() == name.lower() else value) for key, value in request.headers
    )
    return replace(request, headers=headers)


def without_header(request: HttpRequest, name: str) -> HttpRequest:
    return replace(request, headers=tuple((k, v) for k, v in request.headers if k.lower() != name.lower()))


def with_wrong_signature(request: HttpRequest) -> HttpRequest:
    """The same request with one hex digit of its signature changed (header or query)."""
    authorization = request.header("authorization")
    if authorization is not None:
        signature = authorization_field(authorization, "Signature")
        return with_header(
            request, "authorization", lambda value: value.replace(signature, flip_hex(signature, 17))
        )
    signature = query_field(request.query, "X-Amz-Signature")
    return replace(request, query=request.query.replace(signature, flip_hex(signature, 17)))


def _changed(value: str) -> str:
    """A different value of the same shape (a hex digest stays a hex digest)."""
    if re.fullmatch(r"[0-9a-f]{64}", value):
        return flip_hex(value, 5)
    if value == "UNSIGNED-PAYLOAD":
        return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    if value.startswith("STREAMING-"):
        return "UNSIGNED-PAYLOAD"
    return value + "x"


def mutations(request: HttpRequest, signed_headers: tuple[str, ...]) -> Iterator[tuple[str, HttpRequest]]:
    """Requests that differ from ``request`` in one signed respect; none may verify."""
    yield "signature", with_wrong_signature(request)
    yield "path", replace(request, path=request.path + "x")
    yield "query", replace(request, query=f"{request.query}&Extra=1" if request.query else "Extra=1")
    for name in signed_headers:
        if name.lower() not in ("x-amz-date", "date"):
            yield f"header-{name}", with_header(request, name, _changed)
            yield f"no-header-{name}", without_header(request, name)


def assert_rejected(
    check: Callable[[HttpRequest], None], request: HttpRequest, kind: str = "signature_mismatch"
) -> None:
    with pytest.raises(SigV4Error) as caught:
        check(request)
    assert caught.value.kind == kind, caught.value


def assert_all_mutations_rejected(
    check: Callable[[HttpRequest], None], request: HttpRequest, signed_headers: tuple[str, ...]
) -> None:
    """Every single mutation of a valid request fails with SignatureDoesNotMatch."""
    for label, mutated in mutations(request, signed_headers):
        with pytest.raises(SigV4Error) as caught:
            check(mutated)
        if label == "no-header-x-amz-content-sha256" and caught.value.kind == "payload_hash_missing":
            continue  # S3 refuses header auth without it before looking at the signature
        assert caught.value.kind == "signature_mismatch", (label, caught.value)
        assert caught.value.code == "SignatureDoesNotMatch", label


def suite_verifier(
    *, normalize: bool = True, secret: str = SUITE_SECRET, body: bytes = b"", now: datetime = SUITE_NOW
) -> Callable[[HttpRequest], None]:
    """parse + verify with the AWS test suite's fixed key, region, service and time."""

    def check(request: HttpRequest) -> None:
        signed = sigv4.parse(request)
        assert signed is not None
        sigv4.verify(
            signed,
            request,
            secret,
            now=now,
            body_sha256=sha256_hex(body),
            normalize_path=normalize,
            expected_service=SUITE_SERVICE,
            valid_regions=lambda region: region == SUITE_REGION,
        )

    return check


# --- botocore ------------------------------------------------------------------------------------------


def from_prepared(prepared: Any) -> tuple[HttpRequest, bytes]:
    """An ``HttpRequest`` and body from a botocore ``AWSPreparedRequest`` (what would go on the wire)."""
    parts = urlsplit(prepared.url)
    headers = [(str(name), _text(value)) for name, value in prepared.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("Host", parts.netloc))
    body = prepared.body
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = body.read()
    return HttpRequest(prepared.method, parts.path or "/", parts.query, tuple(headers)), data


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


# --- a signer built from the library's own canonicalization (for tests of the checks around it) ------


def sign_request(
    request: HttpRequest,
    *,
    secret: str = SUITE_SECRET,
    amz_date: str = "20150830T123600Z",
    scope: str = "20150830/us-east-1/service/aws4_request",
    signed_headers: tuple[str, ...] = ("host", "x-amz-date"),
    body: bytes = b"",
    payload_hash: str | None = None,
    normalize: bool = True,
    canonical_headers_of: HttpRequest | None = None,
) -> HttpRequest:
    """``request`` plus ``X-Amz-Date`` and a valid ``Authorization`` header.

    ``canonical_headers_of`` signs the canonical request of another request (to forge one whose
    signed headers are missing from what is sent).
    """
    if request.header("x-amz-date") is None and request.header("date") is None:
        request = replace(request, headers=(*request.headers, ("X-Amz-Date", amz_date)))
    payload = sha256_hex(body) if payload_hash is None else payload_hash
    canonical = sigv4.canonical_request(
        canonical_headers_of or request, signed_headers, payload, normalize_path=normalize
    )
    date, region, service, _ = scope.split("/")
    key = sigv4.signing_key(secret, date, region, service)
    signature = sigv4.sign(key, sigv4.string_to_sign(amz_date, scope, canonical))
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={SUITE_KEY_ID}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    return replace(request, headers=(*request.headers, ("Authorization", authorization)))


def presign_request(
    request: HttpRequest,
    *,
    secret: str = SUITE_SECRET,
    amz_date: str = "20150830T123600Z",
    scope: str = "20150830/us-east-1/service/aws4_request",
    expires: int | None = 3600,
    token: str | None = None,
    payload_hash: str | None = None,
    normalize: bool = True,
) -> HttpRequest:
    """``request`` with presigned-URL query parameters (host signed)."""
    params = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"{SUITE_KEY_ID}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if expires is not None:
        params.append(("X-Amz-Expires", str(expires)))
    if token is not None:
        params.append(("X-Amz-Security-Token", token))
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    query = f"{request.query}&{query}" if request.query else query
    unsigned = replace(request, query=query)
    canonical = sigv4.canonical_request(
        unsigned,
        ("host",),
        sha256_hex(b"") if payload_hash is None else payload_hash,
        normalize_path=normalize,
    )
    date, region, service, _ = scope.split("/")
    signature = sigv4.sign(
        sigv4.signing_key(secret, date, region, service), sigv4.string_to_sign(amz_date, scope, canonical)
    )
    return replace(unsigned, query=f"{query}&X-Amz-Signature={signature}")

"""``precheck``/``verify``: clock skew, presigned life, credential scope, payload hash, signed headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monban import sigv4
from monban.sigv4 import HttpRequest, SigV4Error

from .helpers import SUITE_NOW, SUITE_SECRET, presign_request, sha256_hex, sign_request

BASE = HttpRequest("GET", "/", "Action=ListUsers", (("Host", "example.amazonaws.com"),))
EMPTY = sha256_hex(b"")


def _verify(request: HttpRequest, *, now: datetime = SUITE_NOW, **options: Any) -> sigv4.SignedRequest:
    signed = sigv4.parse(request)
    assert signed is not None
    settings: dict[str, Any] = {"body_sha256": EMPTY, "normalize_path": True, "now": now} | options
    sigv4.verify(signed, request, SUITE_SECRET, **settings)
    return signed


def _error(request: HttpRequest, **options: Any) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        _verify(request, **options)
    return caught.value


def _at(hours: int = 12, minutes: int = 36, seconds: int = 0, day: int = 30) -> datetime:
    return datetime(2015, 8, day, hours, minutes, seconds, tzinfo=UTC)


# --- clock skew -----------------------------------------------------------------------------------


def test_signature_expired_with_aws_message() -> None:
    error = _error(sign_request(BASE), now=_at(13, 1))
    assert (error.kind, error.code) == ("expired_skew", "SignatureDoesNotMatch")
    assert error.message == (
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z"
        " (20150830T130100Z - 15 min.)"
    )
    assert (error.request_time, error.server_time, error.max_skew) == (
        _at(),
        _at(13, 1),
        timedelta(minutes=15),
    )


def test_signature_not_yet_current_with_aws_message() -> None:
    error = _error(sign_request(BASE), now=_at(12, 20))
    assert (error.kind, error.code) == ("not_yet_valid", "SignatureDoesNotMatch")
    assert error.message == (
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z"
        " (20150830T122000Z + 15 min.)"
    )


@pytest.mark.parametrize("now", [_at(12, 51), _at(12, 21), _at()])
def test_fifteen_minutes_either_way_is_fine(now: datetime) -> None:
    _verify(sign_request(BASE), now=now)


def test_a_window_in_seconds() -> None:
    error = _error(sign_request(BASE), now=_at(12, 37, 31), max_skew=timedelta(seconds=90))
    assert error.message.endswith("(20150830T123731Z - 90 sec.)")


def test_date_header_time() -> None:
    request = replace(BASE, headers=(*BASE.headers, ("Date", "Sun, 30 Aug 2015 12:36:00 GMT")))
    signed = sign_request(request, signed_headers=("date", "host"))
    _verify(signed)
    assert _error(signed, now=_at(14)).kind == "expired_skew"


# --- presigned life -------------------------------------------------------------------------------

S3_SCOPE = "20150830/us-east-1/s3/aws4_request"


def _presigned(expires: int | None, *, s3: bool = False) -> HttpRequest:
    scope = S3_SCOPE if s3 else "20150830/us-east-1/service/aws4_request"
    return presign_request(
        BASE, scope=scope, expires=expires, payload_hash="UNSIGNED-PAYLOAD" if s3 else None
    )


def _s3(request: HttpRequest, now: datetime) -> Callable[[], sigv4.SignedRequest]:
    return lambda: _verify(request, now=now, normalize_path=False, body_sha256=None)


def test_s3_presigned_url_lives_x_amz_expires() -> None:
    request = _presigned(7200, s3=True)
    _s3(request, _at(14, 36))()
    with pytest.raises(SigV4Error) as caught:
        _s3(request, _at(14, 36, 1))()
    error = caught.value
    assert (error.kind, error.code, error.message) == (
        "presigned_expired",
        "AccessDenied",
        "Request has expired",
    )
    assert (error.request_time, error.server_time, error.expires) == (_at(), _at(14, 36, 1), 7200)


def test_presigned_url_not_yet_valid() -> None:
    with pytest.raises(SigV4Error) as caught:
        _s3(_presigned(7200, s3=True), _at(12, 20))()
    assert caught.value.kind == "not_yet_valid"


def test_presigned_url_longer_than_a_week() -> None:
    error = _error(_presigned(604801, s3=True), normalize_path=False, body_sha256=None)
    assert (error.kind, error.code, error.expires) == (
        "presigned_too_long",
        "AuthorizationQueryParametersError",
        604801,
    )
    assert error.message == (
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be "
        "less than 604800 seconds"
    )
    _s3(_presigned(604800, s3=True), _at(day=31))()


def test_other_services_keep_the_fifteen_minutes() -> None:
    """STS ignores X-Amz-Expires (aws-sdk-go#2167); monban applies both limits."""
    request = _presigned(7200)
    _verify(request, now=_at(12, 51))
    assert _error(request, now=_at(12, 52)).kind == "expired_skew"
    assert _error(_presigned(60), now=_at(12, 38)).kind == "presigned_expired"
    assert _error(_presigned(None), now=_at(12, 52)).kind == "expired_skew"
    _verify(_presigned(None), now=_at(12, 40))


# --- credential scope -----------------------------------------------------------------------------


def test_scope_region() -> None:
    error = _error(sign_request(BASE), valid_regions={"eu-west-1"}.__contains__)
    assert (error.kind, error.code) == ("scope_region", "SignatureDoesNotMatch")
    assert error.message == "Credential should be scoped to a valid region, not 'us-east-1'. "


def test_scope_service() -> None:
    error = _error(sign_request(BASE), expected_service="sts")
    assert (error.kind, error.message) == (
        "scope_service",
        "Credential should be scoped to correct service: 'sts'. ",
    )


def test_scope_terminator() -> None:
    error = _error(sign_request(BASE, scope="20150830/us-east-1/service/aws5_request"))
    assert error.kind == "scope_terminator"
    assert (
        error.message
        == "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
    )


def test_scope_date() -> None:
    error = _error(sign_request(BASE, scope="20150829/us-east-1/service/aws4_request"))
    assert error.kind == "scope_date"
    assert error.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20150829' != '20150830', from '20150830T123600Z'. "
    )


def test_every_scope_fault_at_once() -> None:
    request = sign_request(BASE, scope="foobar/wrong-region/s3/aws5_request")
    error = _error(request, valid_regions={"us-east-1"}.__contains__, expected_service="service")
    assert error.kind == "scope_region"
    assert error.message == (
        "Credential should be scoped to a valid region, not 'wrong-region'. "
        "Credential should be scoped to correct service: 'service'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'foobar' != '20150830', from '20150830T123600Z'. "
    )


def test_precheck_alone_needs_no_key() -> None:
    signed = sigv4.parse(sign_request(BASE))
    assert signed is not None
    sigv4.precheck(signed, now=SUITE_NOW, expected_service="service", valid_regions=lambda region: True)
    with pytest.raises(SigV4Error):
        sigv4.precheck(signed, now=SUITE_NOW + timedelta(hours=1))


# --- signature ------------------------------------------------------------------------------------


def test_mismatch_carries_what_s3_echoes() -> None:
    request = sign_request(BASE, secret="another secret")
    error = _error(request)
    assert (error.kind, error.code) == ("signature_mismatch", "SignatureDoesNotMatch")
    assert error.message == (
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details."
    )
    signed = sigv4.parse(request)
    assert signed is not None
    assert error.access_key_id == "AKIDEXAMPLE"
    assert error.signature_provided == signed.signature
    expected = sigv4.canonical_request(request, ("host", "x-amz-date"), EMPTY, normalize_path=True)
    assert error.canonical_request == expected
    assert error.string_to_sign == sigv4.string_to_sign(signed.amz_date, signed.scope, expected)


def test_a_signed_header_absent_from_the_request_fails_even_if_signed_that_way() -> None:
    """A client may not list a header in SignedHeaders and leave it out (its line is then absent)."""
    request = sign_request(BASE, signed_headers=("host", "x-amz-date", "x-amz-meta-gone"))
    assert _error(request).kind == "signature_mismatch"


def test_a_non_hex_or_non_ascii_signature_is_just_wrong() -> None:
    request = sign_request(BASE)
    for bad in ("zz", "é" * 64, "\udcff"):
        authorization = request.header("authorization") or ""
        mutated = replace(
            request,
            headers=tuple(
                (k, authorization.split("Signature=")[0] + "Signature=" + bad)
                if k == "Authorization"
                else (k, v)
                for k, v in request.headers
            ),
        )
        assert _error(mutated).kind == "signature_mismatch"


def test_key_cache_and_explicit_double_encoding() -> None:
    request = sign_request(replace(BASE, path="/a%20b"), normalize=True)
    cache = sigv4.SigningKeyCache()
    _verify(request, key_cache=cache)
    _verify(request, key_cache=cache)
    assert len(cache) == 1
    assert _error(request, double_encode=False).kind == "signature_mismatch"


def test_presigned_token_retry_does_not_rescue_a_wrong_signature() -> None:
    request = presign_request(BASE, token="tok", secret="wrong")
    assert _error(request).kind == "signature_mismatch"


# --- payload --------------------------------------------------------------------------------------

S3_HEADERS = (("Host", "bucket.s3.amazonaws.com"),)


def _s3_put(payload_hash: str | None, body: bytes = b"data") -> HttpRequest:
    headers = S3_HEADERS if payload_hash is None else (*S3_HEADERS, ("x-amz-content-sha256", payload_hash))
    names = ("host", "x-amz-date") if payload_hash is None else ("host", "x-amz-content-sha256", "x-amz-date")
    return sign_request(
        HttpRequest("PUT", "/key", "", headers),
        scope=S3_SCOPE,
        signed_headers=names,
        payload_hash=payload_hash or "",
        normalize=False,
    )


def test_other_services_always_sign_the_body() -> None:
    request = sign_request(BASE, body=b"Action=ListUsers")
    _verify(request, body_sha256=sha256_hex(b"Action=ListUsers"))
    assert _error(request, body_sha256=EMPTY).kind == "signature_mismatch"
    with pytest.raises(ValueError, match="body_sha256 is required"):
        _verify(request, body_sha256=None)


def test_s3_header_auth_needs_x_amz_content_sha256() -> None:
    error = _error(_s3_put(None), normalize_path=False)
    assert (error.kind, error.code) == ("payload_hash_missing", "InvalidRequest")
    assert error.message == "Missing required header for this request: x-amz-content-sha256"


@pytest.mark.parametrize(
    "claimed", ["abc", "unsigned-payload", "A" * 63, "STREAMING-AWS4-HMAC-SHA256-PAYLOADS"]
)
def test_s3_payload_hash_must_be_a_digest_or_a_known_token(claimed: str) -> None:
    error = _error(_s3_put(claimed), normalize_path=False)
    assert (error.kind, error.code) == ("payload_hash_invalid", "InvalidArgument")


def test_s3_payload_hash_case_and_tokens() -> None:
    upper = sha256_hex(b"data").upper()
    _verify(_s3_put(upper), normalize_path=False, body_sha256=sha256_hex(b"data"))
    for token in (
        "UNSIGNED-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    ):
        _verify(_s3_put(token), normalize_path=False, body_sha256=sha256_hex(b"whatever"))


# --- headers the signature does not cover -----------------------------------------------------------


def test_unsigned_headers_lists_what_signed_headers_leave_out() -> None:
    request = HttpRequest(
        "PUT",
        "/b/k",
        "",
        (
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Meta-A", "1"),
            ("x-amz-copy-source", "/b/secret"),
            ("X-Amz-Content-Sha256", EMPTY),
            ("Content-Type", "text/plain"),
        ),
    )
    signed = sigv4.parse(sign_request(request, signed_headers=("host", "x-amz-date", "x-amz-meta-a")))
    assert signed is not None
    exempt = frozenset({"x-amz-content-sha256"})
    assert sigv4.unsigned_headers(signed, request, "x-amz-", exempt) == ("x-amz-copy-source",)
    assert sigv4.unsigned_headers(signed, request, "x-amz-") == ("x-amz-content-sha256", "x-amz-copy-source")
    assert sigv4.unsigned_headers(signed, BASE, "x-amz-") == ()


def test_combined_reads_repeated_lines_as_they_are_signed() -> None:
    request = HttpRequest("GET", "/", "", (("X-Amz-Meta-A", "1"), ("x-amz-meta-a", "2"), ("Host", "h")))
    assert request.combined("x-amz-meta-a") == "1,2" and request.header("x-amz-meta-a") == "1"
    assert request.combined("host") == "h" and request.combined("absent") is None
    assert request.header_names() == ["x-amz-meta-a", "host"]

"""Checking a parsed signature against the request and the caller's secret key.

AWS checks, in this order: the request time (±15 minutes, or the presigned URL's life), the credential
scope (every fault listed at once), the payload hash S3 was told about, then the signature itself,
compared in constant time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from monban.sigv4 import errors
from monban.sigv4.canonical import canonicalize, string_to_sign
from monban.sigv4.keys import Signer, SigningKeyCache, signatures_equal, signing_key
from monban.sigv4.model import PAYLOAD_TOKENS, TERMINATOR, HttpRequest, SignedRequest

DEFAULT_MAX_SKEW = timedelta(minutes=15)
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_TOKEN_PARAMETER = "X-Amz-Security-Token"


def precheck(
    signed: SignedRequest,
    *,
    now: datetime,
    expected_service: str | None = None,
    valid_regions: Callable[[str], bool] | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> None:
    """The checks that need no key: request time, then credential scope.

    AWS makes them before it looks the access key up, so a server may call this first; ``verify``
    calls it again (it is cheap).
    """
    _check_time(signed, now, max_skew)
    _check_scope(signed, expected_service, valid_regions)


def verify(
    signed: SignedRequest,
    request: HttpRequest,
    secret_key: str,
    *,
    now: datetime,
    body_sha256: str | None,
    normalize_path: bool,
    expected_service: str | None = None,
    valid_regions: Callable[[str], bool] | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    key_cache: SigningKeyCache | None = None,
    double_encode: bool | None = None,
) -> None:
    """Raise ``SigV4Error`` unless ``signed`` is a valid signature of ``request`` by ``secret_key``.

    ``now`` is an aware UTC datetime. ``body_sha256`` is the hex SHA-256 of the body as received
    (None when the body is streamed, e.g. aws-chunked); services other than S3 need it, because their
    canonical request carries it. ``normalize_path`` is False for S3 only (no dot-segment removal,
    paths encoded once); ``double_encode`` defaults to it.
    """
    precheck(
        signed, now=now, expected_service=expected_service, valid_regions=valid_regions, max_skew=max_skew
    )
    payload = _payload_line(signed, body_sha256)
    scope = signed.scope
    if key_cache is not None:
        signer = key_cache.signer(secret_key, scope.date, scope.region, scope.service)
    else:
        signer = Signer(signing_key(secret_key, scope.date, scope.region, scope.service))
    encode_twice = normalize_path if double_encode is None else double_encode
    _check_signature(signed, request, signer, payload, normalize_path, encode_twice)
    claimed = signed.payload_hash
    if body_sha256 is not None and _HEX_SHA256.fullmatch(claimed) and claimed.lower() != body_sha256.lower():
        raise errors.payload_hash_mismatch(claimed, body_sha256)


def unsigned_headers(
    signed: SignedRequest, request: HttpRequest, prefix: str, exempt: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The lower-cased names starting with ``prefix`` that the request carries but its signature
    does not cover (not in SignedHeaders), sorted, without ``exempt`` names."""
    found = [name for name in request.header_names() if name.startswith(prefix) and name not in exempt]
    if not found:  # the usual case: nothing to compare
        return ()
    covered = {name.lower() for name in signed.signed_headers}
    return tuple(sorted(name for name in found if name not in covered))


def _check_time(signed: SignedRequest, now: datetime, max_skew: timedelta) -> None:
    """±``max_skew`` for header auth; a presigned URL lives ``X-Amz-Expires`` (≤ 7 days) seconds.

    Services other than S3 ignore ``X-Amz-Expires`` and keep the 15-minute window (aws-sdk-go#2167);
    monban holds them to both, the stricter.
    """
    moment = signed.amz_date
    if signed.presigned and signed.expires is not None:
        if signed.expires > errors.MAX_PRESIGNED_EXPIRES:
            raise errors.presigned_too_long(signed.expires)
        if moment > now + max_skew:
            raise errors.not_yet_valid(moment, now, max_skew)
        if now > moment + timedelta(seconds=signed.expires):
            raise errors.presigned_expired(moment, now, signed.expires)
        if signed.is_s3:
            return
    if moment < now - max_skew:
        raise errors.expired_skew(moment, now, max_skew)
    if moment > now + max_skew:
        raise errors.not_yet_valid(moment, now, max_skew)


def _check_scope(
    signed: SignedRequest, expected_service: str | None, valid_regions: Callable[[str], bool] | None
) -> None:
    """Region, service, terminator and date of the credential scope; AWS reports every fault at once."""
    scope = signed.scope
    request_time = signed.amz_date_text
    faults: list[tuple[str, str]] = []
    if valid_regions is not None and not valid_regions(scope.region):
        faults.append(("scope_region", errors.SCOPE_REGION.format(scope.region)))
    if expected_service is not None and scope.service != expected_service:
        faults.append(("scope_service", errors.SCOPE_SERVICE.format(expected_service)))
    if scope.terminator != TERMINATOR:
        faults.append(("scope_terminator", errors.SCOPE_TERMINATOR.format(scope.terminator)))
    if scope.date != request_time[:8]:
        faults.append(("scope_date", errors.SCOPE_DATE.format(scope.date, request_time[:8], request_time)))
    if faults:
        raise errors.scope_errors(faults)


def _payload_line(signed: SignedRequest, body_sha256: str | None) -> str:
    """The canonical request's last line.

    S3 signs what ``x-amz-content-sha256`` says (a hex digest, ``UNSIGNED-PAYLOAD`` or a
    ``STREAMING-…`` token), and requires the header for header auth; every other service signs the
    SHA-256 of the body, whatever the client claims.
    """
    if not signed.is_s3:
        if body_sha256 is None:
            raise ValueError(f"body_sha256 is required to verify a {signed.scope.service!r} request")
        return body_sha256.lower()
    claimed = signed.payload_hash
    if not claimed:
        raise errors.payload_hash_missing()
    if claimed not in PAYLOAD_TOKENS and not _HEX_SHA256.fullmatch(claimed):
        raise errors.payload_hash_invalid()
    return claimed


def _check_signature(
    signed: SignedRequest,
    request: HttpRequest,
    signer: Signer,
    payload: str,
    normalize: bool,
    encode_twice: bool,
) -> None:
    """Recompute the signature and compare; every signed header must be in the request.

    A presigned URL may carry one ``X-Amz-Security-Token`` added after signing (AWS IoT documents
    this; vector post-sts-header-after): when the signature with the token fails, it is tried without.
    """
    omit = ("X-Amz-Signature",) if signed.presigned else ()
    canonical, to_sign, missing = _to_sign(signed, request, payload, normalize, encode_twice, omit)
    if not missing and signatures_equal(signer.sign(to_sign), signed.signature):
        return
    if not missing and signed.presigned and _count_parameter(request, _TOKEN_PARAMETER) == 1:
        omit = (*omit, _TOKEN_PARAMETER)
        _, retry, _ = _to_sign(signed, request, payload, normalize, encode_twice, omit)
        if signatures_equal(signer.sign(retry), signed.signature):
            return
    raise errors.signature_mismatch(
        access_key_id=signed.scope.access_key_id,
        canonical_request=canonical,
        string_to_sign=to_sign,
        signature_provided=signed.signature,
    )


def _to_sign(
    signed: SignedRequest,
    request: HttpRequest,
    payload: str,
    normalize: bool,
    encode_twice: bool,
    omit: tuple[str, ...],
) -> tuple[str, str, tuple[str, ...]]:
    """The canonical request, the string to sign, and the signed header names the request lacks."""
    canonical, missing = canonicalize(
        request,
        signed.signed_headers,
        payload,
        normalize_path=normalize,
        double_encode=encode_twice,
        omit_query=omit,
    )
    return canonical, string_to_sign(signed.amz_date_text, signed.scope, canonical), missing


def _count_parameter(request: HttpRequest, name: str) -> int:
    encoded = name.encode()
    return sum(1 for key, _ in request.query_pairs() if key == encoded)

"""SigV4 failures, each with a stable ``kind`` and the AWS code and message IAM/STS answer with.

The texts are AWS's own, as observed in IAM/STS responses (``SignatureDoesNotMatch`` for the clock
skew and credential scope, ``IncompleteSignature`` for a broken ``Authorization`` header or query,
``MissingAuthenticationToken``); see the reference notes §1 and §8. Other services (S3) re-map by
``kind`` and read the extra attributes (string to sign, canonical request, times) into their own error
documents.
"""

from __future__ import annotations

from datetime import datetime, timedelta

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
MISSING_TOKEN_MESSAGE = "Request is missing Authentication Token"
HOST_NOT_SIGNED_MESSAGE = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
MAX_PRESIGNED_EXPIRES = 604800
SCOPE_REGION = "Credential should be scoped to a valid region, not '{}'."
SCOPE_SERVICE = "Credential should be scoped to correct service: '{}'."
SCOPE_TERMINATOR = "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'."
SCOPE_DATE = (
    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
    "'{}' != '{}', from '{}'."
)


class SigV4Error(Exception):
    """A request whose SigV4 signature is missing parts, malformed, out of date or wrong.

    ``kind`` is a stable machine name (see the factories below); ``code`` and ``message`` are what
    IAM and STS send. The optional attributes carry what S3 echoes in its error XML.
    """

    def __init__(
        self,
        kind: str,
        code: str,
        message: str,
        *,
        access_key_id: str | None = None,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
        signature_provided: str | None = None,
        request_time: datetime | None = None,
        server_time: datetime | None = None,
        expires: int | None = None,
        max_skew: timedelta | None = None,
        client_sha256: str | None = None,
        computed_sha256: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.access_key_id = access_key_id
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign
        self.signature_provided = signature_provided
        self.request_time = request_time
        self.server_time = server_time
        self.expires = expires
        self.max_skew = max_skew
        self.client_sha256 = client_sha256
        self.computed_sha256 = computed_sha256

    def __repr__(self) -> str:
        return f"SigV4Error(kind={self.kind!r}, code={self.code!r}, message={self.message!r})"


def missing_authentication_token() -> SigV4Error:
    """No signature where one is required: IAM/STS ``MissingAuthenticationToken`` (403)."""
    return SigV4Error("missing", "MissingAuthenticationToken", MISSING_TOKEN_MESSAGE)


def unsupported_algorithm(algorithm: str) -> SigV4Error:
    """``Authorization`` with a scheme other than AWS4-HMAC-SHA256 (SigV2 ``AWS``, ``Bearer``…)."""
    return SigV4Error(
        "unsupported_algorithm", "IncompleteSignature", f"Unsupported AWS 'algorithm': '{algorithm}'"
    )


def unsupported_query_algorithm() -> SigV4Error:
    """A query ``X-Amz-Algorithm`` other than AWS4-HMAC-SHA256, or SigV2 query parameters.

    AWS answers as if no signature had been sent at all.
    """
    return SigV4Error("unsupported_algorithm", "MissingAuthenticationToken", MISSING_TOKEN_MESSAGE)


def multiple_auth() -> SigV4Error:
    """Both an ``Authorization`` header and ``X-Amz-Algorithm`` query parameter: AWS refuses both."""
    return SigV4Error("multiple_auth", "SignatureDoesNotMatch", SIGNATURE_MISMATCH_MESSAGE)


def incomplete(message: str) -> SigV4Error:
    """Required signature parts absent (``IncompleteSignature``); ``message`` lists them AWS's way."""
    return SigV4Error("incomplete", "IncompleteSignature", message)


def malformed(message: str) -> SigV4Error:
    """A signature part present but unreadable (``IncompleteSignature``)."""
    return SigV4Error("malformed", "IncompleteSignature", message)


def malformed_expires(message: str) -> SigV4Error:
    """``X-Amz-Expires`` that is not a non-negative integer (S3's AuthorizationQueryParametersError)."""
    return SigV4Error("malformed", "AuthorizationQueryParametersError", message)


def host_not_signed() -> SigV4Error:
    """AWS requires ``host`` among the signed headers."""
    return SigV4Error("host_not_signed", "SignatureDoesNotMatch", HOST_NOT_SIGNED_MESSAGE)


def format_amz_date(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` (ISO 8601 basic format, UTC), zero-padded whatever the year."""
    # %-formatting: twice as fast as the equivalent f-string with format specs.
    return "%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


def format_skew(skew: timedelta) -> str:
    """AWS words the window as ``15 min`` (whole minutes) or ``90 sec``."""
    seconds = int(skew.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} sec"


def expired_skew(request_time: datetime, now: datetime, max_skew: timedelta) -> SigV4Error:
    """Request time more than ``max_skew`` in the past: "Signature expired: … is now earlier than …"."""
    message = (
        f"Signature expired: {format_amz_date(request_time)} is now earlier than "
        f"{format_amz_date(now - max_skew)} ({format_amz_date(now)} - {format_skew(max_skew)}.)"
    )
    return SigV4Error(
        "expired_skew",
        "SignatureDoesNotMatch",
        message,
        request_time=request_time,
        server_time=now,
        max_skew=max_skew,
    )


def not_yet_valid(request_time: datetime, now: datetime, max_skew: timedelta) -> SigV4Error:
    """Request time more than ``max_skew`` in the future: "Signature not yet current: …"."""
    message = (
        f"Signature not yet current: {format_amz_date(request_time)} is still later than "
        f"{format_amz_date(now + max_skew)} ({format_amz_date(now)} + {format_skew(max_skew)}.)"
    )
    return SigV4Error(
        "not_yet_valid",
        "SignatureDoesNotMatch",
        message,
        request_time=request_time,
        server_time=now,
        max_skew=max_skew,
    )


def presigned_expired(request_time: datetime, now: datetime, expires: int) -> SigV4Error:
    """A presigned URL used after ``X-Amz-Date + X-Amz-Expires`` (S3: AccessDenied "Request has expired")."""
    return SigV4Error(
        "presigned_expired",
        "AccessDenied",
        "Request has expired",
        request_time=request_time,
        server_time=now,
        expires=expires,
    )


def presigned_too_long(expires: int) -> SigV4Error:
    """``X-Amz-Expires`` above 604800 seconds, the life of a signing key (S3's exact text)."""
    message = (
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be "
        f"less than {MAX_PRESIGNED_EXPIRES} seconds"
    )
    return SigV4Error("presigned_too_long", "AuthorizationQueryParametersError", message, expires=expires)


def scope_errors(kinds: list[tuple[str, str]]) -> SigV4Error:
    """Credential-scope failures: AWS lists every one, each sentence followed by a space."""
    message = "".join(f"{text} " for _, text in kinds)
    return SigV4Error(kinds[0][0], "SignatureDoesNotMatch", message)


def signature_mismatch(
    *, access_key_id: str, canonical_request: str, string_to_sign: str, signature_provided: str
) -> SigV4Error:
    """The computed signature differs from the one sent (or a signed header is absent)."""
    return SigV4Error(
        "signature_mismatch",
        "SignatureDoesNotMatch",
        SIGNATURE_MISMATCH_MESSAGE,
        access_key_id=access_key_id,
        canonical_request=canonical_request,
        string_to_sign=string_to_sign,
        signature_provided=signature_provided,
    )


def payload_hash_missing() -> SigV4Error:
    """S3 header auth without ``x-amz-content-sha256``."""
    return SigV4Error(
        "payload_hash_missing",
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
    )


def payload_hash_invalid() -> SigV4Error:
    """``x-amz-content-sha256`` that is neither a hex SHA-256 nor one of the S3 payload tokens."""
    message = (
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
        "or a valid sha256 value."
    )
    return SigV4Error("payload_hash_invalid", "InvalidArgument", message)


def payload_hash_mismatch(client_sha256: str, computed_sha256: str) -> SigV4Error:
    """The body does not hash to the signed ``x-amz-content-sha256`` (S3 XAmzContentSHA256Mismatch)."""
    return SigV4Error(
        "payload_hash_mismatch",
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        client_sha256=client_sha256,
        computed_sha256=computed_sha256,
    )


def chunk_malformed(detail: str) -> SigV4Error:
    """An aws-chunked body whose framing cannot be read."""
    return SigV4Error("chunk_malformed", "InvalidRequest", f"Malformed aws-chunked body: {detail}")


def chunk_incomplete() -> SigV4Error:
    """An aws-chunked body that ended before its final zero-length chunk."""
    return SigV4Error(
        "chunk_incomplete",
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    )

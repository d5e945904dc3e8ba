"""S3's wording of errors: SigV4 failures by ``kind``, and the common S3 error constructors.

S3 answers with its own codes and texts where IAM/STS use ``SignatureDoesNotMatch`` or
``IncompleteSignature`` (Amazon S3 API Reference, "Error responses" / "List of error codes"), and
echoes what it computed (StringToSign, CanonicalRequest, their bytes) so a client can debug.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.protocol.numbers import in_range

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
MAX_SKEW_MS = "900000"


def iso_ms(moment: datetime) -> str:
    """``2026-11-27T20:00:00.000Z``: S3's time format in XML bodies."""
    moment = utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands stored times back naive; they are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(moment: datetime) -> str:
    """``Wed, 12 Oct 2009 17:50:00 GMT`` (RFC 7231 IMF-fixdate), as in Last-Modified (English
    names whatever the locale, as ``email.utils.format_datetime`` writes them)."""
    m = utc(moment)
    return (
        f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year:04d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} GMT"
    )


def _bytes(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8", "surrogateescape"))


def _mismatch(error: sigv4.SigV4Error) -> AwsError:
    extra: dict[str, str] = {}
    if error.access_key_id:
        extra["AWSAccessKeyId"] = error.access_key_id
    if error.string_to_sign is not None:
        extra["StringToSign"] = error.string_to_sign
    if error.signature_provided is not None:
        extra["SignatureProvided"] = error.signature_provided
    if error.string_to_sign is not None:
        extra["StringToSignBytes"] = _bytes(error.string_to_sign)
    if error.canonical_request is not None:
        # bytes that are not UTF-8 (in a path or header) are shown as U+FFFD, as the XML must be text
        extra["CanonicalRequest"] = error.canonical_request.encode("utf-8", "surrogateescape").decode(
            "utf-8", "replace"
        )
        extra["CanonicalRequestBytes"] = _bytes(error.canonical_request)
    return AwsError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, extra=extra)


def _skewed(error: sigv4.SigV4Error, signed: sigv4.SignedRequest | None) -> AwsError:
    now = error.server_time or datetime.now(UTC)
    moment = error.request_time or (signed.amz_date if signed else now)
    if signed is not None and signed.presigned:
        return AwsError("AccessDenied", "Request is not valid yet")
    return AwsError(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        extra={
            "RequestTime": sigv4.format_amz_date(moment),
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "MaxAllowedSkewMilliseconds": MAX_SKEW_MS,
        },
    )


def _expired(error: sigv4.SigV4Error) -> AwsError:
    now = error.server_time or datetime.now(UTC)
    extra = {"X-Amz-Expires": str(error.expires)}
    if error.request_time is not None and error.expires is not None:
        expires = error.request_time + timedelta(seconds=error.expires)
        extra["Expires"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    extra["ServerTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return AwsError("AccessDenied", "Request has expired", extra=extra)


def _scope(error: sigv4.SigV4Error, signed: sigv4.SignedRequest | None, region: str) -> AwsError:
    """Credential-scope faults: AuthorizationHeaderMalformed (header) or …QueryParametersError."""
    scope = signed.scope if signed else None
    service = scope.service if scope else ""
    detail = {
        "scope_region": f"the region '{scope.region if scope else ''}' is wrong; expecting '{region}'",
        "scope_service": f'incorrect service "{service}". This endpoint belongs to "s3".',
        "scope_terminator": f'incorrect terminal "{scope.terminator if scope else ""}". '
        'This endpoint uses "aws4_request".',
        "scope_date": "Invalid credential date. Date is not the same as X-Amz-Date.",
    }[error.kind]
    if signed is not None and signed.presigned:
        return AwsError(
            "AuthorizationQueryParametersError", f"Error parsing the X-Amz-Credential parameter; {detail}"
        )
    extra = {"Region": region} if error.kind == "scope_region" else {}
    return AwsError(
        "AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}", extra=extra
    )


def _malformed(error: sigv4.SigV4Error, signed: sigv4.SignedRequest | None, presigned: bool) -> AwsError:
    if "'X-Amz-Date' or a 'Date' header" in error.message:
        return AwsError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if presigned:
        return AwsError("AuthorizationQueryParametersError", error.message)
    return AwsError("AuthorizationHeaderMalformed", f"The authorization header is malformed; {error.message}")


_UNSUPPORTED = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def from_sigv4(
    error: sigv4.SigV4Error, signed: sigv4.SignedRequest | None, *, presigned: bool, region: str
) -> AwsError:
    """``SigV4Error`` → S3's error (code, message and extra fields), by the error's ``kind``."""
    kind = error.kind
    if kind == "signature_mismatch":
        return _mismatch(error)
    if kind in ("expired_skew", "not_yet_valid"):
        return _skewed(error, signed)
    if kind == "presigned_expired":
        return _expired(error)
    if kind.startswith("scope_"):
        return _scope(error, signed, region)
    if kind in ("incomplete", "malformed"):
        return _malformed(error, signed, presigned)
    if kind == "unsupported_algorithm":
        if presigned:
            return AwsError(
                "AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
            )
        return AwsError("InvalidRequest", _UNSUPPORTED)
    if kind == "multiple_auth":
        return AwsError(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified",
            extra={"ArgumentName": "Authorization", "ArgumentValue": "AWS4-HMAC-SHA256"},
        )
    if kind == "payload_hash_mismatch":
        return AwsError(
            "XAmzContentSHA256Mismatch",
            error.message,
            extra={
                "ClientComputedContentSHA256": error.client_sha256 or "",
                "S3ComputedContentSHA256": error.computed_sha256 or "",
            },
        )
    if kind == "payload_hash_invalid":
        return AwsError("InvalidArgument", error.message, extra={"ArgumentName": "x-amz-content-sha256"})
    if kind == "chunk_incomplete":
        return AwsError("IncompleteBody", error.message)
    if kind == "host_not_signed":
        return AwsError("AccessDenied", "There were headers present in the request which were not signed")
    try:
        return AwsError(error.code, error.message)
    except KeyError:
        return AwsError("InvalidRequest", error.message)


# --- common S3 errors -------------------------------------------------------------------------


def no_such_bucket(bucket: str) -> AwsError:
    return AwsError("NoSuchBucket", "The specified bucket does not exist", extra={"BucketName": bucket})


def no_such_key(key: str) -> AwsError:
    return AwsError("NoSuchKey", "The specified key does not exist.", extra={"Key": key})


def no_such_upload(upload_id: str) -> AwsError:
    return AwsError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        extra={"UploadId": upload_id},
    )


def invalid_argument(message: str, name: str, value: str) -> AwsError:
    return AwsError("InvalidArgument", message, extra={"ArgumentName": name, "ArgumentValue": value})


def integer_argument(text: str, name: str, low: int, high: int, message: str) -> int:
    """An integer query parameter or header in ``low..high`` (``protocol.numbers``: ASCII digits
    only); InvalidArgument with ``message`` otherwise."""
    try:
        return in_range(text, low, high)
    except ValueError:
        raise invalid_argument(message, name, text) from None


MAX_INT = 2147483647  # S3's integer parameters are 32-bit


def count_argument(text: str, name: str) -> int:
    """``max-keys``, ``max-uploads``, ``max-parts``: 0..2147483647, with S3's two messages. The
    handler and the ``s3:max-keys`` condition key both take this value."""
    try:
        value = in_range(text, -MAX_INT - 1, MAX_INT)
    except ValueError:
        message = f"Provided {name} not an integer or within integer range"
        raise invalid_argument(message, name, text) from None
    if value < 0:
        raise invalid_argument(f"Argument {name} must be an integer between 0 and {MAX_INT}", name, text)
    return value


def malformed_xml() -> AwsError:
    return AwsError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def precondition_failed(condition: str) -> AwsError:
    return AwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        extra={"Condition": condition},
    )


def not_implemented(header: str = "") -> AwsError:
    extra = {"Header": header} if header else {}
    return AwsError(
        "NotImplemented", "A header you provided implies functionality that is not implemented", extra=extra
    )

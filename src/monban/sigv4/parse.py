"""Finding and reading the signature a request carries (header or presigned query).

The order of the checks, and the texts, follow AWS's authentication error ordering: one mechanism
only; the algorithm; ``key=value`` parameters; every required part present (all missing parts listed
in one message); the request date in ISO 8601 basic format; a five-part credential; ``host`` signed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from monban.sigv4 import errors
from monban.sigv4.model import (
    ALGORITHM,
    S3_SERVICE,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    HttpRequest,
    SignedRequest,
)

_AUTHORIZATION = re.compile(r"\s*(\S*)\s*(.*)", re.DOTALL)
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_INTEGER = re.compile(r"-?[0-9]+")
_HEADER_PARTS = (
    ("Credential", "Authorization header requires 'Credential' parameter."),
    ("Signature", "Authorization header requires 'Signature' parameter."),
    ("SignedHeaders", "Authorization header requires 'SignedHeaders' parameter."),
)
_DATE_REQUIRED = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
_QUERY_PARTS = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
_REEXAMINE = "Re-examine the query-string parameters."


class _Query:
    """The decoded query parameters; the first value of a name wins (AWS rule 7c)."""

    def __init__(self, request: HttpRequest) -> None:
        # Kept as bytes: only the few values looked up are decoded (the decoding is one-to-one).
        self._first: dict[bytes, bytes] = {}
        if not request.query:
            return
        for name, value in request.query_pairs():
            self._first.setdefault(name, value)

    def get(self, name: str) -> str | None:
        value = self._first.get(name.encode("utf-8", "surrogateescape"))
        return None if value is None else _text(value)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def parse(request: HttpRequest) -> SignedRequest | None:
    """The SigV4 signature of ``request``; None when it carries none (anonymous).

    Raises ``SigV4Error`` when it carries a broken one, or a signature AWS no longer accepts here
    (SigV2 ``Authorization: AWS …`` or ``AWSAccessKeyId``/``Signature`` query parameters).
    """
    authorization = request.header("authorization")
    query = _Query(request)
    presigned = query.get("X-Amz-Algorithm") is not None
    if authorization is not None and presigned:
        raise errors.multiple_auth()
    if authorization is not None:
        return _from_header(request, authorization, query)
    if presigned:
        return _from_query(request, query)
    if query.get("AWSAccessKeyId") is not None and query.get("Signature") is not None:
        raise errors.unsupported_query_algorithm()
    return None


def _from_header(request: HttpRequest, authorization: str, query: _Query) -> SignedRequest:
    """``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``."""
    algorithm, rest = _scheme(authorization)
    if algorithm != ALGORITHM:
        raise errors.unsupported_algorithm(algorithm)
    fields = _header_fields(rest, authorization)
    amz_date_text, http_date_text = request.header("x-amz-date"), request.header("date")
    missing = [text for name, text in _HEADER_PARTS if name not in fields]
    if amz_date_text is None and http_date_text is None:
        missing.append(_DATE_REQUIRED)
    if missing:
        raise errors.incomplete(f"{' '.join(missing)} Authorization={authorization}")
    amz_date = _amz_date(amz_date_text) if amz_date_text is not None else _http_date(http_date_text or "")
    scope = _credential(fields["Credential"])
    token = request.header("x-amz-security-token")
    return _signed(
        scope,
        fields["SignedHeaders"],
        fields["Signature"],
        amz_date,
        token if token is not None else query.get("X-Amz-Security-Token"),
        expires=None,
        payload_hash=(request.header("x-amz-content-sha256") or "") if scope.service == S3_SERVICE else "",
    )


def _scheme(authorization: str) -> tuple[str, str]:
    """The first word of the header and the rest, leading and separating white space dropped."""
    # The usual ``AWS4-HMAC-SHA256 Credential=…`` needs no regex (``isspace`` is the regex's ``\s``).
    if authorization[16:17].isspace() and authorization.startswith(ALGORITHM):
        return ALGORITHM, authorization[17:].lstrip()
    match = _AUTHORIZATION.fullmatch(authorization)
    return (match.group(1), match.group(2)) if match else ("", "")


def _header_fields(rest: str, authorization: str) -> dict[str, str]:
    """``name=value`` parameters separated by commas and/or spaces; the last of a name wins."""
    fields: dict[str, str] = {}
    # ``str.split()`` splits on runs of white space as ``\s`` defines it; commas are separators too.
    for part in rest.replace(",", " ").split():
        name, equals, value = part.partition("=")
        if not equals:
            raise errors.malformed(
                f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization header:"
                f" '{authorization}'."
            )
        fields[name] = value
    return fields


def _from_query(request: HttpRequest, query: _Query) -> SignedRequest:
    """A presigned URL: ``X-Amz-Algorithm``, ``-Credential``, ``-Date``, ``-Expires``, ``-SignedHeaders``…"""
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise errors.unsupported_query_algorithm()
    values = {name: query.get(name) for name in _QUERY_PARTS}
    missing = [
        f"AWS query-string parameters must include '{name}'." for name in _QUERY_PARTS if values[name] is None
    ]
    if missing:
        raise errors.incomplete(f"{' '.join(missing)} {_REEXAMINE}")
    credential, signature, signed_headers, date_text = (values[name] or "" for name in _QUERY_PARTS)
    amz_date = _amz_date(date_text)
    expires = _expires(query.get("X-Amz-Expires"))
    scope = _credential(credential)
    token = query.get("X-Amz-Security-Token")
    payload_hash = ""
    if scope.service == S3_SERVICE:
        payload_hash = query.get("X-Amz-Content-Sha256") or UNSIGNED_PAYLOAD
    return _signed(
        scope,
        signed_headers,
        signature,
        amz_date,
        token if token is not None else request.header("x-amz-security-token"),
        expires=expires,
        payload_hash=payload_hash,
        presigned=True,
    )


def _signed(
    scope: CredentialScope,
    signed_headers: str,
    signature: str,
    amz_date: datetime,
    token: str | None,
    *,
    expires: int | None,
    payload_hash: str,
    presigned: bool = False,
) -> SignedRequest:
    """Assemble the result once AWS's last parse-time rule holds: ``host`` is a signed header."""
    names = tuple(signed_headers.split(";"))
    if "host" not in names and not any(name.lower() in ("host", ":authority") for name in names):
        raise errors.host_not_signed()
    return SignedRequest(scope, names, signature, amz_date, token, presigned, expires, payload_hash)


def _amz_date(text: str) -> datetime:
    """``YYYYMMDDTHHMMSSZ``; anything else is IncompleteSignature with AWS's ISO-8601 message."""
    if _AMZ_DATE.fullmatch(text):
        try:
            # The C parser reads this exact shape as datetime(...) would, UTC from the ``Z``.
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise _bad_date(text)


def _http_date(text: str) -> datetime:
    """The ``Date`` header, used when there is no ``X-Amz-Date``: an HTTP date (RFC 7231), or basic format."""
    if _AMZ_DATE.fullmatch(text):
        return _amz_date(text)
    try:
        moment = parsedate_to_datetime(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise _bad_date(text) from None


def _bad_date(text: str) -> errors.SigV4Error:
    return errors.malformed(
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _expires(text: str | None) -> int | None:
    """``X-Amz-Expires``: a non-negative whole number of seconds (the upper bound is checked by verify)."""
    if text is None:
        return None
    if not _INTEGER.fullmatch(text):
        raise errors.malformed_expires("X-Amz-Expires should be a number")
    if text.startswith("-"):
        raise errors.malformed_expires("X-Amz-Expires must be non-negative")
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) <= 18 else 10**18


def _credential(text: str) -> CredentialScope:
    """``<key id>/<date>/<region>/<service>/<terminator>``: exactly five parts, or IncompleteSignature."""
    parts = text.split("/")
    if len(parts) != 5:
        raise errors.malformed(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
            f" got '{text}'"
        )
    return CredentialScope(*parts)

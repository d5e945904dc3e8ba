"""The request as it arrived and the signature parsed out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monban.sigv4 import encoding
from monban.sigv4.errors import format_amz_date

S3_SERVICE = "s3"
ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
PAYLOAD_TOKENS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
        STREAMING_UNSIGNED_TRAILER,
        STREAMING_ECDSA,
        STREAMING_ECDSA_TRAILER,
    }
)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What arrived on the wire.

    ``path`` is the raw, still percent-encoded path (ASGI ``raw_path``; bytes beyond ASCII decoded as
    UTF-8 with ``surrogateescape``), ``query`` the raw query string without ``?``, ``headers`` the
    header fields with their names as sent and duplicates kept in order, each byte of a name or
    value read as one Latin-1 character (the bytes as sent are ``value.encode("latin-1")``).
    """

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    _by_name: dict[str, list[str]] = field(init=False, repr=False, compare=False)
    _query_pairs: tuple[tuple[bytes, bytes], ...] | None = field(
        init=False, default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Built once: the server asks for a dozen headers by name per request (O(1) each, not a scan).
        by_name: dict[str, list[str]] = {}
        for name, value in self.headers:
            key = name.lower()
            values = by_name.get(key)
            if values is None:
                by_name[key] = [value]
            else:
                values.append(value)
        object.__setattr__(self, "_by_name", by_name)

    def query_pairs(self) -> tuple[tuple[bytes, bytes], ...]:
        """The decoded query parameters (``encoding.query_pairs``), parsed on first use only."""
        pairs = self._query_pairs
        if pairs is None:
            pairs = tuple(encoding.query_pairs(self.query))
            object.__setattr__(self, "_query_pairs", pairs)
        return pairs

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in arrival order."""
        return list(self._by_name.get(name.lower(), ()))

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, or None."""
        values = self._by_name.get(name.lower())
        return values[0] if values is not None else None

    def header_names(self) -> list[str]:
        """The lower-cased names of the headers, each once, in arrival order."""
        return list(self._by_name)

    def combined(self, name: str) -> str | None:
        """Every value of header ``name`` joined with commas (RFC 9110 §5.3), as the canonical
        request signs them: what a signed header says, whichever way its lines were split."""
        values = self._by_name.get(name.lower())
        if values is None:
            return None
        return values[0] if len(values) == 1 else ",".join(values)

    def _values(self, name: str) -> list[str] | None:
        """Every value of header ``name``, which must be lower-case already (package use: no copy)."""
        return self._by_name.get(name)


@dataclass(frozen=True, slots=True)
class CredentialScope:
    """``<access key id>/<yyyymmdd>/<region>/<service>/aws4_request`` from ``Credential=``."""

    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str

    def __str__(self) -> str:
        """The scope as it appears in the string to sign (without the access key id)."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The signature a request carries, parsed but not yet checked against any key.

    ``payload_hash`` is the payload line of the canonical request as the client claims it: the
    ``x-amz-content-sha256`` value for S3 (``UNSIGNED-PAYLOAD`` for an S3 presigned URL), and ``""``
    for every other service, whose canonical request always carries the SHA-256 of the body.
    ``amz_date_text`` is ``amz_date`` in ISO 8601 basic format, derived.
    """

    scope: CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime
    security_token: str | None
    presigned: bool
    expires: int | None
    payload_hash: str
    amz_date_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # ``amz_date`` as ``YYYYMMDDTHHMMSSZ``: the scope check and the string to sign both need it.
        object.__setattr__(self, "amz_date_text", format_amz_date(self.amz_date))

    @property
    def is_s3(self) -> bool:
        """S3 takes the payload hash from ``x-amz-content-sha256``; other services hash the body."""
        return self.scope.service == S3_SERVICE

    @property
    def streaming(self) -> bool:
        """The body is aws-chunked (``STREAMING-…`` payload hash)."""
        return self.payload_hash.startswith("STREAMING-")

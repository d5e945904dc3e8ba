"""The request as it arrived and the signature parsed out of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    header fields with their names as sent and duplicates kept in order.
    """

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in arrival order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, or None."""
        values = self.header_values(name)
        return values[0] if values else None


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
    """

    scope: CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime
    security_token: str | None
    presigned: bool
    expires: int | None
    payload_hash: str

    @property
    def is_s3(self) -> bool:
        """S3 takes the payload hash from ``x-amz-content-sha256``; other services hash the body."""
        return self.scope.service == S3_SERVICE

    @property
    def streaming(self) -> bool:
        """The body is aws-chunked (``STREAMING-…`` payload hash)."""
        return self.payload_hash.startswith("STREAMING-")

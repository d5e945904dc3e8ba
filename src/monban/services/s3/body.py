"""Request bodies: streamed, decoded (aws-chunked), and checked while they arrive.

Amazon S3 API Reference, "Authenticating Requests (AWS Signature Version 4)": a hex
``x-amz-content-sha256`` must equal the body's SHA-256 (XAmzContentSHA256Mismatch);
``UNSIGNED-PAYLOAD`` skips that; ``STREAMING-…`` bodies are aws-chunked, every chunk signature
checked (``sigv4.ChunkedPayloadDecoder``) and trailing checksums read at the end. ``Content-MD5``
and ``x-amz-checksum-*`` values are verified too (BadDigest). The body goes to a file (or, for
small XML documents, memory) in pieces of at most ``BUFFER`` bytes; hashing and writing run in
worker threads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

import anyio.to_thread

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.protocol.numbers import in_range
from monban.services.s3 import checksums
from monban.services.s3.call import ClientDisconnect, S3Call
from monban.services.s3.errors import from_sigv4, invalid_argument


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...


BUFFER = 1024 * 1024
MAX_OBJECT = 5 * 1024**3
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_CHECKSUM_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    value: str


@dataclass(frozen=True, slots=True)
class Received:
    """A body that arrived whole and verified."""

    size: int
    md5: bytes
    checksum: Checksum | None
    data: bytes  # only when collected in memory


def _length(text: str | None, name: str) -> int | None:
    """A declared size: ASCII digits only (``protocol.numbers``), else InvalidArgument."""
    if text is None:
        return None
    try:
        return in_range(text, 0, 2**63 - 1)
    except ValueError:
        raise invalid_argument(f"{name} is not a valid number", name, text) from None


def declared_length(call: S3Call) -> int | None:
    """The payload size the client announced (decoded size for aws-chunked bodies)."""
    if call.signed is not None and call.signed.streaming:
        return _length(call.header("x-amz-decoded-content-length"), "x-amz-decoded-content-length")
    return _length(call.header("content-length"), "Content-Length")


def check_size(call: S3Call, limit: int = MAX_OBJECT) -> int | None:
    """EntityTooLarge above ``limit``; MissingContentLength when nothing tells the size."""
    size = declared_length(call)
    if size is None and call.header("transfer-encoding") is None:
        raise AwsError("MissingContentLength", "You must provide the Content-Length HTTP header.")
    if size is not None and size > limit:
        raise AwsError(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            extra={"ProposedSize": str(size), "MaxSizeAllowed": str(limit)},
        )
    return size


def _checksum_request(call: S3Call) -> tuple[str | None, str | None, bool]:
    """(algorithm, value sent in a header, value expected in a trailer)."""
    sent = [
        (name, value)
        for name, value in call.headers_with_prefix("x-amz-checksum-")
        if name in checksums.HEADERS
    ]
    trailer = (call.header("x-amz-trailer") or "").strip().lower()
    if trailer and trailer not in checksums.HEADERS:
        raise AwsError(
            "InvalidRequest", f"The value specified in the x-amz-trailer header is not supported: {trailer}"
        )
    if len(sent) + bool(trailer) > 1:
        raise AwsError(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    if sent:
        name, value = sent[0]
        return checksums.HEADERS[name], value.strip(), False
    if trailer:
        return checksums.HEADERS[trailer], None, True
    sdk = (call.header("x-amz-sdk-checksum-algorithm") or "").upper()
    if sdk and sdk not in checksums.ALGORITHMS:
        raise invalid_argument(
            "Value for x-amz-sdk-checksum-algorithm header is invalid.", "x-amz-sdk-checksum-algorithm", sdk
        )
    return (sdk or None), None, False


def require_integrity_header(call: S3Call) -> None:
    """Operations whose model requires a checksum of the body (``httpChecksumRequired``):
    Content-MD5 or an ``x-amz-checksum-*`` / ``x-amz-sdk-checksum-algorithm`` header, else
    InvalidRequest."""
    if (
        call.header("content-md5") is None
        and not call.headers_with_prefix("x-amz-checksum-")
        and call.header("x-amz-sdk-checksum-algorithm") is None
    ):
        raise AwsError("InvalidRequest", "Missing required header for this request: Content-MD5")


def _content_md5(call: S3Call) -> bytes | None:
    text = call.header("content-md5")
    if text is None:
        return None
    try:
        digest = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise AwsError(
            "InvalidDigest", "The Content-MD5 you specified is not valid.", extra={"Content-MD5": text}
        )
    return digest


class BodySink:
    """Takes the wire body piece by piece (in a worker thread) and checks it at the end."""

    def __init__(
        self,
        call: S3Call,
        writer: Writer | None,
        limit: int = MAX_OBJECT,
        default_checksum: str | None = None,
        checksum_headers: bool = True,
    ) -> None:
        signed = call.signed
        self._call = call
        self.writer = writer
        self._limit = limit
        self._collected = bytearray()
        self._decoder: sigv4.ChunkedPayloadDecoder | None = None
        if signed is not None and signed.streaming:
            assert call.secret is not None
            self._decoder = sigv4.ChunkedPayloadDecoder.for_request(
                signed, call.secret, key_cache=call.state.signing_keys
            )
        claimed = signed.payload_hash if signed is not None else ""
        self._claimed = claimed.lower() if _HEX64.fullmatch(claimed) else None
        self._sha256 = hashlib.sha256() if self._claimed else None
        self._md5 = hashlib.md5()
        self._expected_md5 = _content_md5(call)
        # ``checksum_headers`` False: the x-amz-checksum-* headers describe something else (the
        # object of a CompleteMultipartUpload), not this body
        self._algorithm, self._value, self._trailer = (
            _checksum_request(call) if checksum_headers else (None, None, False)
        )
        self._algorithm = self._algorithm or default_checksum
        self._checksum = checksums.new(self._algorithm) if self._algorithm else None
        self._declared = declared_length(call)
        self.size = 0

    def _fail(self, error: sigv4.SigV4Error) -> AwsError:
        signed = self._call.signed
        return from_sigv4(
            error, signed, presigned=bool(signed and signed.presigned), region=self._call.info.region
        )

    def feed(self, raw: bytes) -> None:
        if self._sha256 is not None:
            self._sha256.update(raw)
        try:
            data = self._decoder.feed(raw) if self._decoder is not None else raw
        except sigv4.SigV4Error as exc:
            raise self._fail(exc) from exc
        if not data:
            return
        self.size += len(data)
        if self.size > self._limit:
            raise AwsError(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                extra={"ProposedSize": str(self.size), "MaxSizeAllowed": str(self._limit)},
            )
        self._md5.update(data)
        if self._checksum is not None:
            self._checksum.update(data)
        if self.writer is not None:
            self.writer.write(data)
        else:
            self._collected += data

    def finish(self) -> Received:
        """Verify everything the client claimed about the body (raises S3's error otherwise)."""
        if self._decoder is not None:
            try:
                self._decoder.finish()
            except sigv4.SigV4Error as exc:
                raise self._fail(exc) from exc
        if self._declared is not None and self.size != self._declared:
            raise AwsError(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            )
        if self._sha256 is not None and self._claimed != self._sha256.hexdigest():
            raise self._fail(
                sigv4.SigV4Error(
                    "payload_hash_mismatch",
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    client_sha256=self._claimed,
                    computed_sha256=self._sha256.hexdigest(),
                )
            )
        md5 = self._md5.digest()
        if self._expected_md5 is not None and md5 != self._expected_md5:
            raise AwsError(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
                extra={
                    "ExpectedDigest": self._expected_md5.hex(),
                    "CalculatedDigest": base64.b64encode(md5).decode(),
                },
            )
        return Received(self.size, md5, self._verified_checksum(), bytes(self._collected))

    def _verified_checksum(self) -> Checksum | None:
        if self._algorithm is None or self._checksum is None:
            return None
        computed = checksums.encode(self._checksum.digest())
        value = self._value
        if self._trailer:
            trailers = dict(self._decoder.trailers) if self._decoder is not None else {}
            value = trailers.get(f"x-amz-checksum-{self._algorithm.lower()}")
            if value is None:
                raise AwsError("InvalidRequest", "x-amz-trailer header was specified but no trailer was sent")
        if value is not None:
            _check_encoding(self._algorithm, value)
            if value != computed:
                raise AwsError(
                    "BadDigest", f"The {self._algorithm} you specified did not match the calculated checksum."
                )
        return Checksum(self._algorithm, computed)


def _check_encoding(algorithm: str, value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != _CHECKSUM_SIZES[algorithm]:
        raise AwsError("InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.")


async def stream_into(call: S3Call, sink: BodySink) -> bytes:
    """Feed the body to ``sink`` in ``BUFFER``-sized pieces; return the last (unfed) piece.

    Raises ``ClientDisconnect`` when the client goes away before the end.
    """
    buffer = bytearray()
    async for chunk in call.body:
        buffer += chunk
        if len(buffer) >= BUFFER:
            piece = bytes(buffer)
            buffer.clear()
            await anyio.to_thread.run_sync(sink.feed, piece)
    return bytes(buffer)


async def read_document(call: S3Call, limit: int, checksum_headers: bool = True) -> bytes:
    """A small request body (an XML or JSON document), read whole and verified (its
    ``x-amz-checksum-*`` headers too, unless ``checksum_headers`` is False)."""
    size = declared_length(call)
    if size is not None and size > limit:
        raise AwsError(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            extra={"ProposedSize": str(size), "MaxSizeAllowed": str(limit)},
        )
    sink = BodySink(call, None, limit, checksum_headers=checksum_headers)
    try:
        rest = await stream_into(call, sink)
    except ClientDisconnect as exc:
        raise AwsError("IncompleteBody", "The request body terminated unexpectedly") from exc

    def finish() -> Received:
        sink.feed(rest)
        return sink.finish()

    return (await anyio.to_thread.run_sync(finish)).data

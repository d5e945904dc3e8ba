"""aws-chunked request bodies (S3 "Signature Calculations … Transferring Payload in Multiple Chunks").

Wire format: ``hex(size);chunk-signature=<sig>\\r\\n<data>\\r\\n`` …, ending with a zero-length chunk.
Each chunk signature is the HMAC, under the request's signing key, of::

    AWS4-HMAC-SHA256-PAYLOAD\\n<x-amz-date>\\n<scope>\\n<previous signature>\\n<sha256("")>\\n<sha256(data)>

the first "previous signature" being the seed (the request's own signature). With a ``-TRAILER``
payload, trailing header lines follow the final chunk, the last being ``x-amz-trailer-signature``
(string to sign ``AWS4-HMAC-SHA256-TRAILER\\n<date>\\n<scope>\\n<previous>\\n<sha256(trailers)>``).
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` bodies have ``hex(size)\\r\\n`` chunk lines, no signatures,
and trailers (usually an ``x-amz-checksum-*``) that the S3 layer checks.
"""

from __future__ import annotations

import hashlib
import re

from monban.sigv4 import errors
from monban.sigv4.canonical import EMPTY_SHA256
from monban.sigv4.keys import SigningKeyCache, sign, signatures_equal, signing_key
from monban.sigv4.model import (
    STREAMING_ECDSA,
    STREAMING_ECDSA_TRAILER,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    SignedRequest,
)

DEFAULT_MAX_CHUNK_SIZE = 16 * 1024 * 1024
MAX_LINE = 4096
MAX_TRAILERS = 64
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE_PREFIX = b"chunk-signature="

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedPayloadDecoder:
    """Incremental decoder: ``feed`` any split of the wire body, get the verified payload back.

    In signed mode a chunk's bytes are returned only once its signature has been checked; an
    invalid or missing signature raises ``SigV4Error(kind="signature_mismatch")``. After an error
    every further call raises it again. ``finish`` raises unless the whole body, final chunk (and
    trailers) included, has arrived and verified.
    """

    def __init__(
        self,
        *,
        seed_signature: str,
        signing_key: bytes,
        amz_date: str,
        scope: str,
        trailer: bool = False,
        signed: bool = True,
        max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
    ) -> None:
        self._previous = seed_signature
        self._key = signing_key
        self._prefix = f"\n{amz_date}\n{scope}\n"
        self._trailer = trailer or not signed
        self._signed = signed
        self._max_chunk_size = max_chunk_size
        self._buffer = bytearray()
        self._state = _HEADER
        self._remaining = 0
        self._claimed = ""
        self._data = hashlib.sha256()
        self._pending = bytearray()
        self._trailers: list[tuple[str, str]] = []
        self._trailer_signed = False
        self._error: errors.SigV4Error | None = None
        self.decoded_length = 0

    @classmethod
    def unsigned(cls, *, max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE) -> ChunkedPayloadDecoder:
        """A decoder for ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` bodies."""
        return cls(
            seed_signature="",
            signing_key=b"",
            amz_date="",
            scope="",
            signed=False,
            max_chunk_size=max_chunk_size,
        )

    @classmethod
    def for_request(
        cls,
        signed: SignedRequest,
        secret_key: str,
        *,
        key_cache: SigningKeyCache | None = None,
        max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
    ) -> ChunkedPayloadDecoder:
        """The decoder for a verified request whose ``x-amz-content-sha256`` is a ``STREAMING-`` token."""
        mode = signed.payload_hash
        if mode == STREAMING_UNSIGNED_TRAILER:
            return cls.unsigned(max_chunk_size=max_chunk_size)
        if mode in (STREAMING_ECDSA, STREAMING_ECDSA_TRAILER):
            raise errors.unsupported_algorithm("AWS4-ECDSA-P256-SHA256")
        if mode not in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
            raise ValueError(f"not an aws-chunked payload: {mode!r}")
        scope = signed.scope
        fetch = key_cache.get if key_cache is not None else signing_key
        return cls(
            seed_signature=signed.signature,
            signing_key=fetch(secret_key, scope.date, scope.region, scope.service),
            amz_date=errors.format_amz_date(signed.amz_date),
            scope=str(scope),
            trailer=mode == STREAMING_SIGNED_TRAILER,
            max_chunk_size=max_chunk_size,
        )

    @property
    def trailers(self) -> tuple[tuple[str, str], ...]:
        """The trailing headers (names lower-cased, trailer signature excluded), in order."""
        return tuple(self._trailers)

    @property
    def done(self) -> bool:
        """The final chunk (and any trailers) arrived and verified."""
        return self._state == _DONE

    def feed(self, data: bytes) -> bytes:
        """Take the next bytes of the wire body; return the payload bytes now known good."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        out = bytearray()
        try:
            while self._step(out):
                pass
        except errors.SigV4Error as exc:
            self._error = exc
            raise
        return bytes(out)

    def finish(self) -> None:
        """Raise unless the body ended exactly after its final chunk (and trailers)."""
        if self._error is not None:
            raise self._error
        if self._state != _DONE:
            self._error = errors.chunk_incomplete()
            raise self._error

    def _step(self, out: bytearray) -> bool:
        """Advance the state machine once; False when more input is needed."""
        if self._state == _HEADER:
            return self._read_header()
        if self._state == _DATA:
            return self._read_data(out)
        if self._state == _DATA_END:
            return self._read_data_end(out)
        if self._state == _TRAILER:
            return self._read_trailer()
        if self._buffer:
            raise errors.chunk_malformed("data after the final chunk")
        return False

    def _line(self, terminator: bytes) -> bytes | None:
        """The next line without its terminator, or None if it has not fully arrived."""
        end = self._buffer.find(terminator)
        if end < 0:
            if len(self._buffer) > MAX_LINE:
                raise errors.chunk_malformed("line too long")
            return None
        if end > MAX_LINE:
            raise errors.chunk_malformed("line too long")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + len(terminator)]
        return line

    def _read_header(self) -> bool:
        """``hex(size)[;chunk-signature=<sig>]``."""
        line = self._line(b"\r\n")
        if line is None:
            return False
        size_text, _, extension = line.partition(b";")
        if not _SIZE.fullmatch(size_text):
            raise errors.chunk_malformed("invalid chunk size")
        size = int(size_text, 16)
        if size > self._max_chunk_size:
            raise errors.chunk_malformed("chunk too large")
        if self._signed:
            self._claimed = self._chunk_signature(extension)
        if size == 0:
            if self._signed:
                self._verify_chunk()
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _DATA
        return True

    def _chunk_signature(self, extension: bytes) -> str:
        """The ``chunk-signature=`` value; a chunk without one fails like a wrong one."""
        if not extension.startswith(_SIGNATURE_PREFIX):
            raise self._mismatch("")
        return extension[len(_SIGNATURE_PREFIX) :].decode("ascii", "replace")

    def _read_data(self, out: bytearray) -> bool:
        if not self._buffer:
            return False
        piece = bytes(self._buffer[: self._remaining])
        del self._buffer[: len(piece)]
        self._remaining -= len(piece)
        self.decoded_length += len(piece)
        if self._signed:
            self._data.update(piece)
            self._pending += piece
        else:
            out += piece
        if self._remaining == 0:
            self._state = _DATA_END
        return True

    def _read_data_end(self, out: bytearray) -> bool:
        """The CRLF after a chunk's data; then its signature is checked and its bytes released."""
        if len(self._buffer) < 2:
            return False
        if self._buffer[:2] != b"\r\n":
            raise errors.chunk_malformed("chunk data not followed by CRLF")
        del self._buffer[:2]
        if self._signed:
            self._verify_chunk()
            out += self._pending
            self._pending.clear()
        self._state = _HEADER
        return True

    def _verify_chunk(self) -> None:
        digest, self._data = self._data.hexdigest(), hashlib.sha256()
        to_sign = f"AWS4-HMAC-SHA256-PAYLOAD{self._prefix}{self._previous}\n{EMPTY_SHA256}\n{digest}"
        self._check(to_sign, self._claimed)

    def _check(self, to_sign: str, claimed: str) -> None:
        expected = sign(self._key, to_sign)
        if not signatures_equal(expected, claimed):
            raise self._mismatch(claimed, to_sign)
        self._previous = expected

    def _mismatch(self, claimed: str, to_sign: str | None = None) -> errors.SigV4Error:
        return errors.SigV4Error(
            "signature_mismatch",
            "SignatureDoesNotMatch",
            errors.SIGNATURE_MISMATCH_MESSAGE,
            string_to_sign=to_sign,
            signature_provided=claimed,
        )

    def _read_trailer(self) -> bool:
        """Trailing ``name:value`` lines up to an empty line; the trailer signature, if any, last."""
        line = self._line(b"\n")
        if line is None:
            return False
        line = line.removesuffix(b"\r")
        if not line:
            if self._signed and self._trailer and not self._trailer_signed:
                raise self._mismatch("")
            self._state = _DONE
            return True
        if not self._trailer or self._trailer_signed or len(self._trailers) >= MAX_TRAILERS:
            raise errors.chunk_malformed("unexpected trailer")
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if not colon:
            raise errors.chunk_malformed("trailer without ':'")
        name, value = name.strip().lower(), value.strip()
        if self._signed and name == TRAILER_SIGNATURE:
            self._verify_trailers(value)
        else:
            self._trailers.append((name, value))
        return True

    def _verify_trailers(self, claimed: str) -> None:
        canonical = "".join(f"{name}:{value}\n" for name, value in self._trailers)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        self._check(f"AWS4-HMAC-SHA256-TRAILER{self._prefix}{self._previous}\n{digest}", claimed)
        self._trailer_signed = True

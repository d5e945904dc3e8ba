"""aws-chunked framing: every way a body can be cut short, padded, mis-framed or mis-signed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from monban import sigv4
from monban.sigv4 import ChunkedPayloadDecoder, SigV4Error
from monban.sigv4.chunked import MAX_LINE, MAX_TRAILERS

KEY = sigv4.signing_key("secret", "20130524", "us-east-1", "s3")
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


def _signature(previous: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return sigv4.sign(
        KEY, f"AWS4-HMAC-SHA256-PAYLOAD\n{DATE}\n{SCOPE}\n{previous}\n{sigv4.EMPTY_SHA256}\n{digest}"
    )


def _trailer_signature(previous: str, trailers: list[tuple[str, str]]) -> str:
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return sigv4.sign(KEY, f"AWS4-HMAC-SHA256-TRAILER\n{DATE}\n{SCOPE}\n{previous}\n{digest}")


def encode(chunks: list[bytes], *, trailers: list[tuple[str, str]] | None = None) -> bytes:
    """A signed aws-chunked body (final chunk added), with signed trailers if given."""
    wire, previous = b"", SEED
    for data in [*chunks, b""]:
        previous = _signature(previous, data)
        wire += f"{len(data):x};chunk-signature={previous}\r\n".encode() + (data + b"\r\n" if data else b"")
    if trailers is not None:
        for name, value in trailers:
            wire += f"{name}:{value}\r\n".encode()
        wire += f"x-amz-trailer-signature:{_trailer_signature(previous, trailers)}\r\n".encode()
    return wire + b"\r\n"


def decoder(*, trailer: bool = False, max_chunk_size: int = 1 << 20) -> ChunkedPayloadDecoder:
    return ChunkedPayloadDecoder(
        seed_signature=SEED,
        signing_key=KEY,
        amz_date=DATE,
        scope=SCOPE,
        trailer=trailer,
        max_chunk_size=max_chunk_size,
    )


def _fails(wire: bytes, kind: str, *, trailer: bool = False, finish: bool = False) -> SigV4Error:
    body = decoder(trailer=trailer)
    with pytest.raises(SigV4Error) as caught:
        body.feed(wire)
        if finish:
            body.finish()
    assert caught.value.kind == kind, caught.value
    with pytest.raises(SigV4Error):  # the failure sticks
        body.feed(b"")
    with pytest.raises(SigV4Error):
        body.finish()
    return caught.value


def test_round_trip_byte_by_byte() -> None:
    wire = encode([b"hello ", b"world", b"x" * 3000])
    body = decoder()
    out = b"".join(body.feed(wire[i : i + 1]) for i in range(len(wire)))
    body.finish()
    assert out == b"hello world" + b"x" * 3000
    assert body.done and body.decoded_length == len(out) and body.trailers == ()


def test_empty_body() -> None:
    body = decoder()
    assert body.feed(encode([])) == b""
    body.finish()


def test_signed_trailers() -> None:
    trailers = [("x-amz-checksum-crc32", "DUoRhQ=="), ("x-amz-meta-a", "b")]
    body = decoder(trailer=True)
    assert body.feed(encode([b"abc"], trailers=trailers)) == b"abc"
    body.finish()
    assert body.trailers == tuple(trailers)


def test_trailer_lines_may_end_in_a_bare_newline() -> None:
    wire = encode([b"abc"], trailers=[("a", "1")]).replace(b"a:1\r\n", b"A : 1 \n")
    body = decoder(trailer=True)
    body.feed(wire)
    body.finish()
    assert body.trailers == (("a", "1"),)


@pytest.mark.parametrize(
    ("wire", "kind"),
    [
        (b"zz;chunk-signature=00\r\n", "chunk_malformed"),
        (b";chunk-signature=00\r\n", "chunk_malformed"),
        (b"12345678901234567;chunk-signature=00\r\n", "chunk_malformed"),
        (b"5\r\nhello\r\n", "signature_mismatch"),
        (b"5;chunk-signatur=" + b"0" * 64 + b"\r\n", "signature_mismatch"),
        (b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n", "signature_mismatch"),
        (b"0;chunk-signature=" + b"0" * 64 + b"\r\n", "signature_mismatch"),
        (b"x" * (MAX_LINE + 1), "chunk_malformed"),
        (b"x" * (MAX_LINE + 1) + b"\r\n", "chunk_malformed"),
    ],
    ids=[
        "hex",
        "no-size",
        "huge-size",
        "no-signature",
        "misspelt",
        "wrong-signature",
        "wrong-final",
        "long",
        "long-line",
    ],
)
def test_bad_chunk_lines(wire: bytes, kind: str) -> None:
    _fails(wire, kind)


def test_chunk_larger_than_allowed() -> None:
    body = decoder(max_chunk_size=4)
    with pytest.raises(SigV4Error) as caught:
        body.feed(encode([b"hello"]))
    assert caught.value.kind == "chunk_malformed"


def test_data_not_followed_by_crlf() -> None:
    _fails(encode([b"hello"]).replace(b"hello\r\n", b"helloXX", 1), "chunk_malformed")


def test_data_after_the_end() -> None:
    _fails(encode([b"hello"]) + b"more", "chunk_malformed")


def test_trailers_where_none_are_expected() -> None:
    _fails(encode([b"hello"], trailers=[("a", "1")]), "chunk_malformed")


def test_trailer_without_colon() -> None:
    _fails(encode([b"abc"], trailers=[("a", "1")]).replace(b"a:1", b"a=1"), "chunk_malformed", trailer=True)


def test_trailer_after_the_trailer_signature() -> None:
    wire = encode([b"abc"], trailers=[("a", "1")])
    _fails(wire[:-2] + b"b:2\r\n\r\n", "chunk_malformed", trailer=True)


def test_too_many_trailers() -> None:
    trailers = [(f"t{n}", "v") for n in range(MAX_TRAILERS + 1)]
    _fails(encode([b"abc"], trailers=trailers), "chunk_malformed", trailer=True)


def test_signed_trailers_require_their_signature() -> None:
    wire = encode([b"abc"], trailers=[("a", "1")])
    unsigned = wire[: wire.index(b"x-amz-trailer-signature")] + b"\r\n"
    _fails(unsigned, "signature_mismatch", trailer=True)


@pytest.mark.parametrize("cut", [1, 10, 30, 60, 90, -1], ids=lambda cut: f"cut-{cut}")
def test_truncated_bodies_never_finish(cut: int) -> None:
    wire = encode([b"a" * 20, b"b" * 20])
    body = decoder()
    body.feed(wire[:cut])
    with pytest.raises(SigV4Error) as caught:
        body.finish()
    assert caught.value.kind == "chunk_incomplete"


# --- unsigned trailer mode and for_request ----------------------------------------------------------------


def test_unsigned_payload_trailer() -> None:
    body = ChunkedPayloadDecoder.unsigned()
    wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    assert body.feed(wire[:7]) == b"hell"  # unsigned bytes are released as they come
    assert body.feed(wire[7:]) == b"o world"
    body.finish()
    assert body.trailers == (("x-amz-checksum-crc32", "DUoRhQ=="),)


def _signed_request(payload_hash: str) -> sigv4.SignedRequest:
    scope = sigv4.CredentialScope("AKID", "20130524", "us-east-1", "s3", "aws4_request")
    return sigv4.SignedRequest(
        scope, ("host",), SEED, datetime(2013, 5, 24, tzinfo=UTC), None, False, None, payload_hash
    )


def test_for_request_picks_the_mode() -> None:
    signed = ChunkedPayloadDecoder.for_request(_signed_request(sigv4.STREAMING_SIGNED), "secret")
    assert signed.feed(encode([b"abc"])) == b"abc"
    with_trailer = ChunkedPayloadDecoder.for_request(
        _signed_request(sigv4.STREAMING_SIGNED_TRAILER), "secret"
    )
    assert with_trailer.feed(encode([b"abc"], trailers=[("a", "1")])) == b"abc"
    with_trailer.finish()
    unsigned = ChunkedPayloadDecoder.for_request(_signed_request(sigv4.STREAMING_UNSIGNED_TRAILER), "secret")
    assert unsigned.feed(b"3\r\nabc\r\n0\r\n\r\n") == b"abc"
    unsigned.finish()


def test_for_request_refuses_sigv4a_and_plain_payloads() -> None:
    with pytest.raises(SigV4Error) as caught:
        ChunkedPayloadDecoder.for_request(
            _signed_request("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"), "secret"
        )
    assert caught.value.kind == "unsupported_algorithm"
    with pytest.raises(ValueError, match="not an aws-chunked payload"):
        ChunkedPayloadDecoder.for_request(_signed_request(sigv4.UNSIGNED_PAYLOAD), "secret")

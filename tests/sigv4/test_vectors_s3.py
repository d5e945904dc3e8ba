"""AWS documentation examples: S3 header auth, an S3 presigned URL, IAM ListUsers, S3 chunked upload."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from monban import sigv4
from monban.sigv4 import ChunkedPayloadDecoder, HttpRequest, SigV4Error

from .helpers import (
    SIGV4_VECTORS,
    assert_all_mutations_rejected,
    assert_rejected,
    load_json,
    sha256_hex,
)

DOC = load_json(SIGV4_VECTORS / "s3-doc-examples.json")
COMMON = DOC["common"]
STREAMING = load_json(SIGV4_VECTORS / "s3-streaming.json")
MAY_24 = datetime(2013, 5, 24, tzinfo=UTC)


def _verifier(
    *, secret: str, service: str, now: datetime, body: bytes | None, region: str = "us-east-1"
) -> Any:
    def check(request: HttpRequest) -> None:
        signed = sigv4.parse(request)
        assert signed is not None
        sigv4.verify(
            signed,
            request,
            secret,
            now=now,
            body_sha256=None if body is None else sha256_hex(body),
            normalize_path=service != "s3",
            expected_service=service,
            valid_regions=lambda candidate: candidate == region,
        )

    return check


def _s3_check(body: bytes | None = b"", secret: str = COMMON["secret_access_key"]) -> Any:
    return _verifier(secret=secret, service="s3", now=MAY_24, body=body)


def _authorization(
    key_id: str, date: str, region: str, service: str, signed_headers: str, signature: str
) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{date}/{region}/{service}/aws4_request, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def _header_request(case: dict[str, Any], signature: str) -> HttpRequest:
    authorization = _authorization(
        COMMON["access_key_id"], "20130524", "us-east-1", "s3", case["signed_headers"], signature
    )
    headers = (*case["headers"].items(), ("Authorization", authorization))
    return HttpRequest(
        case["method"], case.get("raw_path", case["canonical_uri"]), case.get("raw_query", ""), tuple(headers)
    )


HEADER_CASES = DOC["header_auth"]


@pytest.mark.parametrize("case", HEADER_CASES, ids=[case["name"] for case in HEADER_CASES])
def test_s3_header_auth(case: dict[str, Any]) -> None:
    request = _header_request(case, case["signature"])
    body = case.get("body", "").encode()
    assert sha256_hex(body) == case["payload_hash"]
    assert sigv4.canonical_uri(request.path, normalize=False, double_encode=False) == case["canonical_uri"]
    assert sigv4.canonical_query(request.query) == case["canonical_query"]
    signed_headers = tuple(case["signed_headers"].split(";"))
    canonical = sigv4.canonical_request(request, signed_headers, case["payload_hash"], normalize_path=False)
    to_sign = sigv4.string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical)
    key = sigv4.signing_key(COMMON["secret_access_key"], "20130524", "us-east-1", "s3")
    assert sigv4.sign(key, to_sign) == case["signature"]
    _s3_check(body)(request)
    _s3_check(None)(request)  # a streamed body: the signed hash is taken on trust, checked later
    assert_all_mutations_rejected(_s3_check(body), request, signed_headers)
    assert_rejected(_s3_check(body, secret="x" + COMMON["secret_access_key"]), request)


def test_s3_body_that_does_not_hash_to_the_signed_header() -> None:
    case = next(case for case in HEADER_CASES if case["name"] == "PUT Object")
    with pytest.raises(SigV4Error) as caught:
        _s3_check(b"Welcome to Amazon S4.")(_header_request(case, case["signature"]))
    assert caught.value.kind == "payload_hash_mismatch"
    assert caught.value.code == "XAmzContentSHA256Mismatch"
    assert caught.value.client_sha256 == case["payload_hash"]
    assert caught.value.computed_sha256 == sha256_hex(b"Welcome to Amazon S4.")


PRESIGNED = DOC["presigned"]


@pytest.mark.parametrize("case", PRESIGNED, ids=[case["name"] for case in PRESIGNED])
def test_s3_presigned_url(case: dict[str, Any]) -> None:
    url = urlsplit(case["url"])
    request = HttpRequest(case["method"], url.path, url.query, tuple(case["headers"].items()))
    signed = sigv4.parse(request)
    assert signed is not None
    assert (signed.presigned, signed.expires, signed.payload_hash) == (True, 86400, "UNSIGNED-PAYLOAD")
    canonical = sigv4.canonical_request(
        request, ("host",), case["payload_hash"], normalize_path=False, omit_query=("X-Amz-Signature",)
    )
    assert canonical.split("\n")[1] == case["canonical_uri"]
    to_sign = sigv4.string_to_sign(signed.amz_date, signed.scope, canonical)
    key = sigv4.signing_key(COMMON["secret_access_key"], "20130524", "us-east-1", "s3")
    assert sigv4.sign(key, to_sign) == case["signature"]
    for now in (MAY_24, MAY_24 + timedelta(hours=23, minutes=59), MAY_24 - timedelta(minutes=15)):
        _verifier(secret=COMMON["secret_access_key"], service="s3", now=now, body=None)(request)
    assert_all_mutations_rejected(_s3_check(None), request, ("host",))
    late = _verifier(
        secret=COMMON["secret_access_key"], service="s3", now=MAY_24 + timedelta(days=1, seconds=1), body=None
    )
    assert_rejected(late, request, "presigned_expired")
    early = _verifier(
        secret=COMMON["secret_access_key"], service="s3", now=MAY_24 - timedelta(minutes=16), body=None
    )
    assert_rejected(early, request, "not_yet_valid")


IAM_CASES = DOC["general_reference_iam"]


@pytest.mark.parametrize("case", IAM_CASES, ids=[case["name"] for case in IAM_CASES])
def test_iam_list_users(case: dict[str, Any]) -> None:
    authorization = _authorization(
        case["access_key_id"],
        "20150830",
        case["region"],
        case["service"],
        case["signed_headers"],
        case["signature"],
    )
    headers = (*case["headers"].items(), ("Authorization", authorization))
    request = HttpRequest(case["method"], case["canonical_uri"], case["canonical_query"], tuple(headers))
    signed_headers = tuple(case["signed_headers"].split(";"))
    canonical = sigv4.canonical_request(request, signed_headers, case["payload_hash"], normalize_path=True)
    assert canonical.split("\n")[:3] == ["GET", "/", case["canonical_query"]]
    check = _verifier(
        secret=case["secret_access_key"],
        service="iam",
        now=datetime(2015, 8, 30, 12, 40, tzinfo=UTC),
        body=b"",
    )
    check(request)
    assert_all_mutations_rejected(check, request, signed_headers)


# --- chunked upload ------------------------------------------------------------------------------------


def _seed_request(signature: str | None = None) -> HttpRequest:
    headers = dict(STREAMING["request"]["headers"])
    seed = STREAMING["seed"]
    authorization = seed["authorization"]
    if signature is not None:
        authorization = authorization.replace(seed["signature"], signature)
    return HttpRequest(
        STREAMING["request"]["method"],
        STREAMING["request"]["path"],
        "",
        (*headers.items(), ("Authorization", authorization)),
    )


def _chunked_body(*, trailer: bytes = b"") -> tuple[bytes, bytes]:
    """The wire body of the documented upload and the payload it carries."""
    wire, payload = b"", b""
    for chunk in STREAMING["chunks"]:
        data = chunk["byte"].encode() * chunk["size"]
        wire += f"{chunk['size']:x};chunk-signature={chunk['signature']}\r\n".encode()
        wire += data + b"\r\n" if chunk["size"] else b""
        payload += data
    return wire + (trailer or b"\r\n"), payload


def _decoder(*, trailer: bool = False) -> ChunkedPayloadDecoder:
    signed = sigv4.parse(_seed_request())
    assert signed is not None
    credentials = STREAMING["credentials"]
    key = sigv4.signing_key(credentials["secret_access_key"], "20130524", "us-east-1", "s3")
    return ChunkedPayloadDecoder(
        seed_signature=signed.signature,
        signing_key=key,
        amz_date=STREAMING["x_amz_date"],
        scope=str(signed.scope),
        trailer=trailer,
    )


def test_chunked_seed_request() -> None:
    request = _seed_request()
    signed = sigv4.parse(request)
    assert signed is not None and signed.streaming
    canonical = sigv4.canonical_request(
        request, signed.signed_headers, signed.payload_hash, normalize_path=False
    )
    assert canonical == STREAMING["seed"]["canonical_request"]
    check = _verifier(
        secret=STREAMING["credentials"]["secret_access_key"], service="s3", now=MAY_24, body=None
    )
    check(request)
    assert_all_mutations_rejected(check, request, signed.signed_headers)


def test_chunked_body_decodes_and_every_chunk_signature_verifies() -> None:
    wire, payload = _chunked_body()
    decoder = _decoder()
    assert decoder.feed(wire) == payload
    decoder.finish()
    assert decoder.done and decoder.decoded_length == len(payload) == 66560


@pytest.mark.parametrize("seed", range(8))
def test_chunked_body_in_arbitrary_pieces(seed: int) -> None:
    wire, payload = _chunked_body()
    rng = random.Random(seed)
    decoder, out, position = _decoder(), b"", 0
    while position < len(wire):
        step = rng.choice((1, 2, 3, 7, 100, 5000, 70000))
        out += decoder.feed(wire[position : position + step])
        position += step
    decoder.finish()
    assert out == payload


def test_chunked_body_via_for_request() -> None:
    signed = sigv4.parse(_seed_request())
    assert signed is not None
    cache = sigv4.SigningKeyCache()
    decoder = ChunkedPayloadDecoder.for_request(
        signed, STREAMING["credentials"]["secret_access_key"], key_cache=cache
    )
    wire, payload = _chunked_body()
    assert decoder.feed(wire) == payload
    decoder.finish()
    assert len(cache) == 1


@pytest.mark.parametrize("index", range(3))
def test_a_wrong_chunk_signature_fails(index: int) -> None:
    wire, _ = _chunked_body()
    signature = STREAMING["chunks"][index]["signature"]
    decoder = _decoder()
    with pytest.raises(SigV4Error) as caught:
        decoder.feed(wire.replace(signature.encode(), signature[::-1].encode()))
    assert caught.value.kind == "signature_mismatch"
    assert caught.value.string_to_sign is not None
    assert caught.value.string_to_sign.startswith("AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n")


def test_changed_data_fails_before_any_of_its_chunk_is_released() -> None:
    wire, _ = _chunked_body()
    tampered = bytearray(wire)
    tampered[100] = ord("b")
    decoder = _decoder()
    assert decoder.feed(bytes(tampered[:60000])) == b""
    with pytest.raises(SigV4Error) as caught:
        decoder.feed(bytes(tampered[60000:]))
    assert caught.value.kind == "signature_mismatch"


def test_a_wrong_seed_fails_on_the_first_chunk() -> None:
    signed = sigv4.parse(_seed_request())
    assert signed is not None
    decoder = ChunkedPayloadDecoder(
        seed_signature=STREAMING["chunks"][0]["signature"],
        signing_key=sigv4.signing_key(
            STREAMING["credentials"]["secret_access_key"], "20130524", "us-east-1", "s3"
        ),
        amz_date=STREAMING["x_amz_date"],
        scope=str(signed.scope),
    )
    with pytest.raises(SigV4Error):
        decoder.feed(_chunked_body()[0])


def test_a_body_without_its_final_chunk_is_incomplete() -> None:
    wire, _ = _chunked_body()
    final = wire.rindex(b"0;chunk-signature=")
    decoder = _decoder()
    decoder.feed(wire[:final])
    with pytest.raises(SigV4Error) as caught:
        decoder.finish()
    assert (caught.value.kind, caught.value.code) == ("chunk_incomplete", "IncompleteBody")


def test_signed_trailer_from_aws_c_auth() -> None:
    trailer = STREAMING["trailer"]
    lines = b"".join(line.encode() + b"\r\n" for line in trailer["canonical_trailing_headers"].splitlines())
    signature_line = f"x-amz-trailer-signature:{trailer['signature']}\r\n".encode()
    wire, payload = _chunked_body(trailer=lines + signature_line + b"\r\n")
    decoder = _decoder(trailer=True)
    assert decoder.feed(wire) == payload
    decoder.finish()
    assert decoder.trailers == (("first", "1st"), ("second", "2nd"), ("third", "3rd"))
    tampered = wire.replace(b"second:2nd", b"second:2nx")
    with pytest.raises(SigV4Error) as caught:
        _decoder(trailer=True).feed(tampered)
    assert caught.value.kind == "signature_mismatch"


def test_expected_seed_signature_matches_the_vector() -> None:
    request = _seed_request()
    signed = sigv4.parse(request)
    assert signed is not None
    assert signed.signature == STREAMING["seed"]["signature"]
    wrong = _seed_request(signature="0" * 64)
    check = _verifier(
        secret=STREAMING["credentials"]["secret_access_key"], service="s3", now=MAY_24, body=None
    )
    assert_rejected(check, wrong)
    assert_rejected(check, replace(request, method="POST"))

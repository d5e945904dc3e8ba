"""S3 authentication: signatures and their S3 errors, payload hashes, aws-chunked bodies (signed
chunks, unsigned trailers), checksums, presigned URLs, and an upload cut off halfway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import time
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import REGION, Server
from tests.e2e.test_s3_support import (
    bucket,
    error_of,
    object_files,
    raw,
    root,
    s3_client,
    send,
    signed_headers,
    uid,
    user,
)

EMPTY = hashlib.sha256(b"").hexdigest()
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_wrong_secret_is_signature_does_not_match(server: Server) -> None:
    akid = root(server)[0]
    with pytest.raises(ClientError) as caught:
        s3_client(server, (akid, "x" * 40)).list_buckets()
    code, status, message = error_of(caught)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    error = caught.value.response["Error"]
    assert error["AWSAccessKeyId"] == akid
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert error["CanonicalRequest"].startswith("GET\n/\n")
    assert error["StringToSignBytes"].startswith("41 57 53 34")


def test_unknown_key_is_invalid_access_key_id(server: Server) -> None:
    with pytest.raises(ClientError) as caught:
        s3_client(server, ("AKIAAAAAAAAAAAAAAAAA", "y" * 40)).list_buckets()
    assert error_of(caught)[:2] == ("InvalidAccessKeyId", 403)
    assert caught.value.response["Error"]["AWSAccessKeyId"] == "AKIAAAAAAAAAAAAAAAAA"


def test_clock_skew_is_request_time_too_skewed(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: past)
    response = raw(server, "GET", "/", root(server))
    assert response.status == 403
    assert b"<Code>RequestTimeTooSkewed</Code>" in response.body
    assert b"<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>" in response.body


def test_payload_hash_is_checked(server: Server) -> None:
    name = bucket(server, root(server))
    wrong = hashlib.sha256(b"something else").hexdigest()
    response = raw(server, "PUT", f"/{name}/k", root(server), b"the body", payload_hash=wrong)
    assert response.status == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in response.body
    assert f"<ClientComputedContentSHA256>{wrong}</ClientComputedContentSHA256>".encode() in response.body
    assert raw(server, "GET", f"/{name}/k", root(server)).status == 404
    unsigned = raw(server, "PUT", f"/{name}/k", root(server), b"unsigned", payload_hash="UNSIGNED-PAYLOAD")
    assert unsigned.status == 200
    assert s3_client(server, root(server)).get_object(Bucket=name, Key="k")["Body"].read() == b"unsigned"


def _signing_key(secret: str, date: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _chunked(chunks: list[bytes], headers: dict[str, str], secret: str, tamper: int = -1) -> bytes:
    """The aws-chunked body, each chunk signed from the seed signature (AWS S3 docs)."""
    seed = headers["Authorization"].rsplit("Signature=", 1)[1]
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    key = _signing_key(secret, amz_date[:8])
    previous, out = seed, b""
    for index, chunk in enumerate([*chunks, b""]):
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY, hashlib.sha256(chunk).hexdigest()]
        )
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        sent = ("0" * 64) if index == tamper else signature
        out += f"{len(chunk):x};chunk-signature={sent}\r\n".encode() + chunk + b"\r\n"
        previous = signature
    return out


@pytest.mark.parametrize("tamper", [-1, 1])
def test_aws_chunked_upload_verifies_every_chunk(server: Server, tamper: int) -> None:
    name = bucket(server, root(server))
    chunks = [b"a" * 65536, b"b" * 65536, b"c" * 1000]
    payload = b"".join(chunks)
    path = f"/{name}/chunked"
    wire_length = len(
        _chunked(chunks, {"Authorization": "Signature=x", "X-Amz-Date": "20000101T000000Z"}, "s")
    )
    base = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "Content-Length": str(wire_length),
    }
    headers = signed_headers(server, "PUT", path, root(server), headers=base, payload_hash=STREAMING)
    body = _chunked(chunks, headers, root(server)[1], tamper)
    response = send(server, "PUT", path, headers, body)
    s3 = s3_client(server, root(server))
    if tamper < 0:
        assert response.status == 200, response.body
        assert response.headers["etag"] == f'"{hashlib.md5(payload).hexdigest()}"'
        got = s3.get_object(Bucket=name, Key="chunked")
        assert got["Body"].read() == payload and "ContentEncoding" not in got
    else:
        assert response.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in response.body
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


@pytest.mark.parametrize("good", [True, False])
def test_unsigned_payload_trailer_checksum(server: Server, good: bool) -> None:
    name = bucket(server, root(server))
    data = b"trailing checksum " * 1000
    crc = zlib.crc32(data if good else b"other").to_bytes(4, "big")
    value = base64.b64encode(crc).decode()
    body = f"{len(data):x}\r\n".encode() + data + f"\r\n0\r\nx-amz-checksum-crc32:{value}\r\n\r\n".encode()
    base = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "Content-Length": str(len(body)),
    }
    path = f"/{name}/trailer"
    headers = signed_headers(
        server, "PUT", path, root(server), headers=base, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    )
    response = send(server, "PUT", path, headers, body)
    s3 = s3_client(server, root(server))
    if good:
        assert response.status == 200, response.body
        assert response.headers["x-amz-checksum-crc32"] == value
        got = s3.get_object(Bucket=name, Key="trailer", ChecksumMode="ENABLED")
        assert got["Body"].read() == data and got["ChecksumCRC32"] == value
    else:
        assert response.status == 400 and b"<Code>BadDigest</Code>" in response.body
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-amz-checksum-crc32c", base64.b64encode(bytes.fromhex("e3069283")).decode()),
        ("x-amz-checksum-crc64nvme", base64.b64encode(bytes.fromhex("ae8b14860a799888")).decode()),
        ("x-amz-checksum-sha256", base64.b64encode(hashlib.sha256(b"123456789").digest()).decode()),
    ],
)
def test_checksum_headers(server: Server, header: str, value: str) -> None:
    name = bucket(server, root(server))
    ok = raw(server, "PUT", f"/{name}/sum", root(server), b"123456789", {header: value})
    assert ok.status == 200 and ok.headers[header] == value
    got = s3_client(server, root(server)).head_object(Bucket=name, Key="sum", ChecksumMode="ENABLED")
    assert got["ResponseMetadata"]["HTTPHeaders"][header] == value
    bad = raw(server, "PUT", f"/{name}/sum2", root(server), b"12345678X", {header: value})
    assert bad.status == 400 and b"<Code>BadDigest</Code>" in bad.body


def test_boto3_crc32_checksums_round_trip(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    put = s3.put_object(Bucket=name, Key="crc", Body=b"checksummed", ChecksumAlgorithm="CRC32")
    expected = base64.b64encode(zlib.crc32(b"checksummed").to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == expected
    assert s3.get_object(Bucket=name, Key="crc", ChecksumMode="ENABLED")["ChecksumCRC32"] == expected
    bad = raw(
        server,
        "PUT",
        f"/{name}/md5",
        root(server),
        b"x",
        {"Content-MD5": base64.b64encode(b"0" * 16).decode()},
    )
    assert bad.status == 400 and b"<Code>BadDigest</Code>" in bad.body


def test_presigned_get_and_put(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "p"}, ExpiresIn=300)
    assert fetch(put_url, "PUT", b"presigned body")[0] == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p"}, ExpiresIn=300)
    assert fetch(get_url) == (200, b"presigned body")
    tampered = get_url.replace(f"/{name}/p", f"/{name}/q")
    status, body = fetch(tampered)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body


def test_presigned_url_expiry(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="e", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "e"}, ExpiresIn=1)
    time.sleep(2.1)
    status, body = fetch(url)
    assert status == 403
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in body
    week = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "e"}, ExpiresIn=604801)
    status, body = fetch(week)
    assert status == 400 and b"<Code>AuthorizationQueryParametersError</Code>" in body


def test_presigned_url_carries_the_signers_permissions(server: Server) -> None:
    name = bucket(server, root(server))
    _arn, key = user(server, "123456789012")
    url = s3_client(server, key).generate_presigned_url("get_object", Params={"Bucket": name, "Key": "x"})
    status, body = fetch(url)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body


def test_upload_cut_off_halfway_leaves_nothing(server: Server) -> None:
    name = bucket(server, root(server))
    marker = f"half-{uid('m')}-".encode()
    data = (marker * (2 * 1024 * 1024 // len(marker) + 1))[: 2 * 1024 * 1024]
    path = f"/{name}/half"
    headers = signed_headers(
        server,
        "PUT",
        path,
        root(server),
        headers={"Content-Length": str(len(data))},
        payload_hash="UNSIGNED-PAYLOAD",
    )
    parts = urlsplit(server.endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + data[: len(data) // 2])
        time.sleep(0.3)
    s3 = s3_client(server, root(server))
    deadline = time.monotonic() + 10
    leftovers = [1]
    while time.monotonic() < deadline:
        leftovers = [p for p in object_files(server) if p.read_bytes()[: len(marker)] == marker]
        if not leftovers:
            break
        time.sleep(0.1)
    assert leftovers == []
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=name, Key="half")
    assert error_of(caught)[1] == 404

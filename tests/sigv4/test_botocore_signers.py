"""Requests signed by botocore itself — the reference client — verify; their mutations do not.

Requests go through real boto3 clients (serialization, endpoint, signing) and are captured at
``before-send``, exactly as they would go on the wire; a few are built with botocore.auth directly.
"""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from monban import sigv4
from monban.sigv4 import ChunkedPayloadDecoder, HttpRequest

from .helpers import assert_all_mutations_rejected, assert_rejected, from_prepared, sha256_hex

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDHqa0AP1/session+token=="
WEIRD_KEY = "dir one/ü+$&=~%.txt"


class Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise Captured(request)


def _client(service: str, *, token: str | None = None, endpoint: str | None = None, **config: Any) -> Any:
    client = boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 0}, **config),
    )
    client.meta.events.register("before-send", _capture)
    return client


def _sent(call: Callable[[], object]) -> tuple[HttpRequest, bytes]:
    with pytest.raises(Captured) as caught:
        call()
    return from_prepared(caught.value.request)


def _checker(service: str, body: bytes | None, *, secret: str = SECRET) -> Callable[[HttpRequest], None]:
    def check(request: HttpRequest) -> None:
        signed = sigv4.parse(request)
        assert signed is not None
        sigv4.verify(
            signed,
            request,
            secret,
            now=datetime.now(UTC),
            body_sha256=None if body is None else sha256_hex(body),
            normalize_path=service != "s3",
            expected_service=service,
            valid_regions={"us-east-1"}.__contains__,
            key_cache=CACHE,
        )

    return check


CACHE = sigv4.SigningKeyCache()


def _accepts_and_rejects_mutations(
    service: str, request: HttpRequest, body: bytes | None
) -> sigv4.SignedRequest:
    signed = sigv4.parse(request)
    assert signed is not None
    _checker(service, body)(request)
    assert_all_mutations_rejected(_checker(service, body), request, signed.signed_headers)
    assert_rejected(_checker(service, body, secret=SECRET.replace("K", "k")), request)
    return signed


def _s3_calls(client: Any) -> Iterator[tuple[str, Callable[[], object]]]:
    yield "get-object-range", lambda: client.get_object(Bucket="bkt", Key=WEIRD_KEY, Range="bytes=0-9")
    yield (
        "list-objects",
        lambda: client.list_objects_v2(Bucket="bkt", Prefix="a b/ü", Delimiter="/", MaxKeys=7),
    )
    yield (
        "delete-objects",
        lambda: client.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": WEIRD_KEY}]}),
    )
    yield (
        "put-tagging",
        lambda: client.put_object_tagging(
            Bucket="bkt", Key="k", Tagging={"TagSet": [{"Key": "a b", "Value": "c=d"}]}
        ),
    )
    yield "head-bucket", lambda: client.head_bucket(Bucket="bkt")


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session"])
@pytest.mark.parametrize("endpoint", ["https://s3.example.test", "http://127.0.0.1:9000"])
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_s3_client_requests(token: str | None, endpoint: str, style: str) -> None:
    client = _client("s3", token=token, endpoint=endpoint, s3={"addressing_style": style})
    for label, call in _s3_calls(client):
        request, body = _sent(call)
        signed = _accepts_and_rejects_mutations("s3", request, body)
        assert signed.security_token == token, label
        assert not signed.presigned


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session"])
def test_s3_put_object_over_http_signs_the_body_hash(token: str | None) -> None:
    client = _client("s3", token=token, endpoint="http://127.0.0.1:9000", s3={"addressing_style": "path"})
    request, body = _sent(lambda: client.put_object(Bucket="bkt", Key=WEIRD_KEY, Body=b"hello world"))
    signed = _accepts_and_rejects_mutations("s3", request, body)
    assert signed.payload_hash == sha256_hex(b"hello world")
    with pytest.raises(sigv4.SigV4Error) as caught:
        _checker("s3", b"hello world!")(request)
    assert caught.value.kind == "payload_hash_mismatch"


def test_s3_unsigned_payload() -> None:
    client = _client(
        "s3",
        endpoint="https://s3.example.test",
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        request_checksum_calculation="when_required",
    )
    request, body = _sent(lambda: client.put_object(Bucket="bkt", Key="k", Body=b"data"))
    signed = _accepts_and_rejects_mutations("s3", request, body)
    assert signed.payload_hash == "UNSIGNED-PAYLOAD"
    _checker("s3", b"any other body")(request)


@pytest.mark.parametrize(
    "body", [b"hello world", b"", bytes(range(256)) * 5000], ids=["short", "empty", "long"]
)
def test_s3_streaming_unsigned_payload_trailer(body: bytes) -> None:
    """botocore's flexible checksums: aws-chunked body, unsigned, CRC32 in a trailer."""
    client = _client("s3", token=TOKEN, endpoint="https://s3.example.test", s3={"addressing_style": "path"})
    request, wire = _sent(lambda: client.put_object(Bucket="bkt", Key=WEIRD_KEY, Body=io.BytesIO(body)))
    signed = _accepts_and_rejects_mutations("s3", request, None)
    assert signed.payload_hash == sigv4.STREAMING_UNSIGNED_TRAILER and signed.streaming
    decoder = ChunkedPayloadDecoder.for_request(signed, SECRET)
    decoded = b"".join(decoder.feed(wire[i : i + 1000]) for i in range(0, len(wire), 1000))
    decoder.finish()
    assert decoded == body
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert decoder.trailers == (("x-amz-checksum-crc32", crc),)
    assert request.header("x-amz-decoded-content-length") == str(decoder.decoded_length)


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session"])
@pytest.mark.parametrize("method", ["get_object", "put_object"])
def test_s3_presigned_urls(token: str | None, method: str) -> None:
    client = _client(
        "s3",
        token=token,
        endpoint="https://s3.example.test",
        s3={"addressing_style": "path"},
        signature_version="s3v4",
    )
    url = client.generate_presigned_url(method, Params={"Bucket": "bkt", "Key": WEIRD_KEY}, ExpiresIn=300)
    parts = urlsplit(url)
    http_method = "GET" if method == "get_object" else "PUT"
    request = HttpRequest(http_method, parts.path, parts.query, (("Host", parts.netloc),))
    signed = _accepts_and_rejects_mutations("s3", request, None)
    assert (signed.presigned, signed.expires, signed.security_token) == (True, 300, token)
    assert signed.payload_hash == "UNSIGNED-PAYLOAD"


def test_s3_sigv2_presigned_url_is_refused() -> None:
    """Without ``signature_version="s3v4"`` boto3 still presigns S3 URLs with SigV2: AWS refuses those now."""
    client = _client("s3", endpoint="https://s3.example.test", s3={"addressing_style": "path"})
    parts = urlsplit(client.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "k"}))
    assert "AWSAccessKeyId=" in parts.query
    with pytest.raises(sigv4.SigV4Error) as caught:
        sigv4.parse(HttpRequest("GET", parts.path, parts.query, (("Host", parts.netloc),)))
    assert (caught.value.kind, caught.value.code) == ("unsupported_algorithm", "MissingAuthenticationToken")


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session"])
def test_sts_and_iam_client_requests(token: str | None) -> None:
    sts = _client("sts", token=token, endpoint="https://sts.amazonaws.com")
    iam = _client("iam", token=token)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("sts", sts.get_caller_identity),
        ("sts", lambda: sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="s é+1")),
        ("iam", iam.list_users),
        ("iam", lambda: iam.create_user(UserName="ü b", Path="/a b/", Tags=[{"Key": "k", "Value": "v=1&x"}])),
    ]
    for service, call in calls:
        request, body = _sent(call)
        signed = _accepts_and_rejects_mutations(service, request, body)
        assert signed.security_token == token
        assert signed.payload_hash == ""
        assert_rejected(_checker(service, body + b"&Extra=1"), request)


def test_sts_presigned_get_caller_identity() -> None:
    """The presigned GetCallerIdentity URL that EKS / Vault-style IAM auth hands around.

    botocore signs it with the operation's method, POST (so it must be sent as POST: AWS answers a
    GET with SignatureDoesNotMatch, boto/boto3#756); the Go SDK presigns a GET.
    """
    sts = _client("sts", token=TOKEN, endpoint="https://sts.amazonaws.com")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60)
    parts = urlsplit(url)
    request = HttpRequest("POST", parts.path or "/", parts.query, (("Host", parts.netloc),))
    signed = _accepts_and_rejects_mutations("sts", request, b"")
    assert (signed.presigned, signed.expires, signed.payload_hash) == (True, 60, "")
    assert_rejected(_checker("sts", b""), HttpRequest("GET", request.path, request.query, request.headers))


def _credentials(token: str | None) -> Credentials:
    return Credentials(KEY_ID, SECRET, token)


@pytest.mark.parametrize("token", [None, TOKEN], ids=["long-term", "session"])
def test_botocore_auth_classes_directly(token: str | None) -> None:
    form = b"Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fa%20b%2F"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    cases: list[tuple[str, Any, AWSRequest, bytes | None]] = [
        ("iam", SigV4Auth, AWSRequest("POST", "https://iam.amazonaws.com/", headers, form), form),
        (
            "iam",
            SigV4Auth,
            AWSRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"),
            b"",
        ),
        (
            "sts",
            SigV4QueryAuth,
            AWSRequest("GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity"),
            b"",
        ),
        ("s3", S3SigV4Auth, AWSRequest("PUT", "http://bkt.s3.amazonaws.com/a%20b/%C3%BC", data=b"x"), b"x"),
        ("s3", S3SigV4QueryAuth, AWSRequest("GET", "https://bkt.s3.amazonaws.com/a%20b/%2B"), None),
    ]
    for service, auth_class, aws_request, body in cases:
        aws_request.context["payload_signing_enabled"] = True
        auth_class(_credentials(token), service, "us-east-1").add_auth(aws_request)
        request, sent = from_prepared(aws_request.prepare())
        _accepts_and_rejects_mutations(service, request, None if body is None else sent)


def test_a_request_signed_for_another_region_or_service() -> None:
    request, body = _sent(_client("sts").get_caller_identity)
    signed = sigv4.parse(request)
    assert signed is not None
    with pytest.raises(sigv4.SigV4Error) as caught:
        sigv4.verify(
            signed,
            request,
            SECRET,
            now=datetime.now(UTC),
            body_sha256=sha256_hex(body),
            normalize_path=True,
            expected_service="iam",
            valid_regions={"eu-west-1"}.__contains__,
        )
    assert caught.value.message == (
        "Credential should be scoped to a valid region, not 'us-east-1'. "
        "Credential should be scoped to correct service: 'iam'. "
    )

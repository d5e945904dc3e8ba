"""S3 behaviours an outside suite found monban answering differently, each as S3 answers:
UTF-8 header values signed as the bytes sent (and user metadata returned RFC 2047-encoded), a
304's ETag and Last-Modified, response-* overrides replacing the stored header, Content-Encoding
kept as sent, and UploadPartCopy refusing a range past the source's end."""

from __future__ import annotations

import base64
import email.header
import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.handlers
import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import aws_cli, bucket, error_of, raw, root, s3_client, send, signed_headers

TEXT = "é日本 ✓ ok"


def _encoded_word(value: str) -> str:
    return f"=?UTF-8?B?{base64.b64encode(value.encode()).decode()}?="


def _decoded(value: str) -> str:
    return "".join(
        part.decode(charset or "ascii") if isinstance(part, bytes) else part
        for part, charset in email.header.decode_header(value)
    )


@pytest.fixture(scope="module")
def place(server: Server) -> tuple[Any, str]:
    return s3_client(server, root(server)), bucket(server, root(server), prefix="div")


def test_utf8_metadata_round_trip_through_boto3(place: tuple[Any, str]) -> None:
    """boto3 refuses non-ASCII metadata itself (``validate_ascii_metadata``); without that check
    it sends the value's UTF-8 bytes, signed as those bytes."""
    s3, name = place
    s3.meta.events.unregister(
        "before-parameter-build.s3.PutObject", botocore.handlers.validate_ascii_metadata
    )
    s3.put_object(Bucket=name, Key="utf8", Body=b"x", Metadata={"note": TEXT, "plain": "ascii"})
    for answer in (s3.head_object(Bucket=name, Key="utf8"), s3.get_object(Bucket=name, Key="utf8")):
        assert answer["Metadata"] == {"note": _encoded_word(TEXT), "plain": "ascii"}
        assert _decoded(answer["Metadata"]["note"]) == TEXT


def test_utf8_headers_through_the_cli(server: Server, place: tuple[Any, str], tmp_path: Path) -> None:
    """The CLI signs a UTF-8 Content-Disposition as its bytes; an encoded-word metadata value
    (ASCII, which the CLI allows) comes back as sent."""
    _, name = place
    body = tmp_path / "body.txt"
    body.write_bytes(b"hello")
    word = _encoded_word(TEXT)
    disposition = 'attachment; filename="é日本.txt"'
    aws_cli(
        server, root(server), "s3api", "put-object", "--bucket", name, "--key", "cli-utf8",
        "--body", str(body), "--content-disposition", disposition, "--metadata", json.dumps({"note": word}),
    )  # fmt: skip
    head = json.loads(
        aws_cli(server, root(server), "s3api", "head-object", "--bucket", name, "--key", "cli-utf8")
    )
    assert head["Metadata"] == {"note": word} and _decoded(head["Metadata"]["note"]) == TEXT
    got = raw(server, "GET", f"/{name}/cli-utf8", root(server))
    assert got.status == 200 and got.headers["content-disposition"].encode("latin-1") == disposition.encode()


def test_a_tampered_utf8_header_is_refused(server: Server, place: tuple[Any, str]) -> None:
    _, name = place
    signed = raw(server, "PUT", f"/{name}/tampered", root(server), b"x", {"x-amz-meta-note": "ok"})
    assert signed.status == 200
    # signed over "ok", sent as the UTF-8 bytes of "é": the signature does not cover them
    headers: dict[str, Any] = signed_headers(
        server, "PUT", f"/{name}/t2", root(server), b"x", {"x-amz-meta-note": "ok"}
    )
    headers["x-amz-meta-note"] = "é".encode()
    refused = send(server, "PUT", f"/{name}/t2", headers, b"x")
    assert refused.status == 403 and b"SignatureDoesNotMatch" in refused.body


def test_not_modified_carries_etag_and_last_modified(place: tuple[Any, str]) -> None:
    s3, name = place
    put = s3.put_object(Bucket=name, Key="cached", Body=b"v1")
    head = s3.head_object(Bucket=name, Key="cached")
    for condition in ({"IfNoneMatch": put["ETag"]}, {"IfModifiedSince": head["LastModified"]}):
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=name, Key="cached", **condition)
        response = caught.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 304
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["etag"] == put["ETag"]
        assert headers["last-modified"] == head["ResponseMetadata"]["HTTPHeaders"]["last-modified"]


def _header_lines(url: str) -> list[tuple[str, str]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        return [(k.lower(), v) for k, v in response.getheaders()]
    finally:
        connection.close()


def test_response_overrides_replace_the_stored_headers(place: tuple[Any, str]) -> None:
    s3, name = place
    s3.put_object(
        Bucket=name, Key="over", Body=b"x", ContentType="application/json", ContentDisposition="inline",
        ContentLanguage="en", CacheControl="no-cache", ContentEncoding="identity",
    )  # fmt: skip
    overrides = {
        "ResponseContentType": "text/plain",
        "ResponseContentDisposition": "attachment",
        "ResponseContentLanguage": "fr",
        "ResponseCacheControl": "max-age=60",
        "ResponseContentEncoding": "gzip",
        "ResponseExpires": "Thu, 01 Dec 2033 16:00:00 GMT",
    }
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "over", **overrides})
    lines = _header_lines(url)
    wanted = {
        "content-type": "text/plain",
        "content-disposition": "attachment",
        "content-language": "fr",
        "cache-control": "max-age=60",
        "content-encoding": "gzip",
        "expires": "Thu, 01 Dec 2033 16:00:00 GMT",
    }
    for header, value in wanted.items():
        assert [v for k, v in lines if k == header] == [value], header
    got = s3.get_object(Bucket=name, Key="over", ResponseContentType="text/csv")
    assert got["ContentType"] == "text/csv"


@pytest.mark.parametrize("encoding", ["gzip, br", "gzip,br", "deflate ,  gzip", "x-custom"])
def test_content_encoding_is_kept_as_sent(place: tuple[Any, str], encoding: str) -> None:
    s3, name = place
    s3.put_object(Bucket=name, Key="encoded", Body=b"x", ContentEncoding=encoding)
    assert s3.head_object(Bucket=name, Key="encoded")["ContentEncoding"] == encoding


def test_upload_part_copy_past_the_source_end_is_refused(place: tuple[Any, str]) -> None:
    s3, name = place
    s3.put_object(Bucket=name, Key="source", Body=b"0123456789")
    upload = s3.create_multipart_upload(Bucket=name, Key="target")["UploadId"]
    source = {"Bucket": name, "Key": "source"}
    copy = {"Bucket": name, "Key": "target", "UploadId": upload, "PartNumber": 1, "CopySource": source}
    for span in ("bytes=0-10", "bytes=5-100", "bytes=10-10"):
        with pytest.raises(ClientError) as caught:
            s3.upload_part_copy(**copy, CopySourceRange=span)
        assert error_of(caught) == (
            "InvalidArgument",
            400,
            "Range specified is not valid for source object of size: 10",
        )
    part = s3.upload_part_copy(**copy, CopySourceRange="bytes=2-9")
    parts = [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(Bucket=name, Key="target", UploadId=upload, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=name, Key="target")["Body"].read() == b"23456789"

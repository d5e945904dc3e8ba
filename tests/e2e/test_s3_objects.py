"""S3 objects through boto3: put/get/head, metadata, ETags, ranges, conditions, copy, deletes, keys."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from monban.services.s3.objects import INLINE_OBJECT
from tests.e2e.server import Server
from tests.e2e.test_s3_support import bucket, error_of, object_files, raw, root, s3_client, uid


def test_put_get_head_with_metadata(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    body = b"hello monban"
    put = s3.put_object(
        Bucket=name,
        Key="docs/hello.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"Owner": "alice"},
        CacheControl="max-age=60",
        ContentDisposition="inline",
    )
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    got = s3.get_object(Bucket=name, Key="docs/hello.txt")
    assert got["Body"].read() == body
    assert (got["ETag"], got["ContentType"], got["ContentLength"]) == (etag, "text/plain", len(body))
    assert got["Metadata"] == {"owner": "alice"}
    assert (got["CacheControl"], got["ContentDisposition"]) == ("max-age=60", "inline")
    head = s3.head_object(Bucket=name, Key="docs/hello.txt")
    assert head["ContentLength"] == len(body) and head["Metadata"] == {"owner": "alice"}
    s3.put_object(Bucket=name, Key="docs/hello.txt", Body=b"v2")
    assert s3.get_object(Bucket=name, Key="docs/hello.txt")["Body"].read() == b"v2"
    assert s3.get_object(Bucket=name, Key="docs/hello.txt")["ContentType"] == "binary/octet-stream"


def test_ranges(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="r", Body=b"0123456789")
    part = s3.get_object(Bucket=name, Key="r", Range="bytes=2-5")
    assert part["Body"].read() == b"2345" and part["ContentRange"] == "bytes 2-5/10"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=name, Key="r", Range="bytes=7-")["Body"].read() == b"789"
    assert s3.get_object(Bucket=name, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=name, Key="r", Range="bytes=8-100")["Body"].read() == b"89"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=name, Key="r", Range="bytes=10-12")
    assert error_of(caught)[:2] == ("InvalidRange", 416)


def test_conditional_reads(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    etag = s3.put_object(Bucket=name, Key="c", Body=b"conditional")["ETag"]
    assert s3.get_object(Bucket=name, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=name, Key="c", IfMatch='"0000"')
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=name, Key="c", IfNoneMatch=etag)
    assert error_of(caught)[1] == 304
    later = datetime.now(UTC) + timedelta(hours=1)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=name, Key="c", IfModifiedSince=later)
    assert error_of(caught)[1] == 304
    assert s3.head_object(Bucket=name, Key="c", IfModifiedSince=earlier)["ETag"] == etag
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=name, Key="c", IfUnmodifiedSince=earlier)
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=name, Key="c", IfUnmodifiedSince=later)["ETag"] == etag


def test_conditional_writes(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    etag = s3.put_object(Bucket=name, Key="w", Body=b"one", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="w", Body=b"two", IfNoneMatch="*")
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="w", Body=b"two", IfMatch='"0123"')
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    s3.put_object(Bucket=name, Key="w", Body=b"two", IfMatch=etag)
    assert s3.get_object(Bucket=name, Key="w")["Body"].read() == b"two"


def test_missing_objects_and_buckets(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=name, Key="nope")
    code, status, message = error_of(caught)
    assert (code, status, message) == ("NoSuchKey", 404, "The specified key does not exist.")
    assert caught.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=name, Key="nope")
    assert error_of(caught)[:2] == ("404", 404)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=uid("absent"), Key="k", Body=b"x")
    assert error_of(caught)[:2] == ("NoSuchBucket", 404)


@pytest.mark.parametrize(
    "key", ["../../../etc/escape", "a/../../b", "./x", "a//b", "..", "é/ü/ñ 空白 +%", "k?x=1&y"]
)
def test_odd_keys_stay_inside_the_data_dir(server: Server, key: str) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    marker = f"escape-marker-{uuid.uuid4().hex}".encode().ljust(INLINE_OBJECT + 1, b".")  # a file
    before = object_files(server)
    s3.put_object(Bucket=name, Key=key, Body=marker)
    assert s3.get_object(Bucket=name, Key=key)["Body"].read() == marker
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == [key]
    new = object_files(server) - before
    assert len(new) == 1 and all(p.read_bytes() == marker for p in new)
    outside = [
        p
        for p in server.data_dir.parent.parent.rglob("*")
        if p.is_file()
        and p.stat().st_size == len(marker)
        and p.read_bytes() == marker
        and not p.is_relative_to(server.data_dir / "objects")
    ]
    assert outside == []


def test_key_limits(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="k" * 1024, Body=b"ok")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="k" * 1025, Body=b"x")
    assert error_of(caught)[:2] == ("KeyTooLongError", 400)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="é" * 513, Body=b"x")  # 1026 bytes in UTF-8
    assert error_of(caught)[0] == "KeyTooLongError"
    with pytest.raises(ParamValidationError):
        s3.put_object(Bucket=name, Key="", Body=b"x")
    # an empty key addresses the bucket itself: never an object
    response = raw(server, "PUT", f"/{name}/", root(server), b"not an object")
    assert response.status in (200, 400, 409)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == ["k" * 1024]


def test_copy_object(server: Server) -> None:
    s3 = s3_client(server, root(server))
    source, target = bucket(server, root(server)), bucket(server, root(server))
    etag = s3.put_object(
        Bucket=source, Key="src", Body=b"copy me", ContentType="text/x", Metadata={"a": "1"}
    )["ETag"]
    copied = s3.copy_object(Bucket=target, Key="dst", CopySource={"Bucket": source, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == etag
    got = s3.get_object(Bucket=target, Key="dst")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"copy me", "text/x", {"a": "1"})
    s3.copy_object(
        Bucket=target,
        Key="dst",
        CopySource=f"{source}/src",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/y",
    )
    got = s3.head_object(Bucket=target, Key="dst")
    assert (got["ContentType"], got["Metadata"]) == ("text/y", {"b": "2"})
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=source, Key="src", CopySource=f"{source}/src")
    assert error_of(caught)[:2] == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=target, Key="x", CopySource=f"{source}/src", CopySourceIfMatch='"ffff"')
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=target, Key="x", CopySource=f"{source}/missing")
    assert error_of(caught)[0] == "NoSuchKey"


def test_delete_and_delete_objects(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    assert s3.delete_object(Bucket=name, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=name, Key="never")["ResponseMetadata"]["HTTPStatusCode"] == 204
    result = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "b"}, {"Key": "zzz"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["b", "zzz"]
    quiet = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_object_files_are_removed_with_their_objects(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    before = object_files(server)
    big = b"1" * (INLINE_OBJECT + 1)  # kept in a file; smaller ones in the object's row
    for body in (big, b"2", big + b"3", b"", big):
        s3.put_object(Bucket=name, Key="gone", Body=body)
        assert s3.get_object(Bucket=name, Key="gone")["Body"].read() == body
        assert len(object_files(server) - before) == (len(body) > INLINE_OBJECT)
    s3.delete_object(Bucket=name, Key="gone")
    deadline = time.monotonic() + 5
    while object_files(server) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert object_files(server) - before == set()

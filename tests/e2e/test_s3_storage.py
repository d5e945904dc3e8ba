"""Where object bytes live, seen through boto3: small PutObject bodies in the object's row, larger
ones in files, and every operation reads both kinds alike."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

from monban.services.s3.objects import INLINE_OBJECT
from tests.e2e.server import Server
from tests.e2e.test_s3_support import bucket, error_of, object_files, root, s3_client


def test_small_objects_keep_their_bytes_in_their_row(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    before = object_files(server)
    body = bytes(range(256)) * 16
    etag = s3.put_object(Bucket=name, Key="small", Body=body)["ETag"]
    assert etag == f'"{hashlib.md5(body).hexdigest()}"'
    assert object_files(server) - before == set()
    got = s3.get_object(Bucket=name, Key="small")
    assert (got["Body"].read(), got["ContentLength"], got["ETag"]) == (body, len(body), etag)
    assert s3.head_object(Bucket=name, Key="small")["ContentLength"] == len(body)
    ranged = s3.get_object(Bucket=name, Key="small", Range="bytes=10-19")
    assert ranged["Body"].read() == body[10:20] and ranged["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert s3.get_object(Bucket=name, Key="small", PartNumber=1)["Body"].read() == body
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="small", Body=b"x", IfNoneMatch="*")
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=name, Key="small")["Body"].read() == body


def test_the_largest_row_object_and_the_smallest_file_object(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    before = object_files(server)
    for size, files in ((INLINE_OBJECT, 0), (INLINE_OBJECT + 1, 1)):
        body = bytes(i % 251 for i in range(size))
        s3.put_object(Bucket=name, Key=f"k{size}", Body=body)
        assert len(object_files(server) - before) == files
        assert s3.get_object(Bucket=name, Key=f"k{size}")["Body"].read() == body
        tail = s3.get_object(Bucket=name, Key=f"k{size}", Range="bytes=-7")["Body"].read()
        assert tail == body[-7:]


def test_copies_read_row_objects(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    body = b"0123456789" * 100
    s3.put_object(Bucket=name, Key="src", Body=body)
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "src"})
    assert s3.get_object(Bucket=name, Key="copy")["Body"].read() == body
    upload_id = s3.create_multipart_upload(Bucket=name, Key="parts")["UploadId"]
    part = s3.upload_part_copy(
        Bucket=name,
        Key="parts",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": name, "Key": "src"},
        CopySourceRange="bytes=5-104",
    )
    etag = part["CopyPartResult"]["ETag"]
    assert etag == f'"{hashlib.md5(body[5:105]).hexdigest()}"'
    s3.complete_multipart_upload(
        Bucket=name,
        Key="parts",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket=name, Key="parts")["Body"].read() == body[5:105]


def test_overwrites_between_rows_and_files_leave_no_files(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    before = object_files(server)
    big = b"b" * (INLINE_OBJECT + 10)
    for body in (b"small", big, big[:-1], b"", b"again small", big):
        s3.put_object(Bucket=name, Key="flip", Body=body)
        assert s3.get_object(Bucket=name, Key="flip")["Body"].read() == body
        assert len(object_files(server) - before) == (len(body) > INLINE_OBJECT)
    s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "flip"}]})
    assert object_files(server) - before == set()
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=name, Key="flip")
    assert error_of(caught)[1] == 404

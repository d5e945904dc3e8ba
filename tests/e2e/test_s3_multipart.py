"""Multipart uploads through boto3's low-level calls: ETags, checksums, listings, errors, copy parts."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import bucket, error_of, root, s3_client

MIB = 1024 * 1024


def _etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def test_multipart_upload_etag_and_listings(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"]
    upload = s3.create_multipart_upload(Bucket=name, Key="mp", ContentType="video/x", Metadata={"k": "v"})
    upload_id = upload["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=name)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [("mp", upload_id)]
    etags = [
        s3.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=i + 1, Body=p)["ETag"]
        for i, p in enumerate(parts)
    ]
    assert etags == [f'"{hashlib.md5(p).hexdigest()}"' for p in parts]
    page = s3.list_parts(Bucket=name, Key="mp", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2] and page["IsTruncated"]
    rest = s3.list_parts(
        Bucket=name, Key="mp", UploadId=upload_id, PartNumberMarker=page["NextPartNumberMarker"]
    )
    assert [p["Size"] for p in rest["Parts"]] == [4]
    done = s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    assert done["ETag"] == _etag(parts)
    got = s3.get_object(Bucket=name, Key="mp")
    assert got["Body"].read() == b"".join(parts)
    assert (got["ETag"], got["ContentType"], got["Metadata"]) == (_etag(parts), "video/x", {"k": "v"})
    second = s3.head_object(Bucket=name, Key="mp", PartNumber=2)
    assert second["ContentLength"] == 5 * MIB and second["PartsCount"] == 3
    ranged = s3.get_object(Bucket=name, Key="mp", Range=f"bytes={5 * MIB - 2}-{5 * MIB + 1}")["Body"].read()
    assert ranged == parts[0][-2:] + parts[1][:2]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=name)


def test_multipart_errors(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    upload_id = s3.create_multipart_upload(Bucket=name, Key="e")["UploadId"]
    small = s3.upload_part(Bucket=name, Key="e", UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    last = s3.upload_part(Bucket=name, Key="e", UploadId=upload_id, PartNumber=2, Body=b"last")["ETag"]
    cases = [
        ([{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}], "EntityTooSmall"),
        ([{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}], "InvalidPartOrder"),
        ([{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}], "InvalidPart"),
        ([{"PartNumber": 3, "ETag": last}], "InvalidPart"),
    ]
    for listed, code in cases:
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket=name, Key="e", UploadId=upload_id, MultipartUpload={"Parts": listed}
            )
        assert error_of(caught)[:2] == (code, 400)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=name, Key="e", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert error_of(caught)[0] == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=name, Key="e", UploadId=upload_id)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=name, Key="e", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert error_of(caught)[:2] == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=name, Key="e", UploadId=upload_id)
    assert error_of(caught)[0] == "NoSuchUpload"
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_single_part_upload_and_part_replacement(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    upload_id = s3.create_multipart_upload(Bucket=name, Key="one")["UploadId"]
    s3.upload_part(Bucket=name, Key="one", UploadId=upload_id, PartNumber=1, Body=b"first try")
    etag = s3.upload_part(Bucket=name, Key="one", UploadId=upload_id, PartNumber=1, Body=b"second")["ETag"]
    s3.complete_multipart_upload(
        Bucket=name,
        Key="one",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket=name, Key="one")["Body"].read() == b"second"


def test_upload_part_copy(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=name, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=name, Key="dst")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=name,
        Key="dst",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": name, "Key": "src"},
        CopySourceRange=f"bytes=0-{5 * MIB - 1}",
    )
    second = s3.upload_part_copy(
        Bucket=name,
        Key="dst",
        UploadId=upload_id,
        PartNumber=2,
        CopySource=f"{name}/src",
        CopySourceRange=f"bytes={5 * MIB}-{6 * MIB - 1}",
    )
    etags = [first["CopyPartResult"]["ETag"], second["CopyPartResult"]["ETag"]]
    s3.complete_multipart_upload(
        Bucket=name,
        Key="dst",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    assert s3.get_object(Bucket=name, Key="dst")["Body"].read() == source


def test_composite_crc32_checksum(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    parts = [os.urandom(5 * MIB), b"end"]
    upload = s3.create_multipart_upload(Bucket=name, Key="sum", ChecksumAlgorithm="CRC32")
    assert upload["ChecksumAlgorithm"] == "CRC32"
    listed = []
    for number, body in enumerate(parts, 1):
        answer = s3.upload_part(
            Bucket=name,
            Key="sum",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="CRC32",
        )
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        assert answer["ChecksumCRC32"] == crc
        listed.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": crc})
    done = s3.complete_multipart_upload(
        Bucket=name, Key="sum", UploadId=upload["UploadId"], MultipartUpload={"Parts": listed}
    )
    raw_crcs = b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in listed)
    expected = base64.b64encode(zlib.crc32(raw_crcs).to_bytes(4, "big")).decode() + "-2"
    assert done["ChecksumCRC32"] == expected
    got = s3.get_object(Bucket=name, Key="sum", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == expected and got["Body"].read() == b"".join(parts)

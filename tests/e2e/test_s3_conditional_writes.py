"""Conditional writes (If-None-Match: *, If-Match) on PutObject and CompleteMultipartUpload through
boto3 and the aws CLI, concurrent conditional writers (one wins, on SQLite and on PostgreSQL with
``--backend postgres``), a delete during a conditional write (409), and the object checksum a
CompleteMultipartUpload carries (FULL_OBJECT CRCs, as boto3's multipart upload sends them)."""

from __future__ import annotations

import base64
import io
import socket
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import aws_cli, bucket, error_of, root, s3_client, signed_headers

MIB = 1024 * 1024
THREADS = 6
DEADLINE = 30.0  # seconds a thread may wait for the others at the barrier


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_if_none_match_and_if_match_on_put_object(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    first = s3.put_object(Bucket=name, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="k", Body=b"two", IfNoneMatch="*")
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    second = s3.put_object(Bucket=name, Key="k", Body=b"two", IfMatch=first)["ETag"]
    with pytest.raises(ClientError) as caught:  # stale: the ETag of the object written over
        s3.put_object(Bucket=name, Key="k", Body=b"three", IfMatch=first)
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="absent", Body=b"x", IfMatch=first)
    assert error_of(caught)[:2] == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:  # If-None-Match takes "*" only on a write
        s3.put_object(Bucket=name, Key="k", Body=b"four", IfNoneMatch=second)
    assert error_of(caught)[:2] == ("NotImplemented", 501)
    got = s3.get_object(Bucket=name, Key="k")
    assert (got["Body"].read(), got["ETag"]) == (b"two", second)
    args = ("s3api", "put-object", "--bucket", name, "--key", "k", "--if-none-match", "*")
    with pytest.raises(AssertionError, match=r"\(PreconditionFailed\)"):
        aws_cli(server, root(server), *args)


def _multipart(s3: Any, name: str, key: str, body: bytes, **complete: Any) -> dict[str, Any]:
    upload = s3.create_multipart_upload(Bucket=name, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=name, Key=key, UploadId=upload, PartNumber=1, Body=body)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    try:
        answer: dict[str, Any] = s3.complete_multipart_upload(
            Bucket=name, Key=key, UploadId=upload, MultipartUpload=parts, **complete
        )
    except ClientError:
        s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload)
        raise
    return answer


def test_conditions_on_complete_multipart_upload(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    first = _multipart(s3, name, "m", b"first", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as caught:
        _multipart(s3, name, "m", b"second", IfNoneMatch="*")
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    second = _multipart(s3, name, "m", b"second", IfMatch=first)["ETag"]
    with pytest.raises(ClientError) as caught:
        _multipart(s3, name, "m", b"third", IfMatch=first)
    assert error_of(caught)[:2] == ("PreconditionFailed", 412)
    got = s3.get_object(Bucket=name, Key="m")
    assert (got["Body"].read(), got["ETag"]) == (b"second", second)


def _race(server: Server, write: Any) -> list[str]:
    """Run ``write(client, worker)`` in THREADS threads at once; each one's outcome."""
    start = threading.Barrier(THREADS)

    def one(worker: int) -> str:
        s3 = s3_client(server, root(server))
        start.wait(DEADLINE)
        try:
            write(s3, worker)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "won"

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def test_concurrent_conditional_writes_let_exactly_one_in(server: Server) -> None:
    """The check and the write are one transaction (the bucket row locked): of writers racing on
    one ETag, or on a key none has yet, exactly one commits; the others fail with 412."""
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    etag = s3.put_object(Bucket=name, Key="cas", Body=b"base")["ETag"]
    races = {
        "cas": lambda c, w: c.put_object(Bucket=name, Key="cas", Body=f"{w}".encode(), IfMatch=etag),
        "new": lambda c, w: c.put_object(Bucket=name, Key="new", Body=f"{w}".encode(), IfNoneMatch="*"),
        "mpu": lambda c, w: _multipart(c, name, "mpu", f"{w}".encode(), IfNoneMatch="*"),
    }
    for key, write in races.items():
        outcomes = _race(server, write)
        assert sorted(outcomes) == ["PreconditionFailed"] * (THREADS - 1) + ["won"], (key, outcomes)
        winner = outcomes.index("won")
        assert s3.get_object(Bucket=name, Key=key)["Body"].read() == f"{winner}".encode()


def test_a_delete_during_a_conditional_write_is_a_conflict(server: Server) -> None:
    """S3 answers 409 ConditionalRequestConflict when a delete succeeds before a conditional write
    completes. The body is held back (Expect: 100-continue) until the delete is done."""
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    etag = s3.put_object(Bucket=name, Key="k", Body=b"base")["ETag"]
    body = b"new bytes"
    path = f"/{name}/k"
    headers = {"If-Match": etag, "Content-Length": str(len(body)), "Expect": "100-continue"}
    headers = signed_headers(
        server, "PUT", path, root(server), headers=headers, payload_hash="UNSIGNED-PAYLOAD"
    )
    parts = urlsplit(server.endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as conn:
        head = f"PUT {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host")
        conn.sendall((head + "\r\n").encode())
        reader = conn.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 100")  # the handler has begun reading
        assert reader.readline() == b"\r\n"
        s3.delete_object(Bucket=name, Key="k")
        conn.sendall(body)
        status = reader.readline()
        answer = reader.read1(65536)
    assert status.split()[1] == b"409"
    assert b"<Code>ConditionalRequestConflict</Code>" in answer
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=name, Key="k")
    assert error_of(caught)[1] == 404


def test_full_object_crc32_through_boto3_multipart(server: Server) -> None:
    """boto3's managed upload with a full-object checksum: FULL_OBJECT CRC32 parts, and the whole
    object's CRC32 on CompleteMultipartUpload, which monban checks (a wrong one is BadDigest)."""
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    data = bytes(range(256)) * (11 * MIB // 256) + b"tail"
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(io.BytesIO(data), name, "big", ExtraArgs={"ChecksumCRC32": crc32(data)}, Config=config)
    got = s3.get_object(Bucket=name, Key="big", ChecksumMode="ENABLED")
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (crc32(data), "FULL_OBJECT")
    assert got["Body"].read() == data and got["ETag"].endswith('-3"')
    with pytest.raises(Exception, match="BadDigest"):
        s3.upload_fileobj(
            io.BytesIO(data), name, "bad", ExtraArgs={"ChecksumCRC32": crc32(b"x")}, Config=config
        )
    assert "Contents" not in s3.list_objects_v2(Bucket=name, Prefix="bad")
    with pytest.raises(ClientError) as caught:
        _multipart(s3, name, "sized", b"12345", MpuObjectSize=4)
    assert error_of(caught)[:2] == ("InvalidRequest", 400)
    assert _multipart(s3, name, "sized", b"12345", MpuObjectSize=5)["Key"] == "sized"


# The check values of the CRC catalogue (the checksum of b"123456789"): CRC-32C and CRC-64/NVME.
CHECK = {"CRC32C": 0xE3069283.to_bytes(4, "big"), "CRC64NVME": 0xAE8B14860A799888.to_bytes(8, "big")}


@pytest.mark.parametrize("algorithm", sorted(CHECK))
def test_full_object_crc32c_and_crc64nvme_on_complete(server: Server, algorithm: str) -> None:
    s3 = s3_client(server, root(server), request_checksum_calculation="when_required")
    name = bucket(server, root(server))
    value = base64.b64encode(CHECK[algorithm]).decode()
    wrong = base64.b64encode(bytes(len(CHECK[algorithm]))).decode()
    attempts = (
        (wrong, "FULL_OBJECT", ("BadDigest", 400)),
        (value, "COMPOSITE", ("BadDigest", 400)),  # the upload's type is FULL_OBJECT
        (value, "FULL_OBJECT", None),
    )
    for sent, kind, outcome in attempts:
        upload = s3.create_multipart_upload(
            Bucket=name, Key="k", ChecksumAlgorithm=algorithm, ChecksumType="FULL_OBJECT"
        )["UploadId"]
        etag = s3.upload_part(Bucket=name, Key="k", UploadId=upload, PartNumber=1, Body=b"123456789")["ETag"]
        complete = {
            "Bucket": name,
            "Key": "k",
            "UploadId": upload,
            "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": etag}]},
            "ChecksumType": kind,
            f"Checksum{algorithm}": sent,
        }
        if outcome is None:
            assert s3.complete_multipart_upload(**complete)[f"Checksum{algorithm}"] == value
            continue
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(**complete)
        assert error_of(caught)[:2] == outcome
        s3.abort_multipart_upload(Bucket=name, Key="k", UploadId=upload)
    got = s3.head_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == value

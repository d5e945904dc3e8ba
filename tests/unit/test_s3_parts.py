"""Pure parts of the S3 service: names, checksums, ranges and conditions, SigV4 error mapping,
bucket policy validation and publicness, the blob store, and the bootstrap of buckets."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.services.s3 import checksums
from monban.services.s3.conditions import byte_range, check_read, etag_matches
from monban.services.s3.errors import from_sigv4, iso_ms
from monban.services.s3.names import bucket_name_ok, check_key
from monban.services.s3.policy import is_public, validate
from monban.services.s3.repo import prefix_end
from monban.services.s3.storage import BlobStore, Segment


@pytest.mark.parametrize("name", ["abc", "my-bucket.example", "a1-b2", "x" * 63])
def test_valid_bucket_names(name: str) -> None:
    assert bucket_name_ok(name)


@pytest.mark.parametrize(
    "name",
    ["ab", "x" * 64, "Caps", "a..b", "a.-b", "-ab", "ab-", "10.0.0.1", "xn--abc", "name-s3alias", "a_b"],
)
def test_invalid_bucket_names(name: str) -> None:
    assert not bucket_name_ok(name)


def test_key_length_counts_utf8_bytes() -> None:
    check_key("k" * 1024)
    with pytest.raises(AwsError) as caught:
        check_key("€" * 342)  # 1026 bytes
    assert caught.value.code == "KeyTooLongError" and caught.value.extra["Size"] == "1026"


@pytest.mark.parametrize(
    ("algorithm", "hex_digest"),
    [("CRC32", "cbf43926"), ("CRC32C", "e3069283"), ("CRC64NVME", "ae8b14860a799888")],
)
def test_checksum_check_values(algorithm: str, hex_digest: str) -> None:
    assert base64.b64decode(checksums.compute(algorithm, b"123456789")).hex() == hex_digest


def test_checksum_in_pieces_and_composite() -> None:
    hasher = checksums.new("CRC32C")
    for piece in (b"1234", b"", b"56789"):
        hasher.update(piece)
    assert hasher.digest().hex() == "e3069283"
    parts = [checksums.compute("CRC32", b"a"), checksums.compute("CRC32", b"b")]
    raw = b"".join(base64.b64decode(p) for p in parts)
    assert (
        checksums.composite("CRC32", parts)
        == base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", (0, 0)),
        ("bytes=5-", (5, 9)),
        ("bytes=-4", (6, 9)),
        ("bytes=-40", (0, 9)),
        ("bytes=3-1", None),
        ("bytes=0-1,3-4", None),
        ("items=0-1", None),
    ],
)
def test_byte_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 10) == expected


def test_unsatisfiable_range() -> None:
    with pytest.raises(AwsError) as caught:
        byte_range("bytes=10-", 10)
    assert caught.value.code == "InvalidRange" and caught.value.status == 416


def test_conditions() -> None:
    etag = '"abc"'
    modified = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert etag_matches("*", etag) and etag_matches('"x", "abc"', etag) and etag_matches("abc", etag)
    assert not etag_matches('"abd"', etag)
    check_read({"if-match": etag, "if-unmodified-since": "Mon, 01 Jan 2001 00:00:00 GMT"}, etag, modified)
    with pytest.raises(AwsError) as caught:
        check_read({"if-none-match": etag}, etag, modified)
    assert caught.value.status == 304
    with pytest.raises(AwsError) as caught:
        check_read({"x-amz-copy-source-if-none-match": etag}, etag, modified, prefix="x-amz-copy-source-")
    assert caught.value.status == 412
    later = (modified + timedelta(seconds=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    with pytest.raises(AwsError):
        check_read({"if-modified-since": later}, etag, modified)
    check_read({"if-modified-since": "not a date"}, etag, modified)


def test_sigv4_errors_in_s3_words() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    skew = sigv4.SigV4Error("expired_skew", "SignatureDoesNotMatch", "old", request_time=now, server_time=now)
    assert from_sigv4(skew, None, presigned=False, region="us-east-1").code == "RequestTimeTooSkewed"
    expired = sigv4.SigV4Error(
        "presigned_expired", "AccessDenied", "x", request_time=now, server_time=now, expires=5
    )
    error = from_sigv4(expired, None, presigned=True, region="us-east-1")
    assert (error.code, error.message, error.extra["X-Amz-Expires"]) == (
        "AccessDenied",
        "Request has expired",
        "5",
    )
    mismatch = sigv4.SigV4Error("signature_mismatch", "SignatureDoesNotMatch", "x", string_to_sign="AB")
    assert (
        from_sigv4(mismatch, None, presigned=False, region="us-east-1").extra["StringToSignBytes"] == "41 42"
    )
    sha = sigv4.SigV4Error("payload_hash_mismatch", "XAmzContentSHA256Mismatch", "m", client_sha256="c")
    assert from_sigv4(sha, None, presigned=False, region="us-east-1").code == "XAmzContentSHA256Mismatch"


def test_policy_validation_and_publicness() -> None:
    def doc(statement: str) -> str:
        return '{"Version":"2012-10-17","Statement":[' + statement + "]}"

    public = doc('{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}')
    validate(public, "b1")
    assert is_public(public)
    limited = doc(
        '{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*",'
        '"Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}'
    )
    assert not is_public(limited)
    with pytest.raises(AwsError) as caught:
        validate(public, "other")
    assert (caught.value.code, caught.value.message) == ("MalformedPolicy", "Policy has invalid resource")
    with pytest.raises(AwsError) as caught:
        validate("not json", "b1")
    assert caught.value.code == "MalformedPolicy"


def test_prefix_end() -> None:
    assert prefix_end("abc") == "abd"
    assert prefix_end("a/") == "a0"
    assert prefix_end("\U0010ffff") is None
    assert prefix_end("a\U0010ffff") == "b"


def test_blob_store(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    first, second = store.create(), store.create()
    first.write(b"hello ")
    second.write(b"world")
    segments = (first.commit(), second.commit())
    assert store.open_range(segments, 3, 8).read_all() == b"lo wor"
    assert b"".join(store.open_range(segments, 0, 10).chunks(2)) == b"hello world"
    discarded = store.create()
    discarded.write(b"x")
    discarded.discard()
    assert list(store.tmp.iterdir()) == []
    store.delete([s.blob_id for s in segments])
    assert [p for p in store.root.rglob("*") if p.is_file()] == []
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    assert Segment("a", 1).size == 1


def test_iso_ms() -> None:
    assert iso_ms(datetime(2026, 1, 2, 3, 4, 5, 678000)) == "2026-01-02T03:04:05.678Z"


def test_bootstrap_buckets_are_idempotent(tmp_path: Path) -> None:
    from monban.services.s3.bootstrap import BootstrapError, apply_buckets
    from monban.services.s3.repo import find_bucket, find_object
    from monban.store.accounts import ensure_account
    from monban.store.db import Database, sqlite_url

    db = Database(sqlite_url(tmp_path))
    db.migrate()
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::boot-bucket/*"}]}'
    )
    entry = {
        "BucketName": "boot-bucket",
        "PolicyDocument": policy,
        "Objects": [{"Key": "a/b.txt", "Body": "hi"}],
    }
    for _ in range(2):
        with db.transaction() as session:
            ensure_account(session, "123456789012")
            apply_buckets(session, "123456789012", [entry], tmp_path)
    with db.transaction() as session:
        row = find_bucket(session, "boot-bucket")
        found = find_object(session, "boot-bucket", "a/b.txt")
    assert row is not None and row.account_id == "123456789012" and row.policy == policy
    assert found is not None and found.etag == f'"{hashlib.md5(b"hi").hexdigest()}"'
    assert found.segments[0].data == b"hi"  # in its row, which every node reads
    assert not [p for p in tmp_path.rglob("objects/**/*") if p.is_file()]
    with db.transaction() as session:
        ensure_account(session, "123456789010")
        with pytest.raises(BootstrapError):
            apply_buckets(session, "123456789010", [{"BucketName": "boot-bucket"}], tmp_path)
    db.dispose()


def test_sweep_removes_only_temporaries_no_writer_holds(tmp_path: Path) -> None:
    """A closed temporary (as a killed writer's: the kernel drops its lock) goes; a live one stays,
    however old."""
    import os

    from monban.services.s3.storage import sweep_temporaries

    store = BlobStore(tmp_path)
    stale, fresh = store.create(), store.create()
    stale.handle.close()
    os.utime(fresh.temp, (0, 0))
    assert sweep_temporaries(tmp_path) == 1
    assert not stale.temp.exists() and fresh.temp.exists()
    fresh.discard()

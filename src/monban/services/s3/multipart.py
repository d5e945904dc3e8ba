"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts.

Amazon S3 API Reference and User Guide, "Uploading and copying objects using multipart upload":
part numbers 1–10,000; parts up to 5 GiB, every part but the last at least 5 MiB (EntityTooSmall
at completion); the completed object's ETag is the MD5 of the parts' binary MD5s followed by
``-<part count>``; a COMPOSITE checksum is the checksum of the parts' checksums, ``-<count>``; a
FULL_OBJECT one (CRC algorithms) covers the whole object. A completed object is made of its parts'
blobs — nothing is copied.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime

import anyio.to_thread

from monban.protocol.errors import AwsError
from monban.services.s3 import checksums, repo
from monban.services.s3.body import MAX_OBJECT, Received
from monban.services.s3.call import S3Call
from monban.services.s3.copy import Source, copy_bytes, resolve_source, source_range
from monban.services.s3.errors import integer_argument, invalid_argument, iso_ms, no_such_upload
from monban.services.s3.metadata import upload_meta
from monban.services.s3.objects import authorized_bucket, authorized_write, now
from monban.services.s3.ownership import check_object_acl
from monban.services.s3.registry import S3Result, empty, operation, xml_response
from monban.services.s3.storage import Segment
from monban.services.s3.tags import dump, parse_header
from monban.services.s3.upload import receive
from monban.store.s3_models import MultipartUpload, UploadPart

MAX_PARTS = 10000
MIN_PART = 5 * 1024 * 1024
CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")


def _checksum_choice(call: S3Call) -> tuple[str | None, str | None]:
    algorithm = call.header("x-amz-checksum-algorithm")
    kind = call.header("x-amz-checksum-type")
    if algorithm is None:
        if kind is not None:
            raise AwsError(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )
        return None, None
    algorithm = algorithm.upper()
    if algorithm not in checksums.ALGORITHMS:
        raise invalid_argument(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
            "x-amz-checksum-algorithm",
            algorithm,
        )
    kind = (kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")).upper()
    if (
        kind not in ("COMPOSITE", "FULL_OBJECT")
        or (kind == "FULL_OBJECT" and algorithm not in CRC_ALGORITHMS)
        or (kind == "COMPOSITE" and algorithm == "CRC64NVME")
    ):
        raise AwsError(
            "InvalidRequest",
            f"The {kind} checksum type cannot be used with the {algorithm.lower()} checksum algorithm.",
        )
    return algorithm, kind


def _create(call: S3Call) -> MultipartUpload:
    """The upload, with the metadata and tags (``x-amz-tagging``, authorized here and applied at
    completion) of its object."""
    tags = parse_header(call.header("x-amz-tagging"))
    check_object_acl(call, authorized_write(call, "CreateMultipartUpload", tags))
    meta = upload_meta(call)
    algorithm, kind = _checksum_choice(call)
    row = MultipartUpload(
        upload_id=secrets.token_urlsafe(48),
        bucket=call.bucket,
        key=call.key,
        initiated=datetime.now(UTC).replace(microsecond=0),
        initiator_arn=call.caller.arn,
        initiator_id=call.caller.principal.unique_id,
        content_type=meta.content_type,
        headers=json.dumps(meta.headers),
        user_metadata=json.dumps(meta.user_metadata),
        checksum_algorithm=algorithm,
        checksum_type=kind,
        storage_class=meta.storage_class,
        tags=dump(tags),
    )
    with call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        session.add(row)
    return row


@operation("CreateMultipartUpload")
async def create_multipart_upload(call: S3Call) -> S3Result:
    row = await call.state.run_blocking(_create, call)
    headers = {"x-amz-server-side-encryption": "AES256"}
    if row.checksum_algorithm:
        headers["x-amz-checksum-algorithm"] = row.checksum_algorithm
        headers["x-amz-checksum-type"] = row.checksum_type or "COMPOSITE"
    content = {"Bucket": call.bucket, "Key": call.key, "UploadId": row.upload_id}
    return xml_response("InitiateMultipartUploadResult", content, headers=headers)


def _part_number(call: S3Call) -> int:
    text = call.query.get("partNumber", "")
    return integer_argument(
        text, "partNumber", 1, MAX_PARTS, "Part number must be an integer between 1 and 10000, inclusive"
    )


def _open_upload(call: S3Call, operation_name: str) -> MultipartUpload:
    authorized_bucket(call, operation_name)
    upload_id = call.query.get("uploadId", "")
    with call.state.db.transaction() as session:
        row = repo.find_upload(session, call.bucket, call.key, upload_id)
    if row is None:
        raise no_such_upload(upload_id)
    return row


def _save_part(call: S3Call, number: int, segment: Segment, md5: bytes, checksum: str | None) -> UploadPart:
    """Record a part under the bucket lock (NoSuchUpload if it was completed or aborted meanwhile)."""
    upload_id = call.query.get("uploadId", "")
    part = UploadPart(
        upload_id=upload_id,
        part_number=number,
        blob_id=segment.blob_id,
        size=segment.size,
        etag=f'"{md5.hex()}"',
        last_modified=now(),
        checksum_value=checksum,
    )
    with call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        if repo.find_upload(session, call.bucket, call.key, upload_id) is None:
            raise no_such_upload(upload_id)
        old = session.get(UploadPart, (upload_id, number))
        replaced = [old.blob_id] if old is not None else []
        if old is not None:
            session.delete(old)
            session.flush()
        session.add(part)
    call.blobs.delete(replaced)
    return part


@operation("UploadPart")
async def upload_part(call: S3Call) -> S3Result:
    number = _part_number(call)
    upload = await call.state.run_blocking(_open_upload, call, "UploadPart")

    def then(segment: Segment, received: Received) -> tuple[UploadPart, Received]:
        value = received.checksum.value if received.checksum else None
        return _save_part(call, number, segment, received.md5, value), received

    part, received = await receive(call, then, MAX_OBJECT, default_checksum=upload.checksum_algorithm)
    headers = {"ETag": part.etag, "x-amz-server-side-encryption": "AES256"}
    if received.checksum is not None:
        headers[f"x-amz-checksum-{received.checksum.algorithm.lower()}"] = received.checksum.value
    return empty(200, headers)


def _copy_part(call: S3Call, number: int) -> tuple[UploadPart, Source]:
    upload = _open_upload(call, "UploadPartCopy")
    source = resolve_source(call)
    first, last = source_range(call, source.info)
    if last - first + 1 > MAX_OBJECT:
        raise invalid_argument(
            "The specified copy range is too large", "x-amz-copy-source-range", f"{first}-{last}"
        )
    segment, md5 = copy_bytes(call, source.info, first, last)
    checksum = None
    if upload.checksum_algorithm:
        hasher = checksums.new(upload.checksum_algorithm)
        for chunk in call.blobs.open_range((segment,), 0, segment.size - 1).chunks() if segment.size else ():
            hasher.update(chunk)
        checksum = checksums.encode(hasher.digest())
    try:
        return _save_part(call, number, segment, md5, checksum), source
    except BaseException:
        call.blobs.delete([segment.blob_id])
        raise


@operation("UploadPartCopy")
async def upload_part_copy(call: S3Call) -> S3Result:
    number = _part_number(call)
    # up to 5 GiB of bytes: the general thread pool, not the few database threads of run_blocking
    part, source = await anyio.to_thread.run_sync(_copy_part, call, number)
    headers = {"x-amz-copy-source-version-id": source.version_id} if source.version_id else None
    content = {"ETag": part.etag, "LastModified": iso_ms(part.last_modified)}
    return xml_response("CopyPartResult", content, headers=headers)


def _abort(call: S3Call) -> None:
    upload = _open_upload(call, "AbortMultipartUpload")
    with call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        blobs = repo.drop_upload(session, upload.upload_id)
    call.blobs.delete(blobs)


@operation("AbortMultipartUpload")
async def abort_multipart_upload(call: S3Call) -> S3Result:
    await call.state.run_blocking(_abort, call)
    return empty(204)


def multipart_etag(md5s: list[bytes]) -> str:
    """S3's multipart ETag: MD5 of the concatenated part MD5s, then ``-<number of parts>``."""
    return f'"{hashlib.md5(b"".join(md5s)).hexdigest()}-{len(md5s)}"'


def full_checksum(call: S3Call, algorithm: str, segments: tuple[Segment, ...]) -> str:
    hasher = checksums.new(algorithm)
    total = sum(s.size for s in segments)
    if total:
        for chunk in call.blobs.open_range(segments, 0, total - 1).chunks():
            hasher.update(chunk)
    return checksums.encode(hasher.digest())

"""CompleteMultipartUpload (Amazon S3 API Reference).

The listed parts must be in ascending order (InvalidPartOrder), exist with the given ETag (and
checksum, when sent) (InvalidPart), and all but the last be at least 5 MiB (EntityTooSmall). The
object is committed in one transaction with the upload's removal; parts not listed are deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from monban.protocol.errors import AwsError
from monban.protocol.numbers import NotAnInteger, parse_integer
from monban.services.s3 import checksums, repo, xmlio
from monban.services.s3.access import NULL_VERSION
from monban.services.s3.body import read_document
from monban.services.s3.call import S3Call
from monban.services.s3.conditions import etag_matches
from monban.services.s3.errors import malformed_xml, no_such_upload
from monban.services.s3.multipart import MIN_PART, full_checksum, multipart_etag
from monban.services.s3.objects import authorized_bucket, check_write_conditions, now, write_conditional
from monban.services.s3.registry import S3Result, operation, xml_response
from monban.services.s3.repo import ObjectInfo, Written
from monban.services.s3.storage import Segment
from monban.services.s3.tags import load
from monban.store.s3_models import MultipartUpload, UploadPart


@dataclass(frozen=True, slots=True)
class Listed:
    number: int
    etag: str
    checksum: str | None


def _listed(body: bytes) -> list[Listed]:
    root = xmlio.parse(body, "CompleteMultipartUpload")
    out = []
    for part in xmlio.children(root, "Part"):
        number, etag = xmlio.child_text(part, "PartNumber"), xmlio.child_text(part, "ETag")
        if number is None or etag is None:
            raise malformed_xml()
        try:
            part_number = parse_integer(number.strip())
        except NotAnInteger:
            raise malformed_xml() from None
        checksum = next(
            (
                xmlio.child_text(part, f"Checksum{a}")
                for a in checksums.ALGORITHMS
                if xmlio.children(part, f"Checksum{a}")
            ),
            None,
        )
        out.append(Listed(part_number, etag.strip(), checksum))
    if not out:
        raise malformed_xml()
    return out


def _invalid_part(upload_id: str, listed: Listed) -> AwsError:
    return AwsError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the "
        "specified entity tag may not match the part's entity tag.",
        extra={"UploadId": upload_id, "PartNumber": str(listed.number), "ETag": listed.etag},
    )


def _chosen(upload: MultipartUpload, stored: Sequence[UploadPart], listed: list[Listed]) -> list[UploadPart]:
    by_number = {p.part_number: p for p in stored}
    chosen: list[UploadPart] = []
    for index, item in enumerate(listed):
        if index and item.number <= listed[index - 1].number:
            raise AwsError(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
                extra={"UploadId": upload.upload_id},
            )
        part = by_number.get(item.number)
        if part is None or not etag_matches(item.etag, part.etag):
            raise _invalid_part(upload.upload_id, item)
        if (
            item.checksum is not None
            and part.checksum_value is not None
            and item.checksum != part.checksum_value
        ):
            raise _invalid_part(upload.upload_id, item)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART:
            raise AwsError(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                extra={
                    "ProposedSize": str(part.size),
                    "MinSizeAllowed": str(MIN_PART),
                    "PartNumber": str(part.part_number),
                    "ETag": part.etag.strip('"'),
                },
            )
    return chosen


def _checksum(
    call: S3Call, upload: MultipartUpload, parts: list[UploadPart]
) -> tuple[str | None, str | None]:
    algorithm = upload.checksum_algorithm
    if algorithm is None:
        return None, None
    if upload.checksum_type == "FULL_OBJECT":
        segments = tuple(Segment(p.blob_id, p.size) for p in parts)
        return full_checksum(call, algorithm, segments), "FULL_OBJECT"
    values = [p.checksum_value for p in parts]
    if any(v is None for v in values):
        raise AwsError(
            "InvalidRequest",
            f"The upload was created using a {algorithm.lower()} checksum. The complete "
            "request must include the checksum for each part. It was missing for part 1 in the request.",
        )
    return checksums.composite(algorithm, [v for v in values if v is not None]), "COMPOSITE"


def _object(call: S3Call, upload: MultipartUpload, parts: list[UploadPart]) -> ObjectInfo:
    value, kind = _checksum(call, upload, parts)
    md5s = [bytes.fromhex(p.etag.strip('"')) for p in parts]
    return ObjectInfo(
        call.bucket,
        call.key,
        tuple(Segment(p.blob_id, p.size) for p in parts),
        sum(p.size for p in parts),
        multipart_etag(md5s),
        now(),
        upload.content_type,
        dict(json.loads(upload.headers)),
        [(str(k), str(v)) for k, v in json.loads(upload.user_metadata)],
        upload.checksum_algorithm if value else None,
        value,
        kind,
        len(parts),
        upload.storage_class,
        tags=load(upload.tags),
    )


def _check_claimed(call: S3Call, info: ObjectInfo) -> None:
    """CompleteMultipartUpload's ``x-amz-checksum-type`` must be the upload's, and its
    ``x-amz-checksum-<algorithm>`` the object's checksum: FULL_OBJECT, the whole object's;
    COMPOSITE, the checksum of the parts' checksums (with or without ``-<count>``). Amazon S3 API
    Reference, CompleteMultipartUpload; BadDigest when they differ. ``x-amz-mp-object-size``, when
    sent, must be the object's size (InvalidRequest)."""
    size = call.header("x-amz-mp-object-size")
    if size is not None and size.strip() != str(info.size):
        raise AwsError(
            "InvalidRequest",
            f"The provided 'x-amz-mp-object-size' header value {size.strip()} does not match what was "
            f"computed: {info.size}",
        )
    kind = call.header("x-amz-checksum-type")
    if kind is not None and kind.strip().upper() != (info.checksum_type or ""):
        raise AwsError(
            "BadDigest", f"The {kind.strip()} checksum type you specified did not match the upload's."
        )
    sent = [
        (checksums.HEADERS[n], v.strip())
        for n, v in call.headers_with_prefix("x-amz-checksum-")
        if n in checksums.HEADERS
    ]
    if not sent:
        return
    if len(sent) > 1:
        raise AwsError(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    algorithm, value = sent[0]
    if algorithm != info.checksum_algorithm or info.checksum_value is None:
        expected = (info.checksum_algorithm or "null").lower()
        raise AwsError(
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {expected}, "
            f"actual checksum Type: {algorithm.lower()}",
        )
    if value not in (info.checksum_value, info.checksum_value.split("-")[0]):
        raise AwsError("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


def _complete(call: S3Call, listed: list[Listed]) -> tuple[ObjectInfo, Written]:
    authorized_bucket(call, "CompleteMultipartUpload")
    upload_id = call.query.get("uploadId", "")
    with call.state.db.transaction() as session:
        upload = repo.find_upload(session, call.bucket, call.key, upload_id)
        if upload is None:
            raise no_such_upload(upload_id)
        parts = _chosen(upload, repo.upload_parts(session, upload_id), listed)
        found = repo.find_object(session, call.bucket, call.key) if write_conditional(call) else None
        existed = found is not None and not found.delete_marker
    info = _object(call, upload, parts)  # may read every byte (FULL_OBJECT): outside the lock
    _check_claimed(call, info)
    with call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        if repo.find_upload(session, call.bucket, call.key, upload_id) is None:
            raise no_such_upload(upload_id)
        current = {p.part_number: p.blob_id for p in repo.upload_parts(session, upload_id)}
        if any(current.get(p.part_number) != p.blob_id for p in parts):
            raise AwsError(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress "
                "against this resource. Please try again.",
            )
        check_write_conditions(call, repo.find_object(session, call.bucket, call.key), call.key, existed)
        written = repo.store_object(session, info)
        used = {p.blob_id for p in parts}
        unused = [b for b in repo.drop_upload(session, upload_id) if b not in used]
    call.blobs.delete([*written.unused, *unused])
    return info, written


@operation("CompleteMultipartUpload")
async def complete_multipart_upload(call: S3Call) -> S3Result:
    body = await read_document(call, 4 * 1024 * 1024, checksum_headers=False)  # they are the object's
    info, written = await call.state.run_blocking(_complete, call, _listed(body))
    host = call.info.host or "localhost"
    content: dict[str, object] = {
        "Location": f"http://{host}/{call.bucket}/{call.key}",
        "Bucket": call.bucket,
        "Key": call.key,
        "ETag": info.etag,
    }
    headers = {"x-amz-server-side-encryption": "AES256"}
    if written.version_id is not None and written.version_id != NULL_VERSION:
        headers["x-amz-version-id"] = written.version_id
    if info.checksum_algorithm and info.checksum_value:
        content[f"Checksum{info.checksum_algorithm}"] = info.checksum_value
        content["ChecksumType"] = info.checksum_type
    return xml_response("CompleteMultipartUploadResult", content, headers=headers)

"""ListParts and ListMultipartUploads (Amazon S3 API Reference).

ListParts pages by part number (``part-number-marker``, ``max-parts`` ≤ 1000); ListMultipartUploads
lists the uploads in progress by key then upload id (``key-marker``, ``upload-id-marker``,
``max-uploads`` ≤ 1000), with ``prefix``/``delimiter`` roll-up like ListObjects.
"""

from __future__ import annotations

from sqlalchemy import select

from monban.services.s3 import repo
from monban.services.s3.call import S3Call
from monban.services.s3.errors import MAX_INT, integer_argument, iso_ms, no_such_upload
from monban.services.s3.listing import max_keys
from monban.services.s3.names import canonical_user_id
from monban.services.s3.objects import authorized_bucket
from monban.services.s3.registry import S3Result, operation, xml_response
from monban.store.s3_models import MultipartUpload


def _owner(account: str) -> dict[str, str]:
    return {"ID": canonical_user_id(account), "DisplayName": account}


def _list_parts(call: S3Call) -> dict[str, object]:
    facts = authorized_bucket(call, "ListParts")
    upload_id = call.query.get("uploadId", "")
    marker_text = call.query.get("part-number-marker", "0") or "0"
    marker = integer_argument(
        marker_text,
        "part-number-marker",
        0,
        MAX_INT,
        "Provided part-number-marker not an integer or within integer range",
    )
    limit = max_keys(call, "max-parts")
    with call.state.db.transaction() as session:
        upload = repo.find_upload(session, call.bucket, call.key, upload_id)
        if upload is None:
            raise no_such_upload(upload_id)
        parts = [p for p in repo.upload_parts(session, upload_id) if p.part_number > marker]
    page, truncated = parts[:limit], len(parts) > limit
    algorithm = upload.checksum_algorithm
    return {
        "Bucket": call.bucket,
        "Key": call.key,
        "UploadId": upload_id,
        "PartNumberMarker": marker,
        "NextPartNumberMarker": page[-1].part_number if page else marker,
        "MaxParts": limit,
        "IsTruncated": truncated,
        "Part": [
            {
                "PartNumber": p.part_number,
                "LastModified": iso_ms(p.last_modified),
                "ETag": p.etag,
                f"Checksum{algorithm}": p.checksum_value if algorithm else None,
                "Size": p.size,
            }
            for p in page
        ],
        "Initiator": {"ID": upload.initiator_arn, "DisplayName": upload.initiator_arn.rsplit("/", 1)[-1]},
        "Owner": _owner(facts.owner),
        "StorageClass": upload.storage_class,
        "ChecksumAlgorithm": algorithm,
        "ChecksumType": upload.checksum_type if algorithm else None,
    }


@operation("ListParts")
async def list_parts(call: S3Call) -> S3Result:
    return xml_response("ListPartsResult", await call.state.run_blocking(_list_parts, call))


def _after(upload: MultipartUpload, key_marker: str, id_marker: str) -> bool:
    if not key_marker:
        return True
    if upload.key != key_marker:
        return upload.key > key_marker
    return bool(id_marker) and upload.upload_id > id_marker


def _upload(u: MultipartUpload, owner: str) -> dict[str, object]:
    return {
        "Key": u.key,
        "UploadId": u.upload_id,
        "Initiator": {"ID": u.initiator_arn, "DisplayName": u.initiator_arn.rsplit("/", 1)[-1]},
        "Owner": _owner(owner),
        "StorageClass": u.storage_class,
        "Initiated": iso_ms(u.initiated),
        "ChecksumAlgorithm": u.checksum_algorithm,
        "ChecksumType": u.checksum_type,
    }


def _list_uploads(call: S3Call) -> dict[str, object]:
    facts = authorized_bucket(call, "ListMultipartUploads")
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    key_marker, id_marker = call.query.get("key-marker", ""), call.query.get("upload-id-marker", "")
    limit = max_keys(call, "max-uploads")
    with call.state.db.transaction() as session:
        rows = session.scalars(
            select(MultipartUpload)
            .where(MultipartUpload.bucket == call.bucket)
            .order_by(MultipartUpload.key, MultipartUpload.upload_id)
        ).all()
    uploads: list[MultipartUpload] = []
    prefixes: list[str] = []
    truncated = False
    for row in rows:
        if not row.key.startswith(prefix) or not _after(row, key_marker, id_marker):
            continue
        index = row.key.find(delimiter, len(prefix)) if delimiter else -1
        common = row.key[: index + len(delimiter)] if index >= 0 else None
        if common is not None and (common in prefixes or (key_marker and common <= key_marker)):
            continue
        if len(uploads) + len(prefixes) >= limit:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
        else:
            uploads.append(row)
    return {
        "Bucket": call.bucket,
        "KeyMarker": key_marker,
        "UploadIdMarker": id_marker,
        "NextKeyMarker": uploads[-1].key if truncated and uploads else None,
        "NextUploadIdMarker": uploads[-1].upload_id if truncated and uploads else None,
        "Delimiter": delimiter or None,
        "Prefix": prefix or None,
        "MaxUploads": limit,
        "IsTruncated": truncated,
        "Upload": [_upload(u, facts.owner) for u in uploads],
        "CommonPrefixes": [{"Prefix": p} for p in prefixes],
    }


@operation("ListMultipartUploads")
async def list_multipart_uploads(call: S3Call) -> S3Result:
    return xml_response("ListMultipartUploadsResult", await call.state.run_blocking(_list_uploads, call))

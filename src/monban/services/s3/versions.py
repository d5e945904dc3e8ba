"""ListObjectVersions (``GET /<bucket>?versions``).

Amazon S3 API Reference, "ListObjectVersions": every version and delete marker, keys in UTF-8
binary order and a key's versions newest first, ``IsLatest`` on the current one; ``prefix``,
``delimiter`` (CommonPrefixes, each counting once towards ``max-keys``, default and ceiling 1000),
``key-marker`` (resume after that key's versions) with ``version-id-marker`` (resume after that
version of the key; InvalidArgument without a key-marker), NextKeyMarker / NextVersionIdMarker
when truncated, ``encoding-type=url``. A version-id-marker that names no version of the key
(deleted meanwhile) resumes after the whole key. Needs s3:ListBucketVersions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from monban.services.s3 import repo
from monban.services.s3.access import check_version_id
from monban.services.s3.call import S3Call
from monban.services.s3.errors import invalid_argument, iso_ms
from monban.services.s3.listing import _common_prefix, _enc, _encoder, max_keys
from monban.services.s3.names import canonical_user_id
from monban.services.s3.objects import authorized_bucket
from monban.services.s3.registry import S3Result, operation, xml_response
from monban.services.s3.repo import ObjectInfo
from monban.services.s3.versions_repo import key_versions, versions_from
from monban.services.s3.xmlio import Interleaved

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the walk resumes: after version ``seq`` of ``key`` (then after the key), after the
    whole ``key``, or from ``key`` on (``inclusive``)."""

    key: str
    seq: int | None = None
    inclusive: bool = False


@dataclass
class Page:
    entries: list[ObjectInfo | str] = field(default_factory=list)  # a str is a common prefix
    truncated: bool = False


def _rows(connection: Connection, bucket: str, prefix: str, cursor: Cursor) -> list[ObjectInfo]:
    if cursor.seq is not None:
        rows = key_versions(connection, bucket, cursor.key, cursor.seq, BATCH)
        if rows:
            return rows
    return versions_from(connection, bucket, prefix, cursor.key, cursor.inclusive, BATCH)


def walk(connection: Connection, bucket: str, prefix: str, delimiter: str, start: Cursor, limit: int) -> Page:
    """Up to ``limit`` entries (versions, delete markers, common prefixes) from ``start``."""
    page, cursor = Page(), start
    marker = start.key if not start.inclusive else None
    while True:
        rows = _rows(connection, bucket, prefix, cursor)
        if not rows:
            return page
        for row in rows:
            common = _common_prefix(row.key, prefix, delimiter)
            if common is None or marker is None or common > marker:
                if len(page.entries) >= limit:
                    page.truncated = True
                    return page
                page.entries.append(row if common is None else common)
            if common is None:
                cursor = Cursor(row.key, row.seq)
                continue
            following = repo.prefix_end(common)  # skip the rest of the group
            if following is None:
                return page
            cursor = Cursor(following, inclusive=True)
            break


def _start(call: S3Call, connection: Connection, prefix: str) -> Cursor:
    key_marker = call.query.get("key-marker", "")
    version_marker = call.query.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
            "version-id-marker",
            version_marker,
        )
    if not key_marker:
        return Cursor(prefix, inclusive=True)
    if not version_marker or not key_marker.startswith(prefix):
        return Cursor(key_marker)
    check_version_id(version_marker, "version-id-marker")
    found = repo.read_object(connection, call.bucket, key_marker, version_marker)
    return Cursor(key_marker, found.seq if found is not None else None)


def _entry(row: ObjectInfo, on: bool, owner: dict[str, str]) -> tuple[str, dict[str, object]]:
    head: dict[str, object] = {
        "Key": _enc(row.key, on),
        "VersionId": row.version_id,
        "IsLatest": row.is_latest,
        "LastModified": iso_ms(row.last_modified),
    }
    if row.delete_marker:
        return "DeleteMarker", head | {"Owner": owner}
    item = head | {"ETag": row.etag, "Size": row.size}
    if row.checksum_algorithm:
        item["ChecksumAlgorithm"] = row.checksum_algorithm
        item["ChecksumType"] = row.checksum_type or "FULL_OBJECT"
    return "Version", item | {"Owner": owner, "StorageClass": row.storage_class}


def _list(call: S3Call) -> dict[str, object]:
    facts = authorized_bucket(call, "ListObjectVersions")
    encoding, _ = _encoder(call)
    on = encoding is not None
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    limit = max_keys(call)
    with call.state.db.engine.connect() as connection:
        page = walk(connection, call.bucket, prefix, delimiter, _start(call, connection, prefix), limit)
    owner = {"ID": canonical_user_id(facts.owner), "DisplayName": facts.owner}
    last = page.entries[-1] if page.truncated and page.entries else None
    next_key = last if isinstance(last, str) else last.key if last is not None else None
    return {
        "Name": call.bucket,
        "Prefix": _enc(prefix, on),
        "KeyMarker": _enc(call.query.get("key-marker", ""), on),
        "VersionIdMarker": call.query.get("version-id-marker", ""),
        "NextKeyMarker": _enc(next_key, on),
        "NextVersionIdMarker": last.version_id if isinstance(last, ObjectInfo) else None,
        "MaxKeys": limit,
        "Delimiter": _enc(delimiter, on) if delimiter else None,
        "IsTruncated": page.truncated,
        "EncodingType": encoding,
        "Versions": Interleaved(_entry(e, on, owner) for e in page.entries if isinstance(e, ObjectInfo)),
        "CommonPrefixes": [{"Prefix": _enc(e, on)} for e in page.entries if isinstance(e, str)],
    }


@operation("ListObjectVersions")
async def list_object_versions(call: S3Call) -> S3Result:
    return xml_response("ListVersionsResult", await call.state.run_blocking(_list, call))

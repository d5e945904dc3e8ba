"""The S3 metadata in the database: buckets, objects, uploads, parts (one transaction per call).

Writes begin by locking the bucket row (``UPDATE … SET name = name``): it proves the bucket still
exists, takes SQLite's write lock (or PostgreSQL's row lock) before anything is read, and so
serialises the writes of one bucket — the blobs an overwrite replaces are read under that lock
and deleted only after the commit.

The object reads and writes of GetObject, HeadObject and PutObject are also written in SQLAlchemy
Core, on a plain connection (``read_object``, ``replace_object``): an ORM session costs several
times what those one-row statements do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from monban.services.s3.access import BucketFacts
from monban.services.s3.errors import no_such_bucket, no_such_key
from monban.services.s3.storage import Segment, dump_segments, load_segments
from monban.store.s3_models import Bucket, MultipartUpload, S3Object, UploadPart


def facts(row: Bucket) -> BucketFacts:
    return BucketFacts(row.name, row.account_id, row.region, row.policy)


def find_bucket(session: Session, name: str) -> Bucket | None:
    return session.get(Bucket, name)


def bucket_facts(session: Session, name: str) -> BucketFacts:
    """NoSuchBucket unless ``name`` exists."""
    row = find_bucket(session, name)
    if row is None:
        raise no_such_bucket(name)
    return facts(row)


def lock_bucket(session: Session, name: str) -> Bucket:
    """Lock the bucket row for this write transaction (NoSuchBucket when it is gone)."""
    result = session.execute(update(Bucket).where(Bucket.name == name).values(name=Bucket.name))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise no_such_bucket(name)
    row = session.get(Bucket, name, populate_existing=True)
    assert row is not None
    return row


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's metadata, detached from the session."""

    bucket: str
    key: str
    segments: tuple[Segment, ...]
    size: int
    etag: str
    last_modified: datetime
    content_type: str
    headers: dict[str, str]
    user_metadata: list[tuple[str, str]]
    checksum_algorithm: str | None
    checksum_value: str | None
    checksum_type: str | None
    parts_count: int | None
    storage_class: str


def object_info(row: S3Object | Row[Any]) -> ObjectInfo:
    return ObjectInfo(
        row.bucket,
        row.key,
        load_segments(row.blobs),
        row.size,
        row.etag,
        row.last_modified,
        row.content_type,
        dict(json.loads(row.headers or "{}")),
        [(str(k), str(v)) for k, v in json.loads(row.user_metadata or "[]")],
        row.checksum_algorithm,
        row.checksum_value,
        row.checksum_type,
        row.parts_count,
        row.storage_class,
    )


def find_object(session: Session, bucket: str, key: str) -> ObjectInfo | None:
    row = session.get(S3Object, (bucket, key))
    return object_info(row) if row is not None else None


def require_object(session: Session, bucket: str, key: str) -> ObjectInfo:
    found = find_object(session, bucket, key)
    if found is None:
        raise no_such_key(key)
    return found


def remove_object(session: Session, bucket: str, key: str) -> tuple[str, ...]:
    """Delete the object row (after ``lock_bucket``); the blob ids it referenced."""
    row = session.get(S3Object, (bucket, key), populate_existing=True)
    if row is None:
        return ()
    blobs = tuple(s.blob_id for s in load_segments(row.blobs))
    session.delete(row)
    session.flush()
    return blobs


def store_object(session: Session, info: ObjectInfo) -> tuple[str, ...]:
    """Insert or replace the object (after ``lock_bucket``); the blob ids it no longer uses."""
    old = remove_object(session, info.bucket, info.key)
    session.add(S3Object(**object_values(info)))
    session.flush()
    kept = {s.blob_id for s in info.segments}
    return tuple(b for b in old if b not in kept)


# --- the hot path, in Core ---------------------------------------------------------------------

_OBJECTS = cast(Table, S3Object.__table__)
_OBJECT_KEY = (_OBJECTS.c.bucket == bindparam("bucket")) & (_OBJECTS.c.key == bindparam("key"))
_READ_OBJECT = select(_OBJECTS).where(_OBJECT_KEY)
_INSERT_OBJECT = insert(_OBJECTS)
_UPDATE_OBJECT = update(_OBJECTS).where(
    (_OBJECTS.c.bucket == bindparam("b_bucket")) & (_OBJECTS.c.key == bindparam("b_key"))
)
_LOCK_BUCKET = update(Bucket).where(Bucket.name == bindparam("bucket")).values(name=Bucket.name)


def read_object(connection: Connection, bucket: str, key: str) -> ObjectInfo | None:
    row = connection.execute(_READ_OBJECT, {"bucket": bucket, "key": key}).one_or_none()
    return object_info(row) if row is not None else None


def lock_bucket_row(connection: Connection, bucket: str) -> None:
    """``lock_bucket`` for a Core transaction (NoSuchBucket when the bucket is gone)."""
    if connection.execute(_LOCK_BUCKET, {"bucket": bucket}).rowcount == 0:
        raise no_such_bucket(bucket)


def replace_object(connection: Connection, info: ObjectInfo, existing: ObjectInfo | None) -> tuple[str, ...]:
    """``store_object`` for a Core transaction (after ``lock_bucket_row``): write the row over
    ``existing`` (what ``read_object`` found); the blob ids no longer used."""
    if existing is None:
        connection.execute(_INSERT_OBJECT, object_values(info))
        return ()
    row = object_values(info)
    where = {"b_bucket": row.pop("bucket"), "b_key": row.pop("key")}
    connection.execute(_UPDATE_OBJECT, row | where)
    kept = {segment.blob_id for segment in info.segments}
    return tuple(segment.blob_id for segment in existing.segments if segment.blob_id not in kept)


def object_values(info: ObjectInfo) -> dict[str, Any]:
    """The row of an object, column by column."""
    return {
        "bucket": info.bucket,
        "key": info.key,
        "blobs": dump_segments(info.segments),
        "size": info.size,
        "etag": info.etag,
        "last_modified": info.last_modified,
        "content_type": info.content_type,
        "headers": json.dumps(info.headers),
        "user_metadata": json.dumps(info.user_metadata),
        "checksum_algorithm": info.checksum_algorithm,
        "checksum_value": info.checksum_value,
        "checksum_type": info.checksum_type,
        "parts_count": info.parts_count,
        "storage_class": info.storage_class,
    }


def has_objects(session: Session, bucket: str) -> bool:
    return session.scalar(select(S3Object.key).where(S3Object.bucket == bucket).limit(1)) is not None


def list_keys(
    session: Session, bucket: str, after: str | None, prefix: str, at_least: str | None, limit: int
) -> Sequence[S3Object]:
    """Objects with ``key > after`` (and ``key >= at_least``) starting with ``prefix``, in key order."""
    query = select(S3Object).where(S3Object.bucket == bucket)
    if after is not None:
        query = query.where(S3Object.key > after)
    if at_least is not None:
        query = query.where(S3Object.key >= at_least)
    if prefix:
        query = query.where(S3Object.key >= prefix)
        end = prefix_end(prefix)
        if end is not None:
            query = query.where(S3Object.key < end)
    return session.scalars(query.order_by(S3Object.key).limit(limit)).all()


def prefix_end(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (code point order,
    which is UTF-8 byte order), or None when there is none."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if code == 0xD800:
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


# --- multipart uploads ------------------------------------------------------------------------


def find_upload(session: Session, bucket: str, key: str, upload_id: str) -> MultipartUpload | None:
    row = session.get(MultipartUpload, upload_id)
    if row is None or row.bucket != bucket or row.key != key:
        return None
    return row


def upload_parts(session: Session, upload_id: str) -> Sequence[UploadPart]:
    return session.scalars(
        select(UploadPart).where(UploadPart.upload_id == upload_id).order_by(UploadPart.part_number)
    ).all()


def drop_upload(session: Session, upload_id: str) -> tuple[str, ...]:
    """Delete an upload and its parts; the blob ids of the parts."""
    blobs = tuple(p.blob_id for p in upload_parts(session, upload_id))
    session.execute(delete(UploadPart).where(UploadPart.upload_id == upload_id))
    session.execute(delete(MultipartUpload).where(MultipartUpload.upload_id == upload_id))
    return blobs


def bucket_uploads(session: Session, bucket: str) -> Sequence[MultipartUpload]:
    return session.scalars(select(MultipartUpload).where(MultipartUpload.bucket == bucket)).all()


def count_buckets(session: Session, account: str) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Bucket).where(Bucket.account_id == account)) or 0
    )


def require_object_row(session: Session, bucket: str, key: str) -> S3Object:
    row = session.get(S3Object, (bucket, key))
    if row is None:
        raise no_such_key(key)
    return row

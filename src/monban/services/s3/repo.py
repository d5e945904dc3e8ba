"""The S3 metadata in the database: buckets, objects, uploads, parts (one transaction per call).

Writes begin by locking the bucket row (``UPDATE … SET name = name``): it proves the bucket still
exists, takes SQLite's write lock (or PostgreSQL's row lock) before anything is read, and so
serialises the writes of one bucket — the blobs an overwrite replaces are read under that lock
and deleted only after the commit.

The object reads and writes of GetObject, HeadObject and PutObject are also written in SQLAlchemy
Core, on a plain connection (``read_object``, ``replace_object``): an ORM session costs several
times what those one-row statements do. On SQLite the same Core statements, compiled once, run
straight on the driver (``db.DriverStatement``): a row read from the event loop
(``read_object_now``) and the write transaction of a new object (``put_object_row``, in a
``Database.driver_transaction``, whose write lock taken at BEGIN stands in for the row lock).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Dialect, Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from monban.services.s3.access import BucketFacts
from monban.services.s3.errors import no_such_bucket, no_such_key
from monban.services.s3.storage import Segment, dump_segments, file_ids, inline, load_segments
from monban.store.db import Database, DriverStatement
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


class ObjectRow(NamedTuple):
    """A row of ``s3_objects`` as the driver returns it (columns in table order)."""

    bucket: str
    key: str
    blobs: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str
    headers: str
    user_metadata: str
    checksum_algorithm: str | None
    checksum_value: str | None
    checksum_type: str | None
    parts_count: int | None
    storage_class: str
    data: bytes | None


def object_info(row: S3Object | Row[Any] | ObjectRow) -> ObjectInfo:
    data = row.data
    return ObjectInfo(
        row.bucket,
        row.key,
        (inline(data),) if data is not None else load_segments(row.blobs),
        row.size,
        row.etag,
        row.last_modified,
        row.content_type,
        _headers(row.headers),
        _user_metadata(row.user_metadata),
        row.checksum_algorithm,
        row.checksum_value,
        row.checksum_type,
        row.parts_count,
        row.storage_class,
    )


def _headers(text: str | None) -> dict[str, str]:
    return {} if not text or text == "{}" else dict(json.loads(text))  # "{}": most objects


def _user_metadata(text: str | None) -> list[tuple[str, str]]:
    return [] if not text or text == "[]" else [(str(k), str(v)) for k, v in json.loads(text)]


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
    return _unused(existing, info)


def _unused(existing: ObjectInfo, info: ObjectInfo) -> tuple[str, ...]:
    """The blob files of ``existing`` that ``info``, written over it, no longer uses."""
    kept = set(file_ids(info.segments))
    return tuple(blob for blob in file_ids(existing.segments) if blob not in kept)


assert ObjectRow._fields == tuple(column.name for column in _OBJECTS.columns)
_VALUE_COLUMNS = ObjectRow._fields[2:]  # all but the key


_BUCKET_EXISTS = select(Bucket.name).where(Bucket.name == bindparam("bucket"))


@dataclass(frozen=True, slots=True)
class _DriverObjects:
    read: DriverStatement
    bucket: DriverStatement
    insert: DriverStatement
    update: DriverStatement


@lru_cache(maxsize=16)
def _driver(dialect: Dialect) -> _DriverObjects:
    """The hot-path statements, compiled once per (SQLite) dialect."""
    return _DriverObjects(
        DriverStatement(_READ_OBJECT, dialect),
        DriverStatement(_BUCKET_EXISTS, dialect),
        DriverStatement(_INSERT_OBJECT, dialect, ObjectRow._fields),
        DriverStatement(_UPDATE_OBJECT, dialect, (*_VALUE_COLUMNS, "b_bucket", "b_key")),
    )


def read_object_now(db: Database, bucket: str, key: str) -> ObjectInfo | None:
    """``read_object`` from the event loop (SQLite only): ``db.WouldBlock`` when it cannot answer
    without waiting (see ``db.LoopReader``)."""
    assert db.loop_reader is not None
    statement = _driver(db.engine.dialect).read
    rows = db.loop_reader.fetch(statement.sql, statement.parameters({"bucket": bucket, "key": key}))
    return object_info(ObjectRow(*statement.row(rows[0]))) if rows else None


def put_object_row(
    db: Database, info: ObjectInfo, check: Callable[[ObjectInfo | None], None]
) -> tuple[str, ...]:
    """One transaction: lock the bucket row (NoSuchBucket), read the key's current object, let
    ``check`` see it (conditional writes raise there), write ``info`` over it; the blob ids it no
    longer uses (to delete after the commit)."""
    if db.sqlite_file is None:
        with db.connection(begin=True) as connection:
            lock_bucket_row(connection, info.bucket)
            existing = read_object(connection, info.bucket, info.key)
            check(existing)
            return replace_object(connection, info, existing)
    with db.driver_transaction() as cursor:
        return _put_row_driver(cursor, _driver(db.engine.dialect), info, check)


def put_object_row_now(
    db: Database, info: ObjectInfo, check: Callable[[ObjectInfo | None], None]
) -> tuple[str, ...]:
    """``put_object_row`` from the event loop (SQLite only), through ``db.LoopWriter``:
    ``db.WouldBlock``, having written nothing, when it cannot commit without waiting."""
    assert db.loop_writer is not None
    with db.loop_writer.transaction() as cursor:
        return _put_row_driver(cursor, _driver(db.engine.dialect), info, check)


def _put_row_driver(
    cursor: sqlite3.Cursor,
    statements: _DriverObjects,
    info: ObjectInfo,
    check: Callable[[ObjectInfo | None], None],
) -> tuple[str, ...]:
    """``put_object_row``'s statements in a ``driver_transaction`` (whose write lock stands in for
    the bucket row lock: nothing else writes until it commits)."""
    bucket = statements.bucket
    if not cursor.execute(bucket.sql, bucket.parameters({"bucket": info.bucket})).fetchall():
        raise no_such_bucket(info.bucket)
    read = statements.read
    found = cursor.execute(read.sql, read.parameters({"bucket": info.bucket, "key": info.key})).fetchall()
    existing = object_info(ObjectRow(*read.row(found[0]))) if found else None
    check(existing)
    values = object_values(info)
    if existing is None:
        cursor.execute(statements.insert.sql, statements.insert.parameters(values))
        return ()
    values["b_bucket"], values["b_key"] = info.bucket, info.key
    cursor.execute(statements.update.sql, statements.update.parameters(values))
    return _unused(existing, info)


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
        "headers": json.dumps(info.headers) if info.headers else "{}",
        "user_metadata": json.dumps(info.user_metadata) if info.user_metadata else "[]",
        "checksum_algorithm": info.checksum_algorithm,
        "checksum_value": info.checksum_value,
        "checksum_type": info.checksum_type,
        "parts_count": info.parts_count,
        "storage_class": info.storage_class,
        "data": next((s.data for s in info.segments if s.data is not None), None),
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

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

Versions (Amazon S3 User Guide, "Retaining multiple versions of objects with S3 Versioning"): a
key's rows are its versions, newest ``seq`` first, one of them ``is_latest``. In an unversioned
bucket a key has one row, the ``null`` version, replaced in place by a write (the driver's fast
path, which only ever serves such buckets); a versioning-enabled bucket adds a version with a new
id; a suspended one writes the ``null`` version, replacing the earlier one (``write_version``).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Connection,
    Dialect,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    false,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from monban.services.s3.access import NULL_VERSION, BucketFacts
from monban.services.s3.errors import no_such_bucket
from monban.services.s3.storage import Segment, dump_segments, file_ids, inline, load_segments
from monban.services.s3.tags import Tags, dump, load
from monban.store.db import Database, DriverStatement, WouldBlock
from monban.store.s3_models import Bucket, MultipartUpload, S3Object, UploadPart


def facts(row: Bucket) -> BucketFacts:
    return BucketFacts(row.name, row.account_id, row.region, row.policy, row.versioning)


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
    version_id: str = NULL_VERSION
    is_latest: bool = True
    delete_marker: bool = False
    seq: int = 0

    tags: Tags = ()


class Written(NamedTuple):
    """What a write did: the blob ids it left unused (to delete after the commit) and the version
    id it wrote — None in an unversioned bucket, whose answers name no version."""

    unused: tuple[str, ...]
    version_id: str | None


def new_version_id() -> str:
    """An opaque, URL-safe version id of 32 characters (S3's are 32, e.g.
    ``3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY`` less its URL-unsafe ``+``)."""
    return secrets.token_urlsafe(24)


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
    tags: str | None
    data: bytes | None
    version_id: str
    is_latest: bool
    delete_marker: bool
    seq: int


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
        row.version_id,
        bool(row.is_latest),
        bool(row.delete_marker),
        row.seq,
        load(row.tags),
    )


def _headers(text: str | None) -> dict[str, str]:
    return {} if not text or text == "{}" else dict(json.loads(text))  # "{}": most objects


def _user_metadata(text: str | None) -> list[tuple[str, str]]:
    return [] if not text or text == "[]" else [(str(k), str(v)) for k, v in json.loads(text)]


def find_object(session: Session, bucket: str, key: str, version: str | None = None) -> ObjectInfo | None:
    """The key's latest version (a delete marker too), or the version ``version``; None if none."""
    return read_object(session.connection(), bucket, key, version)


def bucket_versioning(session: Session, bucket: str) -> str | None:
    """The bucket's versioning state as this transaction sees it (None: unversioned)."""
    return session.scalar(select(Bucket.versioning).where(Bucket.name == bucket))


def store_object(session: Session, info: ObjectInfo) -> Written:
    """Write ``info`` as the key's newest version (after ``lock_bucket``)."""
    connection = session.connection()
    existing = read_object(connection, info.bucket, info.key)
    return write_version(connection, info, existing, bucket_versioning(session, info.bucket))


# --- the hot path, in Core ---------------------------------------------------------------------

OBJECTS = cast(Table, S3Object.__table__)
_OBJECTS = OBJECTS
_OBJECT_KEY = (_OBJECTS.c.bucket == bindparam("bucket")) & (_OBJECTS.c.key == bindparam("key"))
# the latest version: ``is_latest = 1`` as the partial index ix_s3_objects_latest says it
_READ_OBJECT = select(_OBJECTS).where(_OBJECT_KEY & (_OBJECTS.c.is_latest == true()))
_READ_VERSION = select(_OBJECTS).where(_OBJECT_KEY & (_OBJECTS.c.version_id == bindparam("version")))
_INSERT_OBJECT = insert(_OBJECTS)
_THE_VERSION = (
    (_OBJECTS.c.bucket == bindparam("b_bucket"))
    & (_OBJECTS.c.key == bindparam("b_key"))
    & (_OBJECTS.c.version_id == bindparam("b_version"))
)
_UPDATE_OBJECT = update(_OBJECTS).where(_THE_VERSION)
_NOT_LATEST = update(_OBJECTS).where(_THE_VERSION).values(is_latest=false())
_DELETE_VERSION = delete(_OBJECTS).where(_THE_VERSION)
_LOCK_BUCKET = (
    update(Bucket)
    .where(Bucket.name == bindparam("bucket"))
    .values(name=Bucket.name)
    .returning(Bucket.versioning)
)


def read_object(
    connection: Connection, bucket: str, key: str, version: str | None = None
) -> ObjectInfo | None:
    """The key's latest version (a delete marker too), or its version ``version``."""
    if version is None:
        row = connection.execute(_READ_OBJECT, {"bucket": bucket, "key": key}).one_or_none()
    else:
        values = {"bucket": bucket, "key": key, "version": version}
        row = connection.execute(_READ_VERSION, values).one_or_none()
    return object_info(row) if row is not None else None


def lock_bucket_row(connection: Connection, bucket: str) -> str | None:
    """``lock_bucket`` for a Core transaction (NoSuchBucket when the bucket is gone); the bucket's
    versioning state, read under the lock."""
    found = connection.execute(_LOCK_BUCKET, {"bucket": bucket}).all()
    if not found:
        raise no_such_bucket(bucket)
    versioning: str | None = found[0][0]
    return versioning


def replace_object(connection: Connection, info: ObjectInfo, existing: ObjectInfo | None) -> tuple[str, ...]:
    """Write ``info`` over ``existing`` (what ``read_object`` found), in place: the unversioned
    bucket's write (after ``lock_bucket_row``); the blob ids no longer used."""
    if existing is None:
        connection.execute(_INSERT_OBJECT, object_values(info))
        return ()
    connection.execute(_UPDATE_OBJECT, _update_values(info, existing))
    return _unused(existing, info)


def _update_values(info: ObjectInfo, existing: ObjectInfo) -> dict[str, Any]:
    """The unversioned write over the key's null version: its data columns (the version columns
    stay as they are — set, they would cost SQLite the upkeep of ix_s3_objects_latest)."""
    row = object_values(info)
    values = {name: row[name] for name in _VALUE_COLUMNS}
    return values | {"b_bucket": info.bucket, "b_key": info.key, "b_version": existing.version_id}


def _where(info: ObjectInfo) -> dict[str, str]:
    return {"b_bucket": info.bucket, "b_key": info.key, "b_version": info.version_id}


def write_version(
    connection: Connection, info: ObjectInfo, existing: ObjectInfo | None, versioning: str | None
) -> Written:
    """Write ``info`` as the key's newest version, ``existing`` being its latest (after
    ``lock_bucket_row``). Unversioned: in place. Enabled: a new version under a new id, the
    earlier ones kept. Suspended: the ``null`` version, replacing an earlier null version (whose
    bytes are then unused)."""
    if versioning is None:
        return Written(replace_object(connection, replace(info, version_id=NULL_VERSION), existing), None)
    unused: tuple[str, ...] = ()
    if existing is not None:
        connection.execute(_NOT_LATEST, _where(existing))
    version = new_version_id() if versioning == "Enabled" else NULL_VERSION
    if version == NULL_VERSION:
        unused = remove_version(connection, info.bucket, info.key, NULL_VERSION)
    seq = existing.seq + 1 if existing is not None else 0
    written = replace(info, version_id=version, is_latest=True, seq=seq)
    connection.execute(_INSERT_OBJECT, object_values(written))
    return Written(unused, version)


def remove_version(connection: Connection, bucket: str, key: str, version: str) -> tuple[str, ...]:
    """Delete one version's row (after ``lock_bucket_row``); the blob files it used."""
    found = read_object(connection, bucket, key, version)
    if found is None:
        return ()
    connection.execute(_DELETE_VERSION, {"b_bucket": bucket, "b_key": key, "b_version": version})
    return file_ids(found.segments)


def _unused(existing: ObjectInfo, info: ObjectInfo) -> tuple[str, ...]:
    """The blob files of ``existing`` that ``info``, written over it, no longer uses."""
    kept = set(file_ids(info.segments))
    return tuple(blob for blob in file_ids(existing.segments) if blob not in kept)


assert ObjectRow._fields == tuple(column.name for column in _OBJECTS.columns)
# what an unversioned overwrite sets: all but the key and the version columns
_VALUE_COLUMNS = ObjectRow._fields[2 : ObjectRow._fields.index("version_id")]


_BUCKET_EXISTS = select(Bucket.versioning).where(Bucket.name == bindparam("bucket"))


class _Versioned(Exception):
    """The driver's fast path met a versioned bucket: roll back, take the Core path."""


@dataclass(frozen=True, slots=True)
class _DriverObjects:
    read: DriverStatement
    read_version: DriverStatement
    bucket: DriverStatement
    insert: DriverStatement
    update: DriverStatement


@lru_cache(maxsize=16)
def _driver(dialect: Dialect) -> _DriverObjects:
    """The hot-path statements, compiled once per (SQLite) dialect."""
    return _DriverObjects(
        DriverStatement(_READ_OBJECT, dialect),
        DriverStatement(_READ_VERSION, dialect),
        DriverStatement(_BUCKET_EXISTS, dialect),
        DriverStatement(_INSERT_OBJECT, dialect, ObjectRow._fields),
        DriverStatement(_UPDATE_OBJECT, dialect, (*_VALUE_COLUMNS, "b_bucket", "b_key", "b_version")),
    )


def read_object_now(db: Database, bucket: str, key: str, version: str | None = None) -> ObjectInfo | None:
    """``read_object`` from the event loop (SQLite only): ``db.WouldBlock`` when it cannot answer
    without waiting (see ``db.LoopReader``)."""
    assert db.loop_reader is not None
    statements = _driver(db.engine.dialect)
    statement = statements.read if version is None else statements.read_version
    values = {"bucket": bucket, "key": key, "version": version}
    rows = db.loop_reader.fetch(statement.sql, statement.parameters(values))
    return object_info(ObjectRow(*statement.row(rows[0]))) if rows else None


def put_object_row(db: Database, info: ObjectInfo, check: Callable[[ObjectInfo | None], None]) -> Written:
    """One transaction: lock the bucket row (NoSuchBucket), read the key's latest version, let
    ``check`` see it (conditional writes raise there), write ``info`` as the newest version
    (``write_version``); the blob ids it no longer uses (to delete after the commit)."""
    if db.sqlite_file is not None:
        try:
            with db.driver_transaction() as cursor:
                return Written(_put_row_driver(cursor, _driver(db.engine.dialect), info, check), None)
        except _Versioned:
            pass
    with db.connection(begin=True) as connection:
        versioning = lock_bucket_row(connection, info.bucket)
        existing = read_object(connection, info.bucket, info.key)
        check(existing)
        return write_version(connection, info, existing, versioning)


def put_object_row_now(
    db: Database, info: ObjectInfo, check: Callable[[ObjectInfo | None], None]
) -> tuple[str, ...]:
    """``put_object_row`` from the event loop (SQLite only, an unversioned bucket), through
    ``db.LoopWriter``: ``db.WouldBlock``, having written nothing, when it cannot commit without
    waiting or the bucket is versioned."""
    assert db.loop_writer is not None
    try:
        with db.loop_writer.transaction() as cursor:
            return _put_row_driver(cursor, _driver(db.engine.dialect), info, check)
    except _Versioned:
        raise WouldBlock from None


def _put_row_driver(
    cursor: sqlite3.Cursor,
    statements: _DriverObjects,
    info: ObjectInfo,
    check: Callable[[ObjectInfo | None], None],
) -> tuple[str, ...]:
    """``put_object_row``'s statements in a ``driver_transaction`` (whose write lock stands in for
    the bucket row lock: nothing else writes until it commits), for an unversioned bucket only
    (``_Versioned`` otherwise, having written nothing)."""
    bucket = statements.bucket
    state = cursor.execute(bucket.sql, bucket.parameters({"bucket": info.bucket})).fetchall()
    if not state:
        raise no_such_bucket(info.bucket)
    if state[0][0] is not None:
        raise _Versioned
    read = statements.read
    found = cursor.execute(read.sql, read.parameters({"bucket": info.bucket, "key": info.key})).fetchall()
    existing = object_info(ObjectRow(*read.row(found[0]))) if found else None
    check(existing)
    if existing is None:
        cursor.execute(statements.insert.sql, statements.insert.parameters(object_values(info)))
        return ()
    cursor.execute(statements.update.sql, statements.update.parameters(_update_values(info, existing)))
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
        "tags": dump(info.tags),
        "data": next((s.data for s in info.segments if s.data is not None), None),
        "version_id": info.version_id,
        "is_latest": info.is_latest,
        "delete_marker": info.delete_marker,
        "seq": info.seq,
    }


def has_objects(session: Session, bucket: str) -> bool:
    return session.scalar(select(S3Object.key).where(S3Object.bucket == bucket).limit(1)) is not None


class Listed(NamedTuple):
    """What a listing shows of an object."""

    key: str
    last_modified: datetime
    etag: str
    size: int
    storage_class: str
    checksum_algorithm: str | None
    checksum_type: str | None


@lru_cache(maxsize=16)
def _listing(dialect: Dialect, exclusive: bool, bounded: bool) -> tuple[Select[Any], DriverStatement | None]:
    """The listing query — keys from ``low`` (excluded or not), below ``end`` or not — and on
    SQLite the same compiled once for the driver: a delimiter listing runs it once per common
    prefix, where Core's or the ORM's execution machinery would cost 10-20 times the query. One
    lower bound only: given two, SQLite seeks on one and filters on the other."""
    key = S3Object.key
    query = select(*(getattr(S3Object, name) for name in Listed._fields)).where(
        S3Object.bucket == bindparam("bucket"),
        key > bindparam("low") if exclusive else key >= bindparam("low"),
        S3Object.is_latest == true(),  # the latest version of each key (ix_s3_objects_latest) …
        S3Object.delete_marker == false(),  # … unless it is a delete marker
    )
    if bounded:
        query = query.where(key < bindparam("end"))
    query = query.order_by(key).limit(bindparam("limit", type_=Integer))
    query = query.offset(bindparam("offset", type_=Integer))  # SQLite writes LIMIT ? OFFSET ?
    return query, (DriverStatement(query, dialect) if dialect.name == "sqlite" else None)


def list_keys(
    connection: Connection, bucket: str, after: str | None, prefix: str, at_least: str | None, limit: int
) -> list[Listed]:
    """Up to ``limit`` objects with ``key > after`` (and ``key >= at_least``) starting with
    ``prefix``, in key order: the latest version of each key, unless it is a delete marker; one
    range scan of the index of latest versions (bucket, key). Every listing reads keys through
    this one query."""
    floor = max(prefix, at_least or "")
    exclusive = after is not None and after >= floor  # then key > after implies key >= floor
    end = prefix_end(prefix) if prefix else None
    values = {"bucket": bucket, "low": after if exclusive else floor, "end": end, "limit": limit, "offset": 0}
    query, driver = _listing(connection.dialect, exclusive, end is not None)
    if driver is None:
        return [Listed(*row) for row in connection.execute(query, values)]
    raw = connection.connection.driver_connection
    assert raw is not None
    rows = raw.execute(driver.sql, driver.parameters(values)).fetchall()
    return [Listed(*driver.row(row)) for row in rows]


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

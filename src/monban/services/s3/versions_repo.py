"""The version side of the object rows: deletes (a delete marker, or one version for good) and
the walk of ListObjectVersions.

Amazon S3 User Guide, "Deleting object versions from a versioning-enabled bucket": a DELETE that
names no version removes the object of an unversioned bucket; in a versioning-enabled bucket it
adds a delete marker under a new version id (in a suspended one, the ``null`` version, replacing
the earlier null version); a DELETE that names a version removes that version for good, and when
it was the latest the next newer one becomes the latest. Deleting a version that does not exist
succeeds (204). Every function here runs after ``repo.lock_bucket`` in the same transaction; the
blob files it returns are deleted after the commit (``storage.py``'s crash-safety rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, true, update

from monban.services.s3.repo import (
    OBJECTS,
    ObjectInfo,
    object_info,
    prefix_end,
    read_object,
    remove_version,
    write_version,
)


@dataclass(frozen=True, slots=True)
class Deleted:
    """What a delete did: the blob files it freed, the version id it names (None in an
    unversioned bucket) and whether that version is a delete marker (made or removed)."""

    unused: tuple[str, ...]
    version_id: str | None
    delete_marker: bool


def delete_marker(bucket: str, key: str, moment: datetime) -> ObjectInfo:
    """A delete marker: a version with no bytes (its version id and seq are set when written)."""
    return ObjectInfo(bucket, key, (), 0, "", moment, "", {}, [], None, None, None, None, "STANDARD",
                      delete_marker=True)  # fmt: skip


def delete_key(
    connection: Connection,
    bucket: str,
    key: str,
    version: str | None,
    versioning: str | None,
    moment: datetime,
) -> Deleted:
    """DeleteObject on the bucket's rows (after ``repo.lock_bucket``), as the module says."""
    if version is not None:
        return _delete_version(connection, bucket, key, version, versioning)
    existing = read_object(connection, bucket, key)
    if versioning is None:
        if existing is None:
            return Deleted((), None, False)
        return Deleted(remove_version(connection, bucket, key, existing.version_id), None, False)
    written = write_version(connection, delete_marker(bucket, key, moment), existing, versioning)
    return Deleted(written.unused, written.version_id, True)


def _delete_version(
    connection: Connection, bucket: str, key: str, version: str, versioning: str | None
) -> Deleted:
    found = read_object(connection, bucket, key, version)
    named = version if versioning is not None else None
    if found is None:
        return Deleted((), named, False)
    unused = remove_version(connection, bucket, key, version)
    if found.is_latest:
        _promote(connection, bucket, key)
    return Deleted(unused, named, found.delete_marker)


def _promote(connection: Connection, bucket: str, key: str) -> None:
    """Make the newest remaining version of ``key`` (if any) its latest."""
    newest = connection.execute(
        select(OBJECTS.c.version_id)
        .where((OBJECTS.c.bucket == bucket) & (OBJECTS.c.key == key))
        .order_by(OBJECTS.c.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    if newest is not None:
        connection.execute(
            update(OBJECTS)
            .where((OBJECTS.c.bucket == bucket) & (OBJECTS.c.key == key) & (OBJECTS.c.version_id == newest))
            .values(is_latest=true())
        )


# --- ListObjectVersions ------------------------------------------------------------------------


def key_versions(connection: Connection, bucket: str, key: str, below: int, batch: int) -> list[ObjectInfo]:
    """Up to ``batch`` versions of ``key`` older than ``seq`` ``below``, newest first."""
    query = (
        select(OBJECTS)
        .where((OBJECTS.c.bucket == bucket) & (OBJECTS.c.key == key) & (OBJECTS.c.seq < below))
        .order_by(OBJECTS.c.seq.desc())
        .limit(batch)
    )
    return [object_info(row) for row in connection.execute(query).all()]


def versions_from(
    connection: Connection, bucket: str, prefix: str, start: str, inclusive: bool, batch: int
) -> list[ObjectInfo]:
    """Up to ``batch`` versions of the keys from ``start`` on (after it unless ``inclusive``) that
    start with ``prefix``, in key order and newest first within a key."""
    query = select(OBJECTS).where(OBJECTS.c.bucket == bucket)
    query = query.where(OBJECTS.c.key >= start if inclusive else OBJECTS.c.key > start)
    if prefix:
        query = query.where(OBJECTS.c.key >= prefix)
        end = prefix_end(prefix)
        if end is not None:
            query = query.where(OBJECTS.c.key < end)
    query = query.order_by(OBJECTS.c.key, OBJECTS.c.seq.desc()).limit(batch)
    return [object_info(row) for row in connection.execute(query).all()]

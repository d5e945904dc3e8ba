"""DeleteObject and DeleteObjects.

Amazon S3 API Reference, "DeleteObject" and "DeleteObjects": without a version id a delete removes
the object of an unversioned bucket, and adds a delete marker in a versioned one (answered with
``x-amz-delete-marker: true`` and the marker's ``x-amz-version-id``; a suspended bucket's marker is
the ``null`` version). With ``versionId`` (s3:DeleteObjectVersion) that version is removed for good,
a delete marker too (then ``x-amz-delete-marker: true``). DeleteObjects reports each entry's
``VersionId``, and ``DeleteMarker`` / ``DeleteMarkerVersionId`` when a marker was made or removed.
The rows change in one transaction under the bucket lock; freed files go after the commit.
"""

from __future__ import annotations

from monban.protocol.errors import AwsError
from monban.services.s3 import repo, xmlio
from monban.services.s3.access import BucketFacts, check, check_version_id
from monban.services.s3.body import read_document, require_integrity_header
from monban.services.s3.call import S3Call
from monban.services.s3.errors import malformed_xml
from monban.services.s3.names import object_arn
from monban.services.s3.objects import authorized_bucket, now
from monban.services.s3.registry import S3Result, empty, operation, xml_response
from monban.services.s3.versions_repo import Deleted, delete_key

MAX_DELETE_KEYS = 1000


def _delete_one(call: S3Call) -> Deleted:
    authorized_bucket(call, "DeleteObject")
    version = call.query.get("versionId")
    with call.state.write_lock, call.state.db.transaction() as session:
        versioning = repo.lock_bucket(session, call.bucket).versioning
        done = delete_key(session.connection(), call.bucket, call.key, version, versioning, now())
    call.blobs.delete(done.unused)
    return done


@operation("DeleteObject")
async def delete_object(call: S3Call) -> S3Result:
    done = await call.state.run_blocking(_delete_one, call)
    headers: dict[str, str] = {}
    if done.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    if done.version_id is not None:
        headers["x-amz-version-id"] = done.version_id
    return empty(204, headers or None)


def _delete_request(call: S3Call, body: bytes) -> tuple[bool, list[tuple[str, str | None]]]:
    """Quiet, and each (Key, VersionId or None) of the request."""
    root = xmlio.parse(body, "Delete")
    quiet = (xmlio.child_text(root, "Quiet") or "").strip().lower() == "true"
    keys = []
    for item in xmlio.children(root, "Object"):
        key = xmlio.child_text(item, "Key")
        if key is None:
            raise malformed_xml()
        keys.append((key, xmlio.child_text(item, "VersionId")))
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise malformed_xml()
    return quiet, keys


def _delete_one_of_many(call: S3Call, facts: BucketFacts, key: str, version: str | None) -> None:
    """One entry of DeleteObjects, authorized on its own ARN: s3:DeleteObject, or
    s3:DeleteObjectVersion (with s3:versionid) when it names a version."""
    if version is None:
        check(call, "s3:DeleteObject", object_arn(call.bucket, key), facts)
        return
    check_version_id(version, "VersionId")
    check(call, "s3:DeleteObjectVersion", object_arn(call.bucket, key), facts, {"s3:versionid": version})


def _entry(key: str, version: str | None, done: Deleted) -> dict[str, object]:
    entry: dict[str, object] = {"Key": key, "VersionId": version}
    if done.delete_marker:
        entry["DeleteMarker"] = True
        entry["DeleteMarkerVersionId"] = done.version_id
    return entry


def _delete_many(call: S3Call, quiet: bool, keys: list[tuple[str, str | None]]) -> dict[str, object]:
    """Each entry authorized on its own; denials and bad version ids reported per key."""
    with call.state.db.transaction() as session:
        facts = repo.bucket_facts(session, call.bucket)
    allowed: list[tuple[str, str | None]] = []
    errors: list[dict[str, str | None]] = []
    for key, version in keys:
        try:
            _delete_one_of_many(call, facts, key, version)
            allowed.append((key, version))
        except AwsError as error:
            errors.append({"Key": key, "VersionId": version, "Code": error.code, "Message": error.message})
    removed: list[str] = []
    deleted: list[dict[str, object]] = []
    moment = now()
    with call.state.write_lock, call.state.db.transaction() as session:
        versioning = repo.lock_bucket(session, call.bucket).versioning
        for key, version in allowed:
            done = delete_key(session.connection(), call.bucket, key, version, versioning, moment)
            removed.extend(done.unused)
            deleted.append(_entry(key, version, done))
    call.blobs.delete(removed)
    return {"Deleted": [] if quiet else deleted, "Error": errors}


@operation("DeleteObjects")
async def delete_objects(call: S3Call) -> S3Result:
    require_integrity_header(call)
    await call.state.run_blocking(_bucket_exists, call)
    body = await read_document(call, 2 * 1024 * 1024)
    quiet, keys = _delete_request(call, body)
    result = await call.state.run_blocking(_delete_many, call, quiet, keys)
    return xml_response("DeleteResult", result)


def _bucket_exists(call: S3Call) -> None:
    with call.state.db.transaction() as session:
        repo.bucket_facts(session, call.bucket)

"""Object and bucket tagging: PutObjectTagging, GetObjectTagging, DeleteObjectTagging,
PutBucketTagging, GetBucketTagging, DeleteBucketTagging.

Amazon S3 API Reference. An object's tag set replaces the old one whole (200, no body); its
removal is 204; reading an untagged object's is an empty ``TagSet``. The object these act on is
read before authorization (its tags are the request's ``s3:ExistingObjectTag/…``, User Guide,
"Tagging and access control policies") and written only if it is still that object, tags
unchanged (OperationAborted otherwise, the error the API Reference lists for PutObjectTagging).
A bucket's tag set (up to 50 tags) answers GetBucketTagging, NoSuchTagSet when it has none;
DeleteBucketTagging is authorized as s3:PutBucketTagging. Bucket tags stay out of the policy
context: S3 gives ``aws:ResourceTag/…`` of a general purpose bucket to policies only once ABAC is
enabled on it (User Guide, "Enabling ABAC in general purpose buckets": disabled by default), which
monban does not offer (``?abac`` is NotImplemented).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.s3 import repo
from monban.services.s3.access import authorize_operation
from monban.services.s3.body import read_document
from monban.services.s3.call import S3Call
from monban.services.s3.objects import bucket_facts, marker_error, missing_key, shown_version
from monban.services.s3.registry import S3Result, empty, operation, xml_response
from monban.services.s3.tags import (
    BUCKET_LIMIT,
    MAX_DOCUMENT,
    Tags,
    document,
    dump,
    existing_keys,
    load,
    parse_document,
    request_keys,
)
from monban.store.s3_models import Bucket, S3Object

_Seen = tuple[str, object, str | None]  # what a write must still find: etag, last modified, tags


def _version(call: S3Call) -> str | None:
    return call.query.get("versionId") if call.query else None


def target(session: Session, call: S3Call) -> S3Object | None:
    """The object row the request names: the version ``versionId`` names, else the key's latest
    (a delete marker too: the caller answers for it). The one function that resolves the row a
    tagging operation reads and writes (a version's tags are its own)."""
    version = _version(call)
    query = select(S3Object).where(S3Object.bucket == call.bucket, S3Object.key == call.key)
    if version is None:
        query = query.where(S3Object.is_latest.is_(True))
    else:
        query = query.where(S3Object.version_id == version)
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def _seen(row: S3Object) -> _Seen:
    return row.etag, row.last_modified, row.tags


def _authorized_object(call: S3Call, operation_name: str, new: Tags = ()) -> S3Object:
    """The object, read first, once ``operation_name`` is authorized on it with its tags and the
    request's ``new`` ones (NoSuchKey, or AccessDenied to those who may not list the bucket, when
    there is none)."""
    facts = bucket_facts(call)
    with call.state.db.transaction() as session:
        row = target(session, call)
        if row is not None:
            session.expunge(row)
    keys = existing_keys(load(row.tags)) if row is not None else {}
    keys.update(request_keys(new))
    authorize_operation(call, operation_name, facts, tags=keys)
    if row is None:
        raise missing_key(call, facts, call.key, _version(call))
    if row.delete_marker:  # a marker has no tags (S3: 405 when named by id, 404 otherwise)
        raise marker_error(call, facts, row, _version(call) is not None)
    return row


def _version_header(call: S3Call, row: S3Object) -> dict[str, str] | None:
    """``x-amz-version-id`` of the version acted on, once the bucket has had versioning."""
    shown = shown_version(bucket_facts(call), row)
    return {"x-amz-version-id": shown} if shown is not None else None


def _write_tags(call: S3Call, operation_name: str, tags: Tags) -> dict[str, str] | None:
    """Replace the object's tags with ``tags`` (none: remove them), on the object authorized; the
    answer's version header."""
    authorized = _authorized_object(call, operation_name, tags)
    seen = _seen(authorized)
    with call.state.write_lock, call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        row = target(session, call)
        if row is None or _seen(row) != seen:
            raise AwsError(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress against this resource. "
                "Please try again.",
            )
        row.tags = dump(tags)
    return _version_header(call, authorized)


@operation("PutObjectTagging")
async def put_object_tagging(call: S3Call) -> S3Result:
    tags = parse_document(await read_document(call, MAX_DOCUMENT))
    headers = await call.state.run_blocking(_write_tags, call, "PutObjectTagging", tags)
    return empty(200, headers)


@operation("GetObjectTagging")
async def get_object_tagging(call: S3Call) -> S3Result:
    row = await call.state.run_blocking(_authorized_object, call, "GetObjectTagging")
    return xml_response("Tagging", document(load(row.tags)), headers=_version_header(call, row))


@operation("DeleteObjectTagging")
async def delete_object_tagging(call: S3Call) -> S3Result:
    headers = await call.state.run_blocking(_write_tags, call, "DeleteObjectTagging", ())
    return empty(204, headers)


# --- buckets ----------------------------------------------------------------------------------


def _authorized_bucket(call: S3Call, operation_name: str) -> None:
    authorize_operation(call, operation_name, bucket_facts(call))


def _set_bucket_tags(call: S3Call, tags: Tags) -> None:
    with call.state.write_lock, call.state.db.transaction() as session:
        row: Bucket = repo.lock_bucket(session, call.bucket)
        row.tags = dump(tags)


@operation("PutBucketTagging")
async def put_bucket_tagging(call: S3Call) -> S3Result:
    await call.state.run_blocking(_authorized_bucket, call, "PutBucketTagging")
    tags = parse_document(await read_document(call, MAX_DOCUMENT), BUCKET_LIMIT)
    await call.state.run_blocking(_set_bucket_tags, call, tags)
    return empty(204)


def _bucket_tags(call: S3Call) -> Tags:
    _authorized_bucket(call, "GetBucketTagging")
    with call.state.db.transaction() as session:
        row = repo.find_bucket(session, call.bucket)
        tags = load(row.tags) if row is not None else ()
    if not tags:
        raise AwsError("NoSuchTagSet", "The TagSet does not exist", extra={"BucketName": call.bucket})
    return tags


@operation("GetBucketTagging")
async def get_bucket_tagging(call: S3Call) -> S3Result:
    tags = await call.state.run_blocking(_bucket_tags, call)
    return xml_response("Tagging", document(tags))


def _delete_bucket_tags(call: S3Call) -> None:
    _authorized_bucket(call, "DeleteBucketTagging")
    _set_bucket_tags(call, ())


@operation("DeleteBucketTagging")
async def delete_bucket_tagging(call: S3Call) -> S3Result:
    await call.state.run_blocking(_delete_bucket_tags, call)
    return empty(204)

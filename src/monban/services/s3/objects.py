"""Object operations: PutObject, GetObject, HeadObject (deletes: ``deletes.py``).

Amazon S3 API Reference. The ETag of a simple upload is the hex MD5 of its bytes, quoted. A small
PutObject body (``INLINE_OBJECT``) is stored in the object's row, a larger one in a file. A GET
streams a file range by range (never the whole object in memory); small objects are read in the
same worker-thread hop as their metadata — or, on SQLite, without leaving the event loop.

Versions (Amazon S3 API Reference, "GetObject", "HeadObject"): ``versionId`` names one version
(s3:GetObjectVersion); without it the latest is read. A latest that is a delete marker is 404
NoSuchKey with ``x-amz-delete-marker: true``; a delete marker named by its id is 405
MethodNotAllowed; an id the key does not have is 404 NoSuchVersion. Answers carry
``x-amz-version-id`` once the bucket has had versioning configured (and PutObject's, only while it
is Enabled: a suspended bucket's write answers none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from monban.access.state import NeedsThread, on_event_loop
from monban.protocol.errors import AwsError
from monban.services.s3 import repo
from monban.services.s3.access import (
    NULL_VERSION,
    BucketFacts,
    authorize_operation,
    authorize_write,
    check,
    may_read_tags,
)
from monban.services.s3.body import Received
from monban.services.s3.call import S3Call
from monban.services.s3.conditions import byte_range, check_read, etag_matches
from monban.services.s3.errors import (
    http_date,
    integer_argument,
    no_such_bucket,
    no_such_key,
    precondition_failed,
)
from monban.services.s3.metadata import UploadMeta, checksum_headers, object_headers, upload_meta
from monban.services.s3.names import bucket_arn
from monban.services.s3.ownership import check_object_acl
from monban.services.s3.registry import S3Result, empty, operation
from monban.services.s3.repo import ObjectInfo, Written
from monban.services.s3.storage import ByteRange, Segment, file_ids
from monban.services.s3.tags import Tags, existing_keys, parse_header
from monban.services.s3.upload import receive
from monban.store.db import Database, WouldBlock

INLINE_LIMIT = 1024 * 1024
LOOP_READ_LIMIT = 64 * 1024  # bytes a GET may read on the event loop (see ``_plan_on_loop``)
INLINE_OBJECT = 64 * 1024  # a PutObject body up to this size is kept in the object's row
_READ_HEADERS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def quoted(md5: bytes) -> str:
    return f'"{md5.hex()}"'


def bucket_facts(call: S3Call) -> BucketFacts:
    """The bucket's owner, region and policy (NoSuchBucket when absent), memoised for the current
    generation: creating or deleting a bucket and changing its policy bump it."""

    def load() -> BucketFacts | bool:
        with call.state.db.transaction() as session:
            row = repo.find_bucket(session, call.bucket)
            return repo.facts(row) if row is not None else False

    found = call.state.cached(("s3-bucket", call.bucket), load)
    if not isinstance(found, BucketFacts):
        raise no_such_bucket(call.bucket)
    return found


def authorized_bucket(call: S3Call, operation_name: str, key: str | None = None) -> BucketFacts:
    """The bucket (NoSuchBucket when absent), once the operation is authorized on it."""
    facts = bucket_facts(call)
    authorize_operation(call, operation_name, facts, key)
    return facts


def write_conditional(call: S3Call) -> bool:
    """Whether the write is conditional (``If-None-Match``/``If-Match``). If-None-Match takes ``*``
    only: another value is NotImplemented, as in S3, before any of the body is read."""
    if_none = call.header("if-none-match")
    if if_none is not None and if_none.strip() != "*":
        raise AwsError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            extra={"Header": "If-None-Match"},
        )
    return if_none is not None or call.header("if-match") is not None


def key_exists(call: S3Call) -> bool:
    """Whether the key has an object now, a delete marker being none (read when a conditional
    write begins)."""
    with call.state.db.engine.connect() as connection:
        found = repo.read_object(connection, call.bucket, call.key)
    return found is not None and not found.delete_marker


def check_write_conditions(
    call: S3Call, existing: ObjectInfo | None, key: str, existed: bool = False
) -> None:
    """Conditional writes (Amazon S3 User Guide, "How to prevent object overwrites with conditional
    writes"), checked in the transaction that writes: ``If-None-Match: *`` fails (412) when the key
    exists (a delete marker is no object), ``If-Match`` needs it (NoSuchKey) with that ETag (412);
    concurrent conditional writes: the first to commit wins, the others fail so. A key that
    ``existed`` when the request began and is gone now was deleted meanwhile:
    ConditionalRequestConflict (409), as S3 answers a delete that succeeds before the conditional
    write completes."""
    if not write_conditional(call):
        return
    present = existing is not None and not existing.delete_marker
    if not present and existed:
        raise AwsError(
            "ConditionalRequestConflict",
            "A conflicting operation occurred. If using PutObject you can retry the request. If using "
            "multipart upload you should initiate another CreateMultipartUpload request and re-upload "
            "each part.",
            extra={"Key": key},
        )
    if call.header("if-none-match") is not None and present:
        raise precondition_failed("If-None-Match")
    if_match = call.header("if-match")
    if if_match is not None:
        if existing is None or existing.delete_marker:
            raise no_such_key(key)
        if not etag_matches(if_match, existing.etag):
            raise precondition_failed("If-Match")


def commit_object(call: S3Call, info: ObjectInfo, existed: bool = False) -> Written:
    """Store ``info`` under the bucket lock as the key's newest version; delete the blobs it
    replaces after the commit."""

    def check(existing: ObjectInfo | None) -> None:
        check_write_conditions(call, existing, info.key, existed)

    with call.state.write_lock:
        written = repo.put_object_row(call.state.db, info, check)
    call.blobs.delete(written.unused)
    return written


def commit_object_now(call: S3Call, info: ObjectInfo, existed: bool = False) -> Written:
    """``commit_object`` on the event loop (SQLite), or ``WouldBlock`` having written nothing.

    Writing over an object stored in files is left to a thread too: its files are deleted after
    the commit, before the answer, which is no work for the loop. A due WAL checkpoint runs on a
    thread after the answer."""
    state = call.state
    db = state.db
    if db.loop_writer is None or not state.write_lock.acquire(blocking=False):
        raise WouldBlock

    def check(existing: ObjectInfo | None) -> None:
        if existing is not None and file_ids(existing.segments):
            raise WouldBlock
        check_write_conditions(call, existing, info.key, existed)

    try:
        replaced = repo.put_object_row_now(db, info, check)
    finally:
        state.write_lock.release()
    assert not replaced  # an object in its row replaced by another: no file to delete
    if db.loop_writer.checkpoint_due():
        state.in_background(db.checkpoint)
    return Written((), None)  # the loop writes only unversioned buckets


def authorized_write(call: S3Call, operation_name: str, tags: Tags) -> BucketFacts:
    """The bucket (NoSuchBucket when absent), once ``operation_name`` with the request's ``tags``
    is authorized on it (``access.authorize_write``)."""
    facts = bucket_facts(call)
    authorize_write(call, operation_name, facts, tags)
    return facts


def new_object(
    call: S3Call, meta: UploadMeta, segments: tuple[Segment, ...], received: Received, tags: Tags
) -> ObjectInfo:
    checksum = received.checksum
    return ObjectInfo(
        call.bucket,
        call.key,
        segments,
        received.size,
        quoted(received.md5),
        now(),
        meta.content_type,
        meta.headers,
        meta.user_metadata,
        checksum.algorithm if checksum else None,
        checksum.value if checksum else None,
        "FULL_OBJECT" if checksum else None,
        None,
        meta.storage_class,
        tags=tags,
    )


def write_headers(info: ObjectInfo, written: Written | None = None) -> dict[str, str]:
    headers = {"ETag": info.etag, "x-amz-server-side-encryption": "AES256"}
    headers.update(checksum_headers(info))
    version = written.version_id if written is not None else None
    if version is not None and version != NULL_VERSION:  # a suspended bucket's answer names none
        headers["x-amz-version-id"] = version
    return headers


@operation("PutObject")
async def put_object(call: S3Call) -> S3Result:
    tags = parse_header(call.header("x-amz-tagging"))
    facts = await call.state.run_cached(authorized_write, call, "PutObject", tags)
    check_object_acl(call, facts)
    meta = upload_meta(call)
    existed = write_conditional(call) and await call.state.run_blocking(key_exists, call)

    def then(segment: Segment, received: Received) -> tuple[ObjectInfo, Written]:
        info = new_object(call, meta, (segment,), received, tags)
        return info, commit_object(call, info, existed)

    def then_now(segment: Segment, received: Received) -> tuple[ObjectInfo, Written]:
        info = new_object(call, meta, (segment,), received, tags)
        return info, commit_object_now(call, info, existed)

    now_or_never = then_now if facts.versioning is None else None  # the loop writes unversioned only
    info, written = await receive(call, then, inline_limit=INLINE_OBJECT, then_now=now_or_never)
    return empty(200, write_headers(info, written))


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadPlan:
    info: ObjectInfo
    first: int
    last: int
    partial: bool
    reader: ByteRange | None
    inline: bytes | None
    version_id: str | None  # the x-amz-version-id of the answer
    tag_count: int | None  # the x-amz-tagging-count of the answer


def missing_key(call: S3Call, facts: BucketFacts, key: str, version: str | None = None) -> AwsError:
    """NoSuchKey (NoSuchVersion when a version was named) for a caller that may list the bucket;
    AccessDenied otherwise (S3 does not reveal whether a key exists to those who cannot list it)."""
    try:
        check(call, "s3:ListBucket", bucket_arn(call.bucket), facts)
    except AwsError as denied:
        return denied
    if version is not None:
        return no_such_version(key, version)
    return no_such_key(key)


def no_such_version(key: str, version: str) -> AwsError:
    return AwsError(
        "NoSuchVersion",
        "The specified version does not exist.",
        extra={"Key": key, "VersionId": version},
    )


class Version(Protocol):
    """What the version answers need of a version: an ``ObjectInfo`` or its table row."""

    @property
    def key(self) -> str: ...
    @property
    def version_id(self) -> str: ...
    @property
    def last_modified(self) -> datetime: ...


def shown_version(facts: BucketFacts, info: Version) -> str | None:
    """The version id an answer names: none in a bucket that never had versioning configured."""
    return info.version_id if facts.versioning is not None or info.version_id != NULL_VERSION else None


def marker_error(call: S3Call, facts: BucketFacts, info: Version, named: bool) -> AwsError:
    """A read that met a delete marker: 405 MethodNotAllowed when the marker was named by its
    version id, else 404 NoSuchKey — both with ``x-amz-delete-marker: true``."""
    headers = {"x-amz-delete-marker": "true", "x-amz-version-id": info.version_id}
    if named:
        headers["Last-Modified"] = http_date(info.last_modified)
        return AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            extra={"Method": call.http.method.upper(), "ResourceType": "DeleteMarker"},
            headers=headers,
        )
    return AwsError(
        "NoSuchKey", "The specified key does not exist.", extra={"Key": info.key}, headers=headers
    )


def _part_range(call: S3Call, info: ObjectInfo) -> tuple[int, int] | None:
    text = call.query.get("partNumber")
    if text is None:
        return None
    number = integer_argument(
        text, "partNumber", 1, 10000, "Part number must be an integer between 1 and 10000, inclusive"
    )
    segments = info.segments if info.parts_count else (Segment("", info.size),)
    if number > len(segments):
        raise AwsError(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            extra={"PartNumberRequested": text, "ActualPartCount": str(len(segments))},
        )
    first = sum(s.size for s in segments[: number - 1])
    return first, first + segments[number - 1].size - 1


def _span(call: S3Call, info: ObjectInfo) -> tuple[int, int, bool]:
    """The inclusive byte span to answer and whether it is partial, once the conditions hold."""
    check_read({name: call.header(name) for name in _READ_HEADERS}, info.etag, info.last_modified)
    span = _part_range(call, info)
    if span is None:
        span = byte_range(call.header("range"), info.size)
    if span is None:
        return 0, info.size - 1, False
    return span[0], span[1], True


def _authorized_read(
    call: S3Call, operation_name: str, facts: BucketFacts, found: ObjectInfo | None
) -> int | None:
    """Authorize the read on the row it answers with (read first: its tags are the request's
    ``s3:ExistingObjectTag/…``); the ``x-amz-tagging-count`` to answer, if any."""
    authorize_operation(call, operation_name, facts, tags=existing_keys(found.tags) if found else None)
    if found is None or not found.tags or not may_read_tags(call, facts, found.key, found.tags):
        return None
    return len(found.tags)


def _plan(
    call: S3Call, operation_name: str, facts: BucketFacts, found: ObjectInfo | None, on_loop: bool = False
) -> ReadPlan:
    """The answer to a read of ``found`` (the key's row, or the version named), authorized on it:
    for a small GET, with its bytes."""
    version = _version(call)
    tag_count = _authorized_read(call, operation_name, facts, found)
    if found is None:
        raise missing_key(call, facts, call.key, version)
    info = found
    if info.delete_marker:
        raise marker_error(call, facts, info, version is not None)
    with_body = operation_name == "GetObject"
    first, last, partial = _span(call, info)
    shown = shown_version(facts, info)
    if not with_body or info.size == 0:
        return ReadPlan(info, first, last, partial, None, b"" if with_body else None, shown, tag_count)
    if on_loop and last - first + 1 > LOOP_READ_LIMIT:
        raise WouldBlock
    if last - first + 1 <= INLINE_LIMIT:
        data = call.blobs.read(info.segments, first, last)
        return ReadPlan(info, first, last, partial, None, data, shown, tag_count)
    reader = call.blobs.open_range(info.segments, first, last)
    return ReadPlan(info, first, last, partial, reader, None, shown, tag_count)


def _version(call: S3Call) -> str | None:
    return call.query.get("versionId") if call.query else None


def _lookup(call: S3Call) -> ObjectInfo | None:
    with call.state.db.connection() as connection:
        return repo.read_object(connection, call.bucket, call.key, _version(call))


def _plan_on_thread(call: S3Call, operation_name: str, facts: BucketFacts) -> ReadPlan:
    """The read plan on a database thread; once more if a concurrent overwrite removed the files
    between row and open."""
    try:
        return _plan(call, operation_name, facts, _lookup(call))
    except FileNotFoundError:
        return _plan(call, operation_name, facts, _lookup(call))


def _plan_on_loop(call: S3Call, operation_name: str, facts: BucketFacts, db: Database) -> ReadPlan | None:
    """The read plan without leaving the event loop (SQLite), or None when that could wait.

    The row comes from ``db.LoopReader``, which never waits (a WAL reader takes no lock a writer
    holds; what would make it wait raises at once instead); a small object's bytes come with it.
    A file is read only for a span of at most ``LOOP_READ_LIMIT``: one ``open`` and ``read`` of a
    local file, served from the page cache in the common case and a single small I/O otherwise —
    less than the thread hop it saves. Anything else (a cache miss of authorization, a larger
    span, a file a concurrent overwrite just removed) goes to a thread, from the start.
    """
    try:
        with on_event_loop():
            found = repo.read_object_now(db, call.bucket, call.key, _version(call))
            return _plan(call, operation_name, facts, found, on_loop=True)
    except (WouldBlock, NeedsThread, FileNotFoundError):
        return None


async def read_plan(call: S3Call, operation_name: str) -> ReadPlan:
    """The bucket from the caches, then the object and its authorization (on the object's row,
    whose tags the policies may test): on the loop when ``_plan_on_loop`` can, else on a database
    thread (always on PostgreSQL)."""
    facts = await call.state.run_cached(bucket_facts, call)
    db = call.state.db
    if db.loop_reader is not None:
        plan = _plan_on_loop(call, operation_name, facts, db)
        if plan is not None:
            return plan
    return await call.state.run_blocking(_plan_on_thread, call, operation_name, facts)


def _read_headers(call: S3Call, plan: ReadPlan) -> dict[str, str]:
    info = plan.info
    headers = object_headers(call, info)
    length = plan.last - plan.first + 1 if info.size else 0
    headers["Content-Length"] = str(length)
    if plan.partial:
        headers["Content-Range"] = f"bytes {plan.first}-{plan.last}/{info.size}"
    if info.parts_count and "partNumber" in call.query:
        headers["x-amz-mp-parts-count"] = str(info.parts_count)
    if (call.header("x-amz-checksum-mode") or "").upper() == "ENABLED" and not plan.partial:
        headers.update(checksum_headers(info))
    if plan.version_id is not None:
        headers["x-amz-version-id"] = plan.version_id
    if plan.tag_count is not None:
        headers["x-amz-tagging-count"] = str(plan.tag_count)
    return headers


@operation("GetObject")
async def get_object(call: S3Call) -> S3Result:
    plan = await read_plan(call, "GetObject")
    headers = _read_headers(call, plan)
    status = 206 if plan.partial else 200
    if plan.reader is not None:
        return S3Result(plan.reader.chunks(), status, headers=headers)
    response = S3Result(plan.inline or b"", status, headers=headers)
    return response


@operation("HeadObject")
async def head_object(call: S3Call) -> S3Result:
    plan = await read_plan(call, "HeadObject")
    headers = _read_headers(call, plan)
    return S3Result(b"", 206 if plan.partial else 200, headers=headers)

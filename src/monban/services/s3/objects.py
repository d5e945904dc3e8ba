"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects.

Amazon S3 API Reference. The ETag of a simple upload is the hex MD5 of its bytes, quoted. A small
PutObject body (``INLINE_OBJECT``) is stored in the object's row, a larger one in a file. A GET
streams a file range by range (never the whole object in memory); small objects are read in the
same worker-thread hop as their metadata — or, on SQLite, without leaving the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from monban.access.state import NeedsThread, on_event_loop
from monban.protocol.errors import AwsError
from monban.services.s3 import repo, xmlio
from monban.services.s3.access import BucketFacts, authorize_operation, check, check_version_id
from monban.services.s3.body import Received, read_document
from monban.services.s3.call import S3Call
from monban.services.s3.conditions import byte_range, check_read, etag_matches
from monban.services.s3.errors import (
    integer_argument,
    no_such_bucket,
    no_such_key,
    precondition_failed,
)
from monban.services.s3.metadata import UploadMeta, checksum_headers, object_headers, upload_meta
from monban.services.s3.names import bucket_arn, object_arn
from monban.services.s3.registry import S3Result, empty, operation, xml_response
from monban.services.s3.repo import ObjectInfo
from monban.services.s3.storage import RangeReader, Segment, file_ids
from monban.services.s3.upload import receive
from monban.store.db import Database, WouldBlock

INLINE_LIMIT = 1024 * 1024
LOOP_READ_LIMIT = 64 * 1024  # bytes a GET may read on the event loop (see ``_plan_on_loop``)
INLINE_OBJECT = 64 * 1024  # a PutObject body up to this size is kept in the object's row
MAX_DELETE_KEYS = 1000
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


def check_write_conditions(call: S3Call, existing: ObjectInfo | None, key: str) -> None:
    """Conditional writes: ``If-None-Match: *`` fails when the key exists; ``If-Match`` needs it."""
    if_none = call.header("if-none-match")
    if if_none is not None:
        if if_none.strip() != "*":
            raise AwsError(
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                extra={"Header": "If-None-Match"},
            )
        if existing is not None:
            raise precondition_failed("If-None-Match")
    if_match = call.header("if-match")
    if if_match is not None:
        if existing is None:
            raise no_such_key(key)
        if not etag_matches(if_match, existing.etag):
            raise precondition_failed("If-Match")


def commit_object(call: S3Call, info: ObjectInfo) -> None:
    """Store ``info`` under the bucket lock; delete the blobs it replaces after the commit."""

    def check(existing: ObjectInfo | None) -> None:
        check_write_conditions(call, existing, info.key)

    with call.state.write_lock:
        replaced = repo.put_object_row(call.state.db, info, check)
    call.blobs.delete(replaced)


def commit_object_now(call: S3Call, info: ObjectInfo) -> None:
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
        check_write_conditions(call, existing, info.key)

    try:
        replaced = repo.put_object_row_now(db, info, check)
    finally:
        state.write_lock.release()
    assert not replaced  # an object in its row replaced by another: no file to delete
    if db.loop_writer.checkpoint_due():
        state.in_background(db.checkpoint)


def new_object(
    call: S3Call, meta: UploadMeta, segments: tuple[Segment, ...], received: Received
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
    )


def write_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {"ETag": info.etag, "x-amz-server-side-encryption": "AES256"}
    headers.update(checksum_headers(info))
    return headers


@operation("PutObject")
async def put_object(call: S3Call) -> S3Result:
    await call.state.run_cached(authorized_bucket, call, "PutObject")
    meta = upload_meta(call)

    def then(segment: Segment, received: Received) -> ObjectInfo:
        info = new_object(call, meta, (segment,), received)
        commit_object(call, info)
        return info

    def then_now(segment: Segment, received: Received) -> ObjectInfo:
        info = new_object(call, meta, (segment,), received)
        commit_object_now(call, info)
        return info

    info = await receive(call, then, inline_limit=INLINE_OBJECT, then_now=then_now)
    return empty(200, write_headers(info))


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadPlan:
    info: ObjectInfo
    first: int
    last: int
    partial: bool
    reader: RangeReader | None
    inline: bytes | None


def missing_key(call: S3Call, facts: BucketFacts, key: str) -> AwsError:
    """NoSuchKey for a caller that may list the bucket; AccessDenied otherwise (S3 does not reveal
    whether a key exists to those who cannot list it)."""
    try:
        check(call, "s3:ListBucket", bucket_arn(call.bucket), facts)
    except AwsError as denied:
        return denied
    return no_such_key(key)


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


def _plan(
    call: S3Call, facts: BucketFacts, with_body: bool, found: ObjectInfo | None, on_loop: bool = False
) -> ReadPlan:
    """The answer to a read of ``found`` (the key's row): for a small GET, with its bytes."""
    if found is None:
        raise missing_key(call, facts, call.key)
    info = found
    first, last, partial = _span(call, info)
    if not with_body or info.size == 0:
        return ReadPlan(info, first, last, partial, None, b"" if with_body else None)
    if on_loop and last - first + 1 > LOOP_READ_LIMIT:
        raise WouldBlock
    if last - first + 1 <= INLINE_LIMIT:
        return ReadPlan(info, first, last, partial, None, call.blobs.read(info.segments, first, last))
    return ReadPlan(info, first, last, partial, call.blobs.open_range(info.segments, first, last), None)


def _lookup(call: S3Call) -> ObjectInfo | None:
    with call.state.db.connection() as connection:
        return repo.read_object(connection, call.bucket, call.key)


def _plan_on_thread(call: S3Call, facts: BucketFacts, with_body: bool) -> ReadPlan:
    """The read plan on a database thread; once more if a concurrent overwrite removed the files
    between row and open."""
    try:
        return _plan(call, facts, with_body, _lookup(call))
    except FileNotFoundError:
        return _plan(call, facts, with_body, _lookup(call))


def _plan_on_loop(call: S3Call, facts: BucketFacts, with_body: bool, db: Database) -> ReadPlan | None:
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
            found = repo.read_object_now(db, call.bucket, call.key)
            return _plan(call, facts, with_body, found, on_loop=True)
    except (WouldBlock, NeedsThread, FileNotFoundError):
        return None


async def read_plan(call: S3Call, operation_name: str, with_body: bool) -> ReadPlan:
    """Authorized from the caches (usually on the event loop), then the object: on the loop when
    ``_plan_on_loop`` can, else on a database thread (always on PostgreSQL)."""
    facts = await call.state.run_cached(authorized_bucket, call, operation_name)
    db = call.state.db
    if db.loop_reader is not None:
        plan = _plan_on_loop(call, facts, with_body, db)
        if plan is not None:
            return plan
    return await call.state.run_blocking(_plan_on_thread, call, facts, with_body)


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
    return headers


@operation("GetObject")
async def get_object(call: S3Call) -> S3Result:
    plan = await read_plan(call, "GetObject", True)
    headers = _read_headers(call, plan)
    status = 206 if plan.partial else 200
    if plan.reader is not None:
        return S3Result(plan.reader.chunks(), status, headers=headers)
    response = S3Result(plan.inline or b"", status, headers=headers)
    return response


@operation("HeadObject")
async def head_object(call: S3Call) -> S3Result:
    plan = await read_plan(call, "HeadObject", False)
    headers = _read_headers(call, plan)
    return S3Result(b"", 206 if plan.partial else 200, headers=headers)


# --- deletes ----------------------------------------------------------------------------------


def _delete_one(call: S3Call) -> None:
    authorized_bucket(call, "DeleteObject")
    with call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        removed = repo.remove_object(session, call.bucket, call.key)
    call.blobs.delete(removed)


@operation("DeleteObject")
async def delete_object(call: S3Call) -> S3Result:
    await call.state.run_blocking(_delete_one, call)
    return empty(204)


def _delete_request(call: S3Call, body: bytes) -> tuple[bool, list[tuple[str, str | None]]]:
    """Quiet, and each (Key, VersionId or None) of the request."""
    root = xmlio.parse(body, "Delete")
    quiet = (xmlio.child_text(root, "Quiet") or "").strip().lower() == "true"
    keys = []
    for item in xmlio.children(root, "Object"):
        key = xmlio.child_text(item, "Key")
        if key is None:
            raise AwsError(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        keys.append((key, xmlio.child_text(item, "VersionId")))
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise AwsError(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    return quiet, keys


def _delete_one_of_many(call: S3Call, facts: BucketFacts, key: str, version: str | None) -> None:
    """One entry of DeleteObjects, authorized on its own ARN: s3:DeleteObject, or
    s3:DeleteObjectVersion when it names a version (only ``null`` exists: see access._VERSIONED)."""
    if version is None:
        check(call, "s3:DeleteObject", object_arn(call.bucket, key), facts)
        return
    check_version_id(version, "VersionId")
    check(call, "s3:DeleteObjectVersion", object_arn(call.bucket, key), facts, {"s3:versionid": version})


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
    with call.state.db.transaction() as session:
        repo.lock_bucket(session, call.bucket)
        for key, _ in allowed:
            removed.extend(repo.remove_object(session, call.bucket, key))
    call.blobs.delete(removed)
    deleted = [] if quiet else [{"Key": key, "VersionId": version} for key, version in allowed]
    return {"Deleted": deleted, "Error": errors}


@operation("DeleteObjects")
async def delete_objects(call: S3Call) -> S3Result:
    if (
        call.header("content-md5") is None
        and not call.headers_with_prefix("x-amz-checksum-")
        and (call.header("x-amz-sdk-checksum-algorithm") is None)
    ):
        raise AwsError("InvalidRequest", "Missing required header for this request: Content-MD5")
    await call.state.run_blocking(_bucket_exists, call)
    body = await read_document(call, 2 * 1024 * 1024)
    quiet, keys = _delete_request(call, body)
    result = await call.state.run_blocking(_delete_many, call, quiet, keys)
    return xml_response("DeleteResult", result)


def _bucket_exists(call: S3Call) -> None:
    with call.state.db.transaction() as session:
        repo.bucket_facts(session, call.bucket)

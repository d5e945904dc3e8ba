"""CopyObject (and the source side of UploadPartCopy).

Amazon S3 API Reference, "CopyObject": ``x-amz-copy-source`` is ``[/]<bucket>/<key>`` URL-encoded;
the caller needs s3:GetObject on the source (under the source bucket's owner and policy) and
s3:PutObject on the destination. ``x-amz-metadata-directive`` COPY (default) keeps the source's
metadata, REPLACE takes the request's; ``x-amz-tagging-directive`` likewise for the tags (see
``_copied_tags``); copying an object onto itself must change something (new tags alone do not). The
bytes are copied file to file in a worker thread, never held whole in memory.

A source ``?versionId=`` names one version (s3:GetObjectVersion; NoSuchVersion when absent; a
delete marker named so is InvalidRequest, a latest one NoSuchKey); the answer carries
``x-amz-copy-source-version-id`` once the source bucket has had versioning configured, and the
new object's ``x-amz-version-id`` when the destination's is Enabled.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, unquote

import anyio.to_thread

from monban.protocol.errors import AwsError
from monban.protocol.numbers import parse_integer
from monban.services.s3 import repo
from monban.services.s3.access import BucketFacts, Context, check, check_version_id
from monban.services.s3.call import S3Call
from monban.services.s3.conditions import check_read
from monban.services.s3.errors import invalid_argument, iso_ms, no_such_bucket
from monban.services.s3.metadata import UploadMeta, upload_meta
from monban.services.s3.names import bucket_name_ok, check_key, object_arn
from monban.services.s3.objects import (
    authorized_write,
    commit_object,
    key_exists,
    missing_key,
    now,
    quoted,
    shown_version,
    write_conditional,
    write_headers,
)
from monban.services.s3.ownership import check_object_acl
from monban.services.s3.registry import S3Result, operation, xml_response
from monban.services.s3.repo import ObjectInfo, Written
from monban.services.s3.storage import Segment
from monban.services.s3.tags import Tags, existing_keys, parse_header

MAX_COPY = 5 * 1024**3
_COPY_CONDITIONS = tuple(
    f"x-amz-copy-source-{name}"
    for name in ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
)

_COPY_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]*)")  # ASCII digits only (protocol.numbers)


@dataclass(frozen=True, slots=True)
class Source:
    bucket: str
    key: str
    facts: BucketFacts
    info: ObjectInfo
    version_id: str | None = None  # the x-amz-copy-source-version-id of the answer


def parse_source(text: str) -> tuple[str, str, str | None]:
    """``bucket``, ``key`` and ``versionId`` (None when it names none) of an ``x-amz-copy-source``
    header, ``[/]<bucket>/<key>[?versionId=<id>]`` URL-encoded."""
    path, _, query = text.partition("?")
    versions = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "versionId"]
    for version in versions:  # each one it names must be one monban has
        check_version_id(version, "x-amz-copy-source")
    decoded = unquote(path).lstrip("/")
    bucket, slash, key = decoded.partition("/")
    if not slash or not key or not bucket:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            "x-amz-copy-source",
            text,
        )
    check_key(key)
    return bucket, key, (versions[0] if versions else None)


def resolve_source(call: S3Call) -> Source:
    """The copy source, authorized (s3:GetObject; s3:GetObjectVersion when it names a version, as
    CopyObject's reference requires) and checked against the copy conditions."""
    bucket, key, version = parse_source(call.header("x-amz-copy-source") or "")
    if not bucket_name_ok(bucket):
        raise no_such_bucket(bucket)
    with call.state.db.transaction() as session:
        facts: BucketFacts = repo.bucket_facts(session, bucket)
        info = repo.find_object(session, bucket, key, version)
    keys: Context = {"s3:versionid": version} if version is not None else {}
    keys.update(existing_keys(info.tags) if info is not None else {})
    action = "s3:GetObjectVersion" if version is not None else "s3:GetObject"
    check(call, action, object_arn(bucket, key), facts, keys)
    if info is None or (info.delete_marker and version is None):
        raise missing_key(_as_bucket(call, bucket), facts, key, version)
    if info.delete_marker:
        raise AwsError(
            "InvalidRequest",
            "The source of a copy request may not specifically refer to a delete marker by version id.",
        )
    check_read(
        {name: call.header(name) for name in _COPY_CONDITIONS},
        info.etag,
        info.last_modified,
        prefix="x-amz-copy-source-",
    )
    return Source(bucket, key, facts, info, shown_version(facts, info))


def _as_bucket(call: S3Call, bucket: str) -> S3Call:
    return replace(call, route=replace(call.route, bucket=bucket))


def copy_bytes(call: S3Call, info: ObjectInfo, first: int, last: int) -> tuple[Segment, bytes]:
    """Copy bytes ``first..last`` of ``info`` into a new blob; (segment, md5 digest)."""
    md5 = hashlib.md5()
    writer = call.blobs.create()
    try:
        if info.size:
            for chunk in call.blobs.open_range(info.segments, first, last).chunks():
                md5.update(chunk)
                writer.write(chunk)
        return writer.commit(), md5.digest()
    except BaseException:
        writer.discard()
        raise


def _destination_meta(call: S3Call, source: Source) -> UploadMeta:
    directive = (call.header("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
    if directive == "REPLACE":
        return upload_meta(call)
    fresh = upload_meta(call)
    info = source.info
    same = source.bucket == call.bucket and source.key == call.key
    if (
        same
        and call.header("x-amz-storage-class") is None
        and call.header("x-amz-server-side-encryption") is None
    ):
        raise AwsError(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing "
            "the object's metadata, storage class, website redirect location or encryption attributes.",
        )
    return UploadMeta(info.content_type, info.headers, info.user_metadata, fresh.storage_class)


def _tagging_directive(call: S3Call) -> str:
    """``x-amz-tagging-directive``: COPY (the default: the source's tags, whatever
    ``x-amz-tagging`` says) or REPLACE (the request's ``x-amz-tagging``, none without it)."""
    directive = call.header("x-amz-tagging-directive") or "COPY"
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown tagging directive.", "x-amz-tagging-directive", directive)
    return directive


def _copied_tags(call: S3Call, destination: BucketFacts, source: Source) -> Tags:
    """The source's tags, once the caller may read them (s3:GetObjectTagging on the source) and
    set them on the destination (s3:PutObjectTagging): User Guide, "Required permissions for
    Amazon S3 API operations", CopyObject."""
    tags = source.info.tags
    if tags:
        arn = object_arn(source.bucket, source.key)
        check(call, "s3:GetObjectTagging", arn, source.facts, existing_keys(tags))
        check(call, "s3:PutObjectTagging", object_arn(call.bucket, call.key), destination)
    return tags


def _copy(call: S3Call) -> tuple[ObjectInfo, Written, Source]:
    directive = _tagging_directive(call)
    request_tags = parse_header(call.header("x-amz-tagging")) if directive == "REPLACE" else ()
    facts = authorized_write(call, "CopyObject", request_tags)
    check_object_acl(call, facts)
    source = resolve_source(call)
    tags = request_tags if directive == "REPLACE" else _copied_tags(call, facts, source)
    if source.info.size > MAX_COPY:
        raise invalid_argument(
            "The specified copy source is larger than the maximum allowable size for a copy "
            "source: 5368709120",
            "x-amz-copy-source",
            call.header("x-amz-copy-source") or "",
        )
    meta = _destination_meta(call, source)
    existed = write_conditional(call) and key_exists(call)  # a delete meanwhile: 409 at commit
    segment, md5 = copy_bytes(call, source.info, 0, source.info.size - 1)
    full = source.info.checksum_type in (None, "FULL_OBJECT")
    info = ObjectInfo(
        call.bucket,
        call.key,
        (segment,),
        source.info.size,
        quoted(md5),
        now(),
        meta.content_type,
        meta.headers,
        meta.user_metadata,
        source.info.checksum_algorithm if full else None,
        source.info.checksum_value if full else None,
        "FULL_OBJECT" if full and source.info.checksum_value else None,
        None,
        meta.storage_class,
        tags=tags,
    )
    try:
        written = commit_object(call, info, existed)
    except BaseException:
        call.blobs.delete([segment.blob_id])
        raise
    return info, written, source


@operation("CopyObject")
async def copy_object(call: S3Call) -> S3Result:
    # up to 5 GiB of bytes: the general thread pool, not the few database threads of run_blocking
    info, written, source = await anyio.to_thread.run_sync(_copy, call)
    result: dict[str, object] = {"LastModified": iso_ms(info.last_modified), "ETag": info.etag}
    if info.checksum_algorithm and info.checksum_value:
        result[f"Checksum{info.checksum_algorithm}"] = info.checksum_value
    headers = write_headers(info, written)
    headers.pop("ETag", None)
    if source.version_id is not None:
        headers["x-amz-copy-source-version-id"] = source.version_id
    return xml_response("CopyObjectResult", result, headers=headers)


def source_range(call: S3Call, info: ObjectInfo) -> tuple[int, int]:
    """UploadPartCopy's ``x-amz-copy-source-range`` (``bytes=first-last``), or the whole source.
    A range past the source's end is refused, not clamped: InvalidArgument "Range specified is
    not valid for source object of size: <size>" (what S3 answers, 400)."""
    text = call.header("x-amz-copy-source-range")
    if text is None:
        return 0, info.size - 1
    match = _COPY_RANGE.fullmatch(text.strip())
    first = parse_integer(match.group(1)) if match else 0
    last = parse_integer(match.group(2)) if match and match.group(2) else info.size - 1
    if match is None or last < first:
        raise invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
            "x-amz-copy-source-range",
            text,
        )
    if last >= info.size:
        raise invalid_argument(
            f"Range specified is not valid for source object of size: {info.size}",
            "x-amz-copy-source-range",
            text,
        )
    return first, last

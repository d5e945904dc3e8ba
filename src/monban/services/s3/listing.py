"""Listings: ListObjects, ListObjectsV2, ListParts, ListMultipartUploads.

Amazon S3 API Reference. Keys come back in UTF-8 binary order; with a delimiter, the keys that
contain it after the prefix roll up into one CommonPrefixes entry, which counts once towards
max-keys (default and ceiling 1000). Pagination resumes strictly after the last entry returned
(a key or a common prefix): NextMarker / NextContinuationToken (opaque, base64) / start-after.
``encoding-type=url`` URL-encodes keys, prefixes and delimiters in the answer.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from urllib.parse import quote

from monban.services.s3 import repo
from monban.services.s3.call import S3Call
from monban.services.s3.errors import count_argument, invalid_argument, iso_ms
from monban.services.s3.names import canonical_user_id
from monban.services.s3.objects import authorized_bucket
from monban.services.s3.registry import S3Result, operation, xml_response

MAX_KEYS = 1000
BATCH = 1000
FIRST_BATCH = 8


@dataclass
class Page:
    contents: list[repo.Listed] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None


def max_keys(call: S3Call, name: str = "max-keys", ceiling: int = MAX_KEYS) -> int:
    text = call.query.get(name)
    if text is None:
        return ceiling
    return min(count_argument(text, name), ceiling)


def walk(call: S3Call, prefix: str, delimiter: str, after: str | None, limit: int) -> Page:
    """Up to ``limit`` entries (keys and common prefixes) greater than ``after``.

    A common prefix is read once: the next query seeks to the least key after every key that
    starts with it (``repo.prefix_end``), so a page costs at most one indexed query per entry
    whatever the number of keys under its prefixes. Batches start small after each seek and
    double while they hold only keys (at most ``room + 1`` rows: one more tells truncation)."""
    page = Page()
    cursor, floor, batch = after, None, FIRST_BATCH
    with call.state.db.engine.begin() as connection:  # one snapshot for the whole page
        while True:
            room = limit - len(page.contents) - len(page.prefixes)
            size = min(batch, room + 1, BATCH)
            rows = repo.list_keys(connection, call.bucket, cursor, prefix, floor, size)
            for row in rows:
                common = _common_prefix(row.key, prefix, delimiter)
                if common is None or after is None or common > after:
                    if len(page.contents) + len(page.prefixes) >= limit:
                        page.truncated = True
                        return page
                    if common is None:
                        page.contents.append(row)
                    else:
                        page.prefixes.append(common)
                    page.last = common or row.key
                cursor = row.key
                if common is not None:  # seek past the rest of the group
                    floor = repo.prefix_end(common)
                    if floor is None:
                        return page
                    batch = FIRST_BATCH
                    break
            else:
                if len(rows) < size:
                    return page
                batch *= 2


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    return key[: index + len(delimiter)] if index >= 0 else None


def _encoder(call: S3Call) -> tuple[str | None, type[str] | None]:
    encoding = call.query.get("encoding-type")
    if encoding is None:
        return None, None
    if encoding != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
    return "url", str


def _enc(text: str | None, on: bool) -> str | None:
    if text is None:
        return None
    return quote(text, safe="/~") if on else text


def _contents(rows: list[repo.Listed], on: bool, owner: str | None) -> list[dict[str, object]]:
    out = []
    for row in rows:
        item: dict[str, object] = {
            "Key": _enc(row.key, on),
            "LastModified": iso_ms(row.last_modified),
            "ETag": row.etag,
        }
        if row.checksum_algorithm:
            item["ChecksumAlgorithm"] = row.checksum_algorithm
            item["ChecksumType"] = row.checksum_type or "FULL_OBJECT"
        item["Size"] = row.size
        if owner is not None:
            item["Owner"] = {"ID": canonical_user_id(owner), "DisplayName": owner}
        item["StorageClass"] = row.storage_class
        out.append(item)
    return out


def _list_v1(call: S3Call) -> dict[str, object]:
    facts = authorized_bucket(call, "ListObjects")
    encoding, _ = _encoder(call)
    on = encoding is not None
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    marker = call.query.get("marker", "")
    limit = max_keys(call)
    page = walk(call, prefix, delimiter, marker or None, limit)
    return {
        "Name": call.bucket,
        "Prefix": _enc(prefix, on),
        "Marker": _enc(marker, on),
        "NextMarker": _enc(page.last, on) if page.truncated and delimiter else None,
        "MaxKeys": limit,
        "Delimiter": _enc(delimiter, on) if delimiter else None,
        "IsTruncated": page.truncated,
        "EncodingType": encoding,
        "Contents": _contents(page.contents, on, facts.owner),
        "CommonPrefixes": [{"Prefix": _enc(p, on)} for p in page.prefixes],
    }


def _token(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode()).decode())
        return str(value["after"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", text
        ) from None


def _list_v2(call: S3Call) -> dict[str, object]:
    facts = authorized_bucket(call, "ListObjectsV2")
    encoding, _ = _encoder(call)
    on = encoding is not None
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    token = call.query.get("continuation-token")
    start_after = call.query.get("start-after")
    after = _token(token) if token is not None else start_after or None
    limit = max_keys(call)
    page = walk(call, prefix, delimiter, after, limit)
    following = None
    if page.truncated and page.last is not None:
        following = base64.urlsafe_b64encode(json.dumps({"after": page.last}).encode()).decode()
    fetch_owner = call.query.get("fetch-owner", "").lower() == "true"
    return {
        "Name": call.bucket,
        "Prefix": _enc(prefix, on),
        "Delimiter": _enc(delimiter, on) if delimiter else None,
        "MaxKeys": limit,
        "EncodingType": encoding,
        "KeyCount": len(page.contents) + len(page.prefixes),
        "ContinuationToken": token,
        "NextContinuationToken": following,
        "StartAfter": _enc(start_after, on),
        "IsTruncated": page.truncated,
        "Contents": _contents(page.contents, on, facts.owner if fetch_owner else None),
        "CommonPrefixes": [{"Prefix": _enc(p, on)} for p in page.prefixes],
    }


@operation("ListObjects")
async def list_objects(call: S3Call) -> S3Result:
    return xml_response("ListBucketResult", await call.state.run_blocking(_list_v1, call))


@operation("ListObjectsV2")
async def list_objects_v2(call: S3Call) -> S3Result:
    return xml_response("ListBucketResult", await call.state.run_blocking(_list_v2, call))

"""S3 tag sets: the ``Tagging`` document, the ``x-amz-tagging`` header, S3's limits, and the
condition keys a tag set gives a request.

Amazon S3 User Guide, "Categorizing your storage using tags" and "Tagging and access control
policies"; API Reference, PutObjectTagging / PutBucketTagging / PutObject. An object has at most 10
tags (BadRequest "Object tags cannot be greater than 10"), a bucket 50 (BadRequest "Bucket tag count
cannot be greater than 50"); keys are 1–128 Unicode characters, values 0–256, both case-sensitive,
made of Unicode letters, digits, white space and ``_ . : / = + - @`` (InvalidTag "The TagKey / The
TagValue you have provided is invalid"); a key appears once (InvalidTag "Cannot provide multiple Tags
with the same key"); ``aws:`` keys are S3's own (InvalidTag "System tags cannot be added/updated by
requester"). ``x-amz-tagging`` is a URL-encoded query string of UTF-8 text without repeated names
(InvalidArgument otherwise). Each value is parsed here once: the handler stores what it parsed and
the policy engine sees the same pairs (``request_keys``, ``existing_keys``).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from urllib.parse import parse_qsl

from monban.protocol.errors import AwsError
from monban.services.s3 import xmlio
from monban.services.s3.errors import invalid_argument, malformed_xml

Tags = tuple[tuple[str, str], ...]
Context = dict[str, str | Sequence[str] | None]

OBJECT_LIMIT = 10
BUCKET_LIMIT = 50
MAX_KEY = 128
MAX_VALUE = 256
MAX_DOCUMENT = 64 * 1024  # 50 tags of 128 + 256 characters in UTF-8, with their markup, fit
_PUNCTUATION = frozenset("_.:/=+-@")
_HEADER_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
    "without tag name duplicates."
)


def _allowed(text: str) -> bool:
    """``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``: Unicode letters, separators (spaces), numbers."""
    return all(c in _PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def _invalid_tag(message: str, key: str, value: str | None = None) -> AwsError:
    extra = {"TagKey": key} if value is None else {"TagKey": key, "TagValue": value}
    return AwsError("InvalidTag", message, extra=extra)


def _too_many(limit: int) -> AwsError:
    if limit == OBJECT_LIMIT:
        return AwsError("BadRequest", f"Object tags cannot be greater than {OBJECT_LIMIT}")
    return AwsError("BadRequest", f"Bucket tag count cannot be greater than {limit}")


def validate(tags: Tags, limit: int = OBJECT_LIMIT) -> Tags:
    """``tags`` when S3 would take them as an object's (``limit`` 10) or a bucket's (50) tag set."""
    if len(tags) > limit:
        raise _too_many(limit)
    seen: set[str] = set()
    for key, value in tags:
        if not 1 <= len(key) <= MAX_KEY or not _allowed(key):
            raise _invalid_tag("The TagKey you have provided is invalid", key)
        if len(value) > MAX_VALUE or not _allowed(value):
            raise _invalid_tag("The TagValue you have provided is invalid", key, value)
        if key[:4].lower() == "aws:":
            raise _invalid_tag("System tags cannot be added/updated by requester", key)
        if key in seen:
            raise _invalid_tag("Cannot provide multiple Tags with the same key", key)
        seen.add(key)
    return tags


def parse_document(body: bytes, limit: int = OBJECT_LIMIT) -> Tags:
    """The tag set of a ``<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`` body
    (MissingRequestBodyError when empty; MalformedXML without TagSet, or a Tag without its Key or
    Value), validated."""
    if not body:
        raise AwsError("MissingRequestBodyError", "Request Body is empty")
    root = xmlio.parse(body, "Tagging")
    sets = xmlio.children(root, "TagSet")
    if len(sets) != 1:
        raise malformed_xml()
    pairs = []
    for tag in xmlio.children(sets[0], "Tag"):
        key, value = xmlio.child_text(tag, "Key"), xmlio.child_text(tag, "Value")
        if key is None or value is None:
            raise malformed_xml()
        pairs.append((key, value))
    return validate(tuple(pairs), limit)


def parse_header(text: str | None) -> Tags:
    """The tag set of an ``x-amz-tagging`` header (``a=1&b=``; no header: no tags), validated as
    an object's."""
    if not text:
        return ()
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise invalid_argument(_HEADER_MESSAGE, "x-amz-tagging", text) from None
    keys = [key for key, _ in pairs]
    if "" in keys or len(set(keys)) != len(keys):
        raise invalid_argument(_HEADER_MESSAGE, "x-amz-tagging", text)
    return validate(tuple(pairs))


def dump(tags: Tags) -> str | None:
    """The stored form: a JSON list of ``[key, value]`` pairs in request order; None for none."""
    return json.dumps([list(pair) for pair in tags]) if tags else None


def load(text: str | None) -> Tags:
    if not text:
        return ()
    return tuple((str(key), str(value)) for key, value in json.loads(text))


def document(tags: Tags) -> dict[str, object]:
    """The content of a ``Tagging`` answer."""
    return {"TagSet": {"Tag": [{"Key": key, "Value": value} for key, value in tags]}}


def _per_key(prefix: str, tags: Tags) -> Context:
    """``<prefix>/<key>`` for each tag. Condition key names are case-insensitive but tag keys are
    not: tags whose keys differ only in case (``Team``, ``team``) give one key with all their values,
    so that no policy sees one and misses the other (a positive operator matches any of them, a
    negated one none)."""
    grouped: dict[str, list[str]] = {}
    for key, value in tags:
        grouped.setdefault(key.lower(), []).append(value)
    return {f"{prefix}/{key}": values[0] if len(values) == 1 else values for key, values in grouped.items()}


def request_keys(tags: Tags) -> Context:
    """``s3:RequestObjectTag/<key>`` for each tag of the request and ``s3:RequestObjectTagKeys``
    (multivalued; absent when the request has no tags, so ``Null`` and ``ForAnyValue`` see none)."""
    if not tags:
        return {}
    values = _per_key("s3:RequestObjectTag", tags)
    values["s3:RequestObjectTagKeys"] = [key for key, _ in tags]
    return values


def existing_keys(tags: Tags) -> Context:
    """``s3:ExistingObjectTag/<key>`` for each tag of the object the request acts on."""
    return _per_key("s3:ExistingObjectTag", tags)

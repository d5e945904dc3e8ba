"""Conditional requests and byte ranges (RFC 7232/7233 as Amazon S3 applies them).

GetObject/HeadObject: If-Match (412 when it fails), If-Unmodified-Since (412, ignored when If-Match
is present and holds), If-None-Match (304 when it matches), If-Modified-Since (304, ignored when
If-None-Match is present). The x-amz-copy-source-if-* headers of CopyObject/UploadPartCopy answer
412 in every case. Range: one ``bytes=first-last`` / ``first-`` / ``-suffix``; beyond the end is
InvalidRange (416); a range S3 cannot read (syntax, several ranges) is ignored.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from monban.protocol.errors import AwsError
from monban.protocol.numbers import parse_integer
from monban.services.s3.errors import http_date, precondition_failed, utc

_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")  # ASCII digits only, as everywhere (protocol.numbers)


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # S3 ignores a date it cannot read


def etag_matches(condition: str, etag: str) -> bool:
    """``*`` or any listed entity tag, quotes optional (``W/`` weak tags compare as strong)."""
    bare = etag.strip('"')
    for item in condition.split(","):
        item = item.strip().removeprefix("W/").strip('"')
        if item == "*" or item == bare:
            return True
    return False


def _seconds(moment: datetime) -> datetime:
    return utc(moment).replace(microsecond=0)


def check_read(headers: dict[str, str | None], etag: str, last_modified: datetime, prefix: str = "") -> None:
    """Raise PreconditionFailed (412) or NotModified (304) as the conditional headers demand.

    ``prefix`` is ``x-amz-copy-source-`` for a copy's source, where every failure is 412.
    """
    modified = _seconds(last_modified)
    if_match = headers.get(f"{prefix}if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise precondition_failed("If-Match")
    else:
        since = _date(headers.get(f"{prefix}if-unmodified-since"))
        if since is not None and modified > since:
            raise precondition_failed("If-Unmodified-Since")
    if_none = headers.get(f"{prefix}if-none-match")
    if if_none is not None:
        if etag_matches(if_none, etag):
            _not_modified(prefix, "If-None-Match", etag, last_modified)
    else:
        since = _date(headers.get(f"{prefix}if-modified-since"))
        if since is not None and modified <= since:
            _not_modified(prefix, "If-Modified-Since", etag, last_modified)


def _not_modified(prefix: str, condition: str, etag: str, last_modified: datetime) -> None:
    """304 Not Modified with the ETag and Last-Modified a 200 would have carried (RFC 9110
    15.4.5: "The server generating a 304 response MUST generate any of the following header
    fields that would have been sent in a 200 (OK) response to the same request: … ETag …";
    S3 sends Last-Modified too)."""
    if prefix:
        raise precondition_failed(f"x-amz-copy-source-{condition}")
    headers = {"ETag": etag, "Last-Modified": http_date(last_modified)}
    raise AwsError("NotModified", "Not Modified", headers=headers)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) of a Range header, None for the whole object."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:
        suffix = parse_integer(last_text)
        if suffix == 0:
            raise invalid_range(header, size)
        return max(0, size - suffix), size - 1
    first = parse_integer(first_text)
    if last_text and parse_integer(last_text) < first:
        return None
    last = parse_integer(last_text) if last_text else size - 1
    if first >= size:
        raise invalid_range(header, size)
    return first, min(last, size - 1)


def invalid_range(header: str, size: int) -> AwsError:
    return AwsError(
        "InvalidRange",
        "The requested range is not satisfiable",
        extra={"RangeRequested": header, "ActualObjectSize": str(size)},
    )

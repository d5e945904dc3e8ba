"""What an object keeps of its upload request, and the headers it answers with.

Amazon S3 User Guide, "Working with object metadata": system metadata a client may set
(Content-Type — default ``binary/octet-stream``, Content-Encoding, Content-Disposition,
Content-Language, Cache-Control, Expires, storage class) and user metadata ``x-amz-meta-*``
(names lower-cased, at most 2 KB in all; values beyond US-ASCII are returned RFC 2047-encoded).
``aws-chunked`` is a transfer coding, never stored.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from monban.protocol.errors import AwsError
from monban.services.s3.call import S3Call
from monban.services.s3.errors import http_date, invalid_argument
from monban.services.s3.repo import ObjectInfo

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
MAX_USER_METADATA = 2048
STORED_HEADERS = ("content-encoding", "content-disposition", "content-language", "cache-control", "expires")
STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "OUTPOSTS",
        "GLACIER_IR",
        "SNOW",
        "EXPRESS_ONEZONE",
    }
)
OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


@dataclass(frozen=True, slots=True)
class UploadMeta:
    content_type: str
    headers: dict[str, str]
    user_metadata: list[tuple[str, str]]
    storage_class: str


def _content_encoding(value: str) -> str | None:
    """The Content-Encoding to store: as sent (``gzip, br`` keeps its space), less the
    ``aws-chunked`` transfer coding of a signed streaming upload; None when nothing is left."""
    codings = value.split(",")
    kept = [coding for coding in codings if coding.strip().lower() != "aws-chunked"]
    if len(kept) == len(codings):
        return value.strip() or None
    return ",".join(kept).strip(" ,") or None


def user_metadata(call: S3Call) -> list[tuple[str, str]]:
    """``x-amz-meta-*``: each value as text (its bytes as sent, read as UTF-8), at most 2 KB of
    UTF-8 in names and values together."""
    pairs = [
        (name.removeprefix("x-amz-meta-"), _text(value))
        for name, value in call.headers_with_prefix("x-amz-meta-")
    ]
    size = sum(len(k.encode()) + len(v.encode()) for k, v in pairs)
    if size > MAX_USER_METADATA:
        raise AwsError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size",
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_USER_METADATA)},
        )
    return pairs


def _text(value: str) -> str:
    """A header value's bytes as sent (``HttpRequest`` reads each as a Latin-1 character) decoded
    as UTF-8, or as Latin-1 when they are not UTF-8."""
    if value.isascii():
        return value
    raw = value.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return value


def mail_safe(value: str) -> str:
    """A user metadata value as S3 returns it (User Guide, "Working with object metadata": values
    with non US-ASCII characters are "encoded as per RFC 2047 to make them mail-safe before
    returning"): printable US-ASCII as is, anything else one ``=?UTF-8?B?<base64>?=`` word."""
    if all(" " <= char <= "~" or char == "\t" for char in value):
        return value
    return f"=?UTF-8?B?{base64.b64encode(value.encode('utf-8', 'surrogatepass')).decode()}?="


def storage_class(call: S3Call) -> str:
    value = call.header("x-amz-storage-class") or "STANDARD"
    if value not in STORAGE_CLASSES:
        raise AwsError(
            "InvalidStorageClass",
            "The storage class you specified is not valid",
            extra={"StorageClassRequested": value},
        )
    return value


def check_encryption(call: S3Call) -> None:
    """Objects are stored encrypted at rest as SSE-S3 (AES256) would; other modes are not offered."""
    value = call.header("x-amz-server-side-encryption")
    if value is not None and value != "AES256":
        raise invalid_argument(
            "Server Side Encryption with KMS managed key requires HTTP header "
            "x-amz-server-side-encryption : aws:kms",
            "x-amz-server-side-encryption",
            value,
        )


def upload_meta(call: S3Call) -> UploadMeta:
    """The metadata a PutObject / CreateMultipartUpload / CopyObject(REPLACE) request sets."""
    check_encryption(call)
    headers: dict[str, str] = {}
    for name in STORED_HEADERS:
        value = call.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            value = _content_encoding(value)
        if value is not None:
            headers[name] = value
    content_type = call.header("content-type") or DEFAULT_CONTENT_TYPE
    return UploadMeta(content_type, headers, user_metadata(call), storage_class(call))


def object_headers(call: S3Call, info: ObjectInfo) -> dict[str, str]:
    """The headers of a GetObject/HeadObject answer (before Content-Length/Range)."""
    out = {
        "ETag": info.etag,
        "Last-Modified": http_date(info.last_modified),
        "Content-Type": info.content_type,
        "Accept-Ranges": "bytes",
        "x-amz-server-side-encryption": "AES256",
    }
    out.update(info.headers)
    for name, value in info.user_metadata:
        out[f"x-amz-meta-{name}"] = mail_safe(value)
    if info.storage_class != "STANDARD":
        out["x-amz-storage-class"] = info.storage_class
    if call.query:
        for parameter, header in OVERRIDES.items():
            override = call.query.get(parameter)
            if override is not None:  # replaces the stored header, whatever the case of its name
                for name in [name for name in out if name.lower() == header]:
                    del out[name]
                out[header] = override
    return out


def checksum_headers(info: ObjectInfo) -> dict[str, str]:
    if info.checksum_algorithm is None or info.checksum_value is None:
        return {}
    return {
        f"x-amz-checksum-{info.checksum_algorithm.lower()}": info.checksum_value,
        "x-amz-checksum-type": info.checksum_type or "FULL_OBJECT",
    }

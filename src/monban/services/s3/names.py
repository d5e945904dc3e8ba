"""Bucket names, object keys and the ARNs built from them.

Amazon S3 User Guide, "General purpose bucket naming rules": 3–63 characters; lower-case letters,
digits, dots and hyphens; begin and end with a letter or digit; no two adjacent periods; not an IP
address; none of the reserved prefixes and suffixes. Object keys: any UTF-8, at most 1024 bytes
("Naming Amazon S3 objects"); S3 never normalises them — ``a/../b`` is a key like any other.
"""

from __future__ import annotations

import hashlib
import re

from monban.protocol.errors import AwsError

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_ok(name: str) -> bool:
    """Whether ``name`` follows S3's naming rules for general purpose buckets."""
    return bool(
        _BUCKET.fullmatch(name)
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not _IP.fullmatch(name)
        and not name.startswith(_RESERVED_PREFIXES)
        and not name.endswith(_RESERVED_SUFFIXES)
    )


def check_bucket_name(name: str) -> None:
    """InvalidBucketName (400) unless ``name`` is a valid bucket name."""
    if not bucket_name_ok(name):
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", extra={"BucketName": name})


def check_key(key: str) -> None:
    """KeyTooLongError beyond 1024 UTF-8 bytes; an empty key is never an object (S3 treats the
    request as addressed to the bucket). A key holding U+0000 is InvalidArgument: S3 stores it,
    but PostgreSQL's text cannot, and monban answers alike on every database."""
    size = len(key.encode("utf-8", "surrogateescape"))
    if size > MAX_KEY_BYTES:
        raise AwsError(
            "KeyTooLongError",
            "Your key is too long",
            extra={"MaxSizeAllowed": str(MAX_KEY_BYTES), "Size": str(size)},
        )
    if "\x00" in key:
        raise AwsError(
            "InvalidArgument",
            "Object key names may not contain the NUL character (U+0000) in monban.",
            extra={"ArgumentName": "key"},
        )


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def canonical_user_id(account: str) -> str:
    """A stable 64-hex-digit canonical user id for an account (S3 "Owner/ID")."""
    return hashlib.sha256(f"monban-canonical-user:{account}".encode()).hexdigest()

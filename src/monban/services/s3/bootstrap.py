"""Buckets from the bootstrap file (``Buckets:``), applied at start-up; idempotent.

Each entry ``{"BucketName", "PolicyDocument" (JSON text, a mapping, or None), "Objects": [{"Key",
"Body"}]}`` makes
the bucket (owned by ``account_id``) if it is missing, sets or removes its policy, and writes each
listed object whose content differs. A bucket name held by another account is an error: the file
cannot take a bucket away from its owner.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.s3 import repo
from monban.services.s3.metadata import DEFAULT_CONTENT_TYPE
from monban.services.s3.names import bucket_name_ok, check_key
from monban.services.s3.policy import bound, validate
from monban.services.s3.repo import ObjectInfo
from monban.services.s3.storage import BlobStore, inline
from monban.store.s3_models import Bucket

DEFAULT_REGION = "us-east-1"


class BootstrapError(ValueError):
    """A ``Buckets`` entry that cannot be applied."""


def _bucket(session: Session, account_id: str, name: str) -> Bucket:
    if not bucket_name_ok(name):
        raise BootstrapError(f"invalid bucket name: {name!r}")
    row = repo.find_bucket(session, name)
    if row is None:
        row = Bucket(
            name=name,
            account_id=account_id,
            region=DEFAULT_REGION,
            created_at=datetime.now(UTC).replace(microsecond=0),
        )
        session.add(row)
        session.flush()
    elif row.account_id != account_id:
        raise BootstrapError(f"bucket {name!r} belongs to account {row.account_id}, not {account_id}")
    return row


def _policy(session: Session, row: Bucket, document: str | None) -> None:
    """Set the policy as PutBucketPolicy does (validated, principals bound to unique ids)."""
    if document is not None:
        try:
            validate(document, row.name)
            document = bound(session, document)
        except AwsError as exc:
            raise BootstrapError(f"bucket {row.name!r}: {exc.message}") from exc
    row.policy = document


def _object(session: Session, bucket: str, key: str, body: bytes) -> list[str]:
    """Write the object unless it already holds ``body``; the blob ids it replaced. Its bytes go
    in its row, whatever their size: the bootstrap file is applied by every node at every start,
    and a row is what every node reads, whatever object store it was started with."""
    try:
        check_key(key)
    except AwsError as exc:
        raise BootstrapError(f"bucket {bucket!r}: invalid key {key!r}") from exc
    if not key:
        raise BootstrapError(f"bucket {bucket!r}: empty object key")
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    existing = repo.find_object(session, bucket, key)
    if (
        existing is not None
        and not existing.delete_marker
        and existing.etag == etag
        and existing.size == len(body)
    ):
        return []
    segment = inline(body)
    now = datetime.now(UTC).replace(microsecond=0)
    info = ObjectInfo(
        bucket,
        key,
        (segment,),
        len(body),
        etag,
        now,
        DEFAULT_CONTENT_TYPE,
        {},
        [],
        None,
        None,
        None,
        None,
        "STANDARD",
    )
    return list(repo.store_object(session, info).unused)


def apply_buckets(
    session: Session, account_id: str, buckets: Sequence[Mapping[str, Any]], data_dir: Path
) -> None:
    """Create or update the bootstrap file's buckets of ``account_id`` inside ``session``.

    Replaced blobs (files an earlier version wrote) are removed at once.
    """
    store = BlobStore(data_dir)
    replaced: list[str] = []
    for entry in buckets:
        name = str(entry["BucketName"])
        row = _bucket(session, account_id, name)
        document = entry.get("PolicyDocument")
        _policy(session, row, json.dumps(document) if isinstance(document, Mapping) else document)
        for item in entry.get("Objects") or ():
            body = item.get("Body", "")
            data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            replaced += _object(session, name, str(item["Key"]), data)
    session.flush()
    store.delete(replaced)

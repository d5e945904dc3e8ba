"""Tables of the S3-compatible object service: buckets, objects, multipart uploads and their parts.

Object bytes live where ``blobs`` says (files under ``<data dir>/objects`` named by generated ids,
chunks in ``s3_blob_chunks``, or objects of an S3-compatible store) — or, for a small object, in
its row (``data``); these rows are the only way to reach them, so an object is visible exactly
when its row is committed.
Keys compare byte-wise (UTF-8), as S3 lists them: SQLite's BINARY collation does that, PostgreSQL
needs the ``C`` collation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from monban.store.models import Base

KEY_TYPE = String(1024).with_variant(String(1024, collation="C"), "postgresql")


class Bucket(Base):
    """A bucket: a global name, the account that created it (its owner), its Region, policy and
    tags (PutBucketTagging's, for cost allocation: S3 gives them to policies only once ABAC is
    enabled on the bucket, which monban does not offer)."""

    __tablename__ = "s3_buckets"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    policy: Mapped[str | None] = mapped_column(Text, nullable=True)
    # None until versioning is first configured (an unversioned bucket), then Enabled | Suspended
    versioning: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mfa_delete: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [[key, value], …] or NULL


class S3Object(Base):
    """One version of one key, with its tags (``tags``: a version's tags are its own).
    ``blobs`` is a JSON list of ``[blob id, size]`` segments
    (one for a simple upload, one per part for a multipart upload); a small simple upload has none
    and keeps its bytes in ``data`` instead (never loaded by the ORM unless asked for).

    Versions: ``version_id`` is ``null`` for the null version (every object of an unversioned
    bucket, and what a suspended bucket writes); ``seq`` orders the versions of a key (the newest
    has the highest); exactly one version of a key that has any is ``is_latest`` (the partial
    unique index ``ix_s3_objects_latest``, which serves GetObject and the listings); a delete
    marker has no bytes (``delete_marker``)."""

    __tablename__ = "s3_objects"
    __table_args__ = (
        Index(
            "ix_s3_objects_latest",
            "bucket",
            "key",
            unique=True,
            sqlite_where=text("is_latest = 1"),
            postgresql_where=text("is_latest"),
        ),
    )
    bucket: Mapped[str] = mapped_column(ForeignKey("s3_buckets.name", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KEY_TYPE, primary_key=True)
    blobs: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_type: Mapped[str] = mapped_column(String(1024))
    headers: Mapped[str] = mapped_column(Text, default="{}")
    user_metadata: Mapped[str] = mapped_column(Text, default="[]")
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    parts_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    storage_class: Mapped[str] = mapped_column(String(32), default="STANDARD")
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [[key, value], …] or NULL
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    version_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="null")
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    delete_marker: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class MultipartUpload(Base):
    """An upload started by CreateMultipartUpload, until it is completed or aborted."""

    __tablename__ = "s3_multipart_uploads"
    __table_args__ = (Index("ix_s3_multipart_uploads_bucket_key", "bucket", "key"),)
    upload_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    bucket: Mapped[str] = mapped_column(ForeignKey("s3_buckets.name", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(KEY_TYPE)
    initiated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    initiator_arn: Mapped[str] = mapped_column(String(2048))
    initiator_id: Mapped[str] = mapped_column(String(256))
    content_type: Mapped[str] = mapped_column(String(1024))
    headers: Mapped[str] = mapped_column(Text, default="{}")
    user_metadata: Mapped[str] = mapped_column(Text, default="[]")
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    storage_class: Mapped[str] = mapped_column(String(32), default="STANDARD")
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)  # x-amz-tagging, applied at completion


class UploadPart(Base):
    """One uploaded part; its bytes are the blob ``blob_id``."""

    __tablename__ = "s3_upload_parts"
    upload_id: Mapped[str] = mapped_column(
        ForeignKey("s3_multipart_uploads.upload_id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    blob_id: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checksum_value: Mapped[str | None] = mapped_column(String(128), nullable=True)


class BlobChunk(Base):
    """One chunk of an object's bytes kept in the database (``--object-store database``, the default
    on PostgreSQL): chunk ``chunk_no`` of blob ``blob_id`` (a ``db:`` id), ``CHUNK`` bytes but the
    last (``services/s3/chunks.py``). On PostgreSQL ``data`` is stored EXTERNAL: out of line and
    uncompressed, so a Range read fetches only the slices it needs."""

    __tablename__ = "s3_blob_chunks"
    blob_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

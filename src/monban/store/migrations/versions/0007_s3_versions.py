"""S3 versioning: a bucket's versioning state, objects keyed by version

Revision ID: 0007_s3_versions
Revises: 0006_ec2_instances
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_s3_versions"
down_revision = "0006_ec2_instances"
branch_labels = None
depends_on = None

_VERSION_COLUMNS = ("version_id", "is_latest", "delete_marker", "seq")


def _objects(versioned: bool) -> sa.Table:
    """The shape of ``s3_objects`` after (``versioned``) or before this revision (SQLite's batch
    copies the rows into a table of this shape: its primary key cannot be altered in place)."""
    key = sa.String(length=1024).with_variant(sa.String(length=1024, collation="C"), "postgresql")
    columns: list[sa.Column[Any]] = [
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("key", key, nullable=False),
        sa.Column("blobs", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=1024), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("user_metadata", sa.Text(), nullable=False),
        sa.Column("checksum_algorithm", sa.String(length=16), nullable=True),
        sa.Column("checksum_value", sa.String(length=128), nullable=True),
        sa.Column("checksum_type", sa.String(length=16), nullable=True),
        sa.Column("parts_count", sa.Integer(), nullable=True),
        sa.Column("storage_class", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
    ]
    if versioned:
        columns += [
            sa.Column("version_id", sa.String(length=64), nullable=False),
            sa.Column("is_latest", sa.Boolean(), nullable=False),
            sa.Column("delete_marker", sa.Boolean(), nullable=False),
            sa.Column("seq", sa.BigInteger(), nullable=False),
        ]
    primary = ["bucket", "key", "version_id"] if versioned else ["bucket", "key"]
    return sa.Table(
        "s3_objects",
        sa.MetaData(),
        *columns,
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*primary, name="s3_objects_pkey"),
    )


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("s3_buckets") as batch:
        batch.add_column(sa.Column("versioning", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("mfa_delete", sa.String(length=16), nullable=True))
    # every existing object is its key's null version, the latest one
    for column in (
        sa.Column("version_id", sa.String(64), nullable=False, server_default="null"),
        sa.Column("is_latest", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("delete_marker", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
    ):
        op.add_column("s3_objects", column)
    if _sqlite():
        with op.batch_alter_table("s3_objects", recreate="always", copy_from=_objects(True)):
            pass
    else:
        for name in _VERSION_COLUMNS:
            op.alter_column("s3_objects", name, server_default=None)
        op.drop_constraint("s3_objects_pkey", "s3_objects", type_="primary")
        op.create_primary_key("s3_objects_pkey", "s3_objects", ["bucket", "key", "version_id"])
    op.create_index(
        "ix_s3_objects_latest",
        "s3_objects",
        ["bucket", "key"],
        unique=True,
        sqlite_where=sa.text("is_latest = 1"),
        postgresql_where=sa.text("is_latest"),
    )


def downgrade() -> None:
    op.drop_index("ix_s3_objects_latest", table_name="s3_objects")
    op.execute(sa.text("DELETE FROM s3_objects WHERE is_latest = false OR delete_marker = true"))
    if _sqlite():
        with op.batch_alter_table("s3_objects", recreate="always", copy_from=_objects(False)):
            pass
    else:
        op.drop_constraint("s3_objects_pkey", "s3_objects", type_="primary")
        op.create_primary_key("s3_objects_pkey", "s3_objects", ["bucket", "key"])
        for name in _VERSION_COLUMNS:
            op.drop_column("s3_objects", name)
    with op.batch_alter_table("s3_buckets") as batch:
        batch.drop_column("mfa_delete")
        batch.drop_column("versioning")

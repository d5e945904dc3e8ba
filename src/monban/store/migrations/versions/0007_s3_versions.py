"""S3 versioning: a bucket's versioning state, objects keyed by version

Revision ID: 0007_s3_versions
Revises: 0005_oidc_providers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0007_s3_versions"
down_revision = "0005_oidc_providers"
branch_labels = None
depends_on = None

_LATEST = {"sqlite_where": sa.text("is_latest = 1"), "postgresql_where": sa.text("is_latest")}


def upgrade() -> None:
    with op.batch_alter_table("s3_buckets") as batch:
        batch.add_column(sa.Column("versioning", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("mfa_delete", sa.String(length=16), nullable=True))
    # every existing object is its key's null version, the latest one
    with op.batch_alter_table("s3_objects", recreate="always") as batch:
        batch.add_column(sa.Column("version_id", sa.String(length=64), nullable=False, server_default="null"))
        batch.add_column(sa.Column("is_latest", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("delete_marker", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("s3_objects", recreate="always") as batch:
        for name in ("version_id", "is_latest", "delete_marker", "seq"):
            batch.alter_column(name, server_default=None)
        _drop_primary_key(batch)
        batch.create_primary_key("s3_objects_pkey", ["bucket", "key", "version_id"])
        batch.create_index("ix_s3_objects_latest", ["bucket", "key"], unique=True, **_LATEST)


def _drop_primary_key(batch: BatchOperations) -> None:
    """PostgreSQL's is dropped by name; SQLite's (unnamed) is replaced by the table copy that
    ``create_primary_key`` makes in a batch."""
    name = sa.inspect(op.get_bind()).get_pk_constraint("s3_objects").get("name")
    if name:
        batch.drop_constraint(name, type_="primary")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM s3_objects WHERE is_latest = false OR delete_marker = true"))
    with op.batch_alter_table("s3_objects", recreate="always") as batch:
        batch.drop_index("ix_s3_objects_latest")
        _drop_primary_key(batch)
        batch.create_primary_key("s3_objects_pkey", ["bucket", "key"])
        for name in ("seq", "delete_marker", "is_latest", "version_id"):
            batch.drop_column(name)
    with op.batch_alter_table("s3_buckets") as batch:
        batch.drop_column("mfa_delete")
        batch.drop_column("versioning")

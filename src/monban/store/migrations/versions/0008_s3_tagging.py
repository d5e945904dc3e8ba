"""S3 tagging: the tag sets of buckets, objects and multipart uploads

Revision ID: 0008_s3_tagging
Revises: 0006_byte_order_names
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_s3_tagging"
down_revision = "0006_byte_order_names"
branch_labels = None
depends_on = None

_TABLES = ("s3_buckets", "s3_objects", "s3_multipart_uploads")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("tags", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tags")

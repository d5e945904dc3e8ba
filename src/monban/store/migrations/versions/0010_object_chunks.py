"""object bytes in the database: s3_blob_chunks

Revision ID: 0010_object_chunks
Revises: 0008_s3_tagging
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_object_chunks"
down_revision = "0008_s3_tagging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "s3_blob_chunks",
        sa.Column("blob_id", sa.String(length=64), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("blob_id", "chunk_no"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # out of line and never compressed: object bytes are mostly incompressible, and substring()
        # of an EXTERNAL value reads only the TOAST slices it covers (a Range read of a chunk)
        op.execute("ALTER TABLE s3_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("s3_blob_chunks")

"""The session-key ring: keys that seal session tokens, sealed under the master key

Revision ID: 0011_session_keys
Revises: 0010_object_chunks

The table starts empty: a database without rows seals with key 0, the key derived from the master
key that sealed every token before this revision, so those tokens stay valid. The first
``monban keys rotate`` records key 0 (retired) beside the new key (``store/session_keys.py``); the
migration itself cannot, since the master key never reaches the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_session_keys"
down_revision = "0010_object_chunks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("session_keys")

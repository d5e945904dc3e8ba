"""IAM names and policy ARNs sort in code point order on PostgreSQL too (COLLATE "C")

Revision ID: 0006_byte_order_names
Revises: 0012_ecs_tasks

The List operations page by key (``name_lower > :marker ORDER BY name_lower``); on PostgreSQL the
columns take the ``C`` collation so that order is SQLite's (BINARY) and Python's, and the unique
indexes on them (rebuilt by ALTER COLUMN) serve it. Nothing changes on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_byte_order_names"
down_revision = "0012_ecs_tasks"
branch_labels = None
depends_on = None

COLUMNS = (
    ("users", "name_lower", 64),
    ("groups", "name_lower", 128),
    ("roles", "name_lower", 64),
    ("instance_profiles", "name_lower", 128),
    ("managed_policies", "name_lower", 128),
    ("managed_policies", "arn", 1024),
)


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(length, collation=collation),
            existing_type=sa.String(length),
            existing_nullable=False,
            postgresql_using=f'"{column}" COLLATE "{collation or "default"}"',
        )


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate(None)

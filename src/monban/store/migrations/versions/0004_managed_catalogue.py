"""AWS managed policies come from the packaged catalogue: drop the rows earlier start-ups stored;
DeleteServiceLinkedRole's tasks

Revision ID: 0004_managed_catalogue
Revises: 0002_s3_object_data
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_managed_catalogue"
down_revision = "0003_principal_ids"
branch_labels = None
depends_on = None

_AWS = "(SELECT id FROM managed_policies WHERE account_id = 'aws')"


def upgrade() -> None:
    op.create_table(
        "role_deletion_tasks",
        sa.Column("task_id", sa.String(length=1000), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("role_arn", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_role_deletion_tasks_account_id", "role_deletion_tasks", ["account_id"], unique=False)
    op.execute(f"DELETE FROM tags WHERE entity_type = 'policy' AND entity_id IN {_AWS}")
    op.execute(f"DELETE FROM policy_versions WHERE policy_id IN {_AWS}")
    op.execute("DELETE FROM managed_policies WHERE account_id = 'aws'")


def downgrade() -> None:
    """The deletion tasks go; AWS managed policy rows are not restored (nothing reads them)."""
    op.drop_index("ix_role_deletion_tasks_account_id", table_name="role_deletion_tasks")
    op.drop_table("role_deletion_tasks")

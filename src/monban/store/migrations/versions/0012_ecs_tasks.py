"""ECS task records for container credentials

Revision ID: 0012_ecs_tasks
Revises: 0007_s3_versions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_ecs_tasks"
down_revision = "0007_s3_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ecs_tasks",
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("role_arn", sa.String(length=2048), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("task_id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index(op.f("ix_ecs_tasks_account_id"), "ecs_tasks", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ecs_tasks_account_id"), table_name="ecs_tasks")
    op.drop_table("ecs_tasks")

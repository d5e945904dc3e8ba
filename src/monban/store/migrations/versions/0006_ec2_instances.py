"""EC2 instance records

Revision ID: 0006_ec2_instances
Revises: 0005_oidc_providers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ec2_instances"
down_revision = "0005_oidc_providers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ec2_instances",
        sa.Column("instance_id", sa.String(length=19), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.String(length=19), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("availability_zone", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("launch_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("image_id", sa.String(length=32), nullable=False),
        sa.Column("instance_type", sa.String(length=32), nullable=False),
        sa.Column("vpc_id", sa.String(length=32), nullable=False),
        sa.Column("subnet_id", sa.String(length=32), nullable=False),
        sa.Column("private_ip", sa.String(length=15), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=True),
        sa.Column("association_id", sa.String(length=32), nullable=True),
        sa.Column("association_state", sa.String(length=16), nullable=True),
        sa.Column("http_tokens", sa.String(length=16), nullable=False),
        sa.Column("http_endpoint", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
        sa.UniqueConstraint("ordinal"),
        sa.UniqueConstraint("association_id"),
    )
    op.create_index(op.f("ix_ec2_instances_account_id"), "ec2_instances", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ec2_instances_account_id"), table_name="ec2_instances")
    op.drop_table("ec2_instances")

"""IAM OpenID Connect identity providers

Revision ID: 0005_oidc_providers
Revises: 0002_s3_object_data
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_oidc_providers"
down_revision = "0004_managed_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_providers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("client_ids", sa.Text(), nullable=False),
        sa.Column("thumbprints", sa.Text(), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("arn"),
    )
    op.create_index(op.f("ix_oidc_providers_account_id"), "oidc_providers", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_providers_account_id"), table_name="oidc_providers")
    op.drop_table("oidc_providers")

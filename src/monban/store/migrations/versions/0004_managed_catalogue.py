"""AWS managed policies come from the packaged catalogue: drop the rows earlier start-ups stored

Revision ID: 0004_managed_catalogue
Revises: 0002_s3_object_data
"""

from __future__ import annotations

from alembic import op

revision = "0004_managed_catalogue"
down_revision = "0002_s3_object_data"
branch_labels = None
depends_on = None

_AWS = "(SELECT id FROM managed_policies WHERE account_id = 'aws')"


def upgrade() -> None:
    op.execute(f"DELETE FROM tags WHERE entity_type = 'policy' AND entity_id IN {_AWS}")
    op.execute(f"DELETE FROM policy_versions WHERE policy_id IN {_AWS}")
    op.execute("DELETE FROM managed_policies WHERE account_id = 'aws'")


def downgrade() -> None:
    """Nothing to restore: the catalogue is read from the package whatever the schema."""

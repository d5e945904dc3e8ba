"""initial schema

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "attachments",
        sa.Column("entity_type", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.String(length=32), nullable=False),
        sa.Column("policy_arn", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "entity_id", "policy_arn"),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_policy_arn"), ["policy_arn"], unique=False)

    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "managed_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_lower", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("default_version_id", sa.String(length=16), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_lower", "path"),
        sa.UniqueConstraint("arn"),
    )
    with op.batch_alter_table("managed_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_managed_policies_account_id"), ["account_id"], unique=False)

    op.create_table(
        "revoked_sessions",
        sa.Column("access_key_id", sa.String(length=20), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id"),
    )
    with op.batch_alter_table("revoked_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_sessions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "tags",
        sa.Column("entity_type", sa.String(length=24), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("key_lower", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "entity_id", "key_lower"),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_lower", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_lower"),
        sa.UniqueConstraint("arn"),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_account_id"), ["account_id"], unique=False)

    op.create_table(
        "inline_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("entity_type", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_type", "entity_id", "name"),
    )
    with op.batch_alter_table("inline_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inline_policies_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inline_policies_entity_id"), ["entity_id"], unique=False)

    op.create_table(
        "instance_profiles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_lower", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_lower"),
        sa.UniqueConstraint("arn"),
    )
    with op.batch_alter_table("instance_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instance_profiles_account_id"), ["account_id"], unique=False)

    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.String(length=32), nullable=False),
        sa.Column("version_id", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["managed_policies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("policy_id", "version_id"),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_lower", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("trust_policy", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("max_session_duration", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("permissions_boundary", sa.String(length=2048), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_region", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_lower"),
        sa.UniqueConstraint("arn"),
    )
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roles_account_id"), ["account_id"], unique=False)

    op.create_table(
        "s3_buckets",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("s3_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_s3_buckets_account_id"), ["account_id"], unique=False)

    op.create_table(
        "service_control_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_control_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_control_policies_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_lower", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("permissions_boundary", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_lower"),
        sa.UniqueConstraint("arn"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_account_id"), ["account_id"], unique=False)

    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_service", sa.String(length=64), nullable=True),
        sa.Column("last_used_region", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("access_key_id"),
    )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_keys_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "user_id"),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "instance_profile_roles",
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("role_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["instance_profiles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("profile_id", "role_id"),
    )
    op.create_table(
        "s3_multipart_uploads",
        sa.Column("upload_id", sa.String(length=128), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column(
            "key",
            sa.String(length=1024).with_variant(sa.String(length=1024, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("initiated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("initiator_arn", sa.String(length=2048), nullable=False),
        sa.Column("initiator_id", sa.String(length=256), nullable=False),
        sa.Column("content_type", sa.String(length=1024), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("user_metadata", sa.Text(), nullable=False),
        sa.Column("checksum_algorithm", sa.String(length=16), nullable=True),
        sa.Column("checksum_type", sa.String(length=16), nullable=True),
        sa.Column("storage_class", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id"),
    )
    with op.batch_alter_table("s3_multipart_uploads", schema=None) as batch_op:
        batch_op.create_index("ix_s3_multipart_uploads_bucket_key", ["bucket", "key"], unique=False)

    op.create_table(
        "s3_objects",
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column(
            "key",
            sa.String(length=1024).with_variant(sa.String(length=1024, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("blobs", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=1024), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("user_metadata", sa.Text(), nullable=False),
        sa.Column("checksum_algorithm", sa.String(length=16), nullable=True),
        sa.Column("checksum_value", sa.String(length=128), nullable=True),
        sa.Column("checksum_type", sa.String(length=16), nullable=True),
        sa.Column("parts_count", sa.Integer(), nullable=True),
        sa.Column("storage_class", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["bucket"], ["s3_buckets.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bucket", "key"),
    )
    op.create_table(
        "s3_upload_parts",
        sa.Column("upload_id", sa.String(length=128), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checksum_value", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["upload_id"], ["s3_multipart_uploads.upload_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "part_number"),
    )


def downgrade() -> None:
    op.drop_table("s3_upload_parts")
    op.drop_table("s3_objects")
    with op.batch_alter_table("s3_multipart_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_s3_multipart_uploads_bucket_key")

    op.drop_table("s3_multipart_uploads")
    op.drop_table("instance_profile_roles")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_user_id"))

    op.drop_table("group_members")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_keys_user_id"))
        batch_op.drop_index(batch_op.f("ix_access_keys_account_id"))

    op.drop_table("access_keys")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_account_id"))

    op.drop_table("users")
    with op.batch_alter_table("service_control_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_control_policies_account_id"))

    op.drop_table("service_control_policies")
    with op.batch_alter_table("s3_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_s3_buckets_account_id"))

    op.drop_table("s3_buckets")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roles_account_id"))

    op.drop_table("roles")
    op.drop_table("policy_versions")
    with op.batch_alter_table("instance_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_profiles_account_id"))

    op.drop_table("instance_profiles")
    with op.batch_alter_table("inline_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inline_policies_entity_id"))
        batch_op.drop_index(batch_op.f("ix_inline_policies_account_id"))

    op.drop_table("inline_policies")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_account_id"))

    op.drop_table("groups")
    op.drop_table("tags")
    with op.batch_alter_table("revoked_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_sessions_expires_at"))

    op.drop_table("revoked_sessions")
    with op.batch_alter_table("managed_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_managed_policies_account_id"))

    op.drop_table("managed_policies")
    op.drop_table("counters")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_policy_arn"))

    op.drop_table("attachments")
    op.drop_table("accounts")

"""Tables for accounts and IAM entities.

Names are unique case-insensitively within an account (``name_lower``); ids are AWS-style unique
ids (AIDA…, AROA…, AGPA…, ANPA…, AIPA…). Policy documents are stored as the text the caller sent
(IAM returns it URL-encoded, as written). Secrets are stored sealed (``credentials.secrets``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def byte_order(length: int) -> String:
    """A string column that sorts and compares in code point (UTF-8 byte) order on every
    database, as IAM lists by name: SQLite's BINARY collation does that, PostgreSQL needs ``C``
    (its default collation may follow a locale, where ``a-b`` sorts after ``ab``)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    """Every monban table."""


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Counter(Base):
    """Small named counters, e.g. ``iam_generation`` bumped by every IAM write (cache invalidation)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class AccessKey(Base):
    """Long-term keys of IAM users, and of account roots (``user_id`` None)."""

    __tablename__ = "access_keys"
    access_key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True
    )
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(8), default="Active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_used_region: Mapped[str | None] = mapped_column(String(32), nullable=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("account_id", "name_lower"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_lower: Mapped[str] = mapped_column(byte_order(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(1024), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    permissions_boundary: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("account_id", "name_lower"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    name_lower: Mapped[str] = mapped_column(byte_order(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(1024), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("account_id", "name_lower"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_lower: Mapped[str] = mapped_column(byte_order(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(1024), unique=True)
    trust_policy: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    max_session_duration: Mapped[int] = mapped_column(Integer, default=3600)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    permissions_boundary: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_region: Mapped[str | None] = mapped_column(String(32), nullable=True)


class InlinePolicy(Base):
    """A policy embedded in a user, group or role (``entity_type`` "user" | "group" | "role")."""

    __tablename__ = "inline_policies"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(8))
    entity_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    document: Mapped[str] = mapped_column(Text)


class ManagedPolicy(Base):
    """Customer managed policies (``account_id`` set) and AWS managed ones (``account_id`` "aws")."""

    __tablename__ = "managed_policies"
    __table_args__ = (UniqueConstraint("account_id", "name_lower", "path"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(128))
    name_lower: Mapped[str] = mapped_column(byte_order(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(byte_order(1024), unique=True)
    description: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    default_version_id: Mapped[str] = mapped_column(String(16), default="v1")
    next_version: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    policy_id: Mapped[str] = mapped_column(
        ForeignKey("managed_policies.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Attachment(Base):
    """A managed policy attached to a user, group or role."""

    __tablename__ = "attachments"
    entity_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_arn: Mapped[str] = mapped_column(String(1024), primary_key=True, index=True)


class Tag(Base):
    """Tags of users, roles, policies, instance profiles (keys unique case-insensitively)."""

    __tablename__ = "tags"
    entity_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_lower: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(256))


class InstanceProfile(Base):
    __tablename__ = "instance_profiles"
    __table_args__ = (UniqueConstraint("account_id", "name_lower"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    name_lower: Mapped[str] = mapped_column(byte_order(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(1024), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InstanceProfileRole(Base):
    __tablename__ = "instance_profile_roles"
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("instance_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)


class OrganizationPolicy(Base):
    """Service control policies that apply to an account (one level per row's ``level``)."""

    __tablename__ = "service_control_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(128))
    document: Mapped[str] = mapped_column(Text)


class OidcProvider(Base):
    """An IAM OpenID Connect identity provider (``arn:aws:iam::<acct>:oidc-provider/<url>``).
    ``url`` is the issuer without ``https://``; ``client_ids`` and ``thumbprints`` are JSON lists;
    ``jwks`` is monban's own addition (a JWKS document declared in the bootstrap file, for an
    issuer that cannot be reached). Tags live in ``tags`` under ``entity_type`` "oidc-provider"."""

    __tablename__ = "oidc_providers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    url: Mapped[str] = mapped_column(String(255))
    arn: Mapped[str] = mapped_column(String(1024), unique=True)
    client_ids: Mapped[str] = mapped_column(Text)
    thumbprints: Mapped[str] = mapped_column(Text)
    jwks: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RevokedSession(Base):
    """A session revoked by its access key id (monban's own extension; AWS has only the
    aws:TokenIssueTime deny). Rows can be dropped once ``expires_at`` has passed."""

    __tablename__ = "revoked_sessions"
    access_key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RoleDeletionTask(Base):
    """DeleteServiceLinkedRole's task (``task/aws-service-role/<service>/<role>/<uuid>``), for
    GetServiceLinkedRoleDeletionStatus."""

    __tablename__ = "role_deletion_tasks"
    task_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    role_arn: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionKey(Base):
    """A key that seals session tokens (``store/session_keys.py``), itself sealed under the master
    key. The current one has no ``retired_at``; a retired one still opens the tokens it sealed
    until the longest session has passed, then it is deleted."""

    __tablename__ = "session_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

"""Read-side queries that authentication and authorization need on every request.

They return plain frozen records (no ORM objects escape), so callers may cache them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.store.managed import aws_document, is_aws_arn
from monban.store.models import (
    AccessKey,
    Attachment,
    GroupMember,
    InlinePolicy,
    ManagedPolicy,
    OrganizationPolicy,
    PolicyVersion,
    Role,
    Tag,
    User,
)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    access_key_id: str
    account_id: str
    status: str
    secret_sealed: bytes
    user_id: str | None  # None for the account root
    user_name: str | None
    user_arn: str | None


@dataclass(frozen=True, slots=True)
class PolicyText:
    """A policy document and the name explanations use for it."""

    name: str
    document: str


@dataclass(frozen=True, slots=True)
class EntityPolicies:
    """A user's or role's applicable policies and tags."""

    entity_id: str
    name: str
    arn: str
    identity: tuple[PolicyText, ...]
    boundary: PolicyText | None
    tags: tuple[tuple[str, str], ...]


def find_access_key(session: Session, access_key_id: str) -> KeyRecord | None:
    row = session.get(AccessKey, access_key_id)
    if row is None:
        return None
    user = session.get(User, row.user_id) if row.user_id else None
    return KeyRecord(
        access_key_id=row.access_key_id,
        account_id=row.account_id,
        status=row.status,
        secret_sealed=row.secret_sealed,
        user_id=row.user_id,
        user_name=user.name if user else None,
        user_arn=user.arn if user else None,
    )


def managed_document(session: Session, arn: str) -> PolicyText | None:
    """The default version of a managed policy (customer or AWS)."""
    if is_aws_arn(arn):
        document = aws_document(arn)
        return PolicyText(arn, document) if document is not None else None
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == arn))
    if policy is None:
        return None
    version = session.get(PolicyVersion, (policy.id, policy.default_version_id))
    return PolicyText(arn, version.document) if version else None


def _inline(session: Session, entity_type: str, entity_id: str, owner: str) -> list[PolicyText]:
    query = select(InlinePolicy).where(
        InlinePolicy.entity_type == entity_type, InlinePolicy.entity_id == entity_id
    )
    return [PolicyText(f"{owner}/{p.name}", p.document) for p in session.scalars(query)]


def _attached(session: Session, entity_type: str, entity_id: str) -> list[PolicyText]:
    query = select(Attachment.policy_arn).where(
        Attachment.entity_type == entity_type, Attachment.entity_id == entity_id
    )
    docs = (managed_document(session, arn) for arn in session.scalars(query))
    return [doc for doc in docs if doc is not None]


def entity_tags(session: Session, entity_type: str, entity_id: str) -> tuple[tuple[str, str], ...]:
    query = select(Tag).where(Tag.entity_type == entity_type, Tag.entity_id == entity_id)
    return tuple((t.key, t.value) for t in session.scalars(query))


def _boundary(session: Session, arn: str | None) -> PolicyText | None:
    return managed_document(session, arn) if arn else None


def user_policies(session: Session, user_id: str) -> EntityPolicies | None:
    """Inline and attached policies of the user and of its groups, its boundary and tags."""
    user = session.get(User, user_id)
    if user is None:
        return None
    docs = _inline(session, "user", user.id, f"user/{user.name}") + _attached(session, "user", user.id)
    for group_id in session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user.id)):
        docs += _inline(session, "group", group_id, f"group/{group_id}")
        docs += _attached(session, "group", group_id)
    return EntityPolicies(
        user.id,
        user.name,
        user.arn,
        tuple(docs),
        _boundary(session, user.permissions_boundary),
        entity_tags(session, "user", user.id),
    )


def role_policies(session: Session, role_id: str) -> EntityPolicies | None:
    role = session.get(Role, role_id)
    if role is None:
        return None
    docs = _inline(session, "role", role.id, f"role/{role.name}") + _attached(session, "role", role.id)
    return EntityPolicies(
        role.id,
        role.name,
        role.arn,
        tuple(docs),
        _boundary(session, role.permissions_boundary),
        entity_tags(session, "role", role.id),
    )


def service_control_policies(session: Session, account_id: str) -> tuple[tuple[PolicyText, ...], ...]:
    """SCPs of the account grouped by organization level (each level must allow)."""
    query = select(OrganizationPolicy).where(OrganizationPolicy.account_id == account_id)
    levels: dict[int, list[PolicyText]] = {}
    for row in session.scalars(query.order_by(OrganizationPolicy.level, OrganizationPolicy.id)):
        levels.setdefault(row.level, []).append(PolicyText(f"scp/{row.name}", row.document))
    return tuple(tuple(levels[level]) for level in sorted(levels))

"""Inline policies of users, groups and roles: Put/Get/List/Delete {User,Group,Role}Policy.

IAM API reference: the document is validated as an identity policy (MalformedPolicyDocument with
IAM's message); the entity's inline policies together may not exceed 2,048 (user), 5,120 (group)
or 10,240 (role) characters, white space not counted (IAM quotas → LimitExceeded "Maximum policy
size of N bytes exceeded for <type> <name>"). Get*Policy returns the document URL-encoded.
Each action is authorized on the entity's ARN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from monban.policy.parse import check_inline_policy_size
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import authorized_entity, check_name, encode_document, page
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import Group, InlinePolicy, Role, User

OPERATIONS: dict[str, Operation] = {}

MAX_DOCUMENT = 131072  # policyDocumentType
EntityType = Literal["user", "group", "role"]


@dataclass(frozen=True, slots=True)
class EntityKind:
    """How one kind of policy holder appears in the API."""

    entity_type: EntityType
    label: str  # action infix: User, Group, Role
    name_limit: int  # existingUserNameType 128, groupNameType 128, roleNameType 64

    @property
    def param(self) -> str:
        return f"{self.label}Name"

    @property
    def member(self) -> str:
        return f"{self.entity_type}Name"


KINDS = (EntityKind("user", "User", 128), EntityKind("group", "Group", 128), EntityKind("role", "Role", 64))


def policy_error(error: MalformedPolicyDocument) -> AwsError:
    """The engine's error as the API reports it (MalformedPolicyDocument, LimitExceeded, …)."""
    return AwsError(error.code, error.message)


def inline_rows(session: Session, entity_type: str, entity_id: str) -> list[InlinePolicy]:
    query = select(InlinePolicy).where(
        InlinePolicy.entity_type == entity_type, InlinePolicy.entity_id == entity_id
    )
    return list(session.scalars(query.order_by(InlinePolicy.name)))


def put_inline(
    session: Session,
    entity: User | Group | Role,
    entity_type: EntityType,
    policy_name: str,
    document: str,
) -> None:
    """Validate and store (or replace) one inline policy of ``entity``."""
    try:
        parse_policy(document, PolicyKind.IDENTITY)
        rows = inline_rows(session, entity_type, entity.id)
        others = [row.document for row in rows if row.name != policy_name]
        check_inline_policy_size([*others, document], entity_type, entity.name)
    except MalformedPolicyDocument as error:
        raise policy_error(error) from error
    existing = next((row for row in rows if row.name == policy_name), None)
    if existing is None:
        session.add(
            InlinePolicy(
                account_id=entity.account_id,
                entity_type=entity_type,
                entity_id=entity.id,
                name=policy_name,
                document=document,
            )
        )
    else:
        existing.document = document
    session.flush()


def _find(session: Session, kind: EntityKind, entity_id: str, policy_name: str) -> InlinePolicy:
    row = session.scalar(
        select(InlinePolicy).where(
            InlinePolicy.entity_type == kind.entity_type,
            InlinePolicy.entity_id == entity_id,
            InlinePolicy.name == policy_name,
        )
    )
    if row is None:
        raise AwsError(
            "NoSuchEntity", f"The {kind.entity_type} policy with name {policy_name} cannot be found."
        )
    return row


def _names(call: QueryCall, kind: EntityKind, with_policy: bool) -> tuple[str, str]:
    entity = check_name(call.params.required(kind.param), kind.member, kind.name_limit)
    policy = check_name(call.params.required("PolicyName"), "policyName", 128) if with_policy else ""
    return entity, policy


def _document(call: QueryCall) -> str:
    document = call.params.required("PolicyDocument")
    if not document:
        raise validation_error(document, "policyDocument", "have length greater than or equal to 1")
    if len(document) > MAX_DOCUMENT:
        raise validation_error("...", "policyDocument", f"have length less than or equal to {MAX_DOCUMENT}")
    return document


def _put(kind: EntityKind) -> Callable[[QueryCall], Result]:
    def handler(call: QueryCall) -> Result:
        entity_name, policy_name = _names(call, kind, True)
        document = _document(call)
        with call.write() as session:
            entity = authorized_entity(
                call, session, kind.entity_type, entity_name, f"iam:Put{kind.label}Policy"
            )
            put_inline(session, entity, kind.entity_type, policy_name, document)
        return None

    handler.__doc__ = f"Put{kind.label}Policy: add or replace an inline policy."
    return handler


def _get(kind: EntityKind) -> Callable[[QueryCall], Result]:
    def handler(call: QueryCall) -> Result:
        entity_name, policy_name = _names(call, kind, True)
        with call.read() as session:
            entity = authorized_entity(
                call, session, kind.entity_type, entity_name, f"iam:Get{kind.label}Policy"
            )
            row = _find(session, kind, entity.id, policy_name)
            return {
                kind.param: entity.name,
                "PolicyName": row.name,
                "PolicyDocument": encode_document(row.document),
            }

    handler.__doc__ = f"Get{kind.label}Policy: the document, URL-encoded."
    return handler


def _list(kind: EntityKind) -> Callable[[QueryCall], Result]:
    def handler(call: QueryCall) -> Result:
        entity_name, _ = _names(call, kind, False)
        with call.read() as session:
            action = f"iam:List{kind.label}Policies"
            entity = authorized_entity(call, session, kind.entity_type, entity_name, action)
            rows = inline_rows(session, kind.entity_type, entity.id)
            return page(call.params, [row.name for row in rows], str, "PolicyNames")

    handler.__doc__ = f"List{kind.label}Policies: inline policy names, paged."
    return handler


def _delete(kind: EntityKind) -> Callable[[QueryCall], Result]:
    def handler(call: QueryCall) -> Result:
        entity_name, policy_name = _names(call, kind, True)
        with call.write() as session:
            action = f"iam:Delete{kind.label}Policy"
            entity = authorized_entity(call, session, kind.entity_type, entity_name, action)
            session.delete(_find(session, kind, entity.id, policy_name))
            session.flush()
        return None

    handler.__doc__ = f"Delete{kind.label}Policy: NoSuchEntity when the policy is missing."
    return handler


for _kind in KINDS:
    register(OPERATIONS, f"Put{_kind.label}Policy")(_put(_kind))
    register(OPERATIONS, f"Get{_kind.label}Policy")(_get(_kind))
    register(OPERATIONS, f"List{_kind.label}Policies")(_list(_kind))
    register(OPERATIONS, f"Delete{_kind.label}Policy")(_delete(_kind))

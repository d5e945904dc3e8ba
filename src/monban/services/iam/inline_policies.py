"""Inline policies of users, groups and roles: Put/Get/List/Delete {User,Group,Role}Policy.

IAM API reference: the document is validated as an identity policy (MalformedPolicyDocument with
IAM's message); the entity's inline policies together may not exceed 2,048 (user), 5,120 (group)
or 10,240 (role) characters, white space not counted (IAM quotas → LimitExceeded "Maximum policy
size of N bytes exceeded for <type> <name>"). Get*Policy returns the document URL-encoded.
Each action is authorized on the entity's ARN.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from monban.policy.parse import check_inline_policy_size
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import Entity, EntityType, check_name, encode_document
from monban.services.iam.entities import KINDS, EntityKind, authorized_entity, register_for
from monban.services.iam.paging import page
from monban.services.query import Operation, QueryCall, Result
from monban.store.models import InlinePolicy

OPERATIONS: dict[str, Operation] = {}

MAX_DOCUMENT = 131072  # policyDocumentType
NAME_LIMITS = {"user": 128, "group": 128, "role": 64}  # existingUserNameType, groupNameType, roleNameType


def policy_error(error: MalformedPolicyDocument) -> AwsError:
    """The engine's error as the API reports it (MalformedPolicyDocument, LimitExceeded, …)."""
    return AwsError(error.code, error.message)


def inline_rows(session: Session, entity_type: str, entity_id: str) -> list[InlinePolicy]:
    query = select(InlinePolicy).where(
        InlinePolicy.entity_type == entity_type, InlinePolicy.entity_id == entity_id
    )
    return list(session.scalars(query.order_by(InlinePolicy.name)))


def put_inline(
    session: Session, entity: Entity, entity_type: EntityType, policy_name: str, document: str
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
            InlinePolicy.entity_type == kind.name,
            InlinePolicy.entity_id == entity_id,
            InlinePolicy.name == policy_name,
        )
    )
    if row is None:
        raise AwsError("NoSuchEntity", f"The {kind.name} policy with name {policy_name} cannot be found.")
    return row


def _entity_name(call: QueryCall, kind: EntityKind) -> str:
    return check_name(call.params.required(kind.param), kind.member, NAME_LIMITS[kind.name])


def _policy_name(call: QueryCall) -> str:
    return check_name(call.params.required("PolicyName"), "policyName", 128)


def _document(call: QueryCall) -> str:
    document = call.params.required("PolicyDocument")
    if not document:
        raise validation_error(document, "policyDocument", "have length greater than or equal to 1")
    if len(document) > MAX_DOCUMENT:
        raise validation_error("...", "policyDocument", f"have length less than or equal to {MAX_DOCUMENT}")
    return document


def put_policy(call: QueryCall, kind: EntityKind) -> Result:
    """Put…Policy: add or replace an inline policy."""
    entity_name, policy_name, document = _entity_name(call, kind), _policy_name(call), _document(call)
    with call.write() as session:
        action = f"iam:Put{kind.label}Policy"
        entity = authorized_entity(call, session, kind.name, entity_name, action)
        put_inline(session, entity, kind.name, policy_name, document)
    return None


def get_policy(call: QueryCall, kind: EntityKind) -> Result:
    """Get…Policy: the document, URL-encoded."""
    entity_name, policy_name = _entity_name(call, kind), _policy_name(call)
    with call.read() as session:
        action = f"iam:Get{kind.label}Policy"
        entity = authorized_entity(call, session, kind.name, entity_name, action)
        row = _find(session, kind, entity.id, policy_name)
        return {
            kind.param: entity.name,
            "PolicyName": row.name,
            "PolicyDocument": encode_document(row.document),
        }


def list_policies(call: QueryCall, kind: EntityKind) -> Result:
    """List…Policies: inline policy names, paged."""
    entity_name = _entity_name(call, kind)
    with call.read() as session:
        action = f"iam:List{kind.label}Policies"
        entity = authorized_entity(call, session, kind.name, entity_name, action)
        rows = inline_rows(session, kind.name, entity.id)
        return page(call.params, [row.name for row in rows], str, "PolicyNames", lambda name: (name,))


def delete_policy(call: QueryCall, kind: EntityKind) -> Result:
    """Delete…Policy: NoSuchEntity when the policy is missing."""
    entity_name, policy_name = _entity_name(call, kind), _policy_name(call)
    with call.write() as session:
        action = f"iam:Delete{kind.label}Policy"
        entity = authorized_entity(call, session, kind.name, entity_name, action)
        session.delete(_find(session, kind, entity.id, policy_name))
        session.flush()
    return None


for _kind in KINDS.values():
    register_for(OPERATIONS, f"Put{_kind.label}Policy", put_policy, _kind)
    register_for(OPERATIONS, f"Get{_kind.label}Policy", get_policy, _kind)
    register_for(OPERATIONS, f"List{_kind.label}Policies", list_policies, _kind)
    register_for(OPERATIONS, f"Delete{_kind.label}Policy", delete_policy, _kind)

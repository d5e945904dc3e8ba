"""Roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy,
DeleteRole — and the binding of trust-policy principals to unique ids.

IAM API reference for each action; IAM User Guide, "IAM JSON policy elements: Principal" → "IAM role
principals" / "IAM user principals": a user or role ARN in a trust policy is transformed to the
entity's unique id when the policy is saved, so the entity must exist ("Invalid principal in
policy"), and once it is deleted the policy shows the unique id (AIDA…/AROA…) and a re-created
entity of the same name is not trusted. monban keeps the ARN while the entity lives and rewrites it
to the unique id when the entity is deleted (:func:`rebind_trust_policies`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.policy import MalformedPolicyDocument, NamedPolicy, PolicyKind, compile_policy, parse_policy
from monban.policy.model import PolicyDocument, PrincipalSpec
from monban.policy.parse import check_trust_policy_size
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import (
    ContextValues,
    already_exists,
    arn,
    boundary_policy,
    check_name,
    check_path,
    check_tags,
    delete_tags,
    find_role,
    insert_named,
    list_in_path,
    listed_role,
    merge_tags,
    request_tag_context,
    role_shape,
    tags_of,
    tags_param,
)
from monban.services.iam.entities import (
    MUST_REMOVE_ROLES,
    Conflict,
    attached_conflict,
    authorized_entity,
    inline_conflict,
    refuse_delete,
    refuse_reserved_path,
)
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import InstanceProfileRole, Role, User

OPERATIONS: dict[str, Operation] = {}

MIN_SESSION = 3600
MAX_SESSION = 43200
DESCRIPTION_MAX = 1000
_DESCRIPTION = re.compile(r"^[\t\n\r\x20-\x7E\xA1-\xFF]*$")
_DOCUMENT = re.compile(r"^[\t\n\r\x20-\xFF]+$")
_ENTITY_ARN = re.compile(r"^arn:aws:iam::(\d{12}):(user|role)/")
_UNIQUE_ID = re.compile(r"^A(?:IDA|ROA)[A-Z0-9]{16,124}$")
_PLACEHOLDER = "arn:aws:iam::000000000000:user/monban-unbound/"

# --- parameters --------------------------------------------------------------------------------


def check_description(value: str | None) -> str | None:
    """Description: at most 1000 characters of ``[\\t\\n\\r\\u0020-\\u007E\\u00A1-\\u00FF]``."""
    if value is None:
        return None
    if len(value) > DESCRIPTION_MAX:
        raise validation_error(value, "description", f"have length less than or equal to {DESCRIPTION_MAX}")
    if not _DESCRIPTION.match(value):
        raise validation_error(
            value,
            "description",
            "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
        )
    return value


def check_max_session(value: int | None, default: int = MIN_SESSION) -> int:
    """MaxSessionDuration: 3600–43200 seconds (reference §3), default 3600."""
    if value is None:
        return default
    if value < MIN_SESSION:
        raise validation_error(
            value, "maxSessionDuration", f"have value greater than or equal to {MIN_SESSION}"
        )
    if value > MAX_SESSION:
        raise validation_error(value, "maxSessionDuration", f"have value less than or equal to {MAX_SESSION}")
    return value


def check_document_text(document: str, member: str = "policyDocument") -> str:
    """policyDocumentType: 1–131072 characters of ``[\\t\\n\\r\\u0020-\\u00FF]``."""
    if not document:
        raise validation_error(document, member, "have length greater than or equal to 1")
    if len(document) > 131072:
        raise validation_error("…", member, "have length less than or equal to 131072")
    if not _DOCUMENT.match(document):
        raise validation_error(
            document, member, "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
        )
    return document


# --- trust policies ----------------------------------------------------------------------------


def _aws_principals(raw: Any) -> list[Any]:
    """The ``Principal.AWS`` containers of a decoded document: (statement principal dict) list."""
    statements = raw.get("Statement") if isinstance(raw, dict) else None
    items = (
        [statements] if isinstance(statements, dict) else statements if isinstance(statements, list) else []
    )
    return [s["Principal"] for s in items if isinstance(s, dict) and isinstance(s.get("Principal"), dict)]


def _entity_exists(session: Session, value: str) -> bool:
    """Does a user or role ARN name an existing entity (of any account)?"""
    match = _ENTITY_ARN.match(value)
    if match is None:
        return True  # accounts, "*", sessions and federated users are not bound
    model = User if match.group(2) == "user" else Role
    return session.scalar(select(func.count()).select_from(model).where(model.arn == value)) == 1


def check_trust_document(session: Session, document: str) -> str:
    """A role trust policy as IAM validates it: the document (PolicyKind.TRUST), its size (2048,
    LimitExceeded "Cannot exceed quota for ACLSizePerRole: 2048"), and every user or role ARN it
    names must exist — else MalformedPolicyDocument ``Invalid principal in policy: "AWS":"<arn>"``."""
    check_document_text(document)
    try:
        parsed = parse_policy(document, PolicyKind.TRUST)
        check_trust_policy_size(document)
    except MalformedPolicyDocument as exc:
        raise AwsError(exc.code, exc.message) from exc
    for statement in parsed.statements:
        for kind, values in statement.principal.entries if statement.principal else ():
            for value in values:
                if kind == "AWS" and not _entity_exists(session, value):
                    raise AwsError("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{value}"')
    return document


def _swap_principal(container: dict[str, Any], old: str, new: str) -> bool:
    values = container.get("AWS")
    if values == old:
        container["AWS"] = new
        return True
    if isinstance(values, list) and old in values:
        container["AWS"] = [new if v == old else v for v in values]
        return True
    return False


def rewrite_principal(document: str, principal_arn: str, unique_id: str) -> str | None:
    """The document with every ``"AWS": "<principal_arn>"`` replaced by the unique id; None when the
    document does not name it (or cannot be read)."""
    try:
        raw = json.loads(document)
    except ValueError:
        return None
    changed = False
    for container in _aws_principals(raw):
        changed = _swap_principal(container, principal_arn, unique_id) or changed
    return json.dumps(raw, separators=(",", ":")) if changed else None


def rebind_trust_policies(session: Session, arn: str, unique_id: str) -> None:
    """A user or role was deleted: every role trust policy (any account) that names its ARN now
    names its unique id instead, as AWS shows it, so a re-created entity of the same name is not
    trusted (IAM User Guide, "IAM role principals")."""
    query = select(Role).where(Role.trust_policy.contains(arn, autoescape=True))
    for role in session.scalars(query).all():
        rewritten = rewrite_principal(role.trust_policy, arn, unique_id)
        if rewritten is not None:
            role.trust_policy = rewritten
    session.flush()


def _unbind_placeholders(document: str) -> tuple[str, dict[str, str]]:
    """Stand-in ARNs for unique-id principals (which write-time validation refuses)."""
    try:
        raw = json.loads(document)
    except ValueError:
        return document, {}
    found: dict[str, str] = {}
    for container in _aws_principals(raw):
        values = container.get("AWS")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and _UNIQUE_ID.match(value):
                found[_PLACEHOLDER + value] = value
                _swap_principal(container, value, _PLACEHOLDER + value)
    return (json.dumps(raw) if found else document), found


def _restore_ids(doc: PolicyDocument, found: Mapping[str, str]) -> PolicyDocument:
    statements = []
    for statement in doc.statements:
        spec = statement.principal
        if spec is not None:
            entries = tuple((k, tuple(found.get(v, v) for v in values)) for k, values in spec.entries)
            statement = dataclasses.replace(statement, principal=PrincipalSpec(entries))
        statements.append(statement)
    return dataclasses.replace(doc, statements=tuple(statements))


@functools.lru_cache(maxsize=1024)
def load_trust_policy(document: str, name: str) -> NamedPolicy:
    """Compile a *stored* trust policy. Unlike a submitted one it may name unique ids (principals
    deleted since it was saved); those match only the entity that had the id — nobody, once it is
    gone. Raises MalformedPolicyDocument for anything else IAM would refuse."""
    text, found = _unbind_placeholders(document)
    parsed = parse_policy(text, PolicyKind.TRUST)
    return NamedPolicy(name, compile_policy(_restore_ids(parsed, found) if found else parsed))


# --- records -----------------------------------------------------------------------------------


def _tag_pairs(tags: Mapping[str, str] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = list(tags.items()) if isinstance(tags, Mapping) else list(tags)
    return check_tags([{"Key": k, "Value": v} for k, v in pairs])


def create_role_record(
    session: Session,
    account: str,
    name: str,
    path: str | None,
    trust_document: str,
    description: str | None = None,
    max_session_duration: int | None = None,
    boundary: str | None = None,
    tags: Mapping[str, str] | Sequence[tuple[str, str]] = (),
) -> Role:
    """Validate and store a role exactly as CreateRole does (also used by the bootstrap file)."""
    check_name(name, "roleName")
    path = check_path(path)
    check_description(description)
    duration = check_max_session(max_session_duration)
    pairs = _tag_pairs(tags)
    if find_role(session, account, name) is not None:
        raise already_exists("Role", name)
    check_trust_document(session, trust_document)
    if boundary is not None:
        boundary_policy(session, account, boundary)
    role = insert_named(
        session, Role, ids.ROLE_PREFIX, "role", account, name, path,
        trust_policy=trust_document, description=description, max_session_duration=duration,
        permissions_boundary=boundary,
    )  # fmt: skip
    if pairs:
        merge_tags(session, "role", role.id, pairs, "TagsPerRole")
    return role


def authorized_role(call: QueryCall, session: Session, name: str, action: str) -> Role:
    """The named role, once ``action`` on it is authorized. A missing role is AccessDenied for a
    caller who may not act on ``role/<name>``, NoSuchEntity otherwise (existence is not leaked)."""
    check_name(name, "roleName")
    return cast(Role, authorized_entity(call, session, "role", name, action))


def delete_principal(session: Session, kind: str, entity: User | Role) -> None:
    """DeleteUser / DeleteRole, once nothing is left on the entity: its tags go with it, and trust
    policies naming it now name its unique id, so a namesake is not trusted."""
    delete_tags(session, kind, entity.id)
    entity_arn, entity_id = entity.arn, entity.id
    session.delete(entity)
    session.flush()
    rebind_trust_policies(session, entity_arn, entity_id)


# --- operations --------------------------------------------------------------------------------


@register(OPERATIONS, "CreateRole")
def create_role(call: QueryCall) -> Result:
    """CreateRole: authorized on the new role's ARN with aws:RequestTag/aws:TagKeys and
    iam:PermissionsBoundary (Service Authorization Reference, IAM)."""
    p = call.params
    name = check_name(p.required("RoleName"), "roleName")
    path = check_path(p.get("Path"))
    refuse_reserved_path(path)
    document = check_document_text(p.required("AssumeRolePolicyDocument"), "assumeRolePolicyDocument")
    description = check_description(p.get("Description"))
    duration = check_max_session(p.integer("MaxSessionDuration"))
    boundary = p.get("PermissionsBoundary")
    tags = tags_param(p)
    account = call.caller.account
    context: ContextValues = dict(request_tag_context(tags)) if tags else {}
    if boundary is not None:
        context["iam:PermissionsBoundary"] = boundary
    call.authorize("iam:CreateRole", arn(account, "role", path, name), extra_context=context)
    with call.write() as session:
        role = create_role_record(
            session, account, name, path, document, description, duration, boundary, tags
        )
        return {"Role": role_shape(role, tags_of(session, "role", role.id))}


@register(OPERATIONS, "GetRole")
def get_role(call: QueryCall) -> Result:
    with call.read() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:GetRole")
        return {"Role": role_shape(role, tags_of(session, "role", role.id))}


@register(OPERATIONS, "ListRoles")
def list_roles(call: QueryCall) -> Result:
    """ListRoles: roles whose path starts with PathPrefix, by name; MaxItems/Marker paging."""
    return list_in_path(call, Role, "iam:ListRoles", "role", "Roles", lambda _, role: listed_role(role))


@register(OPERATIONS, "UpdateRole")
def update_role(call: QueryCall) -> Result:
    """UpdateRole: Description and/or MaxSessionDuration; an empty result."""
    description = check_description(call.params.get("Description"))
    duration = call.params.integer("MaxSessionDuration")
    if duration is not None:
        check_max_session(duration)
    with call.write() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:UpdateRole")
        if description is not None:
            role.description = description
        if duration is not None:
            role.max_session_duration = duration
        session.flush()
    return {}


@register(OPERATIONS, "UpdateRoleDescription")
def update_role_description(call: QueryCall) -> Result:
    description = check_description(call.params.required("Description"))
    with call.write() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:UpdateRoleDescription")
        role.description = description
        session.flush()
        return {"Role": role_shape(role, tags_of(session, "role", role.id))}


@register(OPERATIONS, "UpdateAssumeRolePolicy")
def update_assume_role_policy(call: QueryCall) -> Result:
    document = check_document_text(call.params.required("PolicyDocument"))
    with call.write() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:UpdateAssumeRolePolicy")
        role.trust_policy = check_trust_document(session, document)
        session.flush()
    return None


@register(OPERATIONS, "DeleteRole")
def delete_role(call: QueryCall) -> Result:
    """DeleteRole: DeleteConflict while the role is in an instance profile or has policies (in that
    order); trust policies naming it are rebound to its unique id."""
    with call.write() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:DeleteRole")
        in_profile = Conflict(
            InstanceProfileRole, (InstanceProfileRole.role_id == role.id,), MUST_REMOVE_ROLES
        )
        refuse_delete(
            session, in_profile, attached_conflict("role", role.id), inline_conflict("role", role.id)
        )
        delete_principal(session, "role", role)
    return None

"""Roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy,
DeleteRole.

IAM API reference for each action. Trust-policy principals are bound to unique ids when the policy
is saved and shown as current ARNs when it is read (:mod:`monban.store.principals`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import cast

from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.policy import MalformedPolicyDocument, NamedPolicy, PolicyKind, parse_policy
from monban.policy.parse import check_trust_policy_size
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import (
    already_exists,
    arn,
    authorize_create,
    boundary_policy,
    check_name,
    check_path,
    check_tags,
    delete_tags,
    find_role,
    insert_named,
    listed_role,
    merge_tags,
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
from monban.services.iam.paging import list_in_path
from monban.services.query import Operation, QueryCall, Result, register
from monban.store import principals
from monban.store.models import InstanceProfileRole, Role, User

OPERATIONS: dict[str, Operation] = {}

MIN_SESSION = 3600
MAX_SESSION = 43200
DESCRIPTION_MAX = 1000
_DESCRIPTION = re.compile(r"^[\t\n\r\x20-\x7E\xA1-\xFF]*$")
_DOCUMENT = re.compile(r"^[\t\n\r\x20-\xFF]+$")

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


def check_trust_document(session: Session, document: str) -> str:
    """A role trust policy as IAM validates it, in the form to store: the document
    (PolicyKind.TRUST), its size (2048, LimitExceeded "Cannot exceed quota for ACLSizePerRole:
    2048"), and every user or role ARN it names must be the exact ARN of an existing entity — else
    MalformedPolicyDocument ``Invalid principal in policy: "AWS":"<arn>"`` — which is stored as that
    entity's unique id (:func:`monban.store.principals.bind`)."""
    check_document_text(document)
    try:
        parse_policy(document, PolicyKind.TRUST)
        check_trust_policy_size(document)
        return principals.bind(session, document)
    except MalformedPolicyDocument as exc:
        raise AwsError(exc.code, exc.message) from exc
    except principals.InvalidPrincipal as exc:
        raise AwsError(
            "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{exc.value}"'
        ) from exc


@functools.lru_cache(maxsize=1024)
def load_trust_policy(document: str, name: str) -> NamedPolicy:
    """Compile a *stored* trust policy: its principals are bound to unique ids, which match only
    the entity that has the id — nobody, once it is gone. Raises MalformedPolicyDocument for
    anything else IAM would refuse."""
    return principals.load_bound_policy(document, PolicyKind.TRUST, name)


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
    stored = check_trust_document(session, trust_document)
    if boundary is not None:
        boundary_policy(session, account, boundary)
    role = insert_named(
        session, Role, ids.ROLE_PREFIX, "role", account, name, path,
        trust_policy=stored, description=description, max_session_duration=duration,
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


# Every operation that hands a role on (each calls ``passed_role``); the instance-metadata and
# container credential endpoints, when they come, join it.
ROLE_PASSING_OPERATIONS: frozenset[str] = frozenset({"AddRoleToInstanceProfile"})


def passed_role(call: QueryCall, session: Session, name: str) -> Role:
    """A role the request hands to something else (an instance profile; later an instance or a
    container): the caller needs ``iam:PassRole`` on it (IAM User Guide, "Grant a user permissions
    to pass a role to an AWS service"; AddRoleToInstanceProfile's API reference: "The caller of
    this operation must be granted the PassRole permission on the IAM role by a permissions
    policy"). Authorized before the role is looked up, so a caller who may not pass it learns
    nothing of its existence."""
    return authorized_role(call, session, name, "iam:PassRole")


def delete_principal(session: Session, kind: str, entity: User | Role) -> None:
    """DeleteUser / DeleteRole, once nothing is left on the entity: its tags go with it. Trust and
    bucket policies naming it hold its unique id (:mod:`monban.store.principals`): from now on
    they show that id and grant no one, not even a namesake."""
    delete_tags(session, kind, entity.id)
    session.delete(entity)
    session.flush()


# --- operations --------------------------------------------------------------------------------


@register(OPERATIONS, "CreateRole")
def create_role(call: QueryCall) -> Result:
    """CreateRole: authorized on the new role's ARN with aws:RequestTag/aws:TagKeys and
    iam:PermissionsBoundary (Service Authorization Reference, IAM); with Tags, iam:TagRole too."""
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
    context = {} if boundary is None else {"iam:PermissionsBoundary": boundary}
    authorize_create(call, "iam:CreateRole", arn(account, "role", path, name), tags, context)
    with call.write() as session:
        role = create_role_record(
            session, account, name, path, document, description, duration, boundary, tags
        )
        return {"Role": role_shape(session, role, tags_of(session, "role", role.id))}


@register(OPERATIONS, "GetRole")
def get_role(call: QueryCall) -> Result:
    with call.read() as session:
        role = authorized_role(call, session, call.params.required("RoleName"), "iam:GetRole")
        return {"Role": role_shape(session, role, tags_of(session, "role", role.id))}


@register(OPERATIONS, "ListRoles")
def list_roles(call: QueryCall) -> Result:
    """ListRoles: roles whose path starts with PathPrefix, by name; MaxItems/Marker paging."""
    return list_in_path(call, Role, "iam:ListRoles", "role", "Roles", listed_role)


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
        return {"Role": role_shape(session, role, tags_of(session, "role", role.id))}


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

"""Managed policies and their versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion,
SetDefaultPolicyVersion.

IAM API reference for each action; IAM User Guide, "Versioning IAM policies" (at most five versions,
the default one cannot be deleted) and "IAM and AWS STS quotas" (6,144 characters per managed
policy). AWS managed policies (account ``aws``) appear in every account and belong to none: writing
to one is authorized as a request on another account's resource, which nothing allows.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from monban.policy.parse import check_managed_policy_size
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import (
    ContextValues,
    arn,
    authorize_create,
    check_name,
    check_policy_arn,
    delete_tags,
    encode_document,
    find_visible_policy,
    merge_tags,
    tags_of,
    tags_param,
)
from monban.services.iam.entities import KINDS
from monban.services.iam.paging import page
from monban.services.iam.roles import check_document_text
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import now
from monban.store.managed import AWS_ACCOUNT, aws_document, aws_policy, catalogue, version_rows
from monban.store.models import Attachment, ManagedPolicy, PolicyVersion

OPERATIONS: dict[str, Operation] = {}

MAX_VERSIONS = 5
_POLICY_PATH = re.compile(r"^((/[A-Za-z0-9.,+@=_-]+)*)/$")
_VERSION_ID = re.compile(r"^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$")


# --- parameters --------------------------------------------------------------------------------


def check_policy_path(value: str | None, member: str = "path") -> str:
    """policyPathType: ``/`` or ``/a/b/`` of ``[A-Za-z0-9.,+@=_-]``, at most 512 characters."""
    if value is None:
        return "/"
    if not 1 <= len(value) <= 512 or not _POLICY_PATH.match(value):
        raise validation_error(
            value, member, "satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"
        )
    return value


def check_version_id(value: str) -> str:
    if not _VERSION_ID.match(value):
        raise validation_error(
            value, "versionId", "satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        )
    return value


def check_policy_document(document: str) -> str:
    """An identity policy document (PolicyKind.IDENTITY) of at most 6,144 characters, white space
    not counted (LimitExceeded "Cannot exceed quota for PolicySize: 6144")."""
    check_document_text(document)
    try:
        parse_policy(document, PolicyKind.IDENTITY)
        check_managed_policy_size(document)
    except MalformedPolicyDocument as exc:
        raise AwsError(exc.code, exc.message) from exc
    return document


# --- lookups and shapes ------------------------------------------------------------------------


def policy_not_found(policy_arn: str) -> AwsError:
    return AwsError("NoSuchEntity", f"Policy {policy_arn} was not found.")


def version_not_found(policy_arn: str, version_id: str) -> AwsError:
    return AwsError(
        "NoSuchEntity", f"Policy {policy_arn} version {version_id} does not exist or is not attachable."
    )


def authorized_policy(
    call: QueryCall, session: Session, policy_arn: str, action: str, *, write: bool = False
) -> ManagedPolicy:
    """The managed policy ``policy_arn`` once ``action`` on it is authorized. Another account's
    policy does not exist for the caller (NoSuchEntity, after authorization so that existence is
    not revealed); a write to an AWS managed policy is a request on a resource of account ``aws``."""
    check_policy_arn(policy_arn)
    policy = find_visible_policy(session, call.caller.account, policy_arn)
    owner = AWS_ACCOUNT if write and policy_arn.split(":")[4] == AWS_ACCOUNT else None
    context: ContextValues = {}
    if policy is not None:
        context = {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags_of(session, "policy", policy.id)}
    call.authorize(action, policy_arn, resource_account=owner, extra_context=context)
    if policy is None:
        raise policy_not_found(policy_arn)
    return policy


def usage_counts(
    session: Session, account: str, arns: Collection[str] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Per policy ARN (of ``arns``, or every one): attachments to the account's users, groups and
    roles, and its uses as a permissions boundary (GetPolicy's AttachmentCount and
    PermissionsBoundaryUsageCount)."""
    attached: dict[str, int] = {}
    bounded: dict[str, int] = {}
    for kind in KINDS.values():
        model: Any = kind.model
        query = (
            select(Attachment.policy_arn, func.count())
            .join(model, model.id == Attachment.entity_id)
            .where(Attachment.entity_type == kind.name, model.account_id == account)
            .group_by(Attachment.policy_arn)
        )
        if arns is not None:
            query = query.where(Attachment.policy_arn.in_(arns))
        for policy_arn, count in session.execute(query):
            attached[policy_arn] = attached.get(policy_arn, 0) + count
        if kind.name == "group":
            continue
        bounds = (
            select(model.permissions_boundary, func.count())
            .where(model.account_id == account, model.permissions_boundary.is_not(None))
            .group_by(model.permissions_boundary)
        )
        if arns is not None:
            bounds = bounds.where(model.permissions_boundary.in_(arns))
        for boundary, count in session.execute(bounds):
            if boundary is not None:
                bounded[boundary] = bounded.get(boundary, 0) + count
    return attached, bounded


def policy_shape(policy: ManagedPolicy, attached: int, bounded: int, *, full: bool = True) -> dict[str, Any]:
    """The Policy structure; ListPolicies leaves out Description and Tags (``full`` False)."""
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": bounded,
        "IsAttachable": True,
        "Description": policy.description if full else None,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
    }


def full_shape(session: Session, account: str, policy: ManagedPolicy) -> dict[str, Any]:
    attached, bounded = usage_counts(session, account, [policy.arn])
    shape = policy_shape(policy, attached.get(policy.arn, 0), bounded.get(policy.arn, 0))
    tags = tags_of(session, "policy", policy.id)
    if tags:
        shape["Tags"] = tags
    return shape


def versions_of(session: Session, policy: ManagedPolicy, *, documents: bool = False) -> list[PolicyVersion]:
    """Newest first, as ListPolicyVersions returns them (an AWS managed policy's documents are read
    from the catalogue only when ``documents``)."""
    aws = aws_policy(policy.arn) if policy.account_id == AWS_ACCOUNT else None
    if aws is not None:
        return version_rows(aws, documents=documents)
    rows = session.scalars(select(PolicyVersion).where(PolicyVersion.policy_id == policy.id))
    return sorted(rows, key=lambda v: _version_number(v.version_id), reverse=True)


def _version_number(version_id: str) -> int:
    digits = re.match(r"v(\d+)", version_id)
    return int(digits.group(1)) if digits else 0


def version_shape(policy: ManagedPolicy, version: PolicyVersion, *, document: bool) -> dict[str, Any]:
    return {
        "Document": encode_document(version.document) if document else None,
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == policy.default_version_id,
        "CreateDate": version.created_at,
    }


def get_version(session: Session, policy: ManagedPolicy, version_id: str) -> PolicyVersion:
    if policy.account_id == AWS_ACCOUNT:
        document = aws_document(policy.arn, version_id)
        if document is None:
            raise version_not_found(policy.arn, version_id)
        created = dict(catalogue().policies[policy.arn].versions)[version_id]
        return PolicyVersion(
            policy_id=policy.id, version_id=version_id, document=document, created_at=created
        )
    version = session.get(PolicyVersion, (policy.id, version_id))
    if version is None:
        raise version_not_found(policy.arn, version_id)
    return version


# --- records -----------------------------------------------------------------------------------


def create_policy_record(
    session: Session, account: str, name: str, path: str, document: str, description: str | None
) -> ManagedPolicy:
    """Store a managed policy and its version v1 (also used by the bootstrap file). Names are unique
    in the account whatever the path (EntityAlreadyExists "A policy called <name> already exists.
    Duplicate names are not allowed.")."""
    taken = select(ManagedPolicy).where(
        ManagedPolicy.account_id == account, ManagedPolicy.name_lower == name.lower()
    )
    if session.scalar(taken) is not None:
        raise AwsError(
            "EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed."
        )
    stamp = now()
    policy = ManagedPolicy(
        id=ids.unique_id(ids.POLICY_PREFIX), account_id=account, name=name, name_lower=name.lower(),
        path=path, arn=arn(account, "policy", path, name), description=description, default_version_id="v1",
        next_version=2, created_at=stamp, updated_at=stamp,
    )  # fmt: skip
    session.add(policy)
    session.flush()
    session.add(PolicyVersion(policy_id=policy.id, version_id="v1", document=document, created_at=stamp))
    session.flush()
    return policy


def add_version(
    session: Session, policy: ManagedPolicy, document: str, *, make_default: bool
) -> PolicyVersion:
    """The policy's next version (v<N>); the one in effect when ``make_default``."""
    version = PolicyVersion(
        policy_id=policy.id, version_id=f"v{policy.next_version}", document=document, created_at=now()
    )
    session.add(version)
    policy.next_version += 1
    if make_default:
        policy.default_version_id = version.version_id
        policy.updated_at = version.created_at
    session.flush()
    return version


# --- policies ----------------------------------------------------------------------------------


@register(OPERATIONS, "CreatePolicy")
def create_policy(call: QueryCall) -> Result:
    """CreatePolicy: names are unique in the account whatever the path (EntityAlreadyExists "A
    policy called <name> already exists. Duplicate names are not allowed.")."""
    p = call.params
    name = check_name(p.required("PolicyName"), "policyName", 128)
    path = check_policy_path(p.get("Path"))
    document = check_document_text(p.required("PolicyDocument"))
    description = p.get("Description")
    if description is not None and len(description) > 1000:
        raise validation_error(description, "description", "have length less than or equal to 1000")
    tags = tags_param(p)
    account = call.caller.account
    policy_arn = arn(account, "policy", path, name)
    authorize_create(call, "iam:CreatePolicy", policy_arn, tags)
    check_policy_document(document)
    with call.write() as session:
        policy = create_policy_record(session, account, name, path, document, description)
        if tags:
            merge_tags(session, "policy", policy.id, tags, "TagsPerPolicy")
        session.flush()
        return {"Policy": full_shape(session, account, policy)}


@register(OPERATIONS, "GetPolicy")
def get_policy(call: QueryCall) -> Result:
    with call.read() as session:
        policy = authorized_policy(call, session, call.params.required("PolicyArn"), "iam:GetPolicy")
        return {"Policy": full_shape(session, call.caller.account, policy)}


@register(OPERATIONS, "DeletePolicy")
def delete_policy(call: QueryCall) -> Result:
    """DeletePolicy: DeleteConflict while attached or used as a permissions boundary ("Cannot
    delete a policy attached to entities.") or while it has versions besides the default."""
    with call.write() as session:
        policy = authorized_policy(
            call, session, call.params.required("PolicyArn"), "iam:DeletePolicy", write=True
        )
        attached, bounded = usage_counts(session, policy.account_id, [policy.arn])
        if attached.get(policy.arn) or bounded.get(policy.arn):
            raise AwsError("DeleteConflict", "Cannot delete a policy attached to entities.")
        versions = versions_of(session, policy)
        if len(versions) > 1:
            raise AwsError(
                "DeleteConflict",
                "This policy has more than one version. Before you delete a policy, you must delete the "
                "policy's versions. The default version is deleted with the policy.",
            )
        for version in versions:
            session.delete(version)
        delete_tags(session, "policy", policy.id)
        session.delete(policy)
        session.flush()
    return None


# --- versions ----------------------------------------------------------------------------------


@register(OPERATIONS, "CreatePolicyVersion")
def create_policy_version(call: QueryCall) -> Result:
    """CreatePolicyVersion: at most five versions (LimitExceeded); SetAsDefault makes it the one
    in effect."""
    document = check_document_text(call.params.required("PolicyDocument"))
    make_default = call.params.boolean("SetAsDefault")
    with call.write() as session:
        policy_arn = call.params.required("PolicyArn")
        policy = authorized_policy(call, session, policy_arn, "iam:CreatePolicyVersion", write=True)
        check_policy_document(document)
        if len(versions_of(session, policy)) >= MAX_VERSIONS:
            raise AwsError(
                "LimitExceeded",
                "A managed policy can have up to 5 versions. Before you create a new version, you must "
                "delete an existing version.",
            )
        version = add_version(session, policy, document, make_default=make_default)
        return {"PolicyVersion": version_shape(policy, version, document=False)}


def _policy_version(
    call: QueryCall, session: Session, version_id: str, action: str, *, write: bool = False
) -> tuple[ManagedPolicy, PolicyVersion]:
    """PolicyArn's policy, once ``action`` on it is authorized, and its version ``version_id``."""
    policy = authorized_policy(call, session, call.params.required("PolicyArn"), action, write=write)
    return policy, get_version(session, policy, version_id)


@register(OPERATIONS, "GetPolicyVersion")
def get_policy_version(call: QueryCall) -> Result:
    version_id = check_version_id(call.params.required("VersionId"))
    with call.read() as session:
        policy, version = _policy_version(call, session, version_id, "iam:GetPolicyVersion")
        return {"PolicyVersion": version_shape(policy, version, document=True)}


@register(OPERATIONS, "ListPolicyVersions")
def list_policy_versions(call: QueryCall) -> Result:
    with call.read() as session:
        policy = authorized_policy(call, session, call.params.required("PolicyArn"), "iam:ListPolicyVersions")
        versions = versions_of(session, policy)
        return page(
            call.params,
            versions,
            lambda v: version_shape(policy, v, document=False),
            "Versions",
            lambda v: (f"{10**9 - _version_number(v.version_id):010d}",),  # newest first
        )


@register(OPERATIONS, "DeletePolicyVersion")
def delete_policy_version(call: QueryCall) -> Result:
    """DeletePolicyVersion: DeleteConflict for the default version (it goes with the policy)."""
    version_id = check_version_id(call.params.required("VersionId"))
    with call.write() as session:
        policy, version = _policy_version(call, session, version_id, "iam:DeletePolicyVersion", write=True)
        if version.version_id == policy.default_version_id:
            raise AwsError("DeleteConflict", "Cannot delete the default version of a policy.")
        session.delete(version)
        session.flush()
    return None


@register(OPERATIONS, "SetDefaultPolicyVersion")
def set_default_policy_version(call: QueryCall) -> Result:
    version_id = check_version_id(call.params.required("VersionId"))
    with call.write() as session:
        policy, _ = _policy_version(call, session, version_id, "iam:SetDefaultPolicyVersion", write=True)
        policy.default_version_id = version_id
        policy.updated_at = now()
        session.flush()
    return None

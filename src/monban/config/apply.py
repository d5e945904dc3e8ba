"""Applying a bootstrap file to the store: idempotent, inside the caller's one transaction.

Dependency order: accounts (root keys, SCPs), managed policies, groups, users (of every account:
trust policies may name users of any account), roles (created first, their trust policies set once
every role exists, so roles may trust each other in any order), instance profiles, instances (in
the file's order) and tasks (``workloads.py``), buckets.

Applying creates what is missing and updates what differs (paths, documents, descriptions,
boundaries, tags, secrets of the file's keys); it never duplicates an access key and never deletes
what the file does not mention (entities created through the API stay). Service control policies
are the exception: the file owns the account's SCPs (there is no Organizations API in monban).
Any refusal (an AWS error from the same validation the API uses) names the field it comes from
and rolls the whole transaction back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monban.config.model import (
    AccountSpec,
    Bootstrap,
    BootstrapError,
    GroupSpec,
    InlinePolicySpec,
    InstanceProfileSpec,
    KeySpec,
    ManagedPolicySpec,
    OidcProviderSpec,
    RoleSpec,
    UserSpec,
)
from monban.config.workloads import apply_instance, apply_tasks
from monban.credentials.keyring import KeyRing, SealError
from monban.protocol.errors import AwsError
from monban.services.iam.access_keys import check_key_quota
from monban.services.iam.attachments import attach_policies
from monban.services.iam.common import (
    Entity,
    EntityType,
    arn,
    boundary_policy,
    find_group,
    find_role,
    find_user,
    merge_tags,
    no_such_entity,
)
from monban.services.iam.groups import add_member, create_group_record
from monban.services.iam.inline_policies import put_inline
from monban.services.iam.instance_profiles import (
    add_profile_role,
    create_profile_record,
    find_profile,
    roles_of,
)
from monban.services.iam.managed_policies import (
    MAX_VERSIONS,
    add_version,
    create_policy_record,
    versions_of,
)
from monban.services.iam.roles import check_trust_document, create_role_record
from monban.services.iam.users import create_user_record
from monban.store.accounts import add_access_key, ensure_account, open_secret
from monban.store.models import AccessKey, Group, ManagedPolicy, OrganizationPolicy, PolicyVersion, User

log = logging.getLogger("monban")

T = TypeVar("T")
SCP_PREFIX = "bootstrap-"
# a role's trust policy while every role of the file is being created (replaced in the same
# transaction; it trusts nobody)
PLACEHOLDER_TRUST = (
    '{"Version":"2012-10-17","Statement":'
    '[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'
)


@contextmanager
def _at(source: str, where: str) -> Iterator[None]:
    """Report an AWS refusal as a bootstrap problem at ``where``."""
    try:
        yield
    except AwsError as exc:
        raise BootstrapError(source, [f"{where}: {exc.code}: {exc.message}"]) from exc


# --- keys and account-level settings -----------------------------------------------------------


def _ensure_key(session: Session, keyring: KeyRing, account: str, user_id: str | None, spec: KeySpec) -> None:
    """The file's key exists for this owner with this secret (created, or its secret fixed)."""
    row = session.get(AccessKey, spec.access_key_id)
    if row is None:
        if user_id is not None:  # the account root's keys of the file are not counted
            check_key_quota(session, account, user_id)
        add_access_key(session, keyring, account, user_id, spec.access_key_id, spec.secret_access_key)
        return
    if row.account_id != account or row.user_id != user_id:
        raise AwsError("EntityAlreadyExists", f"Access key {spec.access_key_id} belongs to another owner.")
    try:
        same = open_secret(keyring, row) == spec.secret_access_key
    except SealError:
        same = False
    if not same:
        row.secret_sealed = keyring.secrets.seal(spec.secret_access_key.encode(), row.access_key_id.encode())
        session.flush()


def _service_control_policies(session: Session, account: str, documents: Sequence[str]) -> None:
    """The file's SCPs replace the account's (all at one level: each must be allowed by one)."""
    query = select(OrganizationPolicy).where(
        OrganizationPolicy.account_id == account, OrganizationPolicy.name.startswith(SCP_PREFIX)
    )
    current = sorted(session.scalars(query), key=lambda row: row.name)
    if [row.document for row in current] == list(documents):
        return
    session.execute(delete(OrganizationPolicy).where(OrganizationPolicy.id.in_([row.id for row in current])))
    for index, document in enumerate(documents):
        name = f"{SCP_PREFIX}{index:03d}"
        session.add(OrganizationPolicy(account_id=account, level=0, name=name, document=document))
    session.flush()


# --- managed policies --------------------------------------------------------------------------


def _new_version(session: Session, policy: ManagedPolicy, document: str) -> None:
    """Make ``document`` the default version, dropping the oldest when there would be six."""
    versions = versions_of(session, policy)  # newest first
    if len(versions) >= MAX_VERSIONS:
        session.delete(next(v for v in reversed(versions) if v.version_id != policy.default_version_id))
    add_version(session, policy, document, make_default=True)


def _managed_policy(session: Session, account: str, spec: ManagedPolicySpec) -> None:
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == spec.arn(account)))
    if policy is None:
        create_policy_record(session, account, spec.name, spec.path, spec.document, spec.description)
        return
    current = session.get(PolicyVersion, (policy.id, policy.default_version_id))
    if current is None or current.document != spec.document:
        _new_version(session, policy, spec.document)
    if policy.description != spec.description:
        policy.description = spec.description
        session.flush()


# --- what users, groups and roles share ----------------------------------------------------------


def _policies(
    session: Session,
    entity: Entity,
    entity_type: EntityType,
    inline: Sequence[InlinePolicySpec],
    managed_policy_arns: Sequence[str],
) -> None:
    """The entity's inline policies (created or replaced) and managed policies (attached)."""
    for policy in inline:
        put_inline(session, entity, entity_type, policy.name, policy.document)
    attach_policies(session, entity_type, entity.id, managed_policy_arns)


def _move(entity: User | Group, kind: str, path: str) -> None:
    """A new path changes the ARN (UpdateUser / UpdateGroup NewPath)."""
    if entity.path != path:
        entity.path = path
        entity.arn = arn(entity.account_id, kind, path, entity.name)


# --- groups, users, roles, instance profiles ----------------------------------------------------


def _group(session: Session, account: str, spec: GroupSpec) -> None:
    group = find_group(session, account, spec.name) or create_group_record(
        session, account, spec.name, spec.path
    )
    _move(group, "group", spec.path)
    _policies(session, group, "group", spec.policies, spec.managed_policy_arns)


def _user(session: Session, keyring: KeyRing, account: str, spec: UserSpec) -> None:
    if spec.permissions_boundary:
        boundary_policy(session, account, spec.permissions_boundary)
    user = find_user(session, account, spec.name)
    if user is None:
        user = create_user_record(
            session, account, spec.name, spec.path, boundary=spec.permissions_boundary, tags=spec.tags
        )
    else:
        _move(user, "user", spec.path)
        if spec.permissions_boundary and user.permissions_boundary != spec.permissions_boundary:
            user.permissions_boundary = spec.permissions_boundary
        if spec.tags:
            merge_tags(session, "user", user.id, spec.tags, "TagsPerUser")
    _policies(session, user, "user", spec.policies, spec.managed_policy_arns)
    for group_name in spec.groups:
        group = find_group(session, account, group_name)
        if group is None:
            raise no_such_entity("group", group_name)
        add_member(session, group, user)
    for key in spec.access_keys:
        _ensure_key(session, keyring, account, user.id, key)
    session.flush()


def _role(session: Session, account: str, spec: RoleSpec) -> None:
    """Create or refresh a role, all but its trust policy (see ``_trust``)."""
    role = find_role(session, account, spec.name)
    if role is None:
        role = create_role_record(
            session,
            account,
            spec.name,
            spec.path,
            PLACEHOLDER_TRUST,
            description=spec.description,
            max_session_duration=spec.max_session_duration,
            boundary=spec.permissions_boundary,
            tags=spec.tags,
        )
    else:
        if role.path != spec.path:
            raise AwsError(
                "InvalidInput", f"Role {role.name} exists with path {role.path}; a role's path cannot change."
            )
        if spec.permissions_boundary and role.permissions_boundary != spec.permissions_boundary:
            boundary_policy(session, account, spec.permissions_boundary)
            role.permissions_boundary = spec.permissions_boundary
        if spec.description is not None:
            role.description = spec.description
        role.max_session_duration = spec.max_session_duration
        if spec.tags:
            merge_tags(session, "role", role.id, spec.tags, "TagsPerRole")
    _policies(session, role, "role", spec.policies, spec.managed_policy_arns)
    session.flush()


def _trust(session: Session, account: str, spec: RoleSpec) -> None:
    """Set the trust policy once every user and role exists (principals must exist)."""
    role = find_role(session, account, spec.name)
    if role is not None:
        stored = check_trust_document(session, spec.assume_role_policy_document)
        if role.trust_policy != stored:
            role.trust_policy = stored
            session.flush()


def _instance_profile(session: Session, account: str, spec: InstanceProfileSpec) -> None:
    profile = find_profile(session, account, spec.name) or create_profile_record(
        session, account, spec.name, spec.path
    )
    present = {role.id for role in roles_of(session, profile)}
    for role_name in spec.roles:
        role = find_role(session, account, role_name)
        if role is None:
            raise no_such_entity("role", role_name)
        if role.id not in present:
            add_profile_role(session, profile, role)
            present.add(role.id)
    session.flush()


def _oidc_provider(session: Session, account: str, spec: OidcProviderSpec) -> None:
    """Create the provider, or bring its client ids, thumbprints and JWKS in line with the file."""
    from monban.services.iam.oidc_providers import ENTITY, create_provider_record, find_provider

    row = find_provider(session, account, spec.url)
    if row is None:
        row = create_provider_record(
            session, account, spec.url, list(spec.client_ids), list(spec.thumbprints), spec.jwks
        )
    else:
        row.client_ids = json.dumps(list(spec.client_ids))
        row.thumbprints = json.dumps(list(spec.thumbprints))
        row.jwks = spec.jwks
    if spec.tags:
        merge_tags(session, ENTITY, row.id, spec.tags, "TagsPerOpenIDConnectProvider")
    session.flush()


# --- the whole file ----------------------------------------------------------------------------


def _buckets(session: Session, account: AccountSpec, data_dir: Path, source: str, where: str) -> None:
    """The S3 service applies the buckets (``monban.services.s3.bootstrap.apply_buckets``)."""
    if not account.buckets:
        return
    try:
        module = import_module("monban.services.s3.bootstrap")
    except ImportError:
        log.warning("bootstrap: buckets of %s not applied (no S3 service in this build)", account.account_id)
        return
    buckets = [b.as_dict() for b in account.buckets]
    try:
        module.apply_buckets(session, account.account_id, buckets, data_dir)
    except AwsError:
        raise
    except ValueError as exc:  # the S3 service's own refusal
        raise BootstrapError(source, [f"{where}: {exc}"]) from exc


def _accounts(session: Session, keyring: KeyRing, bootstrap: Bootstrap) -> None:
    for i, account in enumerate(bootstrap.accounts):
        at = f"Accounts[{i}]"
        ensure_account(session, account.account_id)
        for j, key in enumerate(account.root_access_keys):
            with _at(bootstrap.source, f"{at}.RootAccessKeys[{j}]"):
                _ensure_key(session, keyring, account.account_id, None, key)
        _service_control_policies(session, account.account_id, account.service_control_policies)
        for j, policy in enumerate(account.managed_policies):
            with _at(bootstrap.source, f"{at}.ManagedPolicies[{j}]"):
                _managed_policy(session, account.account_id, policy)


def _each(
    bootstrap: Bootstrap,
    section: str,
    specs: Callable[[AccountSpec], Sequence[T]],
    apply: Callable[[str, T], None],
    field: str = "",
) -> None:
    """``apply(account id, spec)`` for every spec of a section, a refusal naming
    ``Accounts[i].<section>[j]<field>``."""
    for i, account in enumerate(bootstrap.accounts):
        for j, spec in enumerate(specs(account)):
            with _at(bootstrap.source, f"Accounts[{i}].{section}[{j}]{field}"):
                apply(account.account_id, spec)


def _workloads(session: Session, keyring: KeyRing, bootstrap: Bootstrap) -> None:
    """Instances in the file's order (their ordinals follow it), then each account's tasks."""
    for i, account in enumerate(bootstrap.accounts):
        for j, spec in enumerate(account.instances):
            with _at(bootstrap.source, f"Accounts[{i}].Instances[{j}]"):
                apply_instance(session, account.account_id, j, spec)
    for i, account in enumerate(bootstrap.accounts):
        with _at(bootstrap.source, f"Accounts[{i}].Tasks"):
            apply_tasks(session, keyring, account.account_id, account.tasks)


def apply_bootstrap(session: Session, keyring: KeyRing, bootstrap: Bootstrap, *, data_dir: Path) -> None:
    """Bring the store in line with the file (called at every start, in one transaction)."""
    _accounts(session, keyring, bootstrap)
    _each(
        bootstrap,
        "OIDCProviders",
        lambda a: a.oidc_providers,
        lambda acct, spec: _oidc_provider(session, acct, spec),
    )
    _each(bootstrap, "Groups", lambda a: a.groups, lambda acct, spec: _group(session, acct, spec))
    _each(bootstrap, "Users", lambda a: a.users, lambda acct, spec: _user(session, keyring, acct, spec))
    _each(bootstrap, "Roles", lambda a: a.roles, lambda acct, spec: _role(session, acct, spec))
    _each(
        bootstrap,
        "Roles",
        lambda a: a.roles,
        lambda acct, spec: _trust(session, acct, spec),
        ".AssumeRolePolicyDocument",
    )
    _each(
        bootstrap,
        "InstanceProfiles",
        lambda a: a.instance_profiles,
        lambda acct, spec: _instance_profile(session, acct, spec),
    )
    _workloads(session, keyring, bootstrap)
    for i, account in enumerate(bootstrap.accounts):
        where = f"Accounts[{i}].Buckets"
        with _at(bootstrap.source, where):
            _buckets(session, account, data_dir, bootstrap.source, where)

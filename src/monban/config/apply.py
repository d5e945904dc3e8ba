"""Applying a bootstrap file to the store: idempotent, inside the caller's one transaction.

Dependency order: accounts (root keys, SCPs), managed policies, groups, users (of every account:
trust policies may name users of any account), roles (created first, their trust policies set once
every role exists, so roles may trust each other in any order), instance profiles, buckets.

Applying creates what is missing and updates what differs (paths, documents, descriptions,
boundaries, tags, secrets of the file's keys); it never duplicates an access key and never deletes
what the file does not mention (entities created through the API stay). Service control policies
are the exception: the file owns the account's SCPs (there is no Organizations API in monban).
Any refusal (an AWS error from the same validation the API uses) names the field it comes from
and rolls the whole transaction back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

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
    RoleSpec,
    UserSpec,
)
from monban.credentials import ids
from monban.credentials.keyring import KeyRing, SealError
from monban.protocol.errors import AwsError
from monban.services.iam.common import arn, boundary_policy, find_group, find_role, find_user, merge_tags
from monban.services.iam.groups import add_member, create_group_record
from monban.services.iam.inline_policies import EntityType, put_inline
from monban.services.iam.roles import check_trust_document, create_role_record
from monban.services.iam.users import create_user_record
from monban.store.accounts import add_access_key, ensure_account, now, open_secret
from monban.store.models import (
    AccessKey,
    Attachment,
    Group,
    InstanceProfile,
    InstanceProfileRole,
    ManagedPolicy,
    OrganizationPolicy,
    PolicyVersion,
    Role,
    User,
)

log = logging.getLogger("monban")

MAX_KEYS = 2
MAX_ATTACHED = 10
MAX_VERSIONS = 5
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
        owned = select(AccessKey).where(
            AccessKey.account_id == account,
            AccessKey.user_id == user_id if user_id else AccessKey.user_id.is_(None),
        )
        if user_id is not None and len(list(session.scalars(owned))) >= MAX_KEYS:
            raise AwsError("LimitExceeded", f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}")
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
    versions = list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.policy_id == policy.id)
            .order_by(PolicyVersion.created_at)
        )
    )
    if len(versions) >= MAX_VERSIONS:
        oldest = next(v for v in versions if v.version_id != policy.default_version_id)
        session.delete(oldest)
    version_id = f"v{policy.next_version}"
    stamp = now()
    session.add(
        PolicyVersion(policy_id=policy.id, version_id=version_id, document=document, created_at=stamp)
    )
    policy.default_version_id, policy.next_version, policy.updated_at = (
        version_id,
        policy.next_version + 1,
        stamp,
    )
    session.flush()


def _managed_policy(session: Session, account: str, spec: ManagedPolicySpec) -> None:
    policy_arn = spec.arn(account)
    policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == policy_arn))
    if policy is None:
        taken = select(ManagedPolicy).where(
            ManagedPolicy.account_id == account, ManagedPolicy.name_lower == spec.name.lower()
        )
        if session.scalar(taken) is not None:
            raise AwsError(
                "EntityAlreadyExists",
                f"A policy called {spec.name} already exists. Duplicate names are not allowed.",
            )
        stamp = now()
        policy = ManagedPolicy(
            id=ids.unique_id(ids.POLICY_PREFIX),
            account_id=account,
            name=spec.name,
            name_lower=spec.name.lower(),
            path=spec.path,
            arn=policy_arn,
            description=spec.description,
            default_version_id="v1",
            next_version=2,
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(policy)
        session.flush()
        session.add(
            PolicyVersion(policy_id=policy.id, version_id="v1", document=spec.document, created_at=stamp)
        )
        session.flush()
        return
    current = session.get(PolicyVersion, (policy.id, policy.default_version_id))
    if current is None or current.document != spec.document:
        _new_version(session, policy, spec.document)
    if policy.description != spec.description:
        policy.description = spec.description
        session.flush()


# --- what users, groups and roles share ----------------------------------------------------------


def _attach(session: Session, entity_type: str, entity_id: str, arns: Sequence[str], quota: str) -> None:
    query = select(Attachment.policy_arn).where(
        Attachment.entity_type == entity_type, Attachment.entity_id == entity_id
    )
    present = set(session.scalars(query))
    missing = [a for a in dict.fromkeys(arns) if a not in present]
    if len(present) + len(missing) > MAX_ATTACHED:
        raise AwsError("LimitExceeded", f"Cannot exceed quota for {quota}: {MAX_ATTACHED}")
    for policy_arn in missing:
        session.add(Attachment(entity_type=entity_type, entity_id=entity_id, policy_arn=policy_arn))
    session.flush()


def _inline(
    session: Session,
    entity: User | Group | Role,
    entity_type: EntityType,
    policies: Sequence[InlinePolicySpec],
) -> None:
    for policy in policies:
        put_inline(session, entity, entity_type, policy.name, policy.document)


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
    _inline(session, group, "group", spec.policies)
    _attach(session, "group", group.id, spec.managed_policy_arns, "PoliciesPerGroup")


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
    _inline(session, user, "user", spec.policies)
    _attach(session, "user", user.id, spec.managed_policy_arns, "PoliciesPerUser")
    for group_name in spec.groups:
        group = find_group(session, account, group_name)
        if group is None:
            raise AwsError("NoSuchEntity", f"The group with name {group_name} cannot be found.")
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
    _inline(session, role, "role", spec.policies)
    _attach(session, "role", role.id, spec.managed_policy_arns, "PoliciesPerRole")
    session.flush()


def _trust(session: Session, account: str, spec: RoleSpec) -> None:
    """Set the trust policy once every user and role exists (principals must exist)."""
    role = find_role(session, account, spec.name)
    if role is not None and role.trust_policy != spec.assume_role_policy_document:
        role.trust_policy = check_trust_document(session, spec.assume_role_policy_document)
        session.flush()


def _instance_profile(session: Session, account: str, spec: InstanceProfileSpec) -> None:
    query = select(InstanceProfile).where(
        InstanceProfile.account_id == account, InstanceProfile.name_lower == spec.name.lower()
    )
    profile = session.scalar(query)
    if profile is None:
        profile = InstanceProfile(
            id=ids.unique_id(ids.INSTANCE_PROFILE_PREFIX),
            account_id=account,
            name=spec.name,
            name_lower=spec.name.lower(),
            path=spec.path,
            arn=arn(account, "instance-profile", spec.path, spec.name),
            created_at=now(),
        )
        session.add(profile)
        session.flush()
    present = set(
        session.scalars(
            select(InstanceProfileRole.role_id).where(InstanceProfileRole.profile_id == profile.id)
        )
    )
    for role_name in spec.roles:
        role = find_role(session, account, role_name)
        if role is None:
            raise AwsError("NoSuchEntity", f"The role with name {role_name} cannot be found.")
        if role.id in present:
            continue
        if present:
            raise AwsError("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
        session.add(InstanceProfileRole(profile_id=profile.id, role_id=role.id))
        present.add(role.id)
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


def apply_bootstrap(session: Session, keyring: KeyRing, bootstrap: Bootstrap, *, data_dir: Path) -> None:
    """Bring the store in line with the file (called at every start, in one transaction)."""
    source = bootstrap.source
    _accounts(session, keyring, bootstrap)
    accounts = list(enumerate(bootstrap.accounts))
    for i, account in accounts:
        for j, group in enumerate(account.groups):
            with _at(source, f"Accounts[{i}].Groups[{j}]"):
                _group(session, account.account_id, group)
    for i, account in accounts:
        for j, user in enumerate(account.users):
            with _at(source, f"Accounts[{i}].Users[{j}]"):
                _user(session, keyring, account.account_id, user)
    for i, account in accounts:
        for j, role in enumerate(account.roles):
            with _at(source, f"Accounts[{i}].Roles[{j}]"):
                _role(session, account.account_id, role)
    for i, account in accounts:
        for j, role in enumerate(account.roles):
            with _at(source, f"Accounts[{i}].Roles[{j}].AssumeRolePolicyDocument"):
                _trust(session, account.account_id, role)
    for i, account in accounts:
        for j, profile in enumerate(account.instance_profiles):
            with _at(source, f"Accounts[{i}].InstanceProfiles[{j}]"):
                _instance_profile(session, account.account_id, profile)
    for i, account in accounts:
        where = f"Accounts[{i}].Buckets"
        with _at(source, where):
            _buckets(session, account, data_dir, source, where)

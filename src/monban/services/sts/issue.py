"""Minting temporary credentials, and the roles they stand for.

Every STS call that hands out credentials (AssumeRole, GetSessionToken) and the instance-metadata
endpoint end here: an ``ASIA…`` id that encodes the account, a fresh secret, and a session token
sealed with the ring's current session key (``AppState.token_key``) that carries everything the
session means. Nothing is written to the database: a session is stateless (ARCHITECTURE.md,
"Stateless credentials").
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.credentials.keyring import NONCE_BYTES
from monban.credentials.session import (
    KEY_ID_RANDOM_BYTES,
    SessionClaims,
    TokenKey,
    seal_token,
    session_access_key_id,
)
from monban.policy import (
    AuthzRequest,
    Decision,
    NamedPolicy,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
)
from monban.protocol.xml import Raw, utc_text
from monban.store import iam_read
from monban.store.iam_read import PolicyText
from monban.store.models import Role


@dataclass(frozen=True, slots=True)
class RoleRecord:
    """What AssumeRole needs of a role (a plain record: no ORM object escapes a transaction)."""

    id: str
    account: str
    name: str
    path: str
    arn: str
    trust_policy: str
    max_session_duration: int
    tags: tuple[tuple[str, str], ...]


_ROLE_ARN_PREFIX = "arn:aws:iam::"


def parse_role_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, path, name) of ``arn:aws:iam::<acct>:role/<path><name>``; None for anything else."""
    if not arn.startswith(_ROLE_ARN_PREFIX):
        return None
    account, colon, resource = arn[len(_ROLE_ARN_PREFIX) :].partition(":")
    if not colon or len(account) != 12 or not (account.isascii() and account.isdigit()):
        return None
    if not resource.startswith("role/"):
        return None
    rest = resource[4:]
    cut = rest.rfind("/") + 1
    path, name = rest[:cut], rest[cut:]
    if not name or len(name) > 64:
        return None
    return account, path, name


def find_role(session: Session, arn: str) -> RoleRecord | None:
    """The role an ARN names: the role whose stored ARN is exactly ``arn``. IAM keeps names unique
    case-insensitively, but a role name in an ARN is case-sensitive (IAM User Guide, "Creating a
    role to delegate permissions to an IAM user": "When a role name is used in a policy or as part
    of an ARN, the role name is case sensitive"): ``role/admin`` does not name ``role/Admin`` and
    is denied exactly as a role that does not exist. So the trust decision, made on the requested
    ARN, is always about the role that would be assumed."""
    parsed = parse_role_arn(arn)
    if parsed is None:
        return None
    account, _path, name = parsed
    query = select(Role).where(Role.account_id == account, Role.name_lower == name.lower())
    role = session.scalar(query)
    if role is None or role.arn != arn:
        return None
    return RoleRecord(
        id=role.id,
        account=role.account_id,
        name=role.name,
        path=role.path,
        arn=role.arn,
        trust_policy=role.trust_policy,
        max_session_duration=role.max_session_duration,
        tags=iam_read.entity_tags(session, "role", role.id),
    )


def trust_text(role: RoleRecord) -> PolicyText:
    """The trust policy under the name explanations use for it."""
    return PolicyText(f"{role.arn}/trust", role.trust_policy)


def _load_trust(document: str, _kind: PolicyKind, name: str) -> NamedPolicy:
    from monban.services.iam.roles import load_trust_policy

    return load_trust_policy(document, name)


def trust_policy(role: RoleRecord) -> NamedPolicy:
    """The role's stored trust policy, compiled once (it may name unique ids of deleted principals)."""
    from monban.access.authz import compiled

    return compiled(trust_text(role), PolicyKind.TRUST, _load_trust)


@dataclass(frozen=True, slots=True)
class Issued:
    """Freshly minted credentials: the claims and the token that seals them."""

    claims: SessionClaims
    token: str

    def credentials(self) -> dict[str, Any]:
        """The ``Credentials`` structure of STS responses (botocore: AccessKeyId, SecretAccessKey,
        SessionToken, Expiration)."""
        return {
            "AccessKeyId": self.claims.access_key_id,
            "SecretAccessKey": self.claims.secret_access_key,
            "SessionToken": self.token,
            "Expiration": expiration_text(self.claims.expires_at),
        }


def expiration_text(epoch: int) -> Raw:
    """``2026-11-27T20:00:00Z``, as the XML renderer prints a datetime (only digits and ``-:TZ``:
    nothing to escape)."""
    return Raw(utc_text(epoch))


_SECRET_END = KEY_ID_RANDOM_BYTES + ids.SECRET_RANDOM_BYTES


def fresh_keys(account: str) -> tuple[str, str, bytes]:
    """A new ``ASIA…`` id of ``account``, its secret, and the nonce that seals its token."""
    random = os.urandom(_SECRET_END + NONCE_BYTES)  # one system call for the three (~0.4 µs each)
    return (
        session_access_key_id(account, random[:KEY_ID_RANDOM_BYTES]),
        ids.secret_access_key(random[KEY_ID_RANDOM_BYTES:_SECRET_END]),
        random[_SECRET_END:],
    )


def issue(key: TokenKey, claims: SessionClaims) -> Issued:
    """Seal ``claims`` (whose key id and secret are replaced by fresh ones) into a token."""
    access_key_id, secret, nonce = fresh_keys(claims.account)
    fresh = replace(claims, access_key_id=access_key_id, secret_access_key=secret)
    return Issued(fresh, seal_token(fresh, key, nonce))


class RoleSessionSpec(NamedTuple):
    """Everything a role session is made of, besides the role (AssumeRole's parameters after
    validation, or the instance-metadata endpoint's choices). A NamedTuple: built on every
    AssumeRole, it costs a third of a frozen dataclass."""

    session_name: str
    issued_at: int
    duration: int
    session_policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    chained: bool = False
    instance_profile: bool = False
    caller_arn: str | None = None
    mfa_authenticated_at: int | None = None
    federated_provider: str | None = None  # AssumeRoleWithWebIdentity: the provider's ARN
    context: tuple[tuple[str, str], ...] = ()  # condition keys every request of the session carries


def _extra(spec: RoleSessionSpec) -> dict[str, str]:
    """The claims' ``extra``: the web identity provider, and the session's own condition keys
    (names with a colon: ``ec2:SourceInstanceARN``…; see ``access/context.py``)."""
    extra = dict(spec.context)
    if spec.federated_provider:
        extra["federated_provider"] = spec.federated_provider
    return extra


def role_session(key: TokenKey, role: RoleRecord, spec: RoleSessionSpec) -> Issued:
    """Credentials for a session of ``role``: ``AssumedRoleId`` ``<AROA…>:<session>``, ARN
    ``arn:aws:sts::<acct>:assumed-role/<role name>/<session>`` (the role's path left out)."""
    access_key_id, secret, nonce = fresh_keys(role.account)
    claims = SessionClaims(
        access_key_id=access_key_id,
        secret_access_key=secret,
        kind="role",
        account=role.account,
        issued_at=spec.issued_at,
        expires_at=spec.issued_at + spec.duration,
        principal_id=role.id,
        principal_name=role.name,
        principal_arn=role.arn,
        session_name=spec.session_name,
        session_policy=spec.session_policy,
        policy_arns=spec.policy_arns,
        tags=spec.tags,
        transitive_tag_keys=spec.transitive_tag_keys,
        source_identity=spec.source_identity,
        mfa_authenticated_at=spec.mfa_authenticated_at,
        chained=spec.chained,
        instance_profile=spec.instance_profile,
        caller_arn=spec.caller_arn,
        extra=_extra(spec) if spec.federated_provider or spec.context else {},
    )
    return Issued(claims, seal_token(claims, key, nonce))


def assumed_role_user(claims: SessionClaims) -> dict[str, str]:
    """The ``AssumedRoleUser`` structure."""
    return {
        "AssumedRoleId": f"{claims.principal_id}:{claims.session_name}",
        "Arn": f"arn:aws:sts::{claims.account}:assumed-role/{claims.principal_name}/{claims.session_name}",
    }


def service_may_assume(
    role: RoleRecord,
    service: str,
    now: datetime | None = None,
    extra_context: Mapping[str, str | Sequence[str] | None] | None = None,
) -> Decision:
    """Does the role's trust policy let an AWS service principal (``ec2.amazonaws.com``) assume
    it? Service principals have no identity policies: the trust policy alone decides (reference
    §4). For the instance-metadata endpoint, which then calls :func:`role_session` with
    ``instance_profile=True``."""
    from monban.policy import evaluate

    when = now or datetime.now(UTC)
    principal = Principal("Service", role.account, service, service, service=service)
    values: dict[str, str | Sequence[str] | None] = {
        "aws:CurrentTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(when.timestamp())),
        "aws:PrincipalServiceName": service,
    }
    values.update({f"aws:ResourceTag/{k}": v for k, v in role.tags})
    values.update({f"iam:ResourceTag/{k}": v for k, v in role.tags})
    values["aws:ResourceAccount"] = role.account
    values.update(extra_context or {})
    request = AuthzRequest(
        principal=principal,
        action="sts:AssumeRole",
        resource=role.arn,
        resource_account=role.account,
        context=RequestContext(values),
        resource_policy=trust_policy(role),
        is_trust_policy=True,
    )
    return evaluate(request, PolicySet())

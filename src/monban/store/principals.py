"""Principals of stored resource policies (role trust policies, bucket policies) bound to unique ids.

IAM User Guide, "IAM JSON policy elements: Principal" ("IAM role principals", "IAM user
principals"): a user or role ARN in a trust or resource policy is transformed to the entity's unique
id when the policy is saved, so the entity must exist ("Invalid principal in policy"); the policy
shows the entity's current ARN while it lives and the bare unique id (AIDA…/AROA…) once it is
deleted, and a re-created entity of the same name is never granted. IAM User Guide, "Renaming an
IAM user": policies naming the user as a principal follow a rename and a new path.

One mechanism for every such document: :func:`bind` stores the unique id (the ARN must match the
stored ARN exactly: ARNs in policies are case-sensitive), :func:`render` shows the current ARN (or
the bare id), :func:`load_bound_policy` compiles the stored form, in which a unique id matches only
the entity that has it. Deleting or renaming an entity therefore rewrites nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.policy import NamedPolicy, PolicyKind, compile_policy, parse_policy
from monban.policy.model import PolicyDocument, PrincipalSpec
from monban.store.models import Account, Role, User

_IAM_PREFIX = "arn:aws:iam::"
_ENTITY_ARN = re.compile(r"^arn:aws:iam::(\d{12}):(user|role)/")
_ACCOUNT_OF = re.compile(r"^(?:(\d{12})|arn:aws:(?:iam|sts)::(\d{12}):.*)$")
UNIQUE_ID = re.compile(r"^A(?:IDA|ROA)[A-Z0-9]{16,124}$")
_PLACEHOLDER = "arn:aws:iam::000000000000:user/monban-unbound/"
_UNBOUND = "monban-unbound:"  # no principal's ARN or unique id starts so
_ELEMENTS = ("Principal", "NotPrincipal")


class InvalidPrincipal(ValueError):
    """An ``AWS`` principal that names no entity (or an account this server does not know)."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


def _containers(raw: Any) -> Iterator[dict[str, Any]]:
    """The Principal/NotPrincipal mappings of a decoded document."""
    statements = raw.get("Statement") if isinstance(raw, dict) else None
    items = (
        [statements] if isinstance(statements, dict) else statements if isinstance(statements, list) else []
    )
    for statement in items:
        for element in _ELEMENTS:
            container = statement.get(element) if isinstance(statement, dict) else None
            if isinstance(container, dict):
                yield container


def _map_aws(raw: Any, swap: Callable[[str], str]) -> bool:
    """Replace every ``AWS`` principal value by ``swap(value)``; True when one changed."""
    changed = False
    for container in _containers(raw):
        values = container.get("AWS")
        if isinstance(values, str) and swap(values) != values:
            container["AWS"], changed = swap(values), True
        elif isinstance(values, list):
            swapped = [swap(v) if isinstance(v, str) else v for v in values]
            if swapped != values:
                container["AWS"], changed = swapped, True
    return changed


def _rewrite(document: str, swap: Callable[[str], str]) -> str:
    try:
        raw = json.loads(document)
    except ValueError:
        return document
    return json.dumps(raw, separators=(",", ":")) if _map_aws(raw, swap) else document


def _entity_id(session: Session, value: str) -> str | None:
    """The unique id of the user or role whose stored ARN is exactly ``value``."""
    match = _ENTITY_ARN.match(value)
    if match is None:
        return None
    model: type[User] | type[Role] = User if match.group(2) == "user" else Role
    return session.scalar(select(model.id).where(model.arn == value))


def _account_known(session: Session, value: str) -> bool:
    match = _ACCOUNT_OF.match(value)
    account = (match.group(1) or match.group(2)) if match else None
    return account is not None and session.get(Account, account) is not None


def bind(session: Session, document: str, *, known_accounts: bool = False, strict: bool = True) -> str:
    """The form to store of a validated trust or resource policy: each user or role ARN of an
    ``AWS`` principal replaced by the entity's unique id. Raises :class:`InvalidPrincipal` for an
    ARN naming no entity (exact, case-sensitive match), and with ``known_accounts`` for any other
    principal (account, root, session) of an account this server does not hold. The text is kept
    as sent when nothing is bound. ``strict=False`` (the upgrade of documents stored before
    binding) keeps what names no one as it is."""

    def swap(value: str) -> str:
        if value == "*":
            return value
        if value.startswith(_IAM_PREFIX) and not value.endswith(":root"):
            unique = _entity_id(session, value)  # users and roles; any other IAM ARN names no one
            if unique is None and strict:
                raise InvalidPrincipal(value)
            return unique or value
        if known_accounts and not _account_known(session, value):
            raise InvalidPrincipal(value)
        return value

    return _rewrite(document, swap)


def render(session: Session, stored: str) -> str:
    """The document as GetRole / GetBucketPolicy show it: each bound unique id as the entity's
    current ARN (after a rename, its new name and path), or bare once the entity is deleted."""

    def swap(value: str) -> str:
        if not UNIQUE_ID.match(value):
            return value
        model: type[User] | type[Role] = User if value.startswith("AIDA") else Role
        current = session.scalar(select(model.arn).where(model.id == value))
        return current if current is not None else value

    return _rewrite(stored, swap)


def _placeholders(document: str) -> tuple[str, dict[str, str]]:
    """Stand-in ARNs for unique-id principals (which write-time validation refuses)."""
    found: dict[str, str] = {}

    def swap(value: str) -> str:
        if UNIQUE_ID.match(value):
            found[_PLACEHOLDER + value] = value
            return _PLACEHOLDER + value
        return value

    text = _rewrite(document, swap)
    return text, found


def _stored_value(kind: str, value: str, found: Mapping[str, str]) -> str:
    """A principal value of a stored document as the engine sees it: a unique id as itself; a user
    or role ARN, which only a document stored before binding can still hold (its entity was gone
    by then), as a name no principal has — fail closed, never a namesake."""
    if kind != "AWS":
        return value
    if value in found:
        return found[value]
    return _UNBOUND + value if _ENTITY_ARN.match(value) else value


def _restore(spec: PrincipalSpec | None, found: Mapping[str, str]) -> PrincipalSpec | None:
    if spec is None:
        return None
    return PrincipalSpec(
        tuple((k, tuple(_stored_value(k, v, found) for v in values)) for k, values in spec.entries)
    )


def parse_bound(document: str, kind: PolicyKind) -> PolicyDocument:
    """Parse a *stored* policy: like a submitted one, but it may name unique ids (bound
    principals), which stay unique ids. Raises MalformedPolicyDocument for anything else."""
    text, found = _placeholders(document)
    parsed = parse_policy(text, kind)
    statements = tuple(
        dataclasses.replace(
            s, principal=_restore(s.principal, found), not_principal=_restore(s.not_principal, found)
        )
        for s in parsed.statements
    )
    return dataclasses.replace(parsed, statements=statements)


def load_bound_policy(document: str, kind: PolicyKind, name: str) -> NamedPolicy:
    """Compile a stored trust or bucket policy (a ``server.authz.compiled`` loader): a unique id
    matches only the entity that has it — nobody, once it is gone."""
    return NamedPolicy(name, compile_policy(parse_bound(document, kind)))

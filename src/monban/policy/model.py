"""Parsed policy documents: the frozen shape every later stage reads.

``parse_policy`` (``monban.policy.parse``) turns JSON text into these objects after IAM's validation;
``compile_policy`` (``monban.policy.compiled``) turns them into matchers with an action index.
Nothing here does I/O or holds mutable state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Effect = Literal["Allow", "Deny"]


class PolicyKind(StrEnum):
    """Which slot a document is written to; IAM's rules (allowed elements, size) depend on it."""

    IDENTITY = "identity"  # user / group / role inline or managed policy
    RESOURCE = "resource"  # bucket policy and other resource-based policies
    TRUST = "trust"  # role trust policy (AssumeRolePolicyDocument)
    SESSION = "session"  # AssumeRole Policy parameter / GetFederationToken
    BOUNDARY = "boundary"  # permissions boundary (a managed policy)
    SCP = "scp"  # organizations service control policy


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A Principal or NotPrincipal element.

    ``"*"`` is stored as ``(("AWS", ("*",)),)``. Each entry is (type, values) where type is one of
    ``AWS``, ``Service``, ``Federated``, ``CanonicalUser``; a single string value becomes a 1-tuple.
    """

    entries: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One (operator, key, values) triple of a Condition block.

    ``operator`` and ``key`` are kept as written (matching is case-insensitive for keys); JSON
    booleans become ``"true"``/``"false"`` and numbers their JSON text, as IAM reads them.
    """

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement. Exactly one of each Action/NotAction pair (and Resource/NotResource,
    Principal/NotPrincipal where present) is set; the other is None."""

    index: int
    sid: str | None
    effect: Effect
    principal: PrincipalSpec | None
    not_principal: PrincipalSpec | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[ConditionClause, ...]


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A whole validated document. ``version`` is "2012-10-17", "2008-10-17" or None (absent)."""

    kind: PolicyKind
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]

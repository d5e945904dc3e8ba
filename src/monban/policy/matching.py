"""Matchers for the Action, Resource and Principal elements of a statement.

IAM User Guide, "IAM JSON policy elements: Action" / "Resource" / "Principal" / "NotPrincipal":

- an action is ``service:name``; names match case-insensitively, ``*`` and ``?`` are wildcards,
  ``*`` alone matches every action;
- a resource ARN is cut into its six colon-separated fields (``arn:partition:service:region:
  account:resource``) and each field is matched on its own, case-sensitively; a ``*`` in the last
  field crosses ``/`` and ``:``; a Resource of ``*`` alone matches anything; in Version 2012-10-17 a
  field may hold policy variables, and a variable without a value makes the Resource match nothing;
- a Principal names ``*`` (everyone, anonymous included), an account (id or ``…:root``), a user,
  role or assumed-role session ARN, an AWS service, a federated identity provider or an S3
  canonical user.

Every pattern is compiled once into a :class:`~monban.policy.glob.Glob`; no regular expression is
built from policy text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from monban.policy.context import RequestContext
from monban.policy.glob import Glob, has_wildcard
from monban.policy.model import PrincipalSpec
from monban.policy.types import Principal
from monban.policy.variables import Pattern, TemplateGlob, compile_pattern, compile_template, pattern_matches

__all__ = [
    "ActionMatcher",
    "PrincipalMatch",
    "PrincipalMatcher",
    "ResourceMatcher",
    "action_hit",
    "action_service",
    "compile_principal",
    "compile_resources",
    "has_identity_policies",
    "is_identity_provider",
    "principal_chain",
]

_ARN_FIELDS = 6


# --- actions ---------------------------------------------------------------------------------


def action_service(pattern: str) -> str | None:
    """The lower-cased service prefix of an action pattern; None when the prefix has a wildcard
    (``*``, ``s3*:Get``) so the pattern can match actions of any service."""
    service, sep, _ = pattern.lower().partition(":")
    if not sep or "*" in service or "?" in service:
        return None
    return service


def _prefix(pattern: str) -> str | None:
    """``s3:get`` for ``s3:get*`` (and ``""`` for ``*``): patterns whose only wildcard is one
    trailing star are tested with one ``str.startswith`` over a tuple of prefixes."""
    if pattern.endswith("*") and not has_wildcard(pattern[:-1]):
        return pattern[:-1]
    return None


@dataclass(frozen=True, slots=True)
class ActionMatcher:
    """An Action list, or a NotAction list when ``negate`` (IAM User Guide, "NotAction": it
    matches every action except those listed), lower-cased (IAM matches action names
    case-insensitively): ``exact`` names, ``prefixes`` of the ``name*`` patterns, the other
    ``globs``."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    globs: tuple[Glob, ...]
    negate: bool = False

    @classmethod
    def compile(cls, patterns: Iterable[str], *, negate: bool = False) -> ActionMatcher:
        """Compile an Action (or NotAction) list ("*" and "?" wildcards)."""
        exact: set[str] = set()
        prefixes: list[str] = []
        globs: list[Glob] = []
        for pattern in patterns:
            lowered = pattern.lower()
            prefix = _prefix(lowered)
            if not has_wildcard(lowered):
                exact.add(lowered)
            elif prefix is not None:
                prefixes.append(prefix)
            else:
                globs.append(Glob.compile(lowered))
        return cls(frozenset(exact), tuple(prefixes), tuple(globs), negate)

    @property
    def patterns(self) -> tuple[str, ...]:
        """Every pattern, lower-cased: exact names, then ``prefix*``, then the other globs."""
        return (
            *sorted(self.exact),
            *(prefix + "*" for prefix in self.prefixes),
            *(g.source for g in self.globs),
        )

    def matches(self, action_lower: str) -> bool:
        """Does the element cover the lower-cased action: some pattern matches it (Action), or
        none does (NotAction)?"""
        return action_hit(self.exact, self.prefixes, self.globs, action_lower) is not self.negate


def action_hit(
    exact: frozenset[str], prefixes: tuple[str, ...], globs: tuple[Glob, ...], action: str
) -> bool:
    """Does one of the patterns (split as :class:`ActionMatcher` keeps them) match ``action``?
    The evaluator inlines the first two tests, which decide almost every request."""
    return action in exact or action.startswith(prefixes) or any(glob.matches(action) for glob in globs)


# --- resources -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    """One Resource/NotResource value.

    ``anything`` for ``*``; else ``head`` is the text of the first five fields (with their colons)
    when they hold no wildcard or variable, so the common ``arn:aws:s3:::bucket/*`` costs one
    ``startswith`` plus one glob (``fields`` is then that last field alone); otherwise ``fields``
    match field by field, and the ARN is split into as many fields (the last keeping any further
    colons, so a pattern with fewer than six fields matches its last field against the rest of the
    ARN). Field by field, a plain field is one string comparison (``exact``), a ``*`` field costs
    nothing, the other fields are ``globs`` and, holding policy variables, ``dynamic``; each entry
    carries its field's position.
    """

    source: str
    anything: bool
    head: str | None
    fields: tuple[Pattern, ...]
    exact: tuple[tuple[int, str], ...] = ()
    globs: tuple[tuple[int, Glob], ...] = ()
    dynamic: tuple[tuple[int, TemplateGlob], ...] = ()

    @classmethod
    def compile(cls, pattern: str, version: str | None) -> ResourceMatcher:
        """Compile a Resource value; variables only count in Version 2012-10-17."""
        if pattern == "*":
            return cls(pattern, True, None, ())
        fields = tuple(
            compile_pattern(t) for t in compile_template(pattern, version).split(":", _ARN_FIELDS - 1)
        )
        head = _static_head(fields)
        if head is not None:
            return cls(pattern, False, head, fields[-1:])
        statics = [(index, field) for index, field in enumerate(fields) if isinstance(field, Glob)]
        return cls(
            pattern,
            False,
            None,
            fields,
            exact=tuple((index, glob.literal) for index, glob in statics if glob.is_exact),
            globs=tuple(
                (index, glob) for index, glob in statics if not glob.is_exact and not glob.matches_everything
            ),
            dynamic=tuple(
                (index, field) for index, field in enumerate(fields) if isinstance(field, TemplateGlob)
            ),
        )

    def matches(self, arn: str, ctx: RequestContext) -> bool:
        """Does the request's resource ARN match?"""
        if self.anything:
            return True
        head = self.head
        if head is not None:
            return arn.startswith(head) and pattern_matches(self.fields[0], arn[len(head) :], ctx)
        last = len(self.fields) - 1
        arn_fields = arn.split(":", last)
        if len(arn_fields) <= last:
            return False
        for index, literal in self.exact:
            if arn_fields[index] != literal:
                return False
        for index, glob in self.globs:
            if not glob.matches(arn_fields[index]):
                return False
        for index, field in self.dynamic:  # noqa: SIM110 - a plain loop is faster than all(<genexpr>)
            if not field.matches(arn_fields[index], ctx):
                return False
        return True


def _static_head(fields: tuple[Pattern, ...]) -> str | None:
    """``arn:aws:s3:::`` when the first five fields are plain text, else None."""
    if len(fields) != _ARN_FIELDS:
        return None
    if not all(isinstance(field, Glob) and field.is_exact for field in fields[:-1]):
        return None
    return ":".join(field.literal for field in fields[:-1] if isinstance(field, Glob)) + ":"


def compile_resources(patterns: tuple[str, ...], version: str | None) -> tuple[ResourceMatcher, ...]:
    """Compile a Resource/NotResource list."""
    return tuple(ResourceMatcher.compile(pattern, version) for pattern in patterns)


# --- principals ------------------------------------------------------------------------------


class PrincipalMatch(IntEnum):
    """How a Principal element named the caller; the evaluator needs the difference
    (IAM User Guide, "Policy evaluation logic": a resource policy naming a user or session ARN
    stands on its own, one naming the role ARN is still cut by boundary and session policies,
    one naming the account delegates to the account's identity policies)."""

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


def is_identity_provider(principal: Principal) -> bool:
    """A web identity or SAML caller (AssumeRoleWithWebIdentity / AssumeRoleWithSAML): by
    convention a ``FederatedUser`` whose ``arn`` is the provider — an ``oidc-provider/`` or
    ``saml-provider/`` ARN, or a well-known IdP such as ``accounts.google.com`` — rather than a
    GetFederationToken ``arn:aws:sts::<acct>:federated-user/<name>`` session."""
    return principal.type == "FederatedUser" and ":sts::" not in principal.arn


def has_identity_policies(principal: Principal) -> bool:
    """Whether the caller can hold identity-based policies at all: anonymous callers, AWS services
    and identity-provider callers cannot, so only a resource (or trust) policy can allow them."""
    return principal.type not in ("Anonymous", "Service") and not is_identity_provider(principal)


def principal_chain(principal: Principal) -> tuple[str, ...]:
    """The identities IAM checks for NotPrincipal, outermost first: the account, then the role,
    then the session or user (IAM User Guide, "NotPrincipal": AWS may validate the account first,
    then the role, then the assumed-role user)."""
    if not has_identity_policies(principal):
        return (principal.arn,)
    chain = [principal.account]
    if principal.role_arn is not None:
        chain.append(principal.role_arn)
    if principal.type != "Account":
        chain.append(principal.arn)
    return tuple(chain)


@dataclass(frozen=True, slots=True)
class PrincipalMatcher:
    """A compiled Principal/NotPrincipal element.

    ``arns`` holds user, role, session and federated-user ARNs, plus unique ids (AIDA…/AROA…) —
    the form a trust policy shows once the named entity is deleted; ``accounts`` holds account ids
    from both ``"123456789012"`` and ``arn:…:iam::123456789012:root``.
    """

    everyone: bool
    arns: frozenset[str]
    accounts: frozenset[str]
    services: frozenset[str]
    federated: frozenset[str]
    canonical: frozenset[str]

    def match(self, principal: Principal) -> PrincipalMatch:
        """How (if at all) this element names ``principal``."""
        if self.everyone:
            return PrincipalMatch.DIRECT
        kind = principal.type
        if kind == "Service":
            return _found(principal.service in self.services or principal.arn in self.services)
        if kind == "Anonymous":
            return PrincipalMatch.NONE
        if is_identity_provider(principal):
            return _found(principal.arn in self.federated)
        if (
            principal.arn in self.arns
            or principal.unique_id in self.arns
            or principal.unique_id in self.canonical
        ):
            return PrincipalMatch.DIRECT
        if kind == "Account":
            return _found(principal.account in self.accounts)
        if principal.role_arn is not None and self._names_role(principal):
            return PrincipalMatch.ROLE
        if principal.account in self.accounts:
            return PrincipalMatch.ACCOUNT
        return PrincipalMatch.NONE

    def _names_role(self, principal: Principal) -> bool:
        role_id = principal.unique_id.partition(":")[0]
        return principal.role_arn in self.arns or role_id in self.arns

    def excludes(self, principal: Principal, *, every: bool) -> bool:
        """NotPrincipal: is ``principal`` among the listed exceptions?

        With ``every=True`` (a Deny statement) each identity of :func:`principal_chain` must be
        listed — the account as well as the user, the account and the role as well as the session —
        because AWS may evaluate the account or the role first; with ``every=False`` (Allow, which
        AWS does not support) naming any of them is enough: both choices fail closed.
        """
        if self.everyone:
            return True
        listed = [self._lists(identity, principal) for identity in principal_chain(principal)]
        return all(listed) if every else any(listed)

    def _lists(self, identity: str, principal: Principal) -> bool:
        if identity == principal.account and has_identity_policies(principal):
            return identity in self.accounts
        if identity == principal.role_arn:
            return self._names_role(principal)
        return self.match(principal) is PrincipalMatch.DIRECT


def _found(hit: bool) -> PrincipalMatch:
    return PrincipalMatch.DIRECT if hit else PrincipalMatch.NONE


def _account_of_root(value: str) -> str | None:
    """``123456789012`` for ``arn:<partition>:iam::123456789012:root``; None otherwise."""
    fields = value.split(":")
    if len(fields) == _ARN_FIELDS and fields[0] == "arn" and fields[2] == "iam" and fields[5] == "root":
        return fields[4]
    return None


def _sort_aws(values: tuple[str, ...], arns: set[str], accounts: set[str]) -> bool:
    """File ``AWS`` values into ARNs and accounts; True when one of them is ``*``."""
    everyone = False
    for value in values:
        root = _account_of_root(value)
        if value == "*":
            everyone = True
        elif root is not None:
            accounts.add(root)
        elif len(value) == 12 and value.isdigit():
            accounts.add(value)
        else:
            arns.add(value)
    return everyone


def compile_principal(spec: PrincipalSpec) -> PrincipalMatcher:
    """Compile a Principal element. Types are ``AWS``, ``Service``, ``Federated``, ``CanonicalUser``;
    an unknown type names nobody (fail closed)."""
    arns: set[str] = set()
    accounts: set[str] = set()
    by_type: dict[str, set[str]] = {"Service": set(), "Federated": set(), "CanonicalUser": set()}
    everyone = False
    for kind, values in spec.entries:
        if kind == "AWS":
            everyone = _sort_aws(values, arns, accounts) or everyone
        elif kind in by_type:
            by_type[kind].update(values)
    return PrincipalMatcher(
        everyone,
        frozenset(arns),
        frozenset(accounts),
        frozenset(by_type["Service"]),
        frozenset(by_type["Federated"]),
        frozenset(by_type["CanonicalUser"]),
    )

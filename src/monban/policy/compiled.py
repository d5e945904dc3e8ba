"""Compiled policies: frozen statements with their matchers, and an action index.

A document is compiled once (``compile_policy``); evaluation then parses no JSON and looks only at
the statements whose Action can match the request (minio/pkg/policy's idea). The index maps each
lower-cased service prefix to the statements naming an action of that service, in document order,
each with only its patterns for that service: a frozenset of exact names, a tuple of ``name*``
prefixes (one ``str.startswith``), and the few other globs. Statements whose pattern has a wild
service part (``*``) and NotAction statements are in every list, and in ``other`` for services the
document never names. A request for ``s3:GetObject`` against ReadOnlyAccess (about 2,900 action
patterns over 300 services) costs one dict probe, one set probe and one ``startswith`` — not 2,900
glob tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from monban.policy.conditions import compile_conditions
from monban.policy.context import RequestContext
from monban.policy.glob import Glob
from monban.policy.matching import (
    ActionMatcher,
    PrincipalMatcher,
    ResourceMatcher,
    action_hit,
    action_service,
    compile_principal,
    compile_resources,
)
from monban.policy.model import Effect, PolicyDocument, PolicyKind, Statement
from monban.policy.parse import PolicySource, parse_policy
from monban.policy.types import MatchedStatement

__all__ = [
    "STAGE_OF_KIND",
    "Candidate",
    "CompiledPolicy",
    "CompiledStatement",
    "NamedPolicy",
    "compile_policy",
    "load_policy",
]


class Condition(Protocol):
    """One compiled (operator, key, values) clause of a Condition block (``compile_conditions``)."""

    def holds(self, ctx: RequestContext) -> bool: ...


@dataclass(frozen=True, slots=True, eq=False)
class CompiledStatement:
    """One statement with everything precompiled.

    ``actions`` is the Action or NotAction list. ``resources`` is the Resource or (``not_resource``)
    NotResource list, None when the statement has no such element (trust policies): it then names
    any resource, as does a Resource list holding ``*`` (``any_resource``). ``principal`` is the
    Principal or (``not_principal``) NotPrincipal element, None outside resource and trust policies.
    """

    index: int
    sid: str | None
    effect: Effect
    deny: bool
    actions: ActionMatcher
    resources: tuple[ResourceMatcher, ...] | None
    not_resource: bool
    any_resource: bool
    principal: PrincipalMatcher | None
    not_principal: bool
    conditions: tuple[Condition, ...]

    def applies(self, arn: str, ctx: RequestContext) -> bool:
        """The Resource element and the Condition block both hold for the request (IAM User
        Guide, "Condition element": every clause must hold; a statement without one always does)."""
        if not self.any_resource and not self.resource_matches(arn, ctx):
            return False
        for condition in self.conditions:  # noqa: SIM110 - a plain loop is faster than all(<genexpr>)
            if not condition.holds(ctx):
                return False
        return True

    def resource_matches(self, arn: str, ctx: RequestContext) -> bool:
        """Resource: some value matches; NotResource: none does (IAM User Guide, "NotResource")."""
        for matcher in self.resources or ():
            if matcher.matches(arn, ctx):
                return not self.not_resource
        return self.not_resource or self.resources is None


Candidate = tuple[frozenset[str], tuple[str, ...], tuple[Glob, ...], bool, CompiledStatement]
"""A statement as one service's index entry: the exact names, ``name*`` prefixes and other globs of
its Action patterns for that service (with those whose service part is wild), or of its whole
NotAction list (``negate``), then the statement. Flat, so the evaluator tests it without a call."""


def _candidate(actions: ActionMatcher, statement: CompiledStatement) -> Candidate:
    return (actions.exact, actions.prefixes, actions.globs, actions.negate, statement)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPolicy:
    """A compiled document and its action index (see the module docstring).

    ``by_service`` maps a lower-cased service prefix to the statements that can match an action
    of that service, in document order; ``other`` serves every service not in the map (statements
    with a wild service part such as ``*``, and NotAction statements).
    """

    kind: PolicyKind
    version: str | None
    statements: tuple[CompiledStatement, ...]
    by_service: Mapping[str, tuple[Candidate, ...]]
    other: tuple[Candidate, ...]
    label: tuple[str, str] | None = None
    explained: tuple[MatchedStatement, ...] = ()

    def explain(self, name: str, stage: str, statement: CompiledStatement) -> MatchedStatement:
        """The MatchedStatement for ``statement`` seen in a policy called ``name`` at ``stage``;
        prebuilt when the policy was compiled under that label (``load_policy``)."""
        label = self.label
        if label is not None and label[0] == name and label[1] == stage:
            return self.explained[statement.index]
        return MatchedStatement(name, statement.index, statement.sid, statement.effect, stage)

    def candidates(self, service: str) -> tuple[Candidate, ...]:
        """The index entries that can match an action of ``service`` (a lower-cased prefix), in
        document order; the evaluator tests each entry's patterns (see :data:`Candidate`)."""
        return self.by_service.get(service, self.other)

    def statements_for(self, action_lower: str) -> list[CompiledStatement]:
        """The statements whose Action/NotAction matches ``action_lower``, in document order."""
        candidates = self.by_service.get(action_lower.partition(":")[0], self.other)
        return [
            statement
            for exact, prefixes, globs, negate, statement in candidates
            if action_hit(exact, prefixes, globs, action_lower) is not negate
        ]


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A compiled document with the name that explanations use (a policy ARN, or
    ``user/alice/inline-name``-style for inline policies)."""

    name: str
    policy: CompiledPolicy


def _compile_statement(position: int, statement: Statement, version: str | None) -> CompiledStatement:
    actions = statement.actions if statement.actions is not None else statement.not_actions
    resources = statement.resources if statement.resources is not None else statement.not_resources
    principal = statement.principal if statement.principal is not None else statement.not_principal
    compiled = None if resources is None else compile_resources(resources, version)
    not_resource = statement.resources is None and resources is not None
    return CompiledStatement(
        index=position,
        sid=statement.sid,
        effect=statement.effect,
        deny=statement.effect == "Deny",
        actions=ActionMatcher.compile(actions or (), negate=statement.actions is None),
        resources=compiled,
        not_resource=not_resource,
        any_resource=compiled is None or (not not_resource and any(m.anything for m in compiled)),
        principal=None if principal is None else compile_principal(principal),
        not_principal=statement.principal is None and principal is not None,
        conditions=compile_conditions(statement.conditions, version).conditions,
    )


def _by_service(actions: ActionMatcher) -> tuple[dict[str, list[str]], list[str]]:
    """Group an Action list's patterns by service prefix; those with a wild service part apart."""
    services: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for pattern in actions.patterns:
        service = action_service(pattern)
        if service is None:
            anywhere.append(pattern)
        else:
            services.setdefault(service, []).append(pattern)
    return services, anywhere


def _index(
    statements: tuple[CompiledStatement, ...],
) -> tuple[dict[str, tuple[Candidate, ...]], tuple[Candidate, ...]]:
    """Per service, the candidates in document order; ``other`` for the services not named."""
    grouped = [_by_service(statement.actions) for statement in statements]
    by_service: dict[str, list[Candidate]] = {
        name: []
        for statement, (names, _) in zip(statements, grouped, strict=True)
        if not statement.actions.negate
        for name in names
    }
    other: list[Candidate] = []
    for statement, (services, anywhere) in zip(statements, grouped, strict=True):
        if statement.actions.negate:
            everywhere = _candidate(statement.actions, statement)
            other.append(everywhere)
            for found in by_service.values():
                found.append(everywhere)
            continue
        if anywhere:
            other.append(_candidate(ActionMatcher.compile(anywhere), statement))
        for service, found in by_service.items():
            patterns = services.get(service, [])
            if patterns or anywhere:
                found.append(_candidate(ActionMatcher.compile(patterns + anywhere), statement))
    return {service: tuple(found) for service, found in by_service.items()}, tuple(other)


STAGE_OF_KIND: Mapping[PolicyKind, str] = {
    PolicyKind.IDENTITY: "identity",
    PolicyKind.RESOURCE: "resource",
    PolicyKind.TRUST: "resource",
    PolicyKind.SESSION: "session",
    PolicyKind.BOUNDARY: "boundary",
    PolicyKind.SCP: "scp",
}
"""The evaluation stage a document of each kind is normally used at."""


def compile_policy(doc: PolicyDocument, *, name: str | None = None) -> CompiledPolicy:
    """Compile a parsed document (``monban.policy.parse.parse_policy``) for evaluation.

    Statements keep their document position as ``index`` (what explanations and IAM's
    SimulatePrincipalPolicy report); conditions are compiled by ``compile_conditions``. With a
    ``name``, the explanations for the document's usual stage are built now, not per request.
    """
    statements = tuple(
        _compile_statement(position, statement, doc.version)
        for position, statement in enumerate(doc.statements)
    )
    by_service, other = _index(statements)
    if name is None:
        return CompiledPolicy(doc.kind, doc.version, statements, by_service, other)
    stage = STAGE_OF_KIND[doc.kind]
    explained = tuple(MatchedStatement(name, s.index, s.sid, s.effect, stage) for s in statements)
    return CompiledPolicy(doc.kind, doc.version, statements, by_service, other, (name, stage), explained)


def load_policy(source: PolicySource, kind: PolicyKind, name: str) -> NamedPolicy:
    """Parse (IAM's validation, MalformedPolicyDocument on failure), compile and name a document.

    ``source`` is JSON text, UTF-8 bytes or a decoded mapping, as ``parse_policy`` takes it.
    """
    return NamedPolicy(name, compile_policy(parse_policy(source, kind), name=name))

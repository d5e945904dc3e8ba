"""Condition blocks, compiled once and evaluated per request.

IAM User Guide, "IAM JSON policy elements: Condition operators", "Conditions with multiple context
keys or values", "Single-valued vs. multivalued context keys", "…IfExists" and "Null":

- several keys or operators in a block are ANDed (:class:`ConditionBlock`);
- several policy values for one key are ORed; for a negated operator (StringNot…,
  NumericNotEquals, DateNotEquals, NotIpAddress, ArnNot…) they are NORed;
- a key absent from the request makes a condition false, but true for a negated operator;
  with ``…IfExists`` an absent key makes it true;
- ``ForAllValues:`` holds when the request has no value for the key (absent or an empty set),
  otherwise every request value must match some policy value (for a negated base: no policy
  value); ``ForAnyValue:`` is false for no values, otherwise at least one request value must match
  (for a negated base: match no policy value);
- without a qualifier a multivalued request key is read like ``ForAnyValue`` for a positive
  operator (one matching value suffices) and like ``ForAllValues`` for a negated one (no value may
  match) — the negated operator is then exactly the negation of the positive one;
- a request value the operator cannot read (``"abc"`` for NumericLessThan) counts as matching for
  neither the positive nor the negated operator.

An empty set of values is treated like an absent key by every operator, including ``Null`` and
``…IfExists`` (the User Guide calls it a "null dataset").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monban.policy.conditions.base import SYNTAX_ERRORS, ValueMatcher
from monban.policy.conditions.null import compile_null
from monban.policy.conditions.registry import OPERATORS
from monban.policy.context import RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause
from monban.policy.operators import parse_operator

__all__ = ["CompiledCondition", "ConditionBlock", "compile_condition", "compile_conditions"]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """One (operator, key, values) clause, ready to evaluate.

    ``key`` is lower-cased. ``when_absent`` is the answer when the request has no value for the
    key. With values, ``matcher`` (None for Null, whose answer is then ``when_present``) tests
    each one; ``want`` is the per-value result that counts (False for negated operators) and
    ``every`` says whether all values must count (ForAllValues, or unqualified negated) or one is
    enough.
    """

    clause: ConditionClause
    key: str
    matcher: ValueMatcher | None
    when_absent: bool
    when_present: bool
    want: bool
    every: bool

    def holds(self, ctx: RequestContext) -> bool:
        """Evaluate the clause against the request context."""
        values = ctx.get(self.key)
        if not values:
            return self.when_absent
        matcher = self.matcher
        if matcher is None:
            return self.when_present
        want = self.want
        if len(values) == 1:  # single-valued, the usual case: "every" and "some" agree
            return matcher.match(values[0], ctx) is want
        if self.every:
            for value in values:  # noqa: SIM110 - a plain loop is faster than all(<genexpr>)
                if matcher.match(value, ctx) is not want:
                    return False
            return True
        for value in values:  # noqa: SIM110 - a plain loop is faster than any(<genexpr>)
            if matcher.match(value, ctx) is want:
                return True
        return False


@dataclass(frozen=True, slots=True)
class ConditionBlock:
    """A statement's whole Condition element: every condition must hold (AND)."""

    conditions: tuple[CompiledCondition, ...]

    def holds(self, ctx: RequestContext) -> bool:
        """True when all conditions hold (and for an empty block)."""
        return all(condition.holds(ctx) for condition in self.conditions)

    def failing(self, ctx: RequestContext) -> tuple[CompiledCondition, ...]:
        """The conditions that do not hold, for explanations."""
        return tuple(condition for condition in self.conditions if not condition.holds(ctx))


def compile_condition(clause: ConditionClause, version: str | None) -> CompiledCondition:
    """Compile one clause; ``version`` is the document's Version (policy variables need
    2012-10-17). Raises MalformedPolicyDocument for an unknown operator ("Syntax errors in
    policy.") or a value the operator cannot take."""
    name = parse_operator(clause.operator)
    if name is None:
        raise MalformedPolicyDocument(SYNTAX_ERRORS)
    key = clause.key.lower()
    if name.base == "Null":
        when_absent, when_present = compile_null(clause.values)
        return CompiledCondition(clause, key, None, when_absent, when_present, True, False)
    spec = OPERATORS[name.base]
    matcher = spec.factory(spec.comparison, clause.values, version)
    if name.if_exists or name.qualifier == "ForAllValues":
        when_absent = True
    else:
        when_absent = spec.negated and name.qualifier is None
    every = name.qualifier == "ForAllValues" or (name.qualifier is None and spec.negated)
    return CompiledCondition(clause, key, matcher, when_absent, False, not spec.negated, every)


def compile_conditions(clauses: Iterable[ConditionClause], version: str | None) -> ConditionBlock:
    """Compile a statement's clauses into one ANDed block."""
    return ConditionBlock(tuple(compile_condition(clause, version) for clause in clauses))

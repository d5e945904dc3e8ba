"""Shared pieces of the condition operator families: the matcher protocol and IAM's error texts.

Every family compiles a condition's policy values once into a :class:`ValueMatcher`. Its
``match(value, ctx)`` answers, for one request value, the *positive* question "does this value
match at least one policy value?" (IAM User Guide, "Conditions with multiple context keys or
values": several policy values are ORed). Negated operators reuse the positive matcher; the
compiled condition inverts per value (NOR). ``None`` means the request value cannot be read as the
operator's type (a bad number, date, address, base64 or boolean): the value then counts as
matching for neither the positive nor the negated operator.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from monban.policy.context import RequestContext
from monban.policy.errors import MalformedPolicyDocument

__all__ = [
    "LEGACY_PARSING",
    "SYNTAX_ERRORS",
    "ComparisonMatcher",
    "MatcherFactory",
    "Number",
    "ValueMatcher",
    "compile_comparison",
    "invalid_value",
]

SYNTAX_ERRORS = "Syntax errors in policy."
"""IAM's MalformedPolicyDocument text for an unknown operator or a malformed Condition block."""

LEGACY_PARSING = "The policy failed legacy parsing"
"""IAM's MalformedPolicyDocument text for a Date condition value it cannot read."""


class ValueMatcher(Protocol):
    """Compiled policy values of one condition (see the module docstring)."""

    def match(self, value: str, ctx: RequestContext) -> bool | None:
        """True if ``value`` matches some policy value, False if none, None if unreadable."""
        ...


MatcherFactory = Callable[[str, tuple[str, ...], "str | None"], ValueMatcher]
"""``(comparison, policy values, policy version) -> ValueMatcher``; raises MalformedPolicyDocument."""


def invalid_value(message: str = SYNTAX_ERRORS) -> MalformedPolicyDocument:
    """The error for a policy value its operator cannot take."""
    return MalformedPolicyDocument(message)


Number = int | float
"""A parsed numeric value; dates are int nanoseconds since the epoch."""

_ORDERINGS: MappingProxyType[str, tuple[Callable[[Number, Number], bool], Callable[..., Number]]]
_ORDERINGS = MappingProxyType(
    {
        "LessThan": (operator.lt, max),
        "LessThanEquals": (operator.le, max),
        "GreaterThan": (operator.gt, min),
        "GreaterThanEquals": (operator.ge, min),
    }
)


@dataclass(frozen=True, slots=True)
class ComparisonMatcher:
    """Numeric and Date comparisons over values parsed once.

    Several policy values are ORed, so ``x < any of them`` is ``x < max(values)`` (and so on):
    ``bound`` holds that one value (None when the policy lists none); Equals uses a set.
    """

    parse: Callable[[str], Number | None]
    equals: frozenset[Number] | None
    order: Callable[[Number, Number], bool] | None
    bound: Number | None

    def match(self, value: str, ctx: RequestContext) -> bool | None:
        """Compare the parsed request value (parsed once per context); None when it does not parse."""
        number = ctx.parsed(self.parse, value)
        if number is None:
            return None
        if self.equals is not None:
            return number in self.equals
        return self.bound is not None and self.order is not None and self.order(number, self.bound)


def compile_comparison(
    comparison: str,
    values: tuple[str, ...],
    parse: Callable[[str], Number | None],
    message: str,
) -> ComparisonMatcher:
    """Parse every policy value (MalformedPolicyDocument with ``message`` if one does not parse)
    and precompute the set or bound for ``comparison`` (Equals, LessThan, … GreaterThanEquals)."""
    numbers: list[Number] = []
    for value in values:
        number = parse(value)
        if number is None:
            raise invalid_value(message)
        numbers.append(number)
    if comparison == "Equals":
        return ComparisonMatcher(parse, frozenset(numbers), None, None)
    order, pick = _ORDERINGS[comparison]
    return ComparisonMatcher(parse, None, order, pick(numbers) if numbers else None)

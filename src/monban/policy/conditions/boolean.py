"""The Bool condition operator (IAM User Guide, "Condition operators: Boolean condition operators").

``Bool`` compares ``true``/``false`` case-insensitively (JSON ``true`` reaches us as ``"true"``).
There is no negated form; ``BoolIfExists`` and the set qualifiers apply as for any operator. A
policy value other than true/false is a MalformedPolicyDocument; such a request value matches
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from monban.policy.conditions.base import invalid_value
from monban.policy.context import RequestContext

__all__ = ["BoolMatcher", "compile_matcher", "parse_bool", "parse_bools"]


def parse_bool(text: str) -> bool | None:
    """True/False for "true"/"false" in any case, else None."""
    lowered = text.lower()
    if lowered == "true":
        return True
    return False if lowered == "false" else None


@dataclass(frozen=True, slots=True)
class BoolMatcher:
    """The set of booleans the policy lists."""

    expected: frozenset[bool]

    def match(self, value: str, ctx: RequestContext) -> bool | None:
        """Is the request boolean one of the policy's? None when it is not a boolean."""
        parsed = parse_bool(value)
        return None if parsed is None else parsed in self.expected


def parse_bools(values: tuple[str, ...]) -> frozenset[bool]:
    """Every policy value as a boolean; MalformedPolicyDocument if one is not true/false."""
    parsed = [parse_bool(value) for value in values]
    if any(flag is None for flag in parsed):
        raise invalid_value()
    return frozenset(flag for flag in parsed if flag is not None)


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> BoolMatcher:
    """Compile ``Bool``'s policy values (``comparison`` is "Equals"; no variables)."""
    return BoolMatcher(parse_bools(values))

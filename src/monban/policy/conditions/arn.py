"""ARN condition operators (IAM User Guide, "Condition operators: Amazon Resource Name (ARN)
condition operators").

``ArnEquals`` and ``ArnLike`` are the same operator, as are ``ArnNotEquals`` and ``ArnNotLike``:
"each of the six colon-delimited components of the ARN is checked separately and each can include
a multi-character match wildcard (*) or a single-character match wildcard (?)". Both the policy
value and the request value are split into ``arn:partition:service:region:account:resource``;
the resource field keeps any further colons. Each field is matched case-sensitively, so a ``*``
in the region never reaches into the account, while one in the resource spans colons.

Choices where the User Guide is silent: a request value with fewer than six fields matches no
six-field policy value; a policy value with fewer than six fields (``"*"``) is matched as one glob
against the whole request value, so ``"*"`` matches any value.

Policy variables (Version 2012-10-17) are allowed; the value is split into fields *before*
substitution, so a substituted ``aws:userid`` containing a colon stays inside its field. A
variable without a value makes that policy value match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from monban.policy.context import RequestContext
from monban.policy.glob import Glob
from monban.policy.variables import Pattern, Template, compile_pattern, compile_template, pattern_matches

__all__ = ["ArnMatcher", "compile_matcher"]

_FIELDS = 6


def _matches(patterns: tuple[Pattern, ...], value: str, fields: list[str], ctx: RequestContext) -> bool:
    """Whole-value match for short patterns; otherwise field by field."""
    if len(patterns) == 1:
        return pattern_matches(patterns[0], value, ctx)
    if len(fields) != _FIELDS:
        return False
    for pattern, field in zip(patterns, fields, strict=True):  # noqa: SIM110 - faster than all(<genexpr>)
        if not pattern_matches(pattern, field, ctx):
            return False
    return True


@dataclass(frozen=True, slots=True)
class ArnMatcher:
    """``exact`` policy values without wildcards or variables (string equality is field
    equality); ``patterns``: one compiled pattern per field (or one for a short value), holding
    policy variables in the values that have them."""

    exact: frozenset[str]
    patterns: tuple[tuple[Pattern, ...], ...]

    def match(self, value: str, ctx: RequestContext) -> bool:
        """Does the request ARN match one of the policy ARNs?"""
        if value in self.exact:
            return True
        fields = value.split(":", _FIELDS - 1)
        for patterns in self.patterns:  # noqa: SIM110 - a plain loop is faster than any(<genexpr>)
            if _matches(patterns, value, fields, ctx):
                return True
        return False


def _fields(template: Template) -> tuple[Template, ...]:
    """Six field templates, or the whole template alone when it has fewer than six fields."""
    fields = template.split(":", _FIELDS - 1)
    return fields if len(fields) == _FIELDS else (template,)


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> ArnMatcher:
    """Compile ``ArnLike``/``ArnEquals``'s policy values (``comparison`` is "Like")."""
    exact: set[str] = set()
    patterns: list[tuple[Pattern, ...]] = []
    for value in values:
        fields = tuple(compile_pattern(field) for field in _fields(compile_template(value, version)))
        if all(isinstance(field, Glob) and field.is_exact for field in fields):
            exact.add(":".join(field.literal for field in fields if isinstance(field, Glob)))
        else:
            patterns.append(fields)
    return ArnMatcher(frozenset(exact), tuple(patterns))

"""String condition operators (IAM User Guide, "Condition operators: String condition operators").

- ``StringEquals`` / ``StringNotEquals``: exact, case-sensitive;
- ``StringEqualsIgnoreCase`` / ``StringNotEqualsIgnoreCase``: equal after case folding;
- ``StringLike`` / ``StringNotLike``: case-sensitive match where ``*`` and ``?`` are wildcards
  (``monban.policy.glob``).

Policy values may hold policy variables (Version 2012-10-17 only, ``monban.policy.variables``),
resolved against the request at evaluation time. A value whose variable has no value (and no
default) matches nothing, so StringEquals/StringLike fail on it and the StringNot… forms succeed.
Values without a variable are precompiled: a frozenset for equality, a :class:`Glob` per pattern;
a pattern with a variable is a :class:`~monban.policy.variables.TemplateGlob`.
Any string is a valid value, so these operators never reject a policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from monban.policy.context import RequestContext
from monban.policy.glob import Glob
from monban.policy.variables import Template, TemplateGlob, compile_template

__all__ = ["StringEqualsMatcher", "StringLikeMatcher", "compile_matcher"]


@dataclass(frozen=True, slots=True)
class StringEqualsMatcher:
    """Equality against ``static`` values (folded when ``fold``) and per-request ``dynamic`` ones."""

    static: frozenset[str]
    dynamic: tuple[Template, ...]
    fold: bool

    def match(self, value: str, ctx: RequestContext) -> bool:
        """Is ``value`` equal to one of the policy values?"""
        if self.fold:
            value = value.casefold()
        if value in self.static:
            return True
        for template in self.dynamic:
            text = template.render(ctx)
            if text is not None and (text.casefold() if self.fold else text) == value:
                return True
        return False


@dataclass(frozen=True, slots=True)
class StringLikeMatcher:
    """Wildcard match: ``exact`` (patterns without wildcards), ``globs``, and ``dynamic`` patterns
    holding policy variables (:class:`~monban.policy.variables.TemplateGlob`)."""

    exact: frozenset[str]
    globs: tuple[Glob, ...]
    dynamic: tuple[TemplateGlob, ...]

    def match(self, value: str, ctx: RequestContext) -> bool:
        """Does ``value`` match one of the policy patterns?"""
        if value in self.exact:
            return True
        for glob in self.globs:
            if glob.matches(value):
                return True
        for pattern in self.dynamic:  # noqa: SIM110 - a plain loop is faster than any(<genexpr>)
            if pattern.matches(value, ctx):
                return True
        return False


def compile_matcher(
    comparison: str, values: tuple[str, ...], version: str | None
) -> StringEqualsMatcher | StringLikeMatcher:
    """Compile the policy values of a ``String<comparison>`` operator.

    ``comparison`` is ``"Equals"``, ``"EqualsIgnoreCase"`` or ``"Like"``.
    """
    templates = [compile_template(value, version) for value in values]
    dynamic = tuple(template for template in templates if template.has_variables)
    if comparison == "Like":
        return _compile_like(templates, tuple(TemplateGlob.compile(template) for template in dynamic))
    fold = comparison == "EqualsIgnoreCase"
    static = {t.static_text for t in templates if t.static_text is not None}
    return StringEqualsMatcher(
        frozenset(text.casefold() for text in static) if fold else frozenset(static), dynamic, fold
    )


def _compile_like(templates: list[Template], dynamic: tuple[TemplateGlob, ...]) -> StringLikeMatcher:
    """Split static patterns into plain strings (set lookup) and real globs."""
    exact: set[str] = set()
    globs: list[Glob] = []
    for template in templates:
        if template.static_parts is None:
            continue
        glob = Glob.from_parts(template.static_parts)
        if glob.is_exact:
            exact.add(glob.literal)
        else:
            globs.append(glob)
    return StringLikeMatcher(frozenset(exact), tuple(globs), dynamic)

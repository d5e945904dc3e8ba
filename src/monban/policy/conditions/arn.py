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
from monban.policy.variables import Template, compile_template

__all__ = ["ArnMatcher", "compile_matcher"]

_FIELDS = 6


def _matches(globs: tuple[Glob, ...], value: str, fields: list[str]) -> bool:
    """Whole-value glob for short patterns; otherwise field by field."""
    if len(globs) == 1:
        return globs[0].matches(value)
    return len(fields) == _FIELDS and all(g.matches(f) for g, f in zip(globs, fields, strict=True))


@dataclass(frozen=True, slots=True)
class ArnMatcher:
    """``exact`` policy values without wildcards or variables (string equality is field
    equality); ``patterns``: static globs per field; ``dynamic``: per-field templates."""

    exact: frozenset[str]
    patterns: tuple[tuple[Glob, ...], ...]
    dynamic: tuple[tuple[Template, ...], ...]

    def match(self, value: str, ctx: RequestContext) -> bool:
        """Does the request ARN match one of the policy ARNs?"""
        if value in self.exact:
            return True
        fields = value.split(":", _FIELDS - 1)
        if any(_matches(globs, value, fields) for globs in self.patterns):
            return True
        for templates in self.dynamic:
            globs = _render(templates, ctx)
            if globs is not None and _matches(globs, value, fields):
                return True
        return False


def _render(templates: tuple[Template, ...], ctx: RequestContext) -> tuple[Glob, ...] | None:
    """Per-field globs after substitution; None when a variable has no value."""
    globs: list[Glob] = []
    for template in templates:
        parts = template.render_parts(ctx)
        if parts is None:
            return None
        globs.append(Glob.from_parts(parts))
    return tuple(globs)


def _fields(template: Template) -> tuple[Template, ...]:
    """Six field templates, or the whole template alone when it has fewer than six fields."""
    fields = template.split(":", _FIELDS - 1)
    return fields if len(fields) == _FIELDS else (template,)


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> ArnMatcher:
    """Compile ``ArnLike``/``ArnEquals``'s policy values (``comparison`` is "Like")."""
    exact: set[str] = set()
    patterns: list[tuple[Glob, ...]] = []
    dynamic: list[tuple[Template, ...]] = []
    for value in values:
        fields = _fields(compile_template(value, version))
        if any(field.static_parts is None for field in fields):
            dynamic.append(fields)
            continue
        globs = tuple(Glob.from_parts(field.static_parts or ()) for field in fields)
        if all(glob.is_exact for glob in globs):
            exact.add(":".join(glob.literal for glob in globs))
        else:
            patterns.append(globs)
    return ArnMatcher(frozenset(exact), tuple(patterns), tuple(dynamic))

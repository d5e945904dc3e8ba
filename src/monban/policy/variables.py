"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``.

IAM User Guide, "IAM policy elements: Variables and tags" and "IAM JSON policy elements: Version":

- variables work only in policies with ``"Version": "2012-10-17"``; under ``2008-10-17`` or with no
  Version (which means 2008-10-17) ``${aws:username}`` is literal text;
- a variable names any condition key (case-insensitively) and is replaced by the request's value
  for it; only single-valued keys substitute — an absent, empty or multivalued key has no value;
- ``${key, 'default'}`` supplies a default used when the key has no value (spaces around the key
  and the quotes are ignored; ``''`` inside the quotes is one quote); the default is case-sensitive;
- ``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``;
- substitution is one round: a value or default containing ``${…}`` is not expanded again.

Where IAM's documentation is silent, this module chooses: a ``${`` that does not form a valid
reference (no closing brace, an empty key, a key holding a space, ``*``, ``?``, ``$``, a brace, a
quote or a comma, an unquoted default, an unterminated quote) is literal text, never an error;
substituted values and defaults are literal in wildcard contexts — a ``*`` in a tag value never
acts as a wildcard.

Usage: compile once with :func:`compile_template`, then per request either :meth:`Template.render`
(plain text, for StringEquals-style comparisons) or :meth:`Template.render_parts` (for the glob
matcher: ``(text, literal)`` pairs, ``literal=True`` meaning no character in ``text`` is a
wildcard; feed them to :meth:`monban.policy.glob.Glob.from_parts`). Both return None when a
variable has no value and no default; the caller then treats the policy value as matching
nothing (StringEquals/StringLike fail, StringNot… succeed, a Resource matches nothing).
A wildcard pattern holding variables (a Resource field, a StringLike or ArnLike value) is a
:class:`TemplateGlob`: most such patterns (``home/${aws:username}/*``) match with one string
comparison of the rendered text, and only the others build a glob per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from monban.policy.context import RequestContext
from monban.policy.glob import Glob, has_wildcard

__all__ = [
    "VARIABLES_VERSION",
    "Pattern",
    "Template",
    "TemplateGlob",
    "Text",
    "Variable",
    "compile_pattern",
    "compile_template",
    "pattern_matches",
]

VARIABLES_VERSION = "2012-10-17"
"""The only policy language version in which ``${…}`` is a variable."""

_ESCAPES = frozenset("*?$")
_NOT_IN_KEY = frozenset("${}',*?")


@dataclass(frozen=True, slots=True)
class Text:
    """Fixed text. ``literal`` is True for the escapes ``${*}``, ``${?}``, ``${$}``: their character
    never acts as a wildcard; other text is pattern text where ``*``/``?`` are wildcards in
    wildcard contexts (Resource, StringLike, ArnLike)."""

    text: str
    literal: bool = False


@dataclass(frozen=True, slots=True)
class Variable:
    """A reference to a condition key. ``key`` is lower-cased for lookup; ``name`` as written."""

    name: str
    key: str
    default: str | None = None

    def resolve(self, ctx: RequestContext) -> str | None:
        """The single value of the key in ``ctx``, else the default, else None."""
        value = ctx.single(self.key)
        return self.default if value is None else value

    @property
    def source(self) -> str:
        """The reference as policy text."""
        if self.default is None:
            return "${" + self.name + "}"
        return "${" + self.name + ", '" + self.default.replace("'", "''") + "'}"


TemplatePart = Text | Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string parsed into text and variable parts; build with :func:`compile_template`.

    ``static_text``/``static_parts`` are precomputed when there is no variable (the common case),
    so rendering then costs nothing.
    """

    source: str
    parts: tuple[TemplatePart, ...]
    static_text: str | None
    static_parts: tuple[tuple[str, bool], ...] | None

    @property
    def has_variables(self) -> bool:
        """True when rendering depends on the request context."""
        return self.static_text is None

    def render(self, ctx: RequestContext) -> str | None:
        """The text with variables substituted and escapes resolved; None if a variable has no value."""
        if self.static_text is not None:
            return self.static_text
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Text):
                out.append(part.text)
                continue
            value = ctx.single(part.key)  # Variable.resolve(), inlined: this runs per request
            if value is None:
                value = part.default
                if value is None:
                    return None
            out.append(value)
        return "".join(out)

    def render_parts(self, ctx: RequestContext) -> tuple[tuple[str, bool], ...] | None:
        """``(text, literal)`` pairs for :meth:`Glob.from_parts`; None if a variable has no value.

        Pattern text has ``literal=False``; escapes and substituted values have ``literal=True``.
        Adjacent parts with the same flag are merged.
        """
        if self.static_parts is not None:
            return self.static_parts
        pairs: list[tuple[str, bool]] = []
        for part in self.parts:
            if isinstance(part, Text):
                pairs.append((part.text, part.literal))
                continue
            value = part.resolve(ctx)
            if value is None:
                return None
            pairs.append((value, True))
        return _merge(pairs)

    def split(self, sep: str, maxsplit: int = -1) -> tuple[Template, ...]:
        """Split at ``sep`` in pattern text only (never inside a variable or an escape), like
        :meth:`str.split`; used to cut an ARN into its six fields before substitution."""
        pieces: list[list[TemplatePart]] = [[]]
        for part in self.parts:
            if not isinstance(part, Text) or part.literal or sep not in part.text:
                pieces[-1].append(part)
                continue
            budget = -1 if maxsplit < 0 else maxsplit - (len(pieces) - 1)
            for index, text in enumerate(part.text.split(sep, budget)):
                if index:
                    pieces.append([])
                if text:
                    pieces[-1].append(Text(text))
        return tuple(_make("".join(_source(p) for p in piece), tuple(piece)) for piece in pieces)


class _Match(Enum):
    """How a :class:`TemplateGlob` compares a request value with its rendered ``core``."""

    EQUALS = "equals"  # no wildcard at all
    PREFIX = "prefix"  # core*
    SUFFIX = "suffix"  # *core
    CONTAINS = "contains"  # *core*
    GLOB = "glob"  # anything else: a Glob built from the rendered parts


# The members as module constants: ``match is _GLOB`` skips the enum class attribute lookup.
_EQUALS, _PREFIX, _SUFFIX, _CONTAINS, _GLOB = (
    _Match.EQUALS,
    _Match.PREFIX,
    _Match.SUFFIX,
    _Match.CONTAINS,
    _Match.GLOB,
)
_BY_STARS = MappingProxyType(  # (stars at the start, stars at the end) -> comparison
    {(False, False): _EQUALS, (False, True): _PREFIX, (True, False): _SUFFIX, (True, True): _CONTAINS}
)


@dataclass(frozen=True, slots=True)
class TemplateGlob:
    """A wildcard pattern holding policy variables, matched per request.

    Substituted values never act as wildcards, so a pattern whose text has no wildcard except
    stars at its ends keeps its shape whatever the values are: ``core`` is the template without
    those stars, and ``home/${aws:username}/*`` matches as ``text.startswith(rendered core)``.
    Other patterns (``${aws:username}-?``) compile a :class:`~monban.policy.glob.Glob` from the
    rendered parts per request. A variable without a value matches nothing.
    """

    template: Template
    core: Template
    match: _Match

    @classmethod
    def compile(cls, template: Template) -> TemplateGlob:
        """Pick the comparison for ``template`` (which has variables)."""
        parts = list(template.parts)
        leading = _strip_stars(parts, 0, str.lstrip)
        trailing = _strip_stars(parts, -1, str.rstrip)
        if any(isinstance(part, Text) and not part.literal and has_wildcard(part.text) for part in parts):
            return cls(template, template, _GLOB)
        core = tuple(parts)
        return cls(
            template, _make("".join(_source(part) for part in core), core), _BY_STARS[leading, trailing]
        )

    def matches(self, text: str, ctx: RequestContext) -> bool:
        """Does ``text`` match the pattern with this request's values substituted?"""
        match = self.match
        if match is _GLOB:
            parts = self.template.render_parts(ctx)
            return parts is not None and Glob.from_parts(parts).matches(text)
        core = self.core.render(ctx)
        if core is None:
            return False
        if match is _EQUALS:
            return text == core
        if match is _PREFIX:
            return text.startswith(core)
        if match is _SUFFIX:
            return text.endswith(core)
        return core in text


Pattern = Glob | TemplateGlob
"""A compiled wildcard pattern: static, or holding policy variables."""


def compile_pattern(template: Template) -> Pattern:
    """A Glob for a template without variables, else a :class:`TemplateGlob`."""
    if template.static_parts is not None:
        return Glob.from_parts(template.static_parts)
    return TemplateGlob.compile(template)


def pattern_matches(pattern: Pattern, text: str, ctx: RequestContext) -> bool:
    """Does ``text`` match ``pattern`` (with this request's values for its variables)?"""
    if isinstance(pattern, Glob):
        return pattern.matches(text)
    return pattern.matches(text, ctx)


def _strip_stars(parts: list[TemplatePart], end: int, strip: Callable[[str, str], str]) -> bool:
    """Remove the pattern stars at one end of ``parts`` (``end`` is 0 or -1, ``strip`` is
    ``str.lstrip`` or ``str.rstrip``); True if there were any. Stops at a variable or an escape,
    so a template that has a variable is never emptied."""
    found = False
    while isinstance(part := parts[end], Text) and not part.literal:
        rest = strip(part.text, "*")
        if rest == part.text:
            break
        found = True
        if rest:
            parts[end] = Text(rest)
            break
        del parts[end]
    return found


def compile_template(text: str, version: str | None) -> Template:
    """Parse ``text`` once. Outside Version 2012-10-17 it is plain pattern text."""
    if version != VARIABLES_VERSION or "${" not in text:
        return _make(text, (Text(text),) if text else ())
    return _make(text, _parse(text))


def _source(part: TemplatePart) -> str:
    if isinstance(part, Variable):
        return part.source
    return "${" + part.text + "}" if part.literal else part.text


def _merge(pairs: list[tuple[str, bool]]) -> tuple[tuple[str, bool], ...]:
    """Join adjacent pairs with the same literal flag; drop empty text."""
    merged: list[tuple[str, bool]] = []
    for text, literal in pairs:
        if not text:
            continue
        if merged and merged[-1][1] == literal:
            merged[-1] = (merged[-1][0] + text, literal)
        else:
            merged.append((text, literal))
    return tuple(merged)


def _make(source: str, parts: tuple[TemplatePart, ...]) -> Template:
    """Build a Template, precomputing its rendering when it has no variable."""
    if any(isinstance(part, Variable) for part in parts):
        return Template(source, parts, None, None)
    texts = [(part.text, part.literal) for part in parts if isinstance(part, Text)]
    return Template(source, parts, "".join(text for text, _ in texts), _merge(texts))


def _parse(text: str) -> tuple[TemplatePart, ...]:
    """Scan for ``${…}`` references; anything that is not a valid reference stays text."""
    parts: list[TemplatePart] = []
    emitted = pos = 0
    while (start := text.find("${", pos)) >= 0:
        found = _reference(text, start)
        if found is None:
            pos = start + 2
            continue
        if start > emitted:
            parts.append(Text(text[emitted:start]))
        parts.append(found[0])
        emitted = pos = found[1]
    if emitted < len(text):
        parts.append(Text(text[emitted:]))
    return tuple(parts)


def _reference(text: str, start: int) -> tuple[TemplatePart, int] | None:
    """Parse the reference whose ``${`` is at ``start``: (part, index after ``}``) or None."""
    body = start + 2
    close = text.find("}", body)
    if close < 0:
        return None
    quote = text.find("'", body, close)
    if quote >= 0:
        return _with_default(text, body, quote)
    inner = text[body:close]
    if inner in _ESCAPES:
        return Text(inner, literal=True), close + 1
    variable = _variable(inner, None)
    return None if variable is None else (variable, close + 1)


def _with_default(text: str, body: int, quote: int) -> tuple[TemplatePart, int] | None:
    """``${key, 'default'}``: the key part runs to the comma before the opening quote."""
    head = text[body:quote].rstrip()
    if not head.endswith(","):
        return None
    chars: list[str] = []
    pos = quote + 1
    while True:
        end = text.find("'", pos)
        if end < 0:
            return None
        chars.append(text[pos:end])
        if not text.startswith("'", end + 1):
            break
        chars.append("'")
        pos = end + 2
    after = end + 1
    while after < len(text) and text[after] == " ":
        after += 1
    if not text.startswith("}", after):
        return None
    variable = _variable(head[:-1], "".join(chars))
    return None if variable is None else (variable, after + 1)


def _variable(raw: str, default: str | None) -> Variable | None:
    """A Variable for the key text ``raw`` (surrounding spaces ignored), or None if not a key."""
    name = raw.strip()
    if not name or any(char.isspace() or char in _NOT_IN_KEY for char in name):
        return None
    return Variable(name, name.lower(), default)

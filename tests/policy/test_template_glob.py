"""TemplateGlob: wildcard patterns holding policy variables, matched without a glob per request.

The reference is the general rule: render the parts and build a Glob from them
(``Glob.from_parts(template.render_parts(ctx))``), no match when a variable has no value.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.policy.context import RequestContext
from monban.policy.glob import Glob
from monban.policy.variables import (
    Template,
    TemplateGlob,
    compile_pattern,
    compile_template,
    pattern_matches,
)

V2012 = "2012-10-17"
CTX = RequestContext({"v": "ab", "star": "a*", "q": "?", "empty": "", "multi": ["a", "b"]})


def reference(template: Template, text: str, ctx: RequestContext) -> bool:
    parts = template.render_parts(ctx)
    return parts is not None and Glob.from_parts(parts).matches(text)


@pytest.mark.parametrize(
    ("pattern", "match", "core"),
    [
        ("home/${v}", "EQUALS", "home/${v}"),
        ("home/${v}/*", "PREFIX", "home/${v}/"),
        ("home/${v}**", "PREFIX", "home/${v}"),
        ("*-${v}", "SUFFIX", "-${v}"),
        ("**${v}", "SUFFIX", "${v}"),
        ("*${v}*", "CONTAINS", "${v}"),
        ("*${*}${v}*", "CONTAINS", "${*}${v}"),
        ("${v}-?", "GLOB", "${v}-?"),
        ("a*${v}", "GLOB", "a*${v}"),
        ("${v}*x*", "GLOB", "${v}*x*"),
    ],
)
def test_compiled_comparison(pattern: str, match: str, core: str) -> None:
    compiled = TemplateGlob.compile(compile_template(pattern, V2012))
    assert compiled.match.name == match
    assert compiled.core.source == core


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("home/${v}", "home/ab", True),
        ("home/${v}", "home/abc", False),
        ("home/${v}/*", "home/ab/x/y", True),
        ("home/${v}/*", "home/abx/y", False),
        ("*-${v}", "x-ab", True),
        ("*-${v}", "x-abc", False),
        ("*${v}*", "xxabxx", True),
        ("*${v}*", "xxbaxx", False),
        ("*${star}*", "xa*x", True),  # a substituted star is a literal star
        ("*${star}*", "xabx", False),
        ("${q}", "?", True),
        ("${q}", "x", False),
        ("${empty}*", "anything", True),
        ("*${missing}*", "anything", False),  # no value: matches nothing
        ("${multi}", "a", False),  # multivalued: no value
        ("${missing, 'd'}/*", "d/x", True),
        ("${v}-?", "ab-1", True),
        ("${v}-?", "ab-12", False),
        ("${missing}-?", "-1", False),
    ],
)
def test_matches(pattern: str, text: str, expected: bool) -> None:
    template = compile_template(pattern, V2012)
    assert TemplateGlob.compile(template).matches(text, CTX) is expected
    assert reference(template, text, CTX) is expected


def test_compile_pattern_and_pattern_matches() -> None:
    static = compile_pattern(compile_template("a*", V2012))
    dynamic = compile_pattern(compile_template("${v}*", V2012))
    assert isinstance(static, Glob)
    assert isinstance(dynamic, TemplateGlob)
    assert pattern_matches(static, "abc", CTX)
    assert pattern_matches(dynamic, "abc", CTX)
    assert not pattern_matches(dynamic, "ba", CTX)


TEXT_TOKENS = ["a", "b", "-", "*", "**", "?", "${*}", "${?}"]
VARIABLE_TOKENS = ["${v}", "${star}", "${q}", "${empty}", "${missing}", "${x, 'b*'}", "${missing, 'b*'}"]
TOKENS = st.sampled_from(TEXT_TOKENS + VARIABLE_TOKENS)
VALUES = st.sampled_from(["", "a", "ab", "a*", "*", "?", "b?", "ab*b"])


@given(st.lists(TOKENS, min_size=1, max_size=6), st.text(alphabet="ab-*?", max_size=8), VALUES, VALUES)
def test_agrees_with_a_glob_per_request(tokens: list[str], text: str, v: str, x: str) -> None:
    template = compile_template("".join(tokens), V2012)
    ctx = RequestContext({"v": v, "x": x, "star": "a*", "q": "?", "empty": ""})
    compiled = compile_pattern(template)
    assert pattern_matches(compiled, text, ctx) is reference(template, text, ctx)

"""Policy variables: parsing once, rendering per request, escapes, defaults, versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.policy.context import RequestContext
from monban.policy.glob import Glob
from monban.policy.variables import Text, Variable, compile_template

V2012 = "2012-10-17"

CTX = RequestContext(
    {
        "aws:username": "alice",
        "aws:userid": "AROAEXAMPLE:session",
        "aws:PrincipalTag/Team": "red",
        "aws:TagKeys": ["a", "b"],
        "aws:RequestTag/Empty": [],
        "star": "v*?",
        "nested": "${aws:username}",
    }
)


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("home/${aws:username}/*", "home/alice/*"),
        ("${AWS:UserName}", "alice"),
        ("${aws:principaltag/team}", "red"),
        ("${ aws:username }", "alice"),
        ("${aws:PrincipalTag/team, 'none'}", "red"),
        ("${aws:PrincipalTag/missing, 'none'}", "none"),
        ("${aws:PrincipalTag/missing,'none'}", "none"),
        ("${aws:PrincipalTag/missing , 'none' }", "none"),
        ("${missing, 'It''s'}", "It's"),
        ("${missing, 'a}b'}", "a}b"),
        ("${missing, ''}", ""),
        ("${aws:TagKeys, 'multi'}", "multi"),
        ("${aws:RequestTag/Empty, 'empty'}", "empty"),
        ("a${*}b${?}c${$}", "a*b?c$"),
        ("${nested}", "${aws:username}"),
        ("${missing, '${aws:username}'}", "${aws:username}"),
        ("$${aws:username}", "$alice"),
        ("${${aws:username}", "${alice"),
        ("plain", "plain"),
        ("", ""),
        ("${aws:username}${aws:username}", "alicealice"),
    ],
)
def test_render(text: str, rendered: str) -> None:
    assert compile_template(text, V2012).render(CTX) == rendered


@pytest.mark.parametrize(
    "text",
    [
        "${unclosed",
        "x${",
        "${}",
        "${ }",
        "${a b}",
        "${a, b}",
        "${a, 'x}",
        "${a 'x'}",
        "${a, 'x' y}",
        "${a, 'x'",
        "${, 'x'}",
        "${a{b}",
        "${a$b}",
        "${**}",
    ],
)
def test_malformed_references_are_literal(text: str) -> None:
    template = compile_template(text, V2012)
    assert not template.has_variables
    assert template.render(CTX) == text


@pytest.mark.parametrize(
    "text", ["${aws:username}", "${missing}", "${aws:TagKeys}", "${aws:RequestTag/Empty}"]
)
@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_old_versions_keep_text_literal(text: str, version: str | None) -> None:
    template = compile_template(text, version)
    assert not template.has_variables
    assert template.render(CTX) == text
    assert template.render_parts(CTX) == ((text, False),)


def test_old_version_escapes_stay_wildcards() -> None:
    assert compile_template("a${*}", None).render_parts(CTX) == (("a${*}", False),)


@pytest.mark.parametrize(
    "text", ["${missing}", "${aws:TagKeys}", "${aws:RequestTag/Empty}", "x/${missing}/y"]
)
def test_no_value_renders_none(text: str) -> None:
    template = compile_template(text, V2012)
    assert template.has_variables
    assert template.render(CTX) is None
    assert template.render_parts(CTX) is None


def test_render_parts_marks_literals() -> None:
    template = compile_template("home/${star}/${*}${?}*", V2012)
    assert template.render_parts(CTX) == (
        ("home/", False),
        ("v*?", True),
        ("/", False),
        ("*?", True),
        ("*", False),
    )
    glob = Glob.from_parts(template.render_parts(CTX) or ())
    assert glob.matches("home/v*?/*?anything")
    assert not glob.matches("home/vxy/*?anything")
    assert not glob.matches("home/v*?/ab")


def test_render_parts_merges_and_drops_empty() -> None:
    template = compile_template("${missing, ''}a${username}b", V2012)
    assert template.render_parts(RequestContext({"username": "x"})) == (
        ("a", False),
        ("x", True),
        ("b", False),
    )


def test_static_template_precomputes() -> None:
    template = compile_template("a${*}b", V2012)
    assert template.static_text == "a*b"
    assert template.static_parts == (("a", False), ("*", True), ("b", False))
    assert template.render(RequestContext()) == "a*b"
    assert template.parts == (Text("a"), Text("*", literal=True), Text("b"))


def test_parts_shape() -> None:
    template = compile_template("x${aws:PrincipalTag/Team, 'n'}", V2012)
    assert template.parts == (Text("x"), Variable("aws:PrincipalTag/Team", "aws:principaltag/team", "n"))
    assert template.source == "x${aws:PrincipalTag/Team, 'n'}"


@pytest.mark.parametrize(
    ("variable", "source"),
    [
        (Variable("aws:username", "aws:username"), "${aws:username}"),
        (Variable("k", "k", "it's"), "${k, 'it''s'}"),
    ],
)
def test_variable_source(variable: Variable, source: str) -> None:
    assert variable.source == source


def test_split_keeps_variables_whole() -> None:
    template = compile_template("arn:aws:iam::${aws:userid}:role/a:b", V2012)
    fields = template.split(":", 5)
    assert [field.source for field in fields] == ["arn", "aws", "iam", "", "${aws:userid}", "role/a:b"]
    assert fields[4].render(CTX) == "AROAEXAMPLE:session"
    assert fields[3].render(CTX) == ""


def test_split_unlimited_and_escapes() -> None:
    template = compile_template("a:${*}:b${missing, 'x:y'}:c", V2012)
    fields = template.split(":")
    assert [field.source for field in fields] == ["a", "${*}", "b${missing, 'x:y'}", "c"]
    assert fields[2].render(CTX) == "bx:y"


def test_split_budget_spans_parts() -> None:
    template = compile_template("a:b${aws:username}c:d:e", V2012)
    assert [field.source for field in template.split(":", 2)] == ["a", "b${aws:username}c", "d:e"]


@given(st.text(alphabet="ab${}*?$', :", max_size=30))
def test_never_crashes(text: str) -> None:
    template = compile_template(text, V2012)
    template.render(CTX)
    template.render_parts(CTX)
    template.split(":", 5)


@given(st.text(alphabet="ab}*?$', :", max_size=30))
def test_text_without_references_is_unchanged(text: str) -> None:
    assert compile_template(text, V2012).render(CTX) == text

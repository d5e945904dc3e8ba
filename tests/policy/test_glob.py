"""The shared IAM wildcard matcher: tables, shapes, literal parts, and an fnmatch reference."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.policy.glob import Glob, glob_match, has_wildcard

CASES = [
    # exact
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:GetObject", "s3:GetObjectAcl", False),
    ("", "", True),
    ("", "a", False),
    # any
    ("*", "", True),
    ("*", "arn:aws:s3:::bucket/key", True),
    ("***", "x", True),
    # prefix / suffix / contains
    ("s3:Get*", "s3:GetObject", True),
    ("s3:Get*", "s3:Put", False),
    ("s3:Get**", "s3:Get", True),
    ("*Object", "s3:GetObject", True),
    ("*Object", "s3:GetObjects", False),
    ("*:Get*", "s3:GetObject", True),
    ("*:Get*", "s3Get", False),
    # star crosses / and :
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", True),
    ("arn:*:role/x", "arn:aws:iam::123:role/x", True),
    # question mark: exactly one character
    ("a?c", "abc", True),
    ("a?c", "ac", False),
    ("a?c", "abbc", False),
    ("???", "abc", True),
    ("???", "ab", False),
    ("?", "", False),
    ("a*?", "a", False),
    ("a*?", "ab", True),
    ("?*", "", False),
    ("*?", "x", True),
    # general
    ("a*b", "ab", True),
    ("a*b", "axxb", True),
    ("a*b", "axxbx", False),
    ("a*b", "a", False),
    ("a*b*c", "abc", True),
    ("a*b*c", "axbxcxc", True),
    ("a*b*c", "axcxb", False),
    ("*a*b*", "xxaxxbxx", True),
    ("*a*b*", "xxbxxaxx", False),
    ("a*??*z", "abcz", True),
    ("a*??*z", "abz", False),
    ("a*b?d*e", "axbxxbxde", True),
    ("a*b?d*e", "axbxxbxxe", False),
    ("*b?d*", "bxxbxd", True),
    ("x*?b*y", "xqqby", True),
    ("ab*ba", "aba", False),
    ("ab*ba", "abba", True),
    ("a?", "ab", True),
    ("a?", "abc", False),
    ("?b", "xb", True),
    ("?b", "xc", False),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), CASES)
def test_table(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected
    assert Glob.compile(pattern).matches(text) is expected


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        ("abc", "EXACT"),
        ("", "EXACT"),
        ("*", "ANY"),
        ("**", "ANY"),
        ("ab*", "PREFIX"),
        ("*ab", "SUFFIX"),
        ("*ab*", "CONTAINS"),
        ("**ab**", "CONTAINS"),
        ("a*b", "GENERAL"),
        ("*a*b*", "GENERAL"),
        ("a*b*", "GENERAL"),
        ("a?", "GENERAL"),
        ("*?", "GENERAL"),
    ],
)
def test_shapes(pattern: str, shape: str) -> None:
    assert Glob.compile(pattern).shape.name == shape


def test_is_exact_and_source() -> None:
    assert Glob.compile("abc").is_exact
    assert not Glob.compile("a*").is_exact
    assert Glob.compile("a*").source == "a*"


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("S3:get*", "s3:GetObject", True),
        ("s3:getobject", "S3:GETOBJECT", True),
        ("*OBJECT", "s3:getobject", True),
        ("*OBJ*", "s3:getobject", True),
        ("a?C", "Abc", True),
        ("s3:put*", "s3:GetObject", False),
    ],
)
def test_ignore_case(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text, ignore_case=True) is expected
    assert glob_match(pattern, text) is (pattern == text)


def test_case_sensitive_by_default() -> None:
    assert not glob_match("s3:get*", "s3:GetObject")


@pytest.mark.parametrize(
    ("parts", "text", "expected"),
    [
        ((("a", False), ("*", True), ("*", False)), "a*x", True),
        ((("a", False), ("*", True), ("*", False)), "ax", False),
        ((("a", False), ("?", True)), "a?", True),
        ((("a", False), ("?", True)), "ab", False),
        ((("*", True),), "*", True),
        ((("*", True),), "x", False),
        ((("home/", False), ("al*ce", True), ("/*", False)), "home/al*ce/x", True),
        ((("home/", False), ("al*ce", True), ("/*", False)), "home/alice/x", False),
        ((), "", True),
    ],
)
def test_literal_parts(parts: tuple[tuple[str, bool], ...], text: str, expected: bool) -> None:
    assert Glob.from_parts(parts).matches(text) is expected


def test_literal_parts_ignore_case() -> None:
    glob = Glob.from_parts((("HOME/", False), ("A*", True), ("*", False)), ignore_case=True)
    assert glob.matches("home/a*b")
    assert not glob.matches("home/ab")


@pytest.mark.parametrize(("text", "expected"), [("abc", False), ("a*", True), ("a?", True), ("", False)])
def test_has_wildcard(text: str, expected: bool) -> None:
    assert has_wildcard(text) is expected


def test_no_catastrophic_backtracking() -> None:
    text = "a" * 20_000
    assert not glob_match("a*" * 60 + "b", text)
    assert not glob_match("*a" * 60 + "*b", text)
    assert glob_match("*a" * 60 + "*", text)
    assert not glob_match("*aab" * 30 + "*", "aab" * 29 + "a" * 20_000)
    assert not glob_match("a*?" * 60 + "b", text)


PATTERN_CHARS = st.text(alphabet="ab/:*?", max_size=8)
TEXT_CHARS = st.text(alphabet="ab/:*?", max_size=12)


@given(PATTERN_CHARS, TEXT_CHARS)
def test_agrees_with_fnmatch(pattern: str, text: str) -> None:
    assert glob_match(pattern, text) is fnmatch.fnmatchcase(text, pattern)


@given(st.text(alphabet="aAbB*?", max_size=8), st.text(alphabet="aAbB", max_size=12))
def test_ignore_case_agrees_with_fnmatch(pattern: str, text: str) -> None:
    assert glob_match(pattern, text, ignore_case=True) is fnmatch.fnmatchcase(text.lower(), pattern.lower())


def _reference(parts: list[tuple[str, bool]], text: str) -> bool:
    """Test-only reference: a regex over escaped literal parts (never done in the library)."""
    pieces = []
    for chunk, literal in parts:
        if literal:
            pieces.append(re.escape(chunk))
        else:
            pieces.append("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in chunk))
    return re.fullmatch("".join(pieces), text, re.DOTALL) is not None


@given(
    st.lists(st.tuples(st.text(alphabet="ab*?", max_size=4), st.booleans()), max_size=4),
    st.text(alphabet="ab*?", max_size=10),
)
def test_parts_agree_with_reference(parts: list[tuple[str, bool]], text: str) -> None:
    assert Glob.from_parts(parts).matches(text) is _reference(parts, text)

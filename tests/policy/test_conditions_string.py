"""String operators: equality, case folding, wildcards, policy variables."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.context import ContextValue, RequestContext
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"

CTX = {
    "aws:username": "alice",
    "aws:PrincipalTag/team": "Red",
    "aws:TagKeys": ["a", "b"],
    "star": "x*y",
}


def holds(operator: str, values: tuple[str, ...], request: ContextValue, version: str | None = V2012) -> bool:
    ctx = RequestContext({**CTX, "k": request})
    return compile_condition(ConditionClause(operator, "k", values), version).holds(ctx)


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        ("StringEquals", ("abc",), "abc", True),
        ("StringEquals", ("abc",), "ABC", False),
        ("StringEquals", ("x", "abc"), "abc", True),
        ("StringEquals", ("a*",), "abc", False),
        ("StringEquals", ("a*",), "a*", True),
        ("StringEquals", ("",), "", True),
        ("StringNotEquals", ("abc",), "abc", False),
        ("StringNotEquals", ("abc",), "ABC", True),
        ("StringNotEquals", ("x", "y"), "y", False),
        ("StringNotEquals", ("x", "y"), "z", True),
        ("StringEqualsIgnoreCase", ("ABC",), "abc", True),
        ("StringEqualsIgnoreCase", ("Straße",), "STRASSE", True),
        ("StringEqualsIgnoreCase", ("abc",), "abd", False),
        ("StringNotEqualsIgnoreCase", ("ABC",), "abc", False),
        ("StringNotEqualsIgnoreCase", ("ABC",), "abd", True),
        ("StringLike", ("home/*",), "home/a/b", True),
        ("StringLike", ("home/*",), "Home/a", False),
        ("StringLike", ("a?c",), "abc", True),
        ("StringLike", ("a?c",), "abbc", False),
        ("StringLike", ("exact", "pre*"), "exact", True),
        ("StringLike", ("exact", "pre*"), "prefix", True),
        ("StringLike", ("exact", "pre*"), "other", False),
        ("StringLike", ("", "home/"), "", True),
        ("StringNotLike", ("home/*",), "home/a", False),
        ("StringNotLike", ("home/*", "tmp/*"), "var/x", True),
    ],
)
def test_table(operator: str, values: tuple[str, ...], request_value: str, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        ("StringEquals", ("${aws:username}",), "alice", True),
        ("StringEquals", ("user-${aws:username}",), "user-alice", True),
        ("StringEquals", ("${aws:username}",), "bob", False),
        ("StringEquals", ("${aws:PrincipalTag/TEAM}",), "Red", True),
        ("StringEquals", ("${missing}",), "", False),
        ("StringEquals", ("${missing}", "x"), "x", True),
        ("StringEquals", ("${missing, 'dflt'}",), "dflt", True),
        ("StringEquals", ("${aws:TagKeys}",), "a", False),
        ("StringEquals", ("${*}",), "*", True),
        ("StringEquals", ("${*}",), "x", False),
        ("StringNotEquals", ("${missing}",), "anything", True),
        ("StringNotEquals", ("${aws:username}",), "alice", False),
        ("StringEqualsIgnoreCase", ("${aws:PrincipalTag/team}",), "RED", True),
        ("StringEqualsIgnoreCase", ("${missing}",), "RED", False),
        ("StringNotEqualsIgnoreCase", ("${missing}",), "RED", True),
        ("StringLike", ("home/${aws:username}/*",), "home/alice/docs", True),
        ("StringLike", ("home/${aws:username}/*",), "home/bob/docs", False),
        ("StringLike", ("home/${missing}/*",), "home//docs", False),
        ("StringLike", ("home/${missing}/*", "tmp/*"), "tmp/x", True),
        ("StringNotLike", ("home/${missing}/*",), "home/x/y", True),
        ("StringLike", ("${star}",), "x*y", True),
        ("StringLike", ("${star}",), "xzzy", False),
        ("StringLike", ("a${*}*",), "a*bc", True),
        ("StringLike", ("a${*}*",), "abc", False),
        ("StringLike", ("a${?}",), "a?", True),
        ("StringLike", ("a${?}",), "ab", False),
    ],
)
def test_policy_variables(operator: str, values: tuple[str, ...], request_value: str, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_variables_are_literal_before_2012(version: str | None) -> None:
    assert not holds("StringEquals", ("${aws:username}",), "alice", version)
    assert holds("StringEquals", ("${aws:username}",), "${aws:username}", version)
    assert holds("StringLike", ("${aws:username}*",), "${aws:username}/x", version)
    assert holds("StringNotEquals", ("${aws:username}",), "alice", version)


def test_multivalued_request() -> None:
    assert holds("StringLike", ("a*",), ["b", "ab"])
    assert not holds("StringNotLike", ("a*",), ["b", "ab"])
    assert holds("ForAllValues:StringLike", ("a*", "b*"), ["b", "ab"])
    assert not holds("ForAllValues:StringLike", ("a*",), ["b", "ab"])
    assert holds("ForAnyValue:StringEqualsIgnoreCase", ("B",), ["x", "b"])


def test_missing_key() -> None:
    assert not holds("StringLike", ("*",), None)
    assert holds("StringNotLike", ("*",), None)
    assert holds("StringLikeIfExists", ("nope",), None)
    assert not holds("StringLikeIfExists", ("nope",), "yes")

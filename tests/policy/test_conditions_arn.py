"""ARN operators: six fields matched one by one, wildcards, variables, negation."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.context import ContextValue, RequestContext
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"
CTX = {"aws:PrincipalAccount": "123456789012", "aws:username": "alice", "star": "a*"}


def holds(operator: str, values: tuple[str, ...], request: ContextValue, version: str | None = V2012) -> bool:
    ctx = RequestContext({**CTX, "aws:SourceArn": request})
    return compile_condition(ConditionClause(operator, "aws:SourceArn", values), version).holds(ctx)


@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals"])
@pytest.mark.parametrize(
    ("values", "request_value", "expected"),
    [
        (("arn:aws:iam::*:role/admin*",), "arn:aws:iam::123456789012:role/admin-x", True),
        (("arn:aws:iam::*:role/admin*",), "arn:aws:iam::123456789012:role/user", False),
        (("arn:aws:iam::123:role/x",), "arn:aws:iam::123:role/x", True),
        (("arn:aws:iam::123:role/X",), "arn:aws:iam::123:role/x", False),
        (("arn:aws:s3:*:*:bucket",), "arn:aws:s3:::bucket", True),
        (("arn:aws:s3:us-*:*:x",), "arn:aws:s3:us-east-1:123:x", True),
        (("arn:aws:s3:us-*:*:x",), "arn:aws:s3:eu-west-1:us-1:x", False),
        (("arn:aws:iam::1*:role/x",), "arn:aws:iam::1:2:role/x", False),
        (("arn:aws:iam::1?:role/x",), "arn:aws:iam::12:role/x", True),
        (
            ("arn:aws:logs:us-east-1:123:log-group:*",),
            "arn:aws:logs:us-east-1:123:log-group:g:log-stream:s",
            True,
        ),
        (
            ("arn:aws:logs:us-east-1:123:log-group:g:*",),
            "arn:aws:logs:us-east-1:123:log-group:g:log-stream:s",
            True,
        ),
        (("arn:aws:iam::123:role/x",), "not-an-arn", False),
        (("arn:aws:iam::*:role/*",), "not-an-arn", False),
        (("*",), "anything", True),
        (("*",), "arn:aws:iam::123:role/x", True),
        (("arn:aws:*:bucket",), "arn:aws:s3:::bucket", True),
        (("short",), "short", True),
        (("x", "arn:aws:iam::123:role/*"), "arn:aws:iam::123:role/r", True),
        ((), "arn:aws:iam::123:role/r", False),
        (("arn:aws:iam::123:role/r",), None, False),
    ],
)
def test_positive(
    operator: str, values: tuple[str, ...], request_value: ContextValue, expected: bool
) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize("operator", ["ArnNotLike", "ArnNotEquals"])
@pytest.mark.parametrize(
    ("values", "request_value", "expected"),
    [
        (("arn:aws:iam::*:role/admin*",), "arn:aws:iam::123:role/admin", False),
        (("arn:aws:iam::*:role/admin*",), "arn:aws:iam::123:role/user", True),
        (("arn:aws:iam::*:role/a", "arn:aws:iam::*:role/b"), "arn:aws:iam::123:role/b", False),
        (("arn:aws:iam::*:role/a",), "not-an-arn", True),
        (("arn:aws:iam::*:role/a",), None, True),
    ],
)
def test_negated(operator: str, values: tuple[str, ...], request_value: ContextValue, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        (
            "ArnLike",
            ("arn:aws:iam::${aws:PrincipalAccount}:role/${aws:username}",),
            "arn:aws:iam::123456789012:role/alice",
            True,
        ),
        (
            "ArnLike",
            ("arn:aws:iam::${aws:PrincipalAccount}:role/${aws:username}",),
            "arn:aws:iam::123456789012:role/bob",
            False,
        ),
        ("ArnLike", ("arn:aws:iam::${aws:PrincipalAccount}:role/*",), "arn:aws:iam::999:role/x", False),
        ("ArnLike", ("arn:aws:iam::*:role/${missing}",), "arn:aws:iam::1:role/", False),
        ("ArnNotLike", ("arn:aws:iam::*:role/${missing}",), "arn:aws:iam::1:role/x", True),
        ("ArnLike", ("arn:aws:iam::*:role/${star}",), "arn:aws:iam::1:role/a*", True),
        ("ArnLike", ("arn:aws:iam::*:role/${star}",), "arn:aws:iam::1:role/ab", False),
        ("ArnLike", ("${aws:username}",), "alice", True),
        ("ArnLike", ("${missing}", "arn:aws:s3:::b"), "arn:aws:s3:::b", True),
        ("ArnLike", ("arn:aws:s3:::bucket/${*}",), "arn:aws:s3:::bucket/*", True),
        ("ArnLike", ("arn:aws:s3:::bucket/${*}",), "arn:aws:s3:::bucket/x", False),
        ("ArnLike", ("arn:aws:s3:::bucket/${*}*",), "arn:aws:s3:::bucket/*x", True),
        ("ArnLike", ("arn:aws:s3:::bucket/${*}*",), "arn:aws:s3:::bucket/x", False),
    ],
)
def test_policy_variables(operator: str, values: tuple[str, ...], request_value: str, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_variables_are_literal_before_2012(version: str | None) -> None:
    value = ("arn:aws:iam::123:role/${aws:username}",)
    assert holds("ArnLike", value, "arn:aws:iam::123:role/${aws:username}", version)
    assert not holds("ArnLike", value, "arn:aws:iam::123:role/alice", version)


def test_multivalued_request() -> None:
    arns = ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]
    assert holds("ForAllValues:ArnLike", ("arn:aws:iam::1:role/*",), arns)
    assert not holds("ForAllValues:ArnLike", ("arn:aws:iam::1:role/a",), arns)
    assert holds("ForAnyValue:ArnEquals", ("arn:aws:iam::1:role/a",), arns)
    assert not holds("ArnNotLike", ("arn:aws:iam::1:role/a",), arns)

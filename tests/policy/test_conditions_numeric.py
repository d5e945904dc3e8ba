"""Numeric operators: parsing once, comparisons, bad values."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.conditions.numeric import parse_number
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"


def holds(operator: str, values: tuple[str, ...], request: ContextValue) -> bool:
    ctx = RequestContext({"k": request})
    return compile_condition(ConditionClause(operator, "k", values), V2012).holds(ctx)


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        ("NumericEquals", ("5",), "5", True),
        ("NumericEquals", ("5",), "5.0", True),
        ("NumericEquals", ("5",), "05", True),
        ("NumericEquals", ("10",), "1e1", True),
        ("NumericEquals", ("1.5",), "1.50", True),
        ("NumericEquals", ("5",), "6", False),
        ("NumericEquals", ("5", "6"), "6", True),
        ("NumericEquals", ("5",), "abc", False),
        ("NumericEquals", ("9007199254740993",), "9007199254740993", True),
        ("NumericEquals", ("9007199254740993",), "9007199254740992", False),
        ("NumericNotEquals", ("5", "6"), "5", False),
        ("NumericNotEquals", ("5", "6"), "7", True),
        ("NumericNotEquals", ("5",), "abc", False),
        ("NumericLessThan", ("5", "10"), "7", True),
        ("NumericLessThan", ("5", "10"), "10", False),
        ("NumericLessThan", ("5",), "-1", True),
        ("NumericLessThan", ("5",), "4.999", True),
        ("NumericLessThan", ("5",), "x", False),
        ("NumericLessThanEquals", ("5",), "5", True),
        ("NumericLessThanEquals", ("5",), "6", False),
        ("NumericGreaterThan", ("5", "10"), "6", True),
        ("NumericGreaterThan", ("5", "10"), "5", False),
        ("NumericGreaterThanEquals", ("5",), "5", True),
        ("NumericGreaterThanEquals", ("5",), "4", False),
        ("NumericLessThan", (), "1", False),
        ("NumericEquals", (), "1", False),
        ("NumericNotEquals", (), "1", True),
    ],
)
def test_table(operator: str, values: tuple[str, ...], request_value: str, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


def test_unreadable_request_values_match_nothing() -> None:
    assert not holds("ForAllValues:NumericNotEquals", ("5",), ["abc"])
    assert not holds("ForAnyValue:NumericNotEquals", ("5",), ["abc", "5"])
    assert holds("ForAnyValue:NumericEquals", ("5",), ["abc", "5"])
    assert not holds("NumericNotEquals", ("5",), ["6", "abc"])


def test_missing_key() -> None:
    assert not holds("NumericLessThan", ("5",), None)
    assert holds("NumericNotEquals", ("5",), None)
    assert holds("NumericLessThanIfExists", ("5",), None)


@pytest.mark.parametrize(
    "value", ["abc", "", "1.2.3", "inf", "nan", "1e999", " 5", "5 ", "1_000", "0x10", "٥", "9" * 5000]
)
def test_bad_policy_value_is_malformed(value: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause("NumericEquals", "k", ("1", value)), V2012)
    assert caught.value.message == "Syntax errors in policy."


@pytest.mark.parametrize(
    ("text", "number"),
    [("+5", 5), ("-.5", -0.5), ("5.", 5.0), ("1E2", 100.0), ("-0", 0), ("1e-2", 0.01)],
)
def test_parse_number(text: str, number: float) -> None:
    assert parse_number(text) == number

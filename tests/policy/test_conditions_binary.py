"""BinaryEquals: base64 on both sides, compared as bytes."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.conditions.binary import decode_base64
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"
HELLO = "aGVsbG8="  # b"hello"


def holds(operator: str, values: tuple[str, ...], request: ContextValue) -> bool:
    ctx = RequestContext({"k": request})
    return compile_condition(ConditionClause(operator, "k", values), V2012).holds(ctx)


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        ("BinaryEquals", (HELLO,), HELLO, True),
        ("BinaryEquals", (HELLO,), "d29ybGQ=", False),
        ("BinaryEquals", ("d29ybGQ=", HELLO), HELLO, True),
        ("BinaryEquals", (HELLO,), "aGVsbG8", False),
        ("BinaryEquals", (HELLO,), "not base64!", False),
        ("BinaryEquals", (HELLO,), "é", False),
        ("BinaryEquals", ("",), "", True),
        ("BinaryEquals", (HELLO,), None, False),
        ("BinaryEqualsIfExists", (HELLO,), None, True),
        ("ForAnyValue:BinaryEquals", (HELLO,), ["d29ybGQ=", HELLO], True),
        ("ForAllValues:BinaryEquals", (HELLO,), ["d29ybGQ=", HELLO], False),
    ],
)
def test_table(operator: str, values: tuple[str, ...], request_value: ContextValue, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize("value", ["aGVsbG8", "***", "é", "aGVs bG8="])
def test_bad_policy_value_is_malformed(value: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause("BinaryEquals", "k", (value,)), V2012)
    assert caught.value.message == "Syntax errors in policy."


def test_decode() -> None:
    assert decode_base64(HELLO) == b"hello"
    assert decode_base64("%%%") is None

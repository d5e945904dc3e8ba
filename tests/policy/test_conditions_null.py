"""Null: "true" means the key is absent (or an empty set), "false" that it is present."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"


def holds(operator: str, values: tuple[str, ...], request: ContextValue) -> bool:
    ctx = RequestContext({"aws:TokenIssueTime": request})
    return compile_condition(ConditionClause(operator, "AWS:TokenIssueTime", values), V2012).holds(ctx)


@pytest.mark.parametrize(
    ("values", "request_value", "expected"),
    [
        (("true",), None, True),
        (("true",), [], True),
        (("true",), "2024-01-01T00:00:00Z", False),
        (("true",), "", False),
        (("TRUE",), None, True),
        (("false",), None, False),
        (("false",), [], False),
        (("false",), "x", True),
        (("False",), ["a", "b"], True),
        (("true", "false"), None, True),
        (("true", "false"), "x", True),
        ((), None, False),
        ((), "x", False),
    ],
)
def test_table(values: tuple[str, ...], request_value: ContextValue, expected: bool) -> None:
    assert holds("Null", values, request_value) is expected


@pytest.mark.parametrize("qualifier", ["ForAllValues:", "ForAnyValue:"])
def test_qualifier_is_ignored(qualifier: str) -> None:
    assert holds(qualifier + "Null", ("true",), None)
    assert not holds(qualifier + "Null", ("true",), ["x"])


@pytest.mark.parametrize("value", ["yes", "", "null"])
def test_bad_policy_value_is_malformed(value: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause("Null", "k", (value,)), V2012)
    assert caught.value.message == "Syntax errors in policy."

"""Bool: case-insensitive true/false, IfExists, set qualifiers, bad values."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"


def holds(operator: str, values: tuple[str, ...], request: ContextValue) -> bool:
    ctx = RequestContext({"aws:SecureTransport": request})
    return compile_condition(ConditionClause(operator, "aws:SecureTransport", values), V2012).holds(ctx)


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        ("Bool", ("true",), "true", True),
        ("Bool", ("true",), "TRUE", True),
        ("Bool", ("True",), "true", True),
        ("Bool", ("true",), "false", False),
        ("Bool", ("false",), "false", True),
        ("Bool", ("FALSE",), "False", True),
        ("Bool", ("true",), "yes", False),
        ("Bool", ("true", "false"), "false", True),
        ("Bool", ("true", "false"), "maybe", False),
        ("Bool", ("true",), None, False),
        ("BoolIfExists", ("false",), None, True),
        ("BoolIfExists", ("false",), "true", False),
        ("ForAllValues:Bool", ("false",), ["false", "false"], True),
        ("ForAllValues:Bool", ("false",), ["false", "true"], False),
        ("ForAnyValue:Bool", ("True",), ["false", "true"], True),
        ("Bool", (), "true", False),
    ],
)
def test_table(operator: str, values: tuple[str, ...], request_value: ContextValue, expected: bool) -> None:
    assert holds(operator, values, request_value) is expected


@pytest.mark.parametrize("value", ["yes", "1", "", "truth", " true"])
def test_bad_policy_value_is_malformed(value: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause("Bool", "aws:SecureTransport", ("true", value)), V2012)
    assert caught.value.message == "Syntax errors in policy."

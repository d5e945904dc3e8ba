"""parse_operator: IAM's condition operator names, case-sensitive, qualifier and IfExists."""

from __future__ import annotations

import pytest

from monban.policy.operators import BASE_OPERATORS, OperatorName, parse_operator


@pytest.mark.parametrize("base", sorted(BASE_OPERATORS))
def test_every_base_operator(base: str) -> None:
    assert parse_operator(base) == OperatorName(None, base, False)
    for qualifier in ("ForAllValues", "ForAnyValue"):
        assert parse_operator(f"{qualifier}:{base}") == OperatorName(qualifier, base, False)


@pytest.mark.parametrize("base", sorted(BASE_OPERATORS - {"Null"}))
def test_if_exists(base: str) -> None:
    assert parse_operator(f"{base}IfExists") == OperatorName(None, base, True)
    assert parse_operator(f"ForAnyValue:{base}IfExists") == OperatorName("ForAnyValue", base, True)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "IfExists",
        "NullIfExists",
        "ForAllValues:NullIfExists",
        "stringequals",
        "StringEqualsIfexists",
        "ForAnyValue::StringEquals",
        "ForEachValue:StringEquals",
        "forallvalues:StringEquals",
        "ForAllValues:",
        "ForAllValues:ForAnyValue:StringEquals",
        "StringEqualsIfExistsIfExists",
        "NoSuchOperator",
    ],
)
def test_unknown_operators(name: str) -> None:
    assert parse_operator(name) is None

"""Condition semantics shared by every operator: missing keys, IfExists, set qualifiers, NOR,
case-insensitive keys, blocks, unknown operators."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition, compile_conditions
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"


def holds(operator: str, values: tuple[str, ...], request: ContextValue, key: str = "k") -> bool:
    ctx = RequestContext({} if request is None else {"k": request})
    return compile_condition(ConditionClause(operator, key, values), V2012).holds(ctx)


REQUESTS: list[ContextValue] = [None, [], ["a"], ["c"], ["a", "c"], ["a", "b"], ["c", "d"]]

# Expected results per operator for the requests above, policy values ("a", "b").
TABLE = {
    "StringEquals": "FFTFTTF",
    "StringNotEquals": "TTFTFFT",
    "StringEqualsIfExists": "TTTFTTF",
    "StringNotEqualsIfExists": "TTFTFFT",
    "ForAllValues:StringEquals": "TTTFFTF",
    "ForAnyValue:StringEquals": "FFTFTTF",
    "ForAllValues:StringNotEquals": "TTFTFFT",
    "ForAnyValue:StringNotEquals": "FFFTTFT",
    "ForAllValues:StringEqualsIfExists": "TTTFFTF",
    "ForAnyValue:StringEqualsIfExists": "TTTFTTF",
    "ForAnyValue:StringNotEqualsIfExists": "TTFTTFT",
}

CASES = [
    (operator, request, expected == "T")
    for operator, row in TABLE.items()
    for request, expected in zip(REQUESTS, row, strict=True)
]


@pytest.mark.parametrize(("operator", "request_values", "expected"), CASES)
def test_set_semantics(operator: str, request_values: ContextValue, expected: bool) -> None:
    assert holds(operator, ("a", "b"), request_values) is expected


def test_single_string_request_value() -> None:
    assert holds("StringEquals", ("a",), "a")
    assert not holds("StringNotEquals", ("a",), "a")


@pytest.mark.parametrize(
    ("key", "context_key"),
    [
        ("AWS:UserName", "aws:username"),
        ("aws:username", "AWS:USERNAME"),
        ("aws:PrincipalTag/TEAM", "aws:principaltag/team"),
        ("aws:RequestTag/CostCenter", "AWS:REQUESTTAG/costcenter"),
        ("aws:ResourceTag/env", "aws:ResourceTag/Env"),
    ],
)
def test_keys_and_tag_keys_are_case_insensitive(key: str, context_key: str) -> None:
    condition = compile_condition(ConditionClause("StringEquals", key, ("x",)), V2012)
    assert condition.holds(RequestContext({context_key: "x"}))
    assert condition.key == key.lower()


def test_tag_values_stay_case_sensitive() -> None:
    assert not holds("StringEquals", ("Red",), "red")


@pytest.mark.parametrize(
    "operator",
    [
        "StringEqualz",
        "ForAnyValue::StringEquals",
        "NullIfExists",
        "ForSomeValues:StringEquals",
        "stringequals",
    ],
)
def test_unknown_operator_is_malformed(operator: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause(operator, "k", ("a",)), V2012)
    assert caught.value.message == "Syntax errors in policy."


def test_compiled_condition_keeps_its_clause() -> None:
    clause = ConditionClause("StringLike", "s3:prefix", ("home/*",))
    assert compile_condition(clause, V2012).clause is clause


def test_block_ands_conditions() -> None:
    block = compile_conditions(
        [
            ConditionClause("StringEquals", "aws:username", ("alice",)),
            ConditionClause("Bool", "aws:SecureTransport", ("true",)),
        ],
        V2012,
    )
    good = RequestContext({"aws:username": "alice", "aws:SecureTransport": "true"})
    bad = good.merged({"aws:SecureTransport": "false"})
    assert block.holds(good)
    assert not block.holds(bad)
    assert block.failing(good) == ()
    assert [c.clause.key for c in block.failing(bad)] == ["aws:SecureTransport"]


def test_empty_block_holds() -> None:
    block = compile_conditions([], V2012)
    assert block.holds(RequestContext())
    assert block.conditions == ()


def test_empty_policy_values() -> None:
    assert not holds("StringEquals", (), "a")
    assert holds("StringNotEquals", (), "a")
    assert holds("ForAllValues:StringEquals", (), None)
    assert not holds("ForAllValues:StringEquals", (), ["a"])

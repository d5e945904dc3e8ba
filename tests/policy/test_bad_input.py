"""Hostile input: whatever arrives, parsing ends in a PolicyDocument or MalformedPolicyDocument.

No RecursionError, TypeError, UnicodeDecodeError or ValueError may escape (the server would answer
500 instead of IAM's 400), and findings never fail on a document that parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monban.policy.errors import MalformedPolicyDocument, PolicySizeExceeded
from monban.policy.findings import find_issues
from monban.policy.model import PolicyDocument, PolicyKind
from monban.policy.parse import (
    check_inline_policy_size,
    check_managed_policy_size,
    check_session_policy_size,
    check_trust_policy_size,
    parse_policy,
    policy_size,
)

KINDS = st.sampled_from(list(PolicyKind))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
ELEMENTS = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource"]
WORDS = st.sampled_from(
    ["*", "", "s3:GetObject", "sts:AssumeRole", "iam:*", "a:b:c", "arn:aws:s3:::b", "arn:aws:iam::1:user/x",
     "arn:aws", "x:y", "arn:aws:s3::b", "arn:aws::::x", "123456789012", "ec2.amazonaws.com", "Allow", "Deny",
     "2019-01-01T00:00:00Z", "1e400", "true", "aws:SourceIp", "${aws:username}", "arn:aws:iam:us-east-1::x"]
)  # fmt: skip
VALUES = WORDS | st.lists(WORDS | SCALARS, max_size=4) | SCALARS
STRINGS = WORDS | st.lists(WORDS, min_size=1, max_size=4)
NEARLY = st.one_of(STRINGS, STRINGS, STRINGS, VALUES)  # mostly well-typed, sometimes not
OPERATORS = st.sampled_from(
    ["StringEquals", "DateLessThan", "ForAnyValue:DateEqualsIfExists", "Bool", "Null", "NoSuch", "IpAddress"]
)
CONDITIONS = st.dictionaries(
    OPERATORS,
    st.dictionaries(WORDS, st.one_of(STRINGS, STRINGS, st.booleans(), VALUES), max_size=3),
    max_size=3,
)
PRINCIPALS = st.just("*") | st.dictionaries(st.sampled_from(["AWS", "Service", "Federated", "X"]), NEARLY)
STATEMENT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", "allow"]), "Action": NEARLY, "Resource": NEARLY},
    optional={"Principal": PRINCIPALS, "Condition": CONDITIONS | JSON, "Sid": WORDS | SCALARS},
) | st.dictionaries(st.sampled_from([*ELEMENTS, "Condition"]), VALUES, max_size=6)
TRUST_STATEMENT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny"]), "Principal": PRINCIPALS, "Action": NEARLY},
    optional={"Condition": CONDITIONS, "Sid": WORDS},
)
GOOD_CONDITIONS = st.dictionaries(
    st.sampled_from(["StringEquals", "DateLessThan", "ForAnyValue:DateEqualsIfExists", "Bool", "ArnLike"]),
    st.dictionaries(WORDS, STRINGS | st.booleans() | st.integers(), max_size=2),
    max_size=2,
)
GOOD_STATEMENT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", "allow"]), "Action": STRINGS, "Resource": STRINGS},
    optional={"Condition": GOOD_CONDITIONS, "Sid": WORDS},
)
GOOD_TRUST = st.fixed_dictionaries(
    {"Effect": st.just("Allow"), "Principal": PRINCIPALS, "Action": STRINGS},
    optional={"Condition": GOOD_CONDITIONS},
)
ROUGH_DOCUMENTS = st.fixed_dictionaries(
    {
        "Statement": st.one_of(
            STATEMENT, TRUST_STATEMENT, st.lists(STATEMENT | TRUST_STATEMENT, max_size=3), JSON
        )
    },
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "2013"]) | JSON, "Id": VALUES},
)
GOOD_DOCUMENTS = st.fixed_dictionaries(
    {
        "Version": st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"]),
        "Statement": st.lists(GOOD_STATEMENT, min_size=1, max_size=3)
        | st.lists(GOOD_TRUST, min_size=1, max_size=3),
    }
)
DOCUMENTS = st.one_of(GOOD_DOCUMENTS, GOOD_DOCUMENTS, ROUGH_DOCUMENTS)


def outcome(source: Any, kind: PolicyKind) -> PolicyDocument | MalformedPolicyDocument:
    try:
        document = parse_policy(source, kind)
    except MalformedPolicyDocument as error:
        assert isinstance(error.message, str) and error.message
        assert error.code in ("MalformedPolicyDocument", "LimitExceeded", "ValidationError")
        return error
    assert isinstance(document, PolicyDocument)
    find_issues(document)
    return document


@given(st.text(), KINDS)
def test_any_text(text: str, kind: PolicyKind) -> None:
    outcome(text, kind)


@given(st.binary(), KINDS)
def test_any_bytes(data: bytes, kind: PolicyKind) -> None:
    outcome(data, kind)


@given(JSON, KINDS)
def test_any_json_value(value: Any, kind: PolicyKind) -> None:
    outcome(json.dumps(value), kind)
    if isinstance(value, dict):
        outcome(value, kind)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS, KINDS)
def test_policy_shaped_documents(document: dict[str, Any], kind: PolicyKind) -> None:
    result = outcome(document, kind)
    assert type(outcome(json.dumps(document), kind)) is type(result)


@given(DOCUMENTS)
def test_sizes_never_raise_anything_else(document: dict[str, Any]) -> None:
    checks: list[Callable[[], int]] = [
        lambda: policy_size(document),
        lambda: check_managed_policy_size(document),
        lambda: check_trust_policy_size(document),
        lambda: check_session_policy_size(document),
        lambda: check_inline_policy_size([document, document], "user", "alice"),
    ]
    for check in checks:
        try:
            assert check() >= 0
        except MalformedPolicyDocument as error:  # PolicySizeExceeded, or not serialisable as JSON
            assert error.code in ("MalformedPolicyDocument", "LimitExceeded", "ValidationError")


@pytest.mark.parametrize(
    "source",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        '{"Version":"2012-10-17","Statement":' + "[" * 10_000 + "]" * 10_000 + "}",
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":'
        + '{"StringEquals":' * 5_000
        + "{}"
        + "}" * 5_000
        + "}}",
    ],
)
def test_deep_nesting_text(source: str) -> None:
    assert isinstance(outcome(source, PolicyKind.IDENTITY), MalformedPolicyDocument)


def test_deep_nesting_mapping() -> None:
    nested: Any = "x"
    for _ in range(10_000):
        nested = [nested]
    source = {"Version": "2012-10-17", "Statement": nested}
    assert isinstance(outcome(source, PolicyKind.IDENTITY), MalformedPolicyDocument)
    with pytest.raises(MalformedPolicyDocument):
        policy_size(source)


def test_ten_megabyte_document() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/" + "x" * 1000}
    source = json.dumps({"Version": "2012-10-17", "Statement": [statement] * 10_000})
    assert len(source) > 10_000_000
    error = outcome(source, PolicyKind.IDENTITY)
    assert isinstance(error, PolicySizeExceeded) and error.code == "ValidationError"
    assert isinstance(outcome(source.encode(), PolicyKind.IDENTITY), PolicySizeExceeded)


def test_huge_arrays() -> None:
    too_big = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": ["s3:GetObject"] * 100_000},
    }
    assert isinstance(outcome(too_big, PolicyKind.IDENTITY), PolicySizeExceeded)
    many = {"Effect": "Allow", "Action": ["s3:GetObject"] * 8_000, "Resource": "*"}
    document = outcome({"Version": "2012-10-17", "Statement": many}, PolicyKind.IDENTITY)
    assert isinstance(document, PolicyDocument) and len(document.statements[0].actions or ()) == 8_000
    nulls = {"Version": "2012-10-17", "Statement": [None] * 20_000}
    assert isinstance(outcome(nulls, PolicyKind.IDENTITY), MalformedPolicyDocument)


def test_enormous_numbers() -> None:
    digits = "9" * 100_000
    source = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",'
    source += '"Condition":{"DateLessThan":{"aws:EpochTime":' + digits[:50_000] + "}}}}"
    assert isinstance(outcome(source, PolicyKind.IDENTITY), MalformedPolicyDocument)
    assert isinstance(outcome("1" + digits, PolicyKind.IDENTITY), MalformedPolicyDocument)


WRONG_TYPES = [1, 1.5, None, True, [], {}, [1], [None, 2], {"a": "b"}]


@pytest.mark.parametrize("wrong", WRONG_TYPES, ids=repr)
@pytest.mark.parametrize("element", [*ELEMENTS, "Condition", "Version", "Id", "Statement"])
def test_wrong_types_where_strings_belong(element: str, wrong: Any) -> None:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": statement}
    if element in ("Version", "Id", "Statement"):
        document[element] = wrong
    else:
        statement[element] = wrong
    for kind in PolicyKind:
        outcome(document, kind)
        outcome(json.dumps(document), kind)


@pytest.mark.parametrize(
    "source",
    [
        b"\x80",
        b'{"Version": "\xff"}',
        b"\xef\xbb\xbf{}",
        "\ufeff{}",
        b"\x00" * 10,
        "[1, 2]",
        "7",
        "true",
        '"*"',
    ],
)
def test_undecodable_or_non_object(source: str | bytes) -> None:
    assert isinstance(outcome(source, PolicyKind.IDENTITY), MalformedPolicyDocument)

"""Condition values an operator cannot take are rejected when the document is written."""

from __future__ import annotations

import json

import pytest

from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import PolicyKind
from monban.policy.parse import parse_policy


def _doc(operator: str, key: str, value: object) -> str:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {operator: {key: value}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("Bool", "aws:SecureTransport", "yes"),
        ("IpAddress", "aws:SourceIp", "300.1.1.1/8"),
        ("NumericLessThan", "s3:max-keys", "ten"),
        ("BinaryEquals", "aws:UserAgent", "%%%"),
    ],
)
def test_bad_condition_value_is_malformed(operator: str, key: str, value: object) -> None:
    with pytest.raises(MalformedPolicyDocument):
        parse_policy(_doc(operator, key, value), PolicyKind.IDENTITY)


def test_good_condition_values_parse() -> None:
    document = parse_policy(_doc("Bool", "aws:SecureTransport", "true"), PolicyKind.IDENTITY)
    assert document.statements[0].conditions[0].values == ("true",)

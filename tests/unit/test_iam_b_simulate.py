"""The simulator's statement positions (simulate.py), without a server."""

from __future__ import annotations

import json

import pytest

from monban.protocol.errors import AwsError
from monban.services.iam.simulate import caller_principal, owner_account, position, statement_spans

AWS_EXAMPLE = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
    '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)


def test_the_aws_cli_example_positions() -> None:
    (span,) = statement_spans(AWS_EXAMPLE)
    assert position(AWS_EXAMPLE, span[0]) == {"Line": 1, "Column": 38}
    assert position(AWS_EXAMPLE, span[1]) == {"Line": 1, "Column": 167}


def test_spans_of_a_pretty_printed_statement_list() -> None:
    statements = [
        {"Sid": "Braces{in}strings", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": ["iam:*"],
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    text = json.dumps({"Statement": statements, "Version": "2012-10-17"}, indent=4)
    spans = statement_spans(text)
    assert [json.loads(text[start : end + 1]) for start, end in spans] == statements
    start = position(text, spans[1][0])
    line = text.splitlines()[start["Line"] - 1]
    assert line[start["Column"] - 2] == "{"


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{", '{"Version": "2012-10-17"}', '{"Statement": [{"Effect": "Allow"', '{"Statement": 5}'],
)
def test_unreadable_documents_have_no_spans(text: str) -> None:
    assert statement_spans(text) == []


@pytest.mark.parametrize("owner", ["²" * 12, "١٢٣٤٥٦٧٨٩٠١٢", "arn:aws:iam::" + "²" * 12 + ":root"])
def test_resource_owner_is_twelve_ascii_digits(owner: str) -> None:
    """'²' passes ``str.isdigit`` (and was taken as an account); Arabic-Indic digits too."""
    with pytest.raises(AwsError) as caught:
        owner_account(owner)
    assert (caught.value.code, caught.value.message) == ("InvalidInput", f"Invalid ResourceOwner: {owner}.")


def test_caller_arn_account_is_ascii() -> None:
    with pytest.raises(AwsError) as caught:
        caller_principal("arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:user/alice")
    assert caught.value.code == "InvalidInput"
    assert caller_principal("arn:aws:iam::123456789012:user/alice").account == "123456789012"

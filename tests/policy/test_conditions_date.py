"""Date operators: ISO-8601 and epoch values, IAM's legacy grammar, comparisons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.policy.conditions import compile_condition
from monban.policy.conditions.date import parse_date
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"
NEW_YEAR = "2024-01-01T00:00:00Z"
SECOND = 10**9


def holds(operator: str, values: tuple[str, ...], request: ContextValue) -> bool:
    ctx = RequestContext({"aws:CurrentTime": request})
    return compile_condition(ConditionClause(operator, "aws:CurrentTime", values), V2012).holds(ctx)


@pytest.mark.parametrize(
    ("operator", "request_value", "expected"),
    [
        ("DateEquals", NEW_YEAR, True),
        ("DateEquals", "2024-01-01T00:00:00.000Z", True),
        ("DateEquals", "1704067200", True),
        ("DateEquals", "2024-01-01", True),
        ("DateEquals", "2024-01-01t00:00:00z", True),
        ("DateEquals", "2024-01-01T01:00:00+01:00", True),
        ("DateEquals", "2024-01-01T05:30:00+05:30", True),
        ("DateEquals", "2023-12-31T19:00:00-05:00", True),
        ("DateEquals", "2024-01-01T00:00:01Z", False),
        ("DateEquals", "garbage", False),
        ("DateNotEquals", "2024-01-01T00:00:01Z", True),
        ("DateNotEquals", NEW_YEAR, False),
        ("DateNotEquals", "garbage", False),
        ("DateLessThan", "2023-12-31T23:59:59Z", True),
        ("DateLessThan", "2023-12-31T23:59:59.999999999Z", True),
        ("DateLessThan", NEW_YEAR, False),
        ("DateLessThan", "1704067199", True),
        ("DateLessThanEquals", NEW_YEAR, True),
        ("DateLessThanEquals", "2024-01-01T00:00:00.1Z", False),
        ("DateGreaterThan", "2024-01-01T00:00:00.000000001Z", True),
        ("DateGreaterThan", NEW_YEAR, False),
        ("DateGreaterThanEquals", NEW_YEAR, True),
        ("DateGreaterThanEquals", "2023-12-31T23:59:59Z", False),
    ],
)
def test_table(operator: str, request_value: str, expected: bool) -> None:
    assert holds(operator, (NEW_YEAR,), request_value) is expected


def test_several_values_use_the_extreme_bound() -> None:
    values = ("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
    assert holds("DateLessThan", values, "2025-01-01T00:00:00Z")
    assert holds("DateGreaterThan", values, "2025-01-01T00:00:00Z")
    assert not holds("DateGreaterThan", values, "2019-01-01T00:00:00Z")
    assert holds("DateEquals", values, "2030-01-01")


def test_epoch_policy_value() -> None:
    assert holds("DateLessThan", ("1704067200",), "2023-12-31T23:59:59Z")


def test_missing_key() -> None:
    assert not holds("DateLessThan", (NEW_YEAR,), None)
    assert holds("DateNotEquals", (NEW_YEAR,), None)
    assert holds("DateLessThanIfExists", (NEW_YEAR,), None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1700000000", 1_700_000_000 * SECOND),
        ("9223372036854775807", (2**63 - 1) * SECOND),
        ("1970-01-01", 0),
        ("1970", 1970 * SECOND),
        ("1970-02", 31 * 86_400 * SECOND),
        ("1970-01-01T", 0),
        ("1970-01-01T01", 3600 * SECOND),
        ("1970-01-01T00:01", 60 * SECOND),
        ("1970-01-01T00:00:00.5", SECOND // 2),
        ("1970-01-01T00:00:00.0000000001", 0),
        ("2016-02-31", parse_date("2016-03-02")),
        ("0000-01-01", -719_528 * 86_400 * SECOND),
        ("-0001-01-01", (-719_528 - 365) * 86_400 * SECOND),
        ("1970-01-01T00:00:00+23", -23 * 3600 * SECOND),
        ("1970-01-01T00:00:00-01:30", 90 * 60 * SECOND),
        ("1970-01-01T00:00:00.25-01", 3600 * SECOND + SECOND // 4),
        ("+5", 5 * SECOND),
        ("+1970-+01-+01T+00:+00:01.5", SECOND + SECOND // 2),
        ("1970-01-01T:01", 60 * SECOND),
        ("1970-01-01T00:00:00." + "0" * 25, 0),
    ],
)
def test_parse_date(text: str, expected: int) -> None:
    assert parse_date(text) == expected


def _conformance(message: str) -> list[str]:
    """Date values from the shared policy-validation vectors (valid ones, or those refused with
    ``message``)."""
    path = Path(__file__).resolve().parents[1] / "conformance" / "policy-validation.json"
    data = json.loads(path.read_text())
    documents = [
        case["document"]
        for case in data["invalid_policy_document_test_cases"]
        if case["error_message"] == message
    ]
    if not message:
        documents = [
            json.loads(doc) if isinstance(doc, str) else doc for doc in data["valid_policy_documents"]
        ]
    found: list[str] = []
    for document in documents:
        if not isinstance(document, dict) or document.get("Version") != V2012:
            continue
        statements = document.get("Statement")
        for statement in statements if isinstance(statements, list) else [statements]:
            condition = statement.get("Condition") if isinstance(statement, dict) else None
            for operator, block in (condition or {}).items():
                if operator.startswith("Date") and isinstance(block, dict):
                    found.extend(v for v in block.values() if isinstance(v, str))
    return found


def test_conformance_vectors() -> None:
    valid = _conformance("")
    invalid = _conformance("The policy failed legacy parsing")
    assert len(valid) >= 5
    assert len(invalid) >= 5
    for value in valid:
        assert parse_date(value) is not None, value
    for value in invalid:
        assert parse_date(value) is None, value


@pytest.mark.parametrize(
    "value",
    [
        "sdfdsf",
        "",
        "T",
        "234-13",
        "2024-13-01",
        "2024-00-01",
        "2024-01-32",
        "2024-01-01-01",
        "2024-01-01T24:00:00Z",
        "2024-01-01T10:60:00Z",
        "2024-01-01T10:00:60Z",
        "2024-01-01T10:00:00:00",
        "2024-01-01T10:00:00.",
        "2024-01-01T10:00:00.x",
        "2024-01-01T10:00:00.1999999999Z",
        "2024-01-01T10:00:00+1",
        "2024-01-01T10:00:00+10:5",
        "2024-01-01T10:00:00+24",
        "2024-01-01T10:00:00+10:60",
        "2024-01-01T10:00:00+ab",
        "292278994-01-01",
        "-292275055",
        "1.5",
        "9223372036854775808",
        "123456789012345678901",
        "2024-01-01T10:00Z",
        "2024-01-01T10Z",
        "2024-01-01T10:00:00z5",
        "2024-01-01T10:",
        "2024-01-01T10:00:00-5",
        "2024-01-01T10:00:00.1-ab",
        "2024-+13-01",
    ],
)
def test_bad_policy_value_is_malformed(value: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause("DateLessThan", "aws:CurrentTime", (value,)), V2012)
    assert caught.value.message == "The policy failed legacy parsing"


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_agrees_with_datetime(moment: datetime, offset_minutes: int) -> None:
    zone = timedelta(minutes=offset_minutes)
    aware = moment.replace(tzinfo=UTC).astimezone(__import__("datetime").timezone(zone))
    expected = (moment - datetime(1970, 1, 1)) // timedelta(microseconds=1) * 1000
    assert parse_date(aware.isoformat()) == expected
    assert parse_date(moment.isoformat()) == expected


DATE_LIKE = st.from_regex(
    r"[+-]?[0-9]{1,4}(-[+]?[0-9]{1,2}(-[0-9]{1,2})?)?"
    r"([tT]([0-9]{0,2}(:[0-9]{1,2}(:[0-9]{1,2}(\.[0-9]{1,3})?([zZ]|[+-][0-9]{1,2}(:[0-9]{2})?)?)?)?)?)?",
    fullmatch=True,
)


@given(st.one_of(DATE_LIKE, st.text(alphabet="0123456789-+:.tTzZ", max_size=24)))
def test_accepts_whatever_validation_accepts(value: str) -> None:
    """Every Date value ``monban.policy.parse`` stores must compile (never the reverse need hold)."""
    from monban.policy import parse

    legacy_ok = getattr(parse, "_legacy_date_ok", None)
    if legacy_ok is None:
        pytest.skip("monban.policy.parse no longer exposes _legacy_date_ok")
    if legacy_ok(value):
        assert parse_date(value) is not None

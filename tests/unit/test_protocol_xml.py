"""The Query renderer's time format: IAM's ``2026-11-27T20:00:00Z`` for any aware datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from monban.protocol.xml import iso8601, query_response

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=ZONES))
def test_iso8601_is_utc_to_the_second(moment: datetime) -> None:
    assert iso8601(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_nested_result_renders_in_order() -> None:
    result = {"User": {"UserName": "a<b", "CreateDate": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}}
    assert query_response("GetUser", result, "ns", "rid") == (
        '<GetUserResponse xmlns="ns"><GetUserResult><User><UserName>a&lt;b</UserName>'
        "<CreateDate>2026-01-02T03:04:05Z</CreateDate></User></GetUserResult>"
        "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>"
    )

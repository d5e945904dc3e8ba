"""The Query renderer: IAM's time format ``2026-11-27T20:00:00Z`` for any aware datetime, text
escaped as ``xml.sax.saxutils.escape`` does, elements in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from monban.protocol.xml import _escape, iso8601, query_response

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=ZONES))
def test_iso8601_is_utc_to_the_second(moment: datetime) -> None:
    assert iso8601(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@given(st.text(alphabet=st.sampled_from("ab&<>\"' é;"), max_size=30))
def test_text_is_escaped_as_saxutils_escapes_it(text: str) -> None:
    assert _escape(text) == escape(text)


def test_nested_result_renders_in_order() -> None:
    result = {"User": {"UserName": "a<b", "CreateDate": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}}
    assert query_response("GetUser", result, "ns", "rid") == (
        '<GetUserResponse xmlns="ns"><GetUserResult><User><UserName>a&lt;b</UserName>'
        "<CreateDate>2026-01-02T03:04:05Z</CreateDate></User></GetUserResult>"
        "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>"
    )

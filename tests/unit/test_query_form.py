"""decode_form reads a form exactly as ``urllib.parse.parse_qsl(keep_blank_values=True)`` does."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.protocol.errors import AwsError
from monban.protocol.query import MAX_FIELDS, decode_form

FORM_TEXT = st.text(alphabet=st.sampled_from("ab=&+%2F41zZé :C3A9"), max_size=40)


@given(FORM_TEXT)
def test_same_pairs_as_parse_qsl(text: str) -> None:
    assert decode_form(text.encode(), "") == dict(parse_qsl(text, keep_blank_values=True))


@given(FORM_TEXT, FORM_TEXT)
def test_body_wins_over_query(query: str, body: str) -> None:
    expected = dict(parse_qsl(query, keep_blank_values=True))
    expected.update(parse_qsl(body, keep_blank_values=True))
    assert decode_form(body.encode(), query) == expected


@pytest.mark.parametrize(
    "body",
    [b"Action=GetUser&Name=\xff", ("a=1&" * MAX_FIELDS).encode()],
    ids=["not utf-8", "too many fields"],
)
def test_malformed(body: bytes) -> None:
    with pytest.raises(AwsError) as caught:
        decode_form(body, "")
    assert caught.value.code == "MalformedQueryString"

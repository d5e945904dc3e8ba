"""The one parser of S3 tag sets (monban.services.s3.tags): stored form and condition keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monban.services.s3 import tags

CHARACTERS = st.characters(categories=("L", "N", "Zs")) | st.sampled_from("_.:/=+-@")
KEYS = st.text(CHARACTERS, min_size=1, max_size=8)


@given(st.lists(st.tuples(KEYS, st.text(max_size=8)), max_size=10))
def test_the_stored_form_keeps_the_pairs_in_order(pairs: list[tuple[str, str]]) -> None:
    assert tags.load(tags.dump(tuple(pairs))) == tuple(pairs)


def test_request_and_existing_keys() -> None:
    pairs = (("team", "blue"), ("env", ""))
    assert tags.request_keys(pairs) == {
        "s3:RequestObjectTag/team": "blue",
        "s3:RequestObjectTag/env": "",
        "s3:RequestObjectTagKeys": ["team", "env"],
    }
    assert tags.request_keys(()) == {}
    assert tags.existing_keys(pairs) == {"s3:ExistingObjectTag/team": "blue", "s3:ExistingObjectTag/env": ""}


def test_keys_that_differ_in_case_share_one_condition_key() -> None:
    both = (("Team", "red"), ("team", "blue"))
    assert tags.existing_keys(both) == {"s3:ExistingObjectTag/team": ["red", "blue"]}

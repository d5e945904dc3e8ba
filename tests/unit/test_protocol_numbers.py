"""``monban.protocol.numbers``: the one integer grammar of the wire, ``-?[0-9]+`` in ASCII."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.policy.conditions.numeric import parse_number
from monban.protocol.numbers import NotAnInteger, OutOfRange, in_range, parse_integer

_GRAMMAR = re.compile(r"-?[0-9]+")


@given(st.text())
def test_exactly_the_grammar_is_a_number(text: str) -> None:
    """Anything int() takes but the grammar does not (``1_0``, `` 1``, ``+1``, ``٣``) is refused."""
    if _GRAMMAR.fullmatch(text):
        assert parse_integer(text) == int(text)
    else:
        with pytest.raises(NotAnInteger):
            parse_integer(text)


@given(st.integers(-(10**30), 10**30), st.integers(0, 5))
def test_every_integer_reads_back_and_agrees_with_the_policy_engine(value: int, zeros: int) -> None:
    """What a handler reads, the numeric condition operators read the same (so str(value) in the
    policy context decides as the request's own spelling would)."""
    text = ("-" if value < 0 else "") + "0" * zeros + str(abs(value))
    assert parse_integer(text) == value == parse_number(text)


@pytest.mark.parametrize("text", ["1_000", " 1", "1 ", "+1", "²", "٣٦٠٠", "１", "0x1", "1e3", "", "-", "--1"])
def test_what_int_would_take(text: str) -> None:
    with pytest.raises(NotAnInteger):
        parse_integer(text)


def test_ranges_and_huge_numbers() -> None:
    assert in_range("0010", 1, 10) == 10
    with pytest.raises(OutOfRange):
        in_range("11", 1, 10)
    with pytest.raises(OutOfRange):
        in_range("9" * 5000, 0, 2**63)  # no int() digit-limit ValueError: out of range
    assert parse_integer("-" + "9" * 5000) < -(10**39)

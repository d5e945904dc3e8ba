"""Request addresses as integers: ``parse_address`` reads what ``ipaddress.ip_address`` reads, and
compiled networks are ``(network, netmask)`` integers."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monban.policy.conditions.ip import canonical_address, compile_matcher, parse_address
from monban.policy.context import RequestContext

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def reference(text: str) -> tuple[int, int] | None:
    """``ipaddress``'s reading, an IPv4-mapped IPv6 address being the IPv4 address it carries."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return 4, int(address.ipv4_mapped)
    return address.version, int(address)


@pytest.mark.parametrize(
    "text",
    [
        "192.0.2.10",
        "0.0.0.0",
        "255.255.255.255",
        "256.0.0.1",
        "01.2.3.4",  # leading zero: ipaddress refuses it
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.4 ",
        "+1.2.3.4",
        "1..3.4",
        "１.2.3.4",  # a full-width digit
        "::1",
        "2001:DB8::ff",
        "::ffff:192.0.2.1",  # IPv4-mapped: the IPv4 address 192.0.2.1
        "::FFFF:c000:201",  # the same, in hexadecimal
        "::192.0.2.1",  # IPv4-compatible (deprecated): an IPv6 address
        "fe80::1%eth0",
        "10.0.0.0/8",
        "",
        "garbage",
    ],
)
def test_table(text: str) -> None:
    assert parse_address(text) == reference(text)


OCTET = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["", "00", "01", "+1", "-1", " 1", "1a"]))


@given(st.lists(OCTET, min_size=3, max_size=5).map(".".join))
def test_dotted_quads_agree_with_ipaddress(text: str) -> None:
    assert parse_address(text) == reference(text)


@given(st.ip_addresses())
def test_every_address_reads_as_ipaddress_does(address: Address) -> None:
    assert parse_address(str(address)) == reference(str(address))
    assert parse_address(address.exploded) == reference(str(address))


def test_a_mapped_address_is_its_ipv4_address() -> None:
    assert parse_address("::ffff:203.0.113.5") == parse_address("203.0.113.5") == (4, 0xCB007105)
    assert parse_address("0:0:0:0:0:ffff:cb00:7105") == (4, 0xCB007105)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("::FFFF:cb00:7105", "203.0.113.5"),
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8::1", "2001:db8::1"),
        ("::203.0.113.5", "::203.0.113.5"),
        ("::ffff:garbage", "::ffff:garbage"),
        ("garbage", "garbage"),
    ],
)
def test_canonical_address(text: str, canonical: str) -> None:
    assert canonical_address(text) == canonical


def test_mapped_blocks_are_ipv4_blocks() -> None:
    matcher = compile_matcher("Address", ("::ffff:10.0.0.0/104", "::ffff:192.0.2.7", "::/0"), None)
    assert matcher.v4 == ((10 << 24, 0xFF000000), ((192 << 24) | (2 << 8) | 7, 0xFFFFFFFF))
    assert matcher.v6 == ((0, 0),)


def test_networks_are_collapsed_integers() -> None:
    matcher = compile_matcher("Address", ("10.0.0.0/9", "10.128.0.0/9", "192.0.2.7", "2001:db8::/32"), None)
    assert matcher.v4 == ((10 << 24, 0xFF000000), ((192 << 24) | (2 << 8) | 7, 0xFFFFFFFF))
    assert matcher.v6 == ((0x20010DB8 << 96, ((1 << 32) - 1) << 96),)


def test_request_address_is_parsed_once_per_context() -> None:
    matcher = compile_matcher("Address", ("10.0.0.0/8",), None)
    ctx = RequestContext({"aws:SourceIp": "10.1.2.3"})
    assert matcher.match("10.1.2.3", ctx) is True
    assert ctx.parsed(parse_address, "10.1.2.3") == (4, (10 << 24) | (1 << 16) | (2 << 8) | 3)
    assert matcher.match("bad", ctx) is None
    assert matcher.match("bad", ctx) is None

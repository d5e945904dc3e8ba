"""IpAddress / NotIpAddress: CIDR v4 and v6, bare addresses, bad values."""

from __future__ import annotations

import pytest

from monban.policy.conditions import compile_condition
from monban.policy.context import ContextValue, RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.model import ConditionClause

V2012 = "2012-10-17"
NETS = ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7")


def holds(operator: str, values: tuple[str, ...], request: ContextValue) -> bool:
    ctx = RequestContext({"aws:SourceIp": request})
    return compile_condition(ConditionClause(operator, "aws:SourceIp", values), V2012).holds(ctx)


@pytest.mark.parametrize(
    ("operator", "request_value", "expected"),
    [
        ("IpAddress", "10.1.2.3", True),
        ("IpAddress", "11.0.0.1", False),
        ("IpAddress", "2001:db8::1", True),
        ("IpAddress", "2001:DB8:0:0::ff", True),
        ("IpAddress", "2001:db9::1", False),
        ("IpAddress", "192.0.2.7", True),
        ("IpAddress", "192.0.2.8", False),
        ("IpAddress", "garbage", False),
        ("IpAddress", "10.0.0.0/8", False),
        ("IpAddress", None, False),
        ("NotIpAddress", "11.0.0.1", True),
        ("NotIpAddress", "10.1.2.3", False),
        ("NotIpAddress", "2001:db9::1", True),
        ("NotIpAddress", "garbage", False),
        ("NotIpAddress", None, True),
        ("IpAddressIfExists", None, True),
        ("NotIpAddressIfExists", "10.9.9.9", False),
    ],
)
def test_table(operator: str, request_value: ContextValue, expected: bool) -> None:
    assert holds(operator, NETS, request_value) is expected


def test_host_bits_are_ignored() -> None:
    assert holds("IpAddress", ("10.1.2.3/8",), "10.200.0.1")


def test_version_mismatch() -> None:
    assert not holds("IpAddress", ("10.0.0.0/8",), "::1")
    assert holds("NotIpAddress", ("10.0.0.0/8",), "::1")
    assert not holds("IpAddress", ("::/0",), "10.0.0.1")


@pytest.mark.parametrize(
    ("operator", "policy", "request_value", "expected"),
    [
        # an IPv4-mapped source is its IPv4 address (a dual-stack listener's IPv4 client)
        ("IpAddress", "203.0.113.0/24", "::ffff:203.0.113.5", True),
        ("IpAddress", "203.0.113.0/24", "::ffff:198.51.100.5", False),
        ("NotIpAddress", "203.0.113.0/24", "::ffff:203.0.113.5", False),
        ("NotIpAddress", "203.0.113.0/24", "::ffff:198.51.100.5", True),
        ("IpAddress", "203.0.113.5", "0:0:0:0:0:ffff:cb00:7105", True),
        # and the converse: a block written in mapped form holds the IPv4 addresses it maps
        ("IpAddress", "::ffff:203.0.113.0/120", "203.0.113.5", True),
        ("IpAddress", "::ffff:203.0.113.0/120", "198.51.100.5", False),
        ("NotIpAddress", "::ffff:203.0.113.0/120", "203.0.113.5", False),
        ("IpAddress", "::ffff:0:0/96", "198.51.100.5", True),
        ("IpAddress", "::ffff:0:0/96", "::ffff:198.51.100.5", True),
        ("IpAddress", "::ffff:0:0/96", "2001:db8::1", False),
        # an IPv6 block that is not inside ::ffff:0:0/96 holds no IPv4 address, in either spelling
        ("IpAddress", "::/0", "::ffff:203.0.113.5", False),
        ("NotIpAddress", "::/0", "::ffff:203.0.113.5", True),
        ("IpAddress", "::/0", "2001:db8::1", True),
    ],
)
def test_ipv4_mapped_addresses(operator: str, policy: str, request_value: str, expected: bool) -> None:
    assert holds(operator, (policy,), request_value) is expected


def test_bare_ipv6_is_a_single_host() -> None:
    assert holds("IpAddress", ("2001:db8::1",), "2001:db8::1")
    assert not holds("IpAddress", ("2001:db8::1",), "2001:db8::2")


@pytest.mark.parametrize("value", ["10.0.0.0/33", "garbage", "", "10.0.0.256", "2001:db8::/129"])
def test_bad_policy_value_is_malformed(value: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        compile_condition(ConditionClause("IpAddress", "aws:SourceIp", ("10.0.0.0/8", value)), V2012)
    assert caught.value.message == "Syntax errors in policy."

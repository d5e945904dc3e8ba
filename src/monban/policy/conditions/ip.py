"""IP address condition operators (IAM User Guide, "Condition operators: IP address condition
operators").

``IpAddress`` / ``NotIpAddress`` test a request address (``aws:SourceIp``) against CIDR blocks
(RFC 4632), IPv4 or IPv6; a bare address is a /32 or /128 block and host bits after the prefix are
ignored (``10.0.0.1/8`` is ``10.0.0.0/8``). Networks are parsed once, merged per IP version and
kept as ``(network, mask)`` integers, so a test is one ``&`` and one ``==``. A policy value that
is not an address or a block is a MalformedPolicyDocument; a request value that is not an address
matches nothing (false for NotIpAddress too). Policy variables are not substituted.

Request addresses are read with :mod:`ipaddress`'s grammar. A dotted quad is read by table lookup
(the 256 octet spellings ``ipaddress`` accepts: no sign, no leading zero); anything else goes to
``ipaddress.ip_address``. Each request value is parsed once per request context.

An IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2, ``::ffff:203.0.113.5``) is the IPv4 address
it carries, on both sides: a dual-stack listener reports an IPv4 client that way, and AWS, which
sees that client's IPv4 address, tests it against the IPv4 blocks. So a mapped request address is
read as IPv4, and a block written inside ``::ffff:0:0/96`` (``::ffff:10.0.0.0/104``) is the IPv4
block it maps (``10.0.0.0/8``). Other IPv6 blocks, ``::/0`` included, hold no IPv4 address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from monban.policy.conditions.base import invalid_value
from monban.policy.context import RequestContext

__all__ = ["IpMatcher", "canonical_address", "compile_matcher", "parse_address"]

Network = tuple[int, int]
"""``(network address, netmask)`` as integers: ``address & netmask == network`` tests membership."""

_OCTETS = MappingProxyType({str(octet): octet for octet in range(256)})
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def parse_address(text: str) -> tuple[int, int] | None:
    """``(IP version, address as an integer)``, or None when ``text`` is not an address."""
    octets = text.split(".")
    if len(octets) == 4:
        a, b, c, d = map(_OCTETS.get, octets)
        if a is not None and b is not None and c is not None and d is not None:
            return 4, a << 24 | b << 16 | c << 8 | d
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return 4, int(address.ipv4_mapped)
    return address.version, int(address)


def canonical_address(text: str) -> str:
    """``text`` as AWS would report it in ``aws:SourceIp``: an IPv4-mapped IPv6 address as its
    dotted quad, anything else unchanged."""
    if ":" not in text:  # not written as IPv6
        return text
    address = parse_address(text)
    if address is not None and address[0] == 4:  # IPv4, written as IPv6: mapped
        return str(ipaddress.IPv4Address(address[1]))
    return text


@dataclass(frozen=True, slots=True)
class IpMatcher:
    """Collapsed IPv4 and IPv6 networks from the policy, as :data:`Network` integers."""

    v4: tuple[Network, ...]
    v6: tuple[Network, ...]

    def match(self, value: str, ctx: RequestContext) -> bool | None:
        """Is the request address inside one of the networks? None if it is not an address."""
        address = ctx.parsed(parse_address, value)
        if address is None:
            return None
        version, number = address
        networks = self.v4 if version == 4 else self.v6
        for network, netmask in networks:  # noqa: SIM110 - a plain loop is faster than any(<genexpr>)
            if number & netmask == network:
                return True
        return False


def _integers(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> tuple[Network, ...]:
    return tuple((int(network.network_address), int(network.netmask)) for network in networks)


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> IpMatcher:
    """Compile ``IpAddress``'s policy values (``comparison`` is "Address"; no variables)."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise invalid_value() from None
        if isinstance(network, ipaddress.IPv4Network):
            v4.append(network)
        elif network.subnet_of(_MAPPED):  # ::ffff:a.b.c.d/96+n is the IPv4 block a.b.c.d/n
            v4.append(
                ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96))
            )
        else:
            v6.append(network)
    collapse = ipaddress.collapse_addresses  # merges overlapping and adjacent blocks
    return IpMatcher(_integers(collapse(v4)), _integers(collapse(v6)))

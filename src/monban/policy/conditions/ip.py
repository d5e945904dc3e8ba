"""IP address condition operators (IAM User Guide, "Condition operators: IP address condition
operators").

``IpAddress`` / ``NotIpAddress`` test a request address (``aws:SourceIp``) against CIDR blocks
(RFC 4632), IPv4 or IPv6; a bare address is a /32 or /128 block and host bits after the prefix are
ignored (``10.0.0.1/8`` is ``10.0.0.0/8``). Networks are parsed once and merged per IP version. A
policy value that is not an address or a block is a MalformedPolicyDocument; a request value that
is not an address matches nothing (false for NotIpAddress too). Policy variables are not
substituted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from monban.policy.conditions.base import invalid_value
from monban.policy.context import RequestContext

__all__ = ["IpMatcher", "compile_matcher"]


@dataclass(frozen=True, slots=True)
class IpMatcher:
    """Collapsed IPv4 and IPv6 networks from the policy."""

    v4: tuple[ipaddress.IPv4Network, ...]
    v6: tuple[ipaddress.IPv6Network, ...]

    def match(self, value: str, ctx: RequestContext) -> bool | None:
        """Is the request address inside one of the networks? None if it is not an address."""
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv4Address):
            return any(address in network for network in self.v4)
        return any(address in network for network in self.v6)


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
        else:
            v6.append(network)
    return IpMatcher(tuple(ipaddress.collapse_addresses(v4)), tuple(ipaddress.collapse_addresses(v6)))

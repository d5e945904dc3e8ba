"""The BinaryEquals condition operator (IAM User Guide, "Condition operators: Binary condition
operators").

``BinaryEquals`` compares bytes: the policy value is base64 text and so is the request value; both
are decoded (strict RFC 4648 alphabet and padding) and compared. A policy value that is not valid
base64 is a MalformedPolicyDocument; such a request value matches nothing. There is no negated
form.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from monban.policy.conditions.base import invalid_value
from monban.policy.context import RequestContext

__all__ = ["BinaryMatcher", "compile_matcher", "decode_base64"]


def decode_base64(text: str) -> bytes | None:
    """The bytes ``text`` encodes, or None if it is not strict base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class BinaryMatcher:
    """The decoded policy values."""

    expected: frozenset[bytes]

    def match(self, value: str, ctx: RequestContext) -> bool | None:
        """Does the decoded request value equal one policy value? None if it is not base64."""
        decoded = decode_base64(value)
        return None if decoded is None else decoded in self.expected


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> BinaryMatcher:
    """Compile ``BinaryEquals``'s policy values (``comparison`` is "Equals"; no variables)."""
    decoded = [decode_base64(value) for value in values]
    if any(item is None for item in decoded):
        raise invalid_value()
    return BinaryMatcher(frozenset(item for item in decoded if item is not None))

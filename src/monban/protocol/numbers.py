"""The one parser of whole numbers on the wire, shared by every handler and the policy context.

Python's ``int()`` takes ``1_000``, `` 1000``, ``+1000`` and non-ASCII digits (``٣``, and
``str.isdigit`` even ``²``, which ``int`` then refuses); AWS's front ends and monban's policy engine
take none of them. A number that one side reads and the other does not is how a
``NumericGreaterThan s3:max-keys`` Deny was skipped. So every integer a request carries — S3 query
parameters, headers and XML elements, IAM and STS Query parameters — is read here: an optional
``-`` then ASCII digits only, and the value a handler acts on is the value the condition keys see.
Each caller words the failure as its service does (S3 ``InvalidArgument``, IAM/STS
``ValidationError``).
"""

from __future__ import annotations

import re

__all__ = ["NotAnInteger", "OutOfRange", "in_range", "parse_integer"]

_INTEGER = re.compile(r"-?[0-9]+")
_MAX_DIGITS = 40  # beyond every range on the wire; keeps ``int`` far from its digit limit


class NotAnInteger(ValueError):
    """Text that is not ``-?[0-9]+``."""


class OutOfRange(ValueError):
    """A well-formed integer outside the range the caller allows."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


def parse_integer(text: str) -> int:
    """``-?[0-9]+`` (ASCII only) as an int; NotAnInteger otherwise.

    A number of more than ``_MAX_DIGITS`` significant digits reads as ±10**_MAX_DIGITS: larger
    than any range it will be checked against, so it fails as out of range, as AWS answers.
    """
    if _INTEGER.fullmatch(text) is None:
        raise NotAnInteger(text)
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if len(digits.lstrip("0")) > _MAX_DIGITS:
        big: int = 10**_MAX_DIGITS
        return -big if negative else big
    return int(text)


def in_range(text: str, low: int, high: int) -> int:
    """``parse_integer(text)`` when it lies in ``low..high``; OutOfRange otherwise."""
    value = parse_integer(text)
    if not low <= value <= high:
        raise OutOfRange(value)
    return value

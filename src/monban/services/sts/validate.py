"""STS parameter constraints, worded as AWS words them.

The constraints are those of botocore's ``sts`` service model (``service-2.json``): lengths,
patterns, value ranges, list sizes. AWS checks every member and reports them together:
"1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member
must have length greater than or equal to 2", or "2 validation errors detected: …; …". Where a
member fails both its pattern and its length, the pattern is reported first (observed).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from monban.protocol.errors import AwsError
from monban.protocol.numbers import NotAnInteger, parse_integer


@dataclass(frozen=True, slots=True)
class Pattern:
    """A member's pattern: the check, and its text as the model (and AWS's message) spells it."""

    regex: re.Pattern[str]
    text: str

    def matches(self, value: str) -> bool:
        return bool(self.regex.match(value))


ARN = Pattern(
    re.compile(r"^[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+$"),
    "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+",
)
SESSION_NAME = Pattern(re.compile(r"^[\w+=,.@-]*$", re.ASCII), "[\\w+=,.@-]*")
EXTERNAL_ID = Pattern(re.compile(r"^[\w+=,.@:/-]*$", re.ASCII), "[\\w+=,.@:\\/-]*")
SERIAL_NUMBER = Pattern(re.compile(r"^[\w+=/:,.@-]*$", re.ASCII), "[\\w+=/:,.@-]*")
TOKEN_CODE = Pattern(re.compile(r"^\d*$", re.ASCII), "[\\d]*")
SESSION_POLICY = Pattern(re.compile(r"^[\t\n\r\x20-\xff]+$"), "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
ACCESS_KEY_ID = Pattern(re.compile(r"^\w*$", re.ASCII), "[\\w]*")
TAG_KEY_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
TAG_VALUE_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"


def tag_text_ok(text: str) -> bool:
    """``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``: letters, separators (spaces), numbers and ``_.:/=+-@``."""
    for char in text:
        if char in "_.:/=+-@":
            continue
        if unicodedata.category(char)[0] not in "LZN":
            return False
    return True


@dataclass
class Violations:
    """The failed constraints of one request, reported together as AWS does."""

    items: list[str] = field(default_factory=list)

    def add(self, value: object, member: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        failed = f"Value {shown} at '{member}' failed to satisfy constraint"
        self.items.append(f"{failed}: Member must {constraint}")

    def pattern(self, value: str, member: str, pattern_text: str) -> None:
        self.add(value, member, f"satisfy regular expression pattern: {pattern_text}")

    def text(
        self,
        value: str | None,
        member: str,
        *,
        low: int,
        high: int | None = None,
        pattern: Pattern | None = None,
    ) -> None:
        """A string member: pattern, then minimum and maximum length."""
        if value is None:
            return
        if pattern is not None and not pattern.matches(value):
            self.pattern(value, member, pattern.text)
        if len(value) < low:
            self.add(value, member, f"have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            self.add(value, member, f"have length less than or equal to {high}")

    def number(self, value: int | None, member: str, low: int, high: int) -> None:
        if value is None:
            return
        if value < low:
            self.add(value, member, f"have value greater than or equal to {low}")
        if value > high:
            self.add(value, member, f"have value less than or equal to {high}")

    def required(self, value: object, member: str) -> None:
        if value is None:
            self.add(None, member, "not be null")

    def raise_any(self) -> None:
        """ValidationError with every failure, or nothing when the request is valid."""
        if not self.items:
            return
        count = len(self.items)
        noun = "validation error" if count == 1 else "validation errors"
        raise AwsError("ValidationError", f"{count} {noun} detected: " + "; ".join(self.items))


def integer(raw: str | None, member: str) -> int | None:
    """An integer parameter; text that is not a number is AWS's wording for a bad type."""
    if raw is None or raw == "":
        return None
    try:
        return parse_integer(raw)
    except NotAnInteger as exc:
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value '{raw}' at '{member}' failed to satisfy constraint: "
            "Member must be a number",
        ) from exc


def mfa_fields(checks: Violations, serial: str | None, code: str | None) -> None:
    """SerialNumber 9–256 ``[\\w+=/:,.@-]*``; TokenCode exactly 6 digits."""
    checks.text(serial, "serialNumber", low=9, high=256, pattern=SERIAL_NUMBER)
    checks.text(code, "tokenCode", low=6, high=6, pattern=TOKEN_CODE)

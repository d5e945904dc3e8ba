"""Date condition operators (IAM User Guide, "Condition operators: Date condition operators").

``DateEquals``, ``DateNotEquals``, ``DateLessThan``, ``DateLessThanEquals``, ``DateGreaterThan``,
``DateGreaterThanEquals`` compare instants. A value is either epoch seconds (an integer 0…2^63-1)
or an ISO-8601-style date-time (``W3C NOTE-datetime``), told apart as IAM does: text containing
``T`` or ``-`` (any case) is a date-time. The grammar is IAM's write-time "legacy parsing" check
(as observed by moto's conformance tests, and as ``monban.policy.parse`` validates it), so every
stored policy compiles:

- ``[-]YYYY[-MM[-DD]]``, year −292275054…292278993, month 1–12, day 1–31 (an out-of-range day
  rolls over: Feb 31 is early March);
- optionally ``T`` and ``[hh][:mm[:ss[.fraction]]]`` (fraction at most 999999999; an empty hour
  is 0);
- a zone only after the seconds: ``Z``, ``±hh`` or ``±hh:mm``;
- each number may carry a ``+`` sign (IAM reads the fields as integers).

A date without a zone is UTC. Instants are int nanoseconds since the epoch, so any year compares
exactly. A policy value that does not parse is MalformedPolicyDocument "The policy failed legacy
parsing"; a request value that does not parse matches nothing (false for DateNotEquals too).
"""

from __future__ import annotations

from monban.policy.conditions.base import LEGACY_PARSING, ComparisonMatcher, compile_comparison

__all__ = ["compile_matcher", "parse_date"]

_SECOND = 1_000_000_000
_DAY = 86_400 * _SECOND
_MAX_EPOCH = 2**63 - 1
_MIN_YEAR, _MAX_YEAR = -292_275_054, 292_278_993


def parse_date(text: str) -> int | None:
    """Nanoseconds since 1970-01-01T00:00:00Z for an IAM date value, else None."""
    lowered = text.lower()
    if "t" in lowered or "-" in lowered:
        return _parse_datetime(lowered)
    seconds = _int(text, 0, _MAX_EPOCH)
    return None if seconds is None else seconds * _SECOND


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> ComparisonMatcher:
    """Compile ``Date<comparison>``'s policy values (``version`` is unused: no variables)."""
    return compile_comparison(comparison, values, parse_date, LEGACY_PARSING)


def _int(text: str, low: int, high: int) -> int | None:
    """``text`` as an optionally signed decimal (ASCII digits) within [low, high], else None."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not (digits.isascii() and digits.isdigit()) or len(digits.lstrip("0")) > 20:
        return None
    number = int(text)
    return number if low <= number <= high else None


def _parse_datetime(text: str) -> int | None:
    """``[-]YYYY[-MM[-DD]][t<clock>]`` (already lower-cased)."""
    date_text, _, clock_text = text.partition("t")
    days = _days(date_text)
    clock = _clock(clock_text)
    if days is None or clock is None:
        return None
    return days * _DAY + clock


def _days(text: str) -> int | None:
    """Days since the epoch for ``[-]YYYY[-MM[-DD]]``."""
    negative = text.startswith("-")
    fields = (text[1:] if negative else text).split("-")
    if len(fields) > 3:
        return None
    year = _int(fields[0], 0, -_MIN_YEAR if negative else _MAX_YEAR)
    month = _int(fields[1], 1, 12) if len(fields) > 1 else 1
    day = _int(fields[2], 1, 31) if len(fields) > 2 else 1
    if year is None or month is None or day is None:
        return None
    return _days_from_civil(-year if negative else year, month, day)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's algorithm), any year."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _clock(text: str) -> int | None:
    """Nanoseconds into the (UTC) day for ``[hh][:mm[:ss[.f][z|±hh[:mm]]]]``; 0 for empty text.

    As in IAM's grammar, a zone may only follow the seconds field and an empty hour is 0.
    """
    fields = text.split(":", 2)
    hour = _int(fields[0], 0, 23) if fields[0] else 0
    minute = _int(fields[1], 0, 59) if len(fields) > 1 else 0
    seconds = _seconds(fields[2]) if len(fields) > 2 else 0
    if hour is None or minute is None or seconds is None:
        return None
    return (hour * 60 + minute) * 60 * _SECOND + seconds


def _seconds(field: str) -> int | None:
    """Nanoseconds for ``ss[.fraction]`` minus the zone offset (``z``, ``±hh`` or ``±hh:mm``)."""
    offset: int | None = 0
    if "z" in field:
        field, _, rest = field.partition("z")
        offset = None if rest else 0
    elif "+" in field or "-" in field:
        sign = "+" if "+" in field else "-"
        field, _, zone = field.partition(sign)
        offset = _zone(zone)
        if offset is not None and sign == "-":
            offset = -offset
    whole, dot, fraction = field.partition(".")
    second = _int(whole, 0, 59)
    nanos = _int(fraction, 0, 999_999_999) if dot else 0
    if offset is None or second is None or nanos is None:
        return None
    if dot:
        nanos = int(fraction.lstrip("+-")[:9].ljust(9, "0"))
    return second * _SECOND + nanos - offset


def _zone(text: str) -> int | None:
    """Offset in nanoseconds for ``hh`` or ``hh:mm`` (two characters each)."""
    hours, colon, minutes = text.partition(":")
    if len(hours) != 2 or (colon and len(minutes) != 2):
        return None
    hour = _int(hours, 0, 23)
    minute = _int(minutes, 0, 59) if colon else 0
    if hour is None or minute is None:
        return None
    return (hour * 60 + minute) * 60 * _SECOND

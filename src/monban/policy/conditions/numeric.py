"""Numeric condition operators (IAM User Guide, "Condition operators: Numeric condition operators").

``NumericEquals``, ``NumericNotEquals``, ``NumericLessThan``, ``NumericLessThanEquals``,
``NumericGreaterThan``, ``NumericGreaterThanEquals``. Values are integers or decimals (JSON number
syntax: optional sign, digits, optional fraction and exponent); a policy value that is not a number
is a MalformedPolicyDocument, a request value that is not one makes the value match nothing (the
condition is then false for the negated form too). Comparison is exact between integers and
floats. Policy variables are not substituted in numeric values.
"""

from __future__ import annotations

import math
import re

from monban.policy.conditions.base import (
    SYNTAX_ERRORS,
    ComparisonMatcher,
    Number,
    compile_comparison,
)

__all__ = ["compile_matcher", "parse_number"]

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str) -> Number | None:
    """An int for integer text, a finite float for decimal text, else None."""
    if _NUMBER.fullmatch(text) is None:
        return None
    if "." in text or "e" in text or "E" in text:
        number = float(text)
        return number if math.isfinite(number) else None
    try:
        return int(text)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return None


def compile_matcher(comparison: str, values: tuple[str, ...], version: str | None) -> ComparisonMatcher:
    """Compile ``Numeric<comparison>``'s policy values (``version`` is unused: no variables)."""
    return compile_comparison(comparison, values, parse_number, SYNTAX_ERRORS)

"""Condition operator names (IAM User Guide, "IAM JSON policy elements: Condition operators").

Shared by validation (an unknown operator is a MalformedPolicyDocument) and by the condition
evaluators. An operator name is ``[ForAllValues:|ForAnyValue:]<Base>[IfExists]``; ``Null`` takes no
IfExists. Names are matched case-sensitively, as IAM does.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_OPERATORS: frozenset[str] = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
)

SET_QUALIFIERS: frozenset[str] = frozenset({"ForAllValues", "ForAnyValue"})


@dataclass(frozen=True, slots=True)
class OperatorName:
    """A parsed operator name: ``qualifier`` is None, "ForAllValues" or "ForAnyValue"."""

    qualifier: str | None
    base: str
    if_exists: bool


def parse_operator(name: str) -> OperatorName | None:
    """Split an operator name into its parts; None when IAM would not know it."""
    qualifier: str | None = None
    rest = name
    if ":" in name:
        qualifier, _, rest = name.partition(":")
        if qualifier not in SET_QUALIFIERS:
            return None
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base not in BASE_OPERATORS or (if_exists and base == "Null"):
        return None
    return OperatorName(qualifier, base, if_exists)

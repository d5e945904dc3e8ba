"""The one table from base operator name to its evaluator (IAM User Guide, "Condition operators").

Each entry names the family's matcher factory, the positive comparison it compiles and whether the
operator is negated. Negated operators (StringNot…, NumericNotEquals, DateNotEquals, NotIpAddress,
ArnNot…) share their positive twin's matcher; the compiled condition applies NOR. ``ArnEquals`` is
``ArnLike`` (the User Guide gives both the same semantics). ``Null`` is not here: it tests
presence, not values (``monban.policy.conditions.null``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from monban.policy.conditions import arn, binary, boolean, date, ip, numeric, string
from monban.policy.conditions.base import MatcherFactory

__all__ = ["OPERATORS", "OperatorSpec"]


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """How to compile one base operator."""

    factory: MatcherFactory
    comparison: str
    negated: bool


def _family(
    prefix: str, factory: MatcherFactory, comparisons: dict[str, str], negated: dict[str, str]
) -> dict[str, OperatorSpec]:
    """Entries ``prefix + name`` for each positive comparison and each negated alias."""
    table = {
        prefix + name: OperatorSpec(factory, comparison, False) for name, comparison in comparisons.items()
    }
    for name, comparison in negated.items():
        table[prefix + name] = OperatorSpec(factory, comparison, True)
    return table


_ORDERED = {
    "Equals": "Equals",
    "LessThan": "LessThan",
    "LessThanEquals": "LessThanEquals",
    "GreaterThan": "GreaterThan",
    "GreaterThanEquals": "GreaterThanEquals",
}

OPERATORS: MappingProxyType[str, OperatorSpec] = MappingProxyType(
    {
        **_family(
            "String",
            string.compile_matcher,
            {"Equals": "Equals", "EqualsIgnoreCase": "EqualsIgnoreCase", "Like": "Like"},
            {"NotEquals": "Equals", "NotEqualsIgnoreCase": "EqualsIgnoreCase", "NotLike": "Like"},
        ),
        **_family("Numeric", numeric.compile_matcher, _ORDERED, {"NotEquals": "Equals"}),
        **_family("Date", date.compile_matcher, _ORDERED, {"NotEquals": "Equals"}),
        **_family("Bool", boolean.compile_matcher, {"": "Equals"}, {}),
        **_family("BinaryEquals", binary.compile_matcher, {"": "Equals"}, {}),
        **_family("IpAddress", ip.compile_matcher, {"": "Address"}, {}),
        **_family("NotIpAddress", ip.compile_matcher, {}, {"": "Address"}),
        **_family(
            "Arn",
            arn.compile_matcher,
            {"Equals": "Like", "Like": "Like"},
            {"NotEquals": "Like", "NotLike": "Like"},
        ),
    }
)

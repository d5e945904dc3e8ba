"""The Null condition operator (IAM User Guide, "Condition operator to check existence of
condition keys").

``"Null": {"key": "true"}`` holds when the key is absent from the request, ``"false"`` when it is
present and not null. A key present with an empty set of values counts as null (the User Guide
calls an empty set a "null dataset" for ForAllValues). Several values are ORed, as everywhere.
``NullIfExists`` does not exist; a ForAllValues:/ForAnyValue: prefix on Null is accepted by the
operator grammar and ignored here — Null only ever tests presence.
"""

from __future__ import annotations

from monban.policy.conditions.boolean import parse_bools

__all__ = ["compile_null"]


def compile_null(values: tuple[str, ...]) -> tuple[bool, bool]:
    """``(holds when absent, holds when present)``; MalformedPolicyDocument unless true/false."""
    expected = parse_bools(values)
    return True in expected, False in expected

"""The bootstrap file's basic fields: a mapping with known keys, a list, a string — each refusal a
``Problem`` naming the path of its field (shared by ``load.py`` and ``workloads.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Problem(Exception):
    """One bad field: where it is and what is wrong."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def mapping(value: Any, where: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
    """A mapping whose keys are all ``allowed`` (unknown fields are refused: a typo must not
    silently drop a permission) and holds every ``required`` one."""
    if not isinstance(value, dict):
        raise Problem(where, "must be a mapping")
    for key in value:
        if key not in allowed:
            raise Problem(f"{where}.{key}", "unknown field (expected one of " + ", ".join(allowed) + ")")
    for key in required:
        if value.get(key) is None:
            raise Problem(f"{where}.{key}", "is required")
    return value


def items(value: Any, where: str) -> list[Any]:
    """A list (absent: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Problem(where, "must be a list")
    return value


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Problem(where, "must be a string")
    return value

"""STS (Query protocol, version 2011-06-15): one table from Action name to handler."""

from __future__ import annotations

from importlib import import_module

from monban.services.query import Operation

MODULES = ("identity", "assume_role", "session_token", "decode", "web_identity", "federation")


def _merge() -> dict[str, Operation]:
    table: dict[str, Operation] = {}
    for name in MODULES:
        table.update(import_module(f"monban.services.sts.{name}").OPERATIONS)
    return table


OPERATIONS: dict[str, Operation] = _merge()

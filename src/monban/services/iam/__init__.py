"""The IAM API (Query protocol, version 2010-05-08): one table from Action name to handler.

Each module registers its operations into its own table; this package merges them.
"""

from __future__ import annotations

from importlib import import_module

from monban.services.query import Operation

MODULES = (
    "users",
    "access_keys",
    "groups",
    "roles",
    "service_linked",
    "inline_policies",
    "managed_policies",
    "policy_lists",
    "attachments",
    "tags",
    "instance_profiles",
    "oidc_providers",
    "account",
    "summary",
    "simulate",
)


def _merge() -> dict[str, Operation]:
    table: dict[str, Operation] = {}
    for name in MODULES:
        module = import_module(f"monban.services.iam.{name}")
        table.update(module.OPERATIONS)
    return table


OPERATIONS: dict[str, Operation] = _merge()

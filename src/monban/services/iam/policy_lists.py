"""ListPolicies (IAM API reference): the account's customer managed policies and the AWS managed
ones (Scope All | AWS | Local), filtered by PathPrefix, OnlyAttached and PolicyUsageFilter, by
lower-case name then ARN, one page read by key (``paging``): each source is read from its place
past the Marker in batches of ``MaxItems + 1``, merged, filtered, until the page is full.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.services.iam.common import check_enum
from monban.services.iam.managed_policies import check_policy_path, policy_shape, usage_counts
from monban.services.iam.paging import Key, after, by_path, keyed, policy_key, window
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.managed import aws_rows
from monban.store.models import ManagedPolicy

OPERATIONS: dict[str, Operation] = {}

_SCOPES = ("All", "AWS", "Local")
_USAGES = ("PermissionsPolicy", "PermissionsBoundary")
Listed = tuple[ManagedPolicy, int, int]  # a policy, its attachments and its boundary uses


@functools.cache
def _aws_sorted() -> tuple[tuple[Key, ...], tuple[ManagedPolicy, ...]]:
    rows = sorted(aws_rows(), key=policy_key)
    return tuple(policy_key(row) for row in rows), tuple(rows)


def _aws_batch(start: Key | None, prefix: str, size: int) -> list[ManagedPolicy]:
    keys, rows = _aws_sorted()
    index = 0 if start is None else bisect.bisect_right(keys, start)
    out: list[ManagedPolicy] = []
    for row in rows[index:]:
        if len(out) == size:
            break
        if row.path.startswith(prefix):
            out.append(row)
    return out


def _local_batch(
    session: Session, account: str, start: Key | None, prefix: str, size: int
) -> list[ManagedPolicy]:
    columns = [ManagedPolicy.name_lower, ManagedPolicy.arn]
    conditions = [ManagedPolicy.account_id == account, by_path(ManagedPolicy, prefix), after(columns, start)]
    query = select(ManagedPolicy).where(*(c for c in conditions if c is not None))
    return list(session.scalars(query.order_by(*columns).limit(size)))


def candidates(
    session: Session, account: str, scope: str, prefix: str, start: Key | None, size: int
) -> Iterator[list[ManagedPolicy]]:
    """The policies of the scope past ``start`` under ``prefix``, in key order, batch by batch."""
    while True:
        local = _local_batch(session, account, start, prefix, size) if scope != "AWS" else []
        aws = _aws_batch(start, prefix, size) if scope != "Local" else []
        ends = [policy_key(batch[-1]) for batch in (local, aws) if len(batch) == size]
        bound = min(ends) if ends else None  # past it, a full batch may hide smaller keys
        merged = sorted(
            (row for row in local + aws if bound is None or policy_key(row) <= bound), key=policy_key
        )
        yield merged
        if bound is None:
            return
        start = bound


@register(OPERATIONS, "ListPolicies")
def list_policies(call: QueryCall) -> Result:
    """ListPolicies: Scope (All | AWS | Local), OnlyAttached, PathPrefix, PolicyUsageFilter."""
    p = call.params
    scope = check_enum(p.get("Scope"), "scope", _SCOPES) or "All"
    usage = check_enum(p.get("PolicyUsageFilter"), "policyUsageFilter", _USAGES)
    prefix = check_policy_path(p.get("PathPrefix"), "pathPrefix") if p.get("PathPrefix") else "/"
    only_attached = p.boolean("OnlyAttached")
    call.authorize("iam:ListPolicies", "*")
    chosen = window(p, 2)
    account = call.caller.account
    found: list[Listed] = []
    with call.read() as session:
        for batch in candidates(session, account, scope, prefix, chosen.after, chosen.size + 1):
            attached, bounded = usage_counts(session, account, [row.arn for row in batch])
            for policy in batch:
                used, bound = attached.get(policy.arn, 0), bounded.get(policy.arn, 0)
                if _shown(used, bound, only_attached, usage):
                    found.append((policy, used, bound))
            if len(found) > chosen.size:
                break
    return keyed(chosen, found[: chosen.size + 1], lambda item: policy_key(item[0]), _render, "Policies")


def _shown(used: int, bound: int, only_attached: bool | None, usage: str | None) -> bool:
    if only_attached and not used:
        return False
    return not ((usage == "PermissionsPolicy" and not used) or (usage == "PermissionsBoundary" and not bound))


def _render(item: Listed) -> dict[str, Any]:
    return policy_shape(item[0], item[1], item[2], full=False)

"""AWS managed policies as the IAM handlers see them: present in every account, owned by the
pseudo-account ``aws``, never rows of the database (they belong to no account and cannot be
changed), read from the packaged catalogue (``monban.aws_managed``) when first named.
"""

from __future__ import annotations

import functools

from monban.aws_managed import AwsPolicy, aws_document, aws_policy, catalogue, history, is_aws_arn
from monban.store.models import ManagedPolicy, PolicyVersion

__all__ = [
    "AWS_ACCOUNT",
    "as_row",
    "aws_document",
    "aws_policy",
    "aws_rows",
    "catalogue",
    "is_aws_arn",
    "version_rows",
]

AWS_ACCOUNT = "aws"


def as_row(policy: AwsPolicy) -> ManagedPolicy:
    """A detached (never added to a session) row for the shapes the IAM handlers render."""
    return ManagedPolicy(
        id=policy.policy_id, account_id=AWS_ACCOUNT, name=policy.name, name_lower=policy.name.lower(),
        path=policy.path, arn=policy.arn, description=None, default_version_id=policy.default_version_id,
        next_version=0, created_at=policy.created, updated_at=policy.updated,
    )  # fmt: skip


@functools.cache
def aws_rows() -> tuple[ManagedPolicy, ...]:
    """Every AWS managed policy as a detached row, made once: ListPolicies reads them on every call
    (shared and read-only: never added to a session nor changed)."""
    return tuple(as_row(policy) for policy in catalogue().policies.values())


def version_rows(policy: AwsPolicy, *, documents: bool) -> list[PolicyVersion]:
    """Detached version rows, newest first; documents read only when asked for."""
    older = history(policy) if documents else {}
    older[policy.default_version_id] = catalogue().documents[policy.arn]
    rows = []
    for version_id, created in policy.versions:
        text = older.get(version_id) if documents else None
        rows.append(
            PolicyVersion(
                policy_id=policy.policy_id, version_id=version_id, document=text, created_at=created
            )
        )
    return rows

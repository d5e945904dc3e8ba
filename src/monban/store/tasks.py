"""ECS task records: made by the bootstrap file, read by the container credentials endpoint.

A task is found by the digest of the token its containers present (``token_digest``: HMAC-SHA256
under ``KeyRing.workload_tokens``), so a lookup compares digests, never tokens. Task ids are ECS's
form: 32 lowercase hex digits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monban.store.ecs_models import ContainerTask


@dataclass(frozen=True, slots=True)
class TaskRecord:
    task_id: str
    account_id: str
    role_arn: str
    token_digest: str


def token_digest(key: bytes, token: str) -> str:
    """HMAC-SHA256 of the token under ``key``, as hex (what the table keeps)."""
    return hmac.new(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def replace_tasks(session: Session, account_id: str, tasks: Iterable[tuple[str, str]]) -> None:
    """Make the account's tasks exactly ``tasks`` ((role ARN, token digest) pairs): a task whose
    pair is already there keeps its id, the others are removed or added."""
    wanted = {digest: role_arn for role_arn, digest in tasks}
    rows = session.scalars(select(ContainerTask).where(ContainerTask.account_id == account_id))
    for row in list(rows):
        if wanted.get(row.token_digest) == row.role_arn:
            del wanted[row.token_digest]
        else:
            session.delete(row)
    session.flush()
    for digest, role_arn in wanted.items():
        session.execute(delete(ContainerTask).where(ContainerTask.token_digest == digest))
        session.add(
            ContainerTask(
                task_id=secrets.token_hex(16),
                account_id=account_id,
                role_arn=role_arn,
                token_digest=digest,
                created_at=datetime.now(UTC),
            )
        )
    session.flush()


def find_task(session: Session, digest: str) -> TaskRecord | None:
    row = session.scalar(select(ContainerTask).where(ContainerTask.token_digest == digest))
    return None if row is None else TaskRecord(row.task_id, row.account_id, row.role_arn, row.token_digest)

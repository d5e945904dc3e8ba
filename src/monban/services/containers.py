"""Container credentials: an ECS task's role for the task's containers (Amazon ECS Developer Guide,
"Amazon ECS task IAM role"; SDK reference, "Container credential provider").

A task is found by its authorization token: the SDKs send ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` as
the ``Authorization`` header to ``AWS_CONTAINER_CREDENTIALS_FULL_URI``. monban keeps only the
token's keyed digest (``store/tasks.py``) and looks the digest up: a token is never stored, nor
compared character by character. ECS assumes the task role as the service principal
``ecs-tasks.amazonaws.com``, so the role's trust policy must allow it; the session is named after
the task id. The answer is ECS's JSON: AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monban.access.state import AppState
from monban.services.sts.issue import Issued
from monban.services.sts.service_session import (
    Refused,
    ServiceRequest,
    SessionCache,
    audit_call,
    credentials_document,
    service_session,
    workload_lifetime,
)
from monban.store.tasks import TaskRecord, find_task, token_digest

log = logging.getLogger("monban")

ECS_SERVICE = "ecs-tasks.amazonaws.com"
MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True, slots=True)
class Unknown:
    """No task holds this token."""


class TaskCredentials:
    """One worker's container credentials: the set last served per task, served again until
    fewer than the lifetime's refresh margin remains."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.cache = SessionCache(workload_lifetime(state.settings.min_session_seconds))

    def credentials(self, token: str, now: int) -> dict[str, str] | Refused | Unknown:
        """The task's credentials document; Unknown for a token no task holds; Refused (and one
        log line) when the task's role cannot be assumed. Runs on a database thread."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return Unknown()
        digest = token_digest(self.state.keyring.workload_tokens, token)
        with self.state.db.transaction() as session:
            task = find_task(session, digest)
            if task is None or not hmac.compare_digest(task.token_digest, digest):
                return Unknown()
            got = self.cache.get((task.task_id, task.role_arn), now, lambda: self._issue(session, task, now))
        if isinstance(got, Refused):
            log.warning("container credentials: no credentials for task %s: %s", task.task_id, got.reason)
            return got
        return credentials_document(got, {"RoleArn": task.role_arn})

    def _issue(self, session: Session, task: TaskRecord, now: int) -> Issued | Refused:
        request = ServiceRequest(role_arn=task.role_arn, service=ECS_SERVICE, session_name=task.task_id)
        got = service_session(session, self.state.token_key(), request, self.cache.lifetime, now)
        self.state.audit(audit_call(request, got, self.cache.lifetime, self.state.settings.region))
        return got

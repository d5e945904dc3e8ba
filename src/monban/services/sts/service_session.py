"""Role sessions that an AWS service principal assumes for a workload: an EC2 instance's role
(``ec2.amazonaws.com``, through the instance metadata service) and an ECS task's role
(``ecs-tasks.amazonaws.com``, through the container credentials endpoint).

The decision is AssumeRole's: the role's trust policy, evaluated by the policy engine with the
service as principal (``service_may_assume``; a service principal has no identity policies, so
the trust policy alone decides — reference §4). The session is AssumeRole's too
(``role_session``): a sealed, stateless token. What differs is who asks and how long it lasts.

Lifetime: AWS hands instance and task credentials valid for about six hours and replaces them
well before they expire (EC2 User Guide, "Retrieve security credentials from instance metadata":
new credentials are available at least five minutes before the old ones expire); the SDKs
refresh 5 (boto3: 10 mandatory, 15 advisory) minutes ahead. monban issues 6-hour sessions and
serves the same set until fewer than 15 minutes remain. A server started with
``--min-session-seconds N`` below 900 (test setups) issues ``3N``-second sessions (at least 3 s),
replaced once fewer than ``N`` seconds remain, so that a client can be seen going through a
rotation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from monban.access.audit import AuditCall, service_assume_role
from monban.credentials.session import TokenKey
from monban.protocol.xml import utc_text
from monban.services.sts.issue import (
    Issued,
    RoleRecord,
    RoleSessionSpec,
    assumed_role_user,
    find_role,
    role_session,
    service_may_assume,
)

WORKLOAD_SECONDS = 6 * 3600
REFRESH_SECONDS = 15 * 60
AWS_FLOOR = 900


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long a workload session lasts, and how long before its end the next one is served."""

    duration: int
    refresh: int


def workload_lifetime(min_session_seconds: int) -> Lifetime:
    """AWS's six hours, replaced 15 minutes ahead; ``3N`` seconds, replaced ``N`` ahead, under a
    ``--min-session-seconds N`` below AWS's 900 s floor."""
    if min_session_seconds >= AWS_FLOOR:
        return Lifetime(WORKLOAD_SECONDS, REFRESH_SECONDS)
    n = max(1, min_session_seconds)
    return Lifetime(3 * n, n)


@dataclass(frozen=True, slots=True)
class Refused:
    """No credentials: ``reason`` is one line for the server's log."""

    reason: str


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """A service principal asking for a session of a role on a workload's behalf."""

    role_arn: str
    service: str  # ec2.amazonaws.com, ecs-tasks.amazonaws.com
    session_name: str  # the instance id, the task id
    context: tuple[tuple[str, str], ...] = ()  # condition keys the session carries
    instance_profile: bool = False


def service_session(
    session: Session, key: TokenKey, request: ServiceRequest, lifetime: Lifetime, now: int
) -> Issued | Refused:
    """A session of the role for ``request.service``, or why not (the role does not exist, or its
    trust policy does not allow the service ``sts:AssumeRole``)."""
    role = find_role(session, request.role_arn)
    if role is None:
        return Refused(f"the role {request.role_arn} does not exist")
    return issue_for_service(key, role, request, lifetime, now)


def issue_for_service(
    key: TokenKey, role: RoleRecord, request: ServiceRequest, lifetime: Lifetime, now: int
) -> Issued | Refused:
    """The trust decision, then the session (a role already looked up)."""
    decision = service_may_assume(role, request.service, datetime.fromtimestamp(now, UTC))
    if not decision.allowed:
        why = decision.reason or "no statement allows it"
        return Refused(
            f"the trust policy of {role.arn} does not let {request.service} perform sts:AssumeRole ({why})"
        )
    spec = RoleSessionSpec(
        session_name=request.session_name,
        issued_at=now,
        duration=lifetime.duration,
        instance_profile=request.instance_profile,
        context=request.context,
    )
    return role_session(key, role, spec)


def audit_call(request: ServiceRequest, got: Issued | Refused, lifetime: Lifetime, region: str) -> AuditCall:
    """The audit trail's record of a session made (or refused) for a workload: CloudTrail logs the
    service's AssumeRole, with the credentials it got (secrets hidden by the trail)."""
    if isinstance(got, Refused):
        return service_assume_role(
            request.service,
            request.role_arn,
            request.session_name,
            lifetime.duration,
            region,
            None,
            got.reason,
        )
    result = {"Credentials": got.credentials(), "AssumedRoleUser": assumed_role_user(got.claims)}
    return service_assume_role(
        request.service, request.role_arn, request.session_name, lifetime.duration, region, result
    )


class SessionCache:
    """The credentials last served per workload, served again until fewer than
    ``lifetime.refresh`` seconds remain (then ``issue`` makes the next set). Keys name everything
    the session depends on (instance, profile association, role, delivery): a change is a new key.
    Refusals are not kept: the next request decides again."""

    def __init__(self, lifetime: Lifetime, size: int = 4096) -> None:
        self.lifetime = lifetime
        self._size = size
        self._items: dict[Hashable, Issued] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: int, issue: Callable[[], Issued | Refused]) -> Issued | Refused:
        with self._lock:
            held = self._items.get(key)
        if held is not None and held.claims.expires_at - now > self.lifetime.refresh:
            return held
        fresh = issue()
        if isinstance(fresh, Issued):
            with self._lock:
                if len(self._items) >= self._size:
                    self._items.clear()  # workloads are few; a full cache only costs new sessions
                self._items[key] = fresh
        return fresh


def credentials_document(issued: Issued, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """AccessKeyId, SecretAccessKey, Token, Expiration: the fields every SDK reads from the
    instance metadata service and the container credentials endpoint."""
    claims = issued.claims
    document = dict(extra or {})
    document.update(
        {
            "AccessKeyId": claims.access_key_id,
            "SecretAccessKey": claims.secret_access_key,
            "Token": issued.token,
            "Expiration": utc_text(claims.expires_at),
        }
    )
    return document

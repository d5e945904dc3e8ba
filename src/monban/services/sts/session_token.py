"""GetSessionToken, and what its credentials may not do (reference §2).

STS API reference, GetSessionToken: DurationSeconds 900–129,600 (default 43,200); "Sessions for
AWS account owners are restricted to a maximum of 3600 seconds (one hour). If the duration is
longer than one hour, the session for AWS account owners defaults to one hour." No permission is
needed to call it, but not with session credentials. Its credentials "cannot call any IAM API
operations unless MFA authentication information is included in the request" (IAM answers
InvalidClientTokenId, observed) and "cannot call any AWS STS API except AssumeRole or
GetCallerIdentity" — :func:`check_session_token_use` enforces both for the Query front.
"""

from __future__ import annotations

from typing import Any

from monban.access.principal import Caller
from monban.credentials.session import SessionClaims
from monban.protocol.errors import AwsError
from monban.services.query import Operation, QueryCall, Result, register
from monban.services.sts.issue import issue
from monban.services.sts.session_rules import verify_mfa
from monban.services.sts.validate import Violations, integer, mfa_fields
from monban.store import iam_read

OPERATIONS: dict[str, Operation] = {}

MAX_DURATION = 129600
ROOT_MAX_DURATION = 3600
DEFAULT_DURATION = 43200
STS_ALLOWED = frozenset({"AssumeRole", "GetCallerIdentity"})
SESSION_TOKEN_KINDS = frozenset({"user", "root"})


def check_session_token_use(caller: Caller, service: str, action: str) -> None:
    """Refuse what GetSessionToken credentials may not call (the Query front calls this after
    authentication, before the handler)."""
    claims = caller.session
    if claims is not None and claims.kind == "federated":
        check_federated_use(service, action)
    if claims is None or claims.kind not in SESSION_TOKEN_KINDS:
        return
    if service == "iam" and claims.mfa_authenticated_at is None:
        raise AwsError("InvalidClientTokenId", "The security token included in the request is invalid")
    if service == "sts" and action not in STS_ALLOWED:
        raise AwsError("AccessDenied", f"Cannot call {action} with session credentials")


def check_federated_use(service: str, action: str) -> None:
    """GetFederationToken credentials: "You cannot call any IAM operations using the AWS CLI or
    the AWS API" and "any AWS STS operations except GetCallerIdentity" (STS API reference)."""
    if service == "iam" or (service == "sts" and action != "GetCallerIdentity"):
        raise AwsError("AccessDenied", f"Cannot call {action} with federated user credentials")


def _claims(call: QueryCall, duration: int, mfa_at: int | None) -> SessionClaims:
    caller = call.caller
    now = int(call.info.now.timestamp())
    common: dict[str, Any] = {
        "access_key_id": "",
        "secret_access_key": "",
        "account": caller.account,
        "issued_at": now,
        "mfa_authenticated_at": mfa_at,
        "caller_arn": caller.arn,
    }
    if caller.is_root:
        return SessionClaims(
            kind="root",
            expires_at=now + min(duration, ROOT_MAX_DURATION),
            principal_id=caller.account,
            principal_name="root",
            principal_arn=caller.arn,
            **common,
        )
    with call.read() as session:
        tags = iam_read.entity_tags(session, "user", caller.user_id or "")
    return SessionClaims(
        kind="user",
        expires_at=now + duration,
        principal_id=caller.user_id or "",
        principal_name=caller.arn.rsplit("/", 1)[-1],
        principal_arn=caller.arn,
        tags=tags,
        **common,
    )


@register(OPERATIONS, "GetSessionToken")
def get_session_token(call: QueryCall) -> Result:
    """Temporary credentials for an IAM user or the account root (no permission needed)."""
    checks = Violations()
    duration = integer(call.params.get("DurationSeconds"), "durationSeconds")
    checks.number(duration, "durationSeconds", call.state.settings.min_session_seconds, MAX_DURATION)
    serial, code = call.params.get("SerialNumber"), call.params.get("TokenCode")
    mfa_fields(checks, serial, code)
    checks.raise_any()
    caller = call.caller
    if caller.session is not None:
        raise AwsError("AccessDenied", "Cannot call GetSessionToken with session credentials")
    if not caller.is_root and caller.user_id is None:
        raise AwsError("AccessDenied", "Cannot call GetSessionToken with these credentials")
    mfa_at = verify_mfa(serial, code)
    issued = issue(call.state.token_key(), _claims(call, duration or DEFAULT_DURATION, mfa_at))
    return {"Credentials": issued.credentials()}

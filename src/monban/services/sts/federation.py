"""GetFederationToken: a federated user session of an IAM user (reference §2).

STS API reference, GetFederationToken: called with the long-term keys of an IAM user (or, not
recommended, of the account root; then at most one hour); never with session credentials
(AccessDenied). Name 2–32 of ``[\\w+=,.@-]``; DurationSeconds 900–129,600, default 43,200;
Policy / PolicyArns are session policies and Tags session tags (which need ``sts:TagSession``).
The caller needs ``sts:GetFederationToken`` on ``arn:aws:sts::<acct>:federated-user/<Name>``, with
the tags as ``aws:RequestTag/…`` and ``aws:TagKeys`` (Service Authorization Reference, STS:
GetFederationToken lists both keys).

What the session may do is the user's identity policies (and boundary) cut by the session
policies: "If you do not pass a policy to this operation, the resulting federated user session
has no permissions" (``authz`` gives such a session an empty session-policy set). It may call no
IAM operation and no STS operation but GetCallerIdentity (``check_session_token_use``). Its ARN is
``arn:aws:sts::<acct>:federated-user/<Name>``, its id ``<acct>:<Name>``.
"""

from __future__ import annotations

from typing import Any

from monban.credentials.session import SessionClaims
from monban.protocol.errors import AwsError
from monban.services.query import Operation, QueryCall, Result, register
from monban.services.sts import session_rules as rules
from monban.services.sts.assume_role import managed_session_policies, policy_arn_checks, tag_checks
from monban.services.sts.issue import issue
from monban.services.sts.validate import SESSION_NAME, SESSION_POLICY, Violations, integer

OPERATIONS: dict[str, Operation] = {}

ACTION = "sts:GetFederationToken"
MAX_DURATION = 129600
ROOT_MAX_DURATION = 3600
DEFAULT_DURATION = 43200


def federated_user_arn(account: str, name: str) -> str:
    return f"arn:aws:sts::{account}:federated-user/{name}"


def _read(call: QueryCall) -> tuple[str, int, str | None, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Name, duration, Policy, PolicyArns and Tags after the model's constraints."""
    checks, raw = Violations(), call.params.raw
    name = raw.get("Name")
    checks.required(name, "name")
    checks.text(name, "name", low=2, high=32, pattern=SESSION_NAME)
    policy = raw.get("Policy")
    if policy is not None:
        checks.text(policy, "policy", low=1, pattern=SESSION_POLICY)
    arns = policy_arn_checks(checks, call.params) if any(k.startswith("PolicyArns.") for k in raw) else ()
    tags = tag_checks(checks, call.params) if any(k.startswith("Tags.") for k in raw) else ()
    duration = integer(raw.get("DurationSeconds"), "durationSeconds")
    checks.number(duration, "durationSeconds", call.state.settings.min_session_seconds, MAX_DURATION)
    checks.raise_any()
    assert name is not None
    return name, duration or DEFAULT_DURATION, policy, arns, tags


def _claims(call: QueryCall, name: str, duration: int, **session: Any) -> SessionClaims:
    """The session of the calling user (or root, for at most an hour); ``session``: its session
    policy, policy ARNs and tags."""
    caller = call.caller
    now = int(call.info.now.timestamp())
    root = caller.is_root
    return SessionClaims(
        access_key_id="",
        secret_access_key="",
        kind="federated",
        account=caller.account,
        issued_at=now,
        expires_at=now + (min(duration, ROOT_MAX_DURATION) if root else duration),
        principal_id=caller.account if root else caller.user_id or "",
        principal_name="root" if root else caller.arn.rsplit("/", 1)[-1],
        principal_arn=caller.arn,
        session_name=name,
        caller_arn=caller.arn,
        **session,
    )


@register(OPERATIONS, "GetFederationToken")
def get_federation_token(call: QueryCall) -> Result:
    """Temporary credentials for a federated user of the calling IAM user."""
    name, duration, policy_text, arns_given, tags_given = _read(call)
    caller = call.caller
    if caller.session is not None:
        raise AwsError("AccessDenied", "Cannot call GetFederationToken with session credentials")
    if not caller.is_root and caller.user_id is None:
        raise AwsError("AccessDenied", "Cannot call GetFederationToken with these credentials")
    tags, _transitive = rules.session_tags(tags_given, (), rules.NOTHING_INHERITED)
    policy = rules.session_policy(policy_text)
    resource = federated_user_arn(caller.account, name)
    context: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in tags}
    if tags:
        context["aws:TagKeys"] = [k for k, _v in tags]
    call.authorize(ACTION, resource, extra_context=context)
    if tags:
        call.authorize("sts:TagSession", resource, extra_context=context)
    arns = managed_session_policies(call, arns_given, caller.account)
    packed = rules.packed_policy_size(policy, arns, tags)
    claims = _claims(call, name, duration, session_policy=policy, policy_arns=arns, tags=tags)
    issued = issue(call.state.token_key(), claims)
    result: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "FederatedUser": {"FederatedUserId": f"{caller.account}:{name}", "Arn": resource},
    }
    if packed is not None:
        result["PackedPolicySize"] = packed
    return result

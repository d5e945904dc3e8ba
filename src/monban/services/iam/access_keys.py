"""Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed — and the hook that records when a key was last used.

IAM API reference: without UserName, IAM "determines the user name implicitly based on the AWS
access key ID used to sign the request" (an IAM user, or the account root for its own keys).
At most two keys per user (LimitExceeded "Cannot exceed quota for AccessKeysPerUser: 2").
An Inactive key authenticates nothing (InvalidClientTokenId); the key cache of ``access.auth`` is
keyed by the IAM generation, which every write here bumps.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monban.access.principal import Caller, RequestInfo
from monban.access.state import AppState
from monban.protocol.errors import AwsError, validation_error
from monban.services.iam.common import calling_user, check_enum, check_name
from monban.services.iam.entities import authorized_user, entity_context
from monban.services.iam.paging import page
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.accounts import add_access_key
from monban.store.db import DatabaseUnavailable
from monban.store.models import AccessKey, User

log = logging.getLogger("monban")

OPERATIONS: dict[str, Operation] = {}

MAX_KEYS = 2
STATUSES = ("Active", "Inactive", "Expired")
KEY_ID = re.compile(r"^\w+$", re.ASCII)
LAST_USED_INTERVAL = 60.0  # seconds: at most one write per key per minute (and per worker)


def check_access_key_id(value: str) -> str:
    """accessKeyIdType: 16–128 characters of ``[\\w]``."""
    if len(value) < 16:
        raise validation_error(value, "accessKeyId", "have length greater than or equal to 16")
    if len(value) > 128:
        raise validation_error(value, "accessKeyId", "have length less than or equal to 128")
    if not KEY_ID.match(value):
        raise validation_error(value, "accessKeyId", "satisfy regular expression pattern: [\\w]+")
    return value


def _owner(call: QueryCall, session: Session, action: str) -> User | None:
    """The user whose keys the call is about (None: the account root's own keys), authorized."""
    name = call.params.get("UserName")
    caller = call.caller
    if name is not None:
        return authorized_user(call, session, check_name(name, "userName", 128), action)
    if caller.is_root:
        call.authorize(action, caller.arn)
        return None
    return authorized_user(call, session, calling_user(session, caller).name, action)


def _keys_of(session: Session, account: str, user_id: str | None) -> list[AccessKey]:
    owner = AccessKey.user_id.is_(None) if user_id is None else AccessKey.user_id == user_id
    query = select(AccessKey).where(AccessKey.account_id == account, owner)
    return list(session.scalars(query.order_by(AccessKey.created_at, AccessKey.access_key_id)))


def _key(session: Session, account: str, user: User | None, access_key_id: str) -> AccessKey:
    for row in _keys_of(session, account, user.id if user else None):
        if row.access_key_id == access_key_id:
            return row
    raise AwsError("NoSuchEntity", f"The Access Key with id {access_key_id} cannot be found.")


def key_metadata(row: AccessKey, user: User | None, secret: str | None = None) -> dict[str, Any]:
    """AccessKeyMetadata; with ``secret`` the AccessKey of CreateAccessKey (the one time it is shown)."""
    return {
        "UserName": user.name if user else None,
        "AccessKeyId": row.access_key_id,
        "Status": row.status,
        "SecretAccessKey": secret,
        "CreateDate": row.created_at,
    }


def check_key_quota(session: Session, account: str, user_id: str | None) -> None:
    """At most two keys per owner: LimitExceeded "Cannot exceed quota for AccessKeysPerUser: 2"."""
    if len(_keys_of(session, account, user_id)) >= MAX_KEYS:
        raise AwsError("LimitExceeded", f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}")


@register(OPERATIONS, "CreateAccessKey")
def create_access_key(call: QueryCall) -> Result:
    """CreateAccessKey: a new Active key; the secret is returned this once only."""
    account = call.caller.account
    with call.write() as session:
        user = _owner(call, session, "iam:CreateAccessKey")
        owner_id = user.id if user else None
        check_key_quota(session, account, owner_id)
        row, secret = add_access_key(session, call.state.keyring, account, owner_id)
        return {"AccessKey": key_metadata(row, user, secret)}


@register(OPERATIONS, "ListAccessKeys")
def list_access_keys(call: QueryCall) -> Result:
    account = call.caller.account
    with call.read() as session:
        user = _owner(call, session, "iam:ListAccessKeys")
        rows = _keys_of(session, account, user.id if user else None)
        return page(
            call.params,
            rows,
            lambda row: key_metadata(row, user),
            "AccessKeyMetadata",
            lambda row: (row.created_at.isoformat(), row.access_key_id),
            width=2,
        )


@register(OPERATIONS, "UpdateAccessKey")
def update_access_key(call: QueryCall) -> Result:
    """UpdateAccessKey: Active ↔ Inactive (an inactive key can be re-activated)."""
    params = call.params
    access_key_id = check_access_key_id(params.required("AccessKeyId"))
    status = params.required("Status")
    check_enum(status, "status", STATUSES)
    if status == "Expired":
        raise AwsError("InvalidInput", "Access key status can only be set to Active or Inactive.")
    with call.write() as session:
        user = _owner(call, session, "iam:UpdateAccessKey")
        _key(session, call.caller.account, user, access_key_id).status = status
        session.flush()
    return None


@register(OPERATIONS, "DeleteAccessKey")
def delete_access_key(call: QueryCall) -> Result:
    access_key_id = check_access_key_id(call.params.required("AccessKeyId"))
    with call.write() as session:
        user = _owner(call, session, "iam:DeleteAccessKey")
        session.delete(_key(session, call.caller.account, user, access_key_id))
        session.flush()
    return None


@register(OPERATIONS, "GetAccessKeyLastUsed")
def get_access_key_last_used(call: QueryCall) -> Result:
    """GetAccessKeyLastUsed: authorized on the owning user's ARN (with its tags). A key that is
    not in the caller's account is refused like AWS refuses it (AccessDenied on "access key <id>"),
    never revealed."""
    access_key_id = check_access_key_id(call.params.required("AccessKeyId"))
    caller = call.caller
    with call.read() as session:
        row = session.get(AccessKey, access_key_id)
        if row is None or row.account_id != caller.account:
            raise AwsError(
                "AccessDenied",
                f"User: {caller.arn} is not authorized to perform: iam:GetAccessKeyLastUsed "
                f"on resource: access key {access_key_id}",
            )
        user = session.get(User, row.user_id) if row.user_id else None
        call.authorize(
            "iam:GetAccessKeyLastUsed",
            user.arn if user else f"arn:aws:iam::{row.account_id}:root",
            extra_context=entity_context(session, "user", user) if user else None,
        )
        used: dict[str, Any] = {"LastUsedDate": row.last_used_at}
        used["ServiceName"] = row.last_used_service or "N/A"
        used["Region"] = row.last_used_region or "N/A"
        return {"UserName": user.name if user else None, "AccessKeyLastUsed": used}


def key_use_due(state: AppState, caller: Caller, clock: Callable[[], float] = time.monotonic) -> bool:
    """Whether a successful request of ``caller`` is to be recorded now: only a long-term
    (``AKIA``) key's, at most once per key per ``LAST_USED_INTERVAL`` seconds in each worker (the
    last time lives in the worker's LRU). Cheap and without I/O: the event loop asks it."""
    akid = caller.access_key_id
    if akid is None or caller.session is not None or not akid.startswith("AKIA"):
        return False
    slot = ("access-key-last-used", akid)
    moment = clock()
    last = state.entity_cache.get(slot)
    if isinstance(last, float) and moment - last < LAST_USED_INTERVAL:
        return False
    state.entity_cache.put(slot, moment)
    return True


def record_key_use(state: AppState, access_key_id: str, info: RequestInfo, service: str) -> None:
    """Write the key's last use (a database thread's work). It does not bump the IAM generation:
    last-use data invalidates no cache. A failure here never fails the request."""
    try:
        with state.db.transaction() as session:
            session.execute(
                update(AccessKey)
                .where(AccessKey.access_key_id == access_key_id)
                .values(last_used_at=info.now, last_used_service=service, last_used_region=info.region)
            )
    except DatabaseUnavailable as exc:  # the database is away: this note is lost, not the request
        log.warning("could not record the last use of %s: database unavailable: %s", access_key_id, exc)
    except Exception:  # last-use bookkeeping must never turn a success into a failure
        log.exception("could not record the last use of %s", access_key_id)


def note_key_use(
    state: AppState,
    caller: Caller,
    info: RequestInfo,
    service: str,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Record that a long-term key signed a successful request (for GetAccessKeyLastUsed), when
    ``key_use_due``: so the request path does not write on every call."""
    if key_use_due(state, caller, clock):
        assert caller.access_key_id is not None
        record_key_use(state, caller.access_key_id, info, service)

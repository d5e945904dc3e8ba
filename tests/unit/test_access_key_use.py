"""GetAccessKeyLastUsed bookkeeping: ``note_key_use`` writes at most once per key per minute in a
worker (a fake clock drives the minute; no real time is involved), skips temporary credentials and
anonymous callers, and never fails the request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from monban.access.principal import ANONYMOUS, Caller, RequestInfo
from monban.access.state import AppState
from monban.credentials.session import SessionClaims
from monban.policy.types import Principal
from monban.services.iam.access_keys import LAST_USED_INTERVAL, note_key_use
from monban.store.accounts import add_access_key, ensure_account
from monban.store.db import Database
from monban.store.models import AccessKey

ACCOUNT = "111122223333"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(state: AppState) -> str:
    with state.db.transaction() as session:
        ensure_account(session, ACCOUNT)
        row, _secret = add_access_key(session, state.keyring, ACCOUNT, None)
        return row.access_key_id


def _info(at: datetime, region: str = "us-east-1") -> RequestInfo:
    return RequestInfo(str(uuid.uuid4()), at, "127.0.0.1", "test", False, region)


def _root(akid: str) -> Caller:
    return Caller(Principal("Account", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT), akid)


def _last_used(state: AppState, akid: str) -> tuple[datetime | None, str | None, str | None]:
    with state.db.transaction() as session:
        row = session.get(AccessKey, akid)
        assert row is not None
        return row.last_used_at, row.last_used_service, row.last_used_region


def _count_updates(state: AppState) -> list[str]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("UPDATE access_keys"):
            statements.append(statement)

    event.listen(state.db.engine, "before_cursor_execute", record)
    return statements


def test_one_write_per_key_per_minute(state: AppState) -> None:
    akid = _key(state)
    clock, updates = Clock(), _count_updates(state)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    note_key_use(state, _root(akid), _info(start), "iam", clock)
    assert len(updates) == 1
    first = _last_used(state, akid)
    assert first[1:] == ("iam", "us-east-1") and first[0] is not None
    for step in range(1, 10):  # many requests within the minute: no write
        clock.now += (LAST_USED_INTERVAL - 1) / 10
        note_key_use(state, _root(akid), _info(start + timedelta(seconds=step), "eu-west-1"), "sts", clock)
    assert len(updates) == 1 and _last_used(state, akid) == first
    clock.now = 1000.0 + LAST_USED_INTERVAL  # a minute later: recorded again
    note_key_use(state, _root(akid), _info(start + timedelta(minutes=1), "eu-west-1"), "s3", clock)
    assert len(updates) == 2
    assert _last_used(state, akid)[1:] == ("s3", "eu-west-1")


def test_each_key_has_its_own_minute(state: AppState) -> None:
    first, second = _key(state), _key(state)
    clock, updates = Clock(), _count_updates(state)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    note_key_use(state, _root(first), _info(now), "iam", clock)
    note_key_use(state, _root(second), _info(now), "iam", clock)
    assert len(updates) == 2


def test_temporary_and_anonymous_callers_are_not_recorded(state: AppState) -> None:
    akid = _key(state)
    updates = _count_updates(state)
    claims = SessionClaims(
        "ASIAAAAAAAAAAAAAAAAA", "s" * 40, "root", ACCOUNT, 0, 10**10, ACCOUNT, "root", "arn"
    )
    temporary = Caller(_root(akid).principal, "ASIAAAAAAAAAAAAAAAAA", None, claims)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    note_key_use(state, temporary, _info(now), "iam", Clock())
    note_key_use(state, ANONYMOUS, _info(now), "s3", Clock())
    assert updates == [] and _last_used(state, akid) == (None, None, None)


def test_a_failed_write_does_not_fail_the_request(state: AppState) -> None:
    akid = _key(state)
    broken = Database("sqlite:////nonexistent-dir/monban.db")
    broken_state = AppState(state.settings, broken, state.keyring)
    note_key_use(broken_state, _root(akid), _info(datetime(2026, 1, 1, tzinfo=UTC)), "iam", Clock())
    broken.dispose()

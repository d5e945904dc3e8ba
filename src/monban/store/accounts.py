"""Accounts and their root credentials.

Root keys come from the bootstrap file, or are generated at first start and written to
``<data dir>/credentials`` (0600) in the AWS shared-credentials format, one profile per account
(``[monban-<account id>]``) — never a well-known default secret.
"""

from __future__ import annotations

import configparser
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from monban.credentials import ids
from monban.credentials.keyring import KeyRing, write_private
from monban.store.models import AccessKey, Account, Counter

CREDENTIALS_FILE = "credentials"


def now() -> datetime:
    return datetime.now(UTC)


def ensure_account(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        account = Account(id=account_id, created_at=now())
        session.add(account)
        session.flush()
    return account


def account_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Account.id).order_by(Account.id)))


def add_access_key(
    session: Session,
    keyring: KeyRing,
    account_id: str,
    user_id: str | None,
    access_key_id: str | None = None,
    secret: str | None = None,
) -> tuple[AccessKey, str]:
    """Store a long-term key (sealed at rest); returns the row and the plain secret."""
    akid = access_key_id or ids.access_key_id()
    plain = secret or ids.secret_access_key()
    row = AccessKey(
        access_key_id=akid,
        account_id=account_id,
        user_id=user_id,
        secret_sealed=keyring.secrets.seal(plain.encode(), akid.encode()),
        status="Active",
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return row, plain


def open_secret(keyring: KeyRing, row: AccessKey) -> str:
    return keyring.secrets.open(row.secret_sealed, row.access_key_id.encode()).decode()


def root_keys(session: Session, account_id: str) -> list[AccessKey]:
    query = select(AccessKey).where(AccessKey.account_id == account_id, AccessKey.user_id.is_(None))
    return list(session.scalars(query))


def write_root_credentials(path: Path, entries: dict[str, tuple[str, str]]) -> None:
    """Write the root keys of every account, one profile each, readable by the owner only."""
    parser = configparser.ConfigParser()
    for account_id, (akid, secret) in sorted(entries.items()):
        parser[f"monban-{account_id}"] = {"aws_access_key_id": akid, "aws_secret_access_key": secret}
    buffer = io.StringIO()
    parser.write(buffer)
    write_private(path, buffer.getvalue().encode())


def bump_generation(session: Session, name: str = "iam_generation") -> None:
    """Increment a counter inside the current transaction (cache invalidation), in one UPDATE: it
    holds the counter's row lock (PostgreSQL) or the database's write lock (SQLite) until the
    transaction ends. A writer that bumps first is therefore ordered after every other writer that
    did, on any node: what it reads next (does the name exist? how many keys?) stays true until it
    commits — no two CreateRole of one name both succeed, no third access key (``QueryCall.write``)."""
    bumped = session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
    if cast(CursorResult[object], bumped).rowcount == 0:  # the first bump ever: no row yet
        session.add(Counter(name=name, value=1))
        session.flush()


def read_generation(session: Session, name: str = "iam_generation") -> int:
    counter = session.get(Counter, name)
    return counter.value if counter else 0

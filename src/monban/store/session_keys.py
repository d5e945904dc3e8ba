"""The session-key ring: the keys that seal session tokens, kept in the database (``session_keys``)
sealed under the master key, so that every node sharing the database and the master key seals and
opens with the same keys, and an operator can replace the sealing key without a restart.

- A database with no row seals with key 0, the key derived from the master key
  (``KeyRing.sessions``): every token issued before the ring existed was sealed with it.
- ``rotate`` (``monban keys rotate``) adds key N+1 as the current key and retires the previous one
  (recording key 0 first, when it was implicit). New sessions are sealed with the new key as soon
  as a node sees the rotation (it bumps the IAM generation: within ``cache_seconds``); tokens
  sealed before keep opening with the retired key until they expire.
- A retired key is deleted by a later rotation once ``RETIRED_KEY_LIFETIME`` has passed since its
  retirement: the longest session (GetSessionToken and GetFederationToken: 129,600 s, 36 hours;
  role sessions at most 12 hours) plus the time a node may still seal with it after the rotation.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monban.credentials.keyring import KeyRing, Sealer, SealError
from monban.credentials.session import TokenKey
from monban.store.accounts import bump_generation
from monban.store.models import SessionKey

SESSION_KEY_BYTES = 32
# GetSessionToken and GetFederationToken: at most 129,600 s (36 h); AssumeRole*: at most 43,200 s.
LONGEST_SESSION = timedelta(seconds=129600)
# A node re-reads the ring within cache_seconds of a rotation; an hour covers any sane setting.
RETIRED_KEY_LIFETIME = LONGEST_SESSION + timedelta(hours=1)


@dataclass(frozen=True)
class SessionKeySet:
    """The ring as one node sees it: the key that seals, and every key that still opens."""

    current: TokenKey
    sealers: Mapping[int, Sealer]

    def opening(self, key_id: int) -> Sealer | None:
        return self.sealers.get(key_id)


@dataclass(frozen=True)
class Rotation:
    """What ``rotate`` did: the new current key, the one it retired, the keys it deleted."""

    current: int
    retired: int
    deleted: tuple[int, ...]


def _aad(key_id: int) -> bytes:
    return f"monban session key {key_id}".encode()


def _open(keyring: KeyRing, row: SessionKey) -> Sealer | None:
    try:
        return Sealer(keyring.session_keys.open(row.sealed, _aad(row.id)))
    except SealError:  # sealed under another master key: it opens nothing here
        return None


def load_session_keys(session: Session, keyring: KeyRing) -> SessionKeySet:
    """The ring stored in the database (key 0 alone, derived from the master key, when empty)."""
    rows = list(session.scalars(select(SessionKey).order_by(SessionKey.id)))
    if not rows:
        return SessionKeySet(TokenKey(0, keyring.sessions), {0: keyring.sessions})
    sealers = {row.id: sealer for row in rows if (sealer := _open(keyring, row)) is not None}
    live = [row.id for row in rows if row.retired_at is None and row.id in sealers]
    current = max(live) if live else max(sealers, default=0)
    if current not in sealers:  # nothing opens under this master key: settle() refuses that
        return SessionKeySet(TokenKey(0, keyring.sessions), {0: keyring.sessions})
    return SessionKeySet(TokenKey(current, sealers[current]), sealers)


def _record(session: Session, keyring: KeyRing, key_id: int, key: bytes, now: datetime) -> SessionKey:
    row = SessionKey(id=key_id, sealed=keyring.session_keys.seal(key, _aad(key_id)), created_at=now)
    session.add(row)
    return row


def rotate(session: Session, keyring: KeyRing, now: datetime) -> Rotation:
    """A new current session key; the previous one retired, keys retired long enough deleted.
    Two rotations at once on two nodes: the second's insert of the same id fails (the caller's
    transaction rolls back), and the generation bump taken first orders them anyway."""
    bump_generation(session)  # first: the row lock that orders writers; nodes re-read the ring
    rows = list(session.scalars(select(SessionKey).order_by(SessionKey.id)))
    if not rows:  # key 0 was implicit: record it, so that its tokens keep opening
        rows = [_record(session, keyring, 0, keyring.sessions.key, now)]
    for row in rows:
        if row.retired_at is None:
            row.retired_at = now
    previous = max(row.id for row in rows)
    new_id = previous + 1
    _record(session, keyring, new_id, secrets.token_bytes(SESSION_KEY_BYTES), now)
    session.flush()
    old = SessionKey.retired_at < now - RETIRED_KEY_LIFETIME  # compared in SQL: SQLite's are naive
    expired = tuple(session.scalars(select(SessionKey.id).where(old).order_by(SessionKey.id)))
    if expired:
        session.execute(delete(SessionKey).where(SessionKey.id.in_(expired)))
    return Rotation(new_id, previous, expired)


def reseal(session: Session, old: KeyRing, new: KeyRing, now: datetime) -> int:
    """Every session key re-sealed from master key ``old`` to ``new`` (``rotate-master-key``):
    key 0 is recorded first when it was implicit, so that sessions outlive the master key."""
    rows = list(session.scalars(select(SessionKey)))
    if not rows:
        _record(session, new, 0, old.sessions.key, now)
        return 1
    for row in rows:
        row.sealed = new.session_keys.seal(old.session_keys.open(row.sealed, _aad(row.id)), _aad(row.id))
    return len(rows)

"""The master key over a database: checked against what it sealed, created only over a database
that holds nothing sealed under another one, and rotated.

What is sealed at rest under the master key: the secret of every long-term access key (root and
IAM users), with a key derived from it (``KeyRing.secrets``), and the session keys of the key ring
(``store/session_keys.py``, with ``KeyRing.session_keys``). Session tokens and encoded authorization
messages are sealed too, but they live with their holders, not in the database.

At start (``settle``): a ``master.key`` that is missing while the database holds sealed secrets, or
a key that does not open them, stops the start with one sentence naming the file and what to do —
never a new key written over the data, never a traceback.

Rotation (``rotate``), with every server on the data dir stopped: a new key is written beside the
old one (``master.key.next``), every secret is re-sealed under it in one transaction, then the new
key replaces the old (``os.replace``). The commit is the point of no return: a rotation cut short
before it leaves the old key in charge, one cut short after it leaves ``master.key.next`` opening
the database — ``settle`` sees which at the next start and finishes or drops it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from monban.credentials.keyring import (
    MASTER_KEY_ENV,
    MASTER_KEY_FILE,
    KeyRing,
    MasterKeyError,
    SealError,
    master_key_source,
    new_master_key,
    read_key_file,
    read_master_key,
    write_master_key,
)
from monban.store import session_keys
from monban.store.accounts import bump_generation
from monban.store.datadir import DataDirBusy, exclusive
from monban.store.db import Database
from monban.store.models import AccessKey

NEXT_KEY_FILE = MASTER_KEY_FILE + ".next"
Sample = tuple[str, bytes]  # (access key id, its sealed secret)

RESTORE = f"restore the right {MASTER_KEY_FILE} from your backup (or set {MASTER_KEY_ENV} to it)"


def _sample(db: Database) -> Sample | None:
    """One sealed secret of the database (the first by access key id), or None if it has none."""
    with db.transaction() as session:
        row = session.execute(
            select(AccessKey.access_key_id, AccessKey.secret_sealed)
            .order_by(AccessKey.access_key_id)
            .limit(1)
        ).first()
    return None if row is None else (row[0], row[1])


def _opens(master: bytes, sample: Sample | None) -> bool:
    if sample is None:
        return True
    try:
        KeyRing.from_master(master).secrets.open(sample[1], sample[0].encode())
    except SealError:
        return False
    return True


def _where(db: Database) -> str:
    return db.sqlite_file or "the database given with --database"


def settle(data_dir: Path, db: Database) -> KeyRing:
    """The key ring of a data dir over a migrated database, at start (see the module docstring)."""
    sample = _sample(db)
    if not os.environ.get(MASTER_KEY_ENV):
        _finish_rotation(data_dir, sample)
    master = read_master_key(data_dir)
    if master is None:
        if sample is not None:
            raise MasterKeyError(
                f"{data_dir / MASTER_KEY_FILE} is missing, but {_where(db)} holds secrets sealed under a "
                f"master key: {RESTORE}; monban never makes a new key over sealed data"
            )
        master = new_master_key()
        write_master_key(data_dir / MASTER_KEY_FILE, master)
    elif not _opens(master, sample):
        raise MasterKeyError(
            f"{master_key_source(data_dir)} is not the master key that sealed the secrets in {_where(db)}: "
            f"{RESTORE}"
        )
    return KeyRing.from_master(master)


def existing_key_ring(data_dir: Path, db: Database) -> KeyRing:
    """The key ring of a data dir whose master key exists and opens the database's secrets (an
    operator command never makes one): MasterKeyError otherwise."""
    master = read_master_key(data_dir)
    if master is None:
        raise MasterKeyError(
            f"no master key: set {MASTER_KEY_ENV} or give the data dir holding {MASTER_KEY_FILE}"
        )
    if not _opens(master, _sample(db)):
        raise MasterKeyError(
            f"{master_key_source(data_dir)} is not the master key that sealed the secrets in {_where(db)}: "
            f"{RESTORE}"
        )
    return KeyRing.from_master(master)


def _finish_rotation(data_dir: Path, sample: Sample | None) -> None:
    """A ``master.key.next`` left by a rotation cut short: it becomes ``master.key`` if the
    database's secrets are sealed under it (the rotation committed), else it is dropped."""
    path = data_dir / NEXT_KEY_FILE
    try:
        candidate = read_key_file(path)
    except MasterKeyError:  # not a key (a rotation writes it whole or not at all): it sealed nothing
        path.unlink()
        return
    if candidate is None:
        return
    if _opens(candidate, sample):
        os.replace(path, data_dir / MASTER_KEY_FILE)
    else:
        path.unlink()


def rotate(data_dir: Path, db: Database) -> int:
    """A new master key for the data dir, every sealed secret re-sealed under it; their count."""
    if os.environ.get(MASTER_KEY_ENV):
        raise MasterKeyError(
            f"{MASTER_KEY_ENV} is set: rotation replaces {data_dir / MASTER_KEY_FILE}, so unset it "
            "(and start monban without it, or set it to the new key afterwards)"
        )
    try:
        with exclusive(data_dir):
            old = settle(data_dir, db)
            new_key = new_master_key()
            write_master_key(data_dir / NEXT_KEY_FILE, new_key)
            count = _reseal(db, old, KeyRing.from_master(new_key))
            os.replace(data_dir / NEXT_KEY_FILE, data_dir / MASTER_KEY_FILE)
    except DataDirBusy:
        raise MasterKeyError(
            f"a monban server is running on {data_dir}: stop it, and every node sharing its database, "
            "then rotate"
        ) from None
    return count


def _reseal(db: Database, old: KeyRing, new: KeyRing) -> int:
    """Every access key's secret, and every session key, re-sealed from ``old`` to ``new``, in one
    transaction (session tokens issued before keep opening); the count of access keys."""
    with db.transaction() as session:
        session_keys.reseal(session, old, new, datetime.now(UTC))
        rows = list(session.scalars(select(AccessKey)))
        for row in rows:
            aad = row.access_key_id.encode()
            row.secret_sealed = new.secrets.seal(old.secrets.open(row.secret_sealed, aad), aad)
        bump_generation(session)  # workers and nodes drop what they cached of the old sealing
    return len(rows)

"""Fixtures shared by the unit tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monban.access.state import AppState
from monban.credentials.keyring import KeyRing
from monban.settings import Settings
from monban.store.accounts import ensure_account
from monban.store.db import Database, sqlite_url
from monban.store.s3_models import Bucket

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    """A worker's state over a fresh, migrated SQLite data dir and a random master key."""
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    yield AppState(Settings(data_dir=tmp_path), db, KeyRing.from_master(secrets.token_bytes(32)))
    db.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite database with account 123456789012 and its bucket ``b``."""
    database = Database(sqlite_url(tmp_path))
    database.migrate()
    with database.transaction() as session:
        ensure_account(session, "123456789012")
        session.add(Bucket(name="b", account_id="123456789012", region="us-east-1", created_at=NOW))
    yield database
    database.dispose()

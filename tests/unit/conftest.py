"""Fixtures shared by the unit tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from monban.credentials.keyring import KeyRing
from monban.server.state import AppState
from monban.settings import Settings
from monban.store.db import Database, sqlite_url


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    """A worker's state over a fresh, migrated SQLite data dir and a random master key."""
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    yield AppState(Settings(data_dir=tmp_path), db, KeyRing.from_master(secrets.token_bytes(32)))
    db.dispose()

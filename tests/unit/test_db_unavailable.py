"""What counts as "the database cannot answer now" (503, never 500), and the caches serving what
they last read meanwhile (``store/db.py``, ``access/state.py`` ``Refreshing``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from monban.access.state import Refreshing
from monban.store.db import Database, DatabaseUnavailable, is_unavailable, sqlite_url


def test_sqlite_busy_beyond_its_timeout_is_unavailable(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    holder = sqlite3.connect(tmp_path / "monban.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    impatient = sqlite3.connect(tmp_path / "monban.db", timeout=0)
    with pytest.raises(sqlite3.OperationalError) as caught:
        impatient.execute("BEGIN IMMEDIATE")  # a writer: WAL lets readers through
    assert is_unavailable(caught.value)
    wrapped = exc.OperationalError("SELECT 1", {}, caught.value)
    assert is_unavailable(wrapped)
    holder.execute("ROLLBACK")
    holder.close()
    impatient.close()
    db.dispose()


def test_a_bug_is_not_unavailable(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    with pytest.raises(exc.OperationalError) as caught, db.transaction() as session:
        session.execute(text("SELECT * FROM no_such_table"))  # a bug: it stays a 500
    assert not is_unavailable(caught.value)
    assert not is_unavailable(ValueError("x"))
    db.dispose()


def test_an_unreachable_postgresql_is_unavailable() -> None:
    db = Database("postgresql+psycopg://monban:monban@127.0.0.1:1/none")  # nothing listens on port 1
    with pytest.raises(DatabaseUnavailable), db.transaction() as session:
        session.execute(text("SELECT 1"))
    db.dispose()


def test_refreshing_serves_its_last_value_while_the_database_is_away() -> None:
    answers: list[object] = [1, DatabaseUnavailable("down"), 3]

    def load() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, int)
        return answer

    value = Refreshing(0.0, load)  # re-read on every get
    assert value.get() == 1
    assert value.get() == 1  # the database is away: the last value
    assert value.get() == 3  # back


def test_refreshing_without_a_value_reports_the_outage() -> None:
    def load() -> int:
        raise DatabaseUnavailable("down")

    with pytest.raises(DatabaseUnavailable):
        Refreshing(1.0, load).get()

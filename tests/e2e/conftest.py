"""A session-wide server on SQLite, or on a fresh PostgreSQL database with ``--backend postgres``
(the URL of a PostgreSQL server that may create databases comes from MONBAN_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, postgres_database, start_server

BOOTSTRAP = Path(__file__).parent / "bootstrap.yaml"


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite; else a PostgreSQL database made for this run and dropped after it."""
    if request.config.getoption("--backend") != "postgres":
        yield None
        return
    admin = os.environ.get("MONBAN_TEST_POSTGRES_URL")
    if not admin:
        pytest.fail("--backend postgres needs MONBAN_TEST_POSTGRES_URL")
    with postgres_database(admin) as url:
        yield url


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[Server]:
    args = ["--min-session-seconds", "1"]  # the audit trail is on by default
    if BOOTSTRAP.exists():
        args += ["--config", str(BOOTSTRAP)]
    if database_url:
        args += ["--database", database_url]
    running = start_server(tmp_path_factory.mktemp("monban"), *args)
    yield running
    running.stop()

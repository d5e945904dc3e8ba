"""Three monban nodes, each with its own data dir, on one fresh PostgreSQL database and one
``MONBAN_MASTER_KEY`` (README, "Running several nodes"). Skipped without MONBAN_TEST_POSTGRES_URL."""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.server import Server, start_server

POSTGRES_URL = os.environ.get("MONBAN_TEST_POSTGRES_URL")


@dataclass
class Cluster:
    nodes: list[Server]
    database: str
    env: dict[str, str]  # the shared master key


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A database made for one test and dropped after it."""
    if not POSTGRES_URL:
        pytest.skip("MONBAN_TEST_POSTGRES_URL is not set")
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"monban_nodes_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def one_cluster_at_a_time() -> Iterator[None]:
    """The tests here run one at a time, whatever pytest-xdist's workers: one restarts PostgreSQL."""
    with (Path(tempfile.gettempdir()) / "monban-nodes-tests.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture
def cluster(tmp_path: Path, one_cluster_at_a_time: None, postgres_database: str) -> Iterator[Cluster]:
    env = {"MONBAN_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    nodes: list[Server] = []
    try:
        for n in range(3):  # one after another: the first makes the account, the others find it
            nodes.append(start_server(tmp_path / f"node{n}", "--database", postgres_database, env=env))
        assert len({tuple(sorted(node.roots.items())) for node in nodes}) == 1  # one account, one root key
        yield Cluster(nodes, postgres_database, env)
    finally:
        for node in nodes:
            node.stop()

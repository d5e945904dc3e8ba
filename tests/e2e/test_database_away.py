"""A database that cannot answer is 503 ServiceUnavailable with ``Retry-After``, in each front's
shape, never a 500; what the caches answer goes on being served; nothing is lost. Here SQLite held
by another writer beyond its 10-second busy timeout ("database is locked"); tests/nodes restarts
PostgreSQL under load."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import start_server
from tests.e2e.test_s3_support import s3_client


@contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Another process's writer holding SQLite's write lock (not monban's lock file)."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_database_is_service_unavailable_and_then_serves_again(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if request.config.getoption("--backend") == "postgres":
        pytest.skip("a SQLite lock: the PostgreSQL case is tests/nodes")
    running = start_server(tmp_path / "data")
    try:
        iam, sts = running.client("iam"), running.client("sts")
        s3 = s3_client(running, next(iter(running.roots.values())))
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="before", Body=b"acknowledged")
        sts.get_caller_identity()  # cached from now on
        with write_locked(tmp_path / "data" / "monban.db"):
            with pytest.raises(ClientError) as caught:
                iam.create_user(UserName="while-locked")
            answer = caught.value.response
            assert answer["Error"]["Code"] == "ServiceUnavailable"
            assert answer["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert answer["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
            assert answer["Error"]["Type"] == "Receiver"  # the Query protocol's <ErrorResponse>
            with pytest.raises(ClientError) as put:
                s3.put_object(Bucket="kept", Key="while-locked", Body=b"x")
            answer = put.value.response
            assert (answer["Error"]["Code"], answer["ResponseMetadata"]["HTTPStatusCode"]) == (
                "ServiceUnavailable",
                503,
            )
            assert answer["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
            assert sts.get_caller_identity()["Arn"].endswith(":root")  # answered from the caches
            assert s3.get_object(Bucket="kept", Key="before")["Body"].read() == b"acknowledged"  # WAL reads
        iam.create_user(UserName="after")  # the lock is gone: served again, nothing to restart
        names = {u["UserName"] for u in iam.list_users()["Users"]}
        assert "after" in names and "while-locked" not in names
        assert s3.get_object(Bucket="kept", Key="before")["Body"].read() == b"acknowledged"
    finally:
        running.stop()
    assert "Traceback" not in running.log.read_text()

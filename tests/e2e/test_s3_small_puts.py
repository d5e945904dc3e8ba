"""Small PutObjects, committed on the event loop when they can be (SQLite), seen through boto3:
conditions and missing buckets answered as on a thread, replaced files removed before the answer,
aws-chunked bodies, and concurrent writers in two worker processes."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from monban.services.s3.objects import INLINE_OBJECT
from tests.e2e.conftest import BOOTSTRAP
from tests.e2e.server import Server, start_server
from tests.e2e.test_s3_auth import STREAMING, _chunked
from tests.e2e.test_s3_support import bucket, error_of, object_files, root, s3_client, send, signed_headers

THREADS = 8
DEADLINE = 10.0  # seconds a thread of the test may take before the test gives up on it


def test_if_none_match_on_an_existing_key_leaves_it_unchanged(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    before = object_files(server)
    big = b"f" * (INLINE_OBJECT + 1)
    for key, body in (("row", b"the original"), ("file", big)):
        etag = s3.put_object(Bucket=name, Key=key, Body=body)["ETag"]
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=name, Key=key, Body=b"x" * 4096, IfNoneMatch="*")
        assert error_of(caught)[:2] == ("PreconditionFailed", 412)
        got = s3.get_object(Bucket=name, Key=key)
        assert (got["Body"].read(), got["ETag"]) == (body, etag)
    assert len(object_files(server) - before) == 1  # the file object's blob is still there
    s3.put_object(Bucket=name, Key="fresh", Body=b"first", IfNoneMatch="*")
    assert s3.get_object(Bucket=name, Key="fresh")["Body"].read() == b"first"


def test_small_put_to_a_missing_bucket_is_no_such_bucket(server: Server, database_url: str | None) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=name, Key="k", Body=b"y" * 4096)
    assert error_of(caught)[:2] == ("NoSuchBucket", 404)
    if database_url is None:
        assert _rows_of(server, name) == 0


def test_overwriting_a_file_object_with_a_small_one_removes_the_file(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    before = object_files(server)
    big = bytes(range(256)) * (INLINE_OBJECT // 256 + 1)  # more than 64 KiB: a file
    s3.put_object(Bucket=name, Key="flip", Body=big)
    (stored,) = object_files(server) - before
    assert stored.read_bytes() == big
    small = b"s" * 4096
    etag = s3.put_object(Bucket=name, Key="flip", Body=small)["ETag"]
    assert etag == f'"{hashlib.md5(small).hexdigest()}"'
    got = s3.get_object(Bucket=name, Key="flip")
    assert (got["Body"].read(), got["ETag"]) == (small, etag)
    assert not stored.exists()  # deleted after the commit, before the answer (on a thread)
    assert object_files(server) - before == set()


def test_a_small_put_the_loop_cannot_commit_waits_its_turn_on_a_thread(
    server: Server, database_url: str | None
) -> None:
    if database_url is not None:
        pytest.skip("the writers' flock is SQLite's")
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="taken", Body=b"first")
    answers: dict[str, object] = {}

    def put(key: str, body: bytes, **extra: str) -> None:
        try:
            answers[key] = s3_client(server, root(server)).put_object(
                Bucket=name, Key=key, Body=body, **extra
            )["ETag"]
        except ClientError as error:
            answers[key] = error.response["Error"]["Code"]

    # another process (this one) holds the writers' lock: the event loop cannot write, so the
    # request goes to a thread, which waits for the lock
    fd = os.open(server.data_dir / "monban.db.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        threads = [
            threading.Thread(target=put, args=("waits", b"w" * 4096)),
            threading.Thread(target=put, args=("taken", b"second"), kwargs={"IfNoneMatch": "*"}),
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # let both requests arrive while the lock is held (not asserted)
        assert answers == {}
    finally:
        os.close(fd)
    for thread in threads:
        thread.join(DEADLINE)
    assert answers == {
        "waits": f'"{hashlib.md5(b"w" * 4096).hexdigest()}"',
        "taken": "PreconditionFailed",
    }
    assert s3.get_object(Bucket=name, Key="waits")["Body"].read() == b"w" * 4096
    assert s3.get_object(Bucket=name, Key="taken")["Body"].read() == b"first"


@pytest.mark.parametrize("tamper", [-1, 2])
def test_small_aws_chunked_upload(server: Server, tamper: int) -> None:
    name = bucket(server, root(server))
    before = object_files(server)
    chunks = [b"a" * 1000, b"b" * 2000, b"c" * 10]
    payload = b"".join(chunks)
    wire_length = len(
        _chunked(chunks, {"Authorization": "Signature=x", "X-Amz-Date": "20000101T000000Z"}, "s")
    )
    assert wire_length <= INLINE_OBJECT
    base = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "Content-Length": str(wire_length),
    }
    path = f"/{name}/chunked"
    headers = signed_headers(server, "PUT", path, root(server), headers=base, payload_hash=STREAMING)
    response = send(server, "PUT", path, headers, _chunked(chunks, headers, root(server)[1], tamper))
    s3 = s3_client(server, root(server))
    if tamper < 0:
        assert response.status == 200, response.body
        assert response.headers["etag"] == f'"{hashlib.md5(payload).hexdigest()}"'
        assert s3.get_object(Bucket=name, Key="chunked")["Body"].read() == payload
    else:
        assert response.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in response.body
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    assert object_files(server) - before == set()  # in the object's row either way


# --- two workers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of two worker processes on one SQLite database."""
    running = start_server(
        tmp_path_factory.mktemp("monban-workers"),
        "--workers",
        "2",
        "--min-session-seconds",
        "1",
        "--config",
        str(BOOTSTRAP),
    )
    yield running
    running.stop()


def _rows_of(server: Server, name: str) -> int:
    with closing(sqlite3.connect(Path(server.data_dir) / "monban.db")) as connection:
        return int(
            connection.execute("SELECT count(*) FROM s3_objects WHERE bucket = ?", (name,)).fetchone()[0]
        )


def _no_tracebacks(server: Server) -> None:
    assert "Traceback" not in server.log.read_text(errors="replace")


def _body(worker: int, index: int) -> bytes:
    if index == 0:
        return f"big {worker}".encode().ljust(INLINE_OBJECT + 100, b".")  # a file, on a thread
    return f"{worker}/{index}:".encode() * (index * 7 + 1)


def test_concurrent_small_puts_to_two_workers(two_workers: Server) -> None:
    name = bucket(two_workers, root(two_workers))
    per_thread = 24
    start = threading.Barrier(THREADS)

    def writer(worker: int) -> list[str]:
        s3 = s3_client(two_workers, root(two_workers))
        start.wait(DEADLINE)
        return [
            s3.put_object(Bucket=name, Key=f"t{worker}/{index}", Body=_body(worker, index))["ETag"]
            for index in range(per_thread)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        etags = list(pool.map(writer, range(THREADS)))
    s3 = s3_client(two_workers, root(two_workers))
    for worker in range(THREADS):
        for index in range(per_thread):
            body = _body(worker, index)
            assert etags[worker][index] == f'"{hashlib.md5(body).hexdigest()}"'
            got = s3.get_object(Bucket=name, Key=f"t{worker}/{index}")
            assert (got["Body"].read(), got["ETag"]) == (body, etags[worker][index])
    assert _rows_of(two_workers, name) == THREADS * per_thread
    _no_tracebacks(two_workers)


def test_concurrent_if_none_match_lets_exactly_one_writer_in(two_workers: Server) -> None:
    name = bucket(two_workers, root(two_workers))
    rounds = 6
    start = threading.Barrier(THREADS)

    def writer(worker: int) -> list[bool]:
        s3 = s3_client(two_workers, root(two_workers))
        won: list[bool] = []
        for round_ in range(rounds):
            start.wait(DEADLINE)
            try:
                s3.put_object(Bucket=name, Key=f"race{round_}", Body=f"{worker}".encode(), IfNoneMatch="*")
                won.append(True)
            except ClientError as error:
                assert error.response["Error"]["Code"] == "PreconditionFailed"
                won.append(False)
        return won

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(writer, range(THREADS)))
    s3 = s3_client(two_workers, root(two_workers))
    for round_ in range(rounds):
        winners = [worker for worker in range(THREADS) if results[worker][round_]]
        assert len(winners) == 1
        got = s3.get_object(Bucket=name, Key=f"race{round_}")["Body"].read()
        assert got == f"{winners[0]}".encode()
    _no_tracebacks(two_workers)


def test_puts_after_a_bucket_is_deleted_under_two_workers(two_workers: Server) -> None:
    s3 = s3_client(two_workers, root(two_workers))
    name = bucket(two_workers, root(two_workers))

    def put(index: int) -> None:  # every worker caches the bucket's facts
        s3_client(two_workers, root(two_workers)).put_object(Bucket=name, Key=f"k{index}", Body=b"x")

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(put, range(THREADS * 2)))
    s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": f"k{i}"} for i in range(THREADS * 2)]})
    s3.delete_bucket(Bucket=name)

    def put_again(index: int) -> str:  # a worker may still trust its cached facts: the row check
        try:
            s3_client(two_workers, root(two_workers)).put_object(Bucket=name, Key=f"k{index}", Body=b"y")
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "stored"

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(put_again, range(THREADS * 2)))
    assert set(answers) == {"NoSuchBucket"}
    assert _rows_of(two_workers, name) == 0
    _no_tracebacks(two_workers)

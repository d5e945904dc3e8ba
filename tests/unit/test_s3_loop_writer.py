"""Writes on the event loop: ``LoopWriter`` (commits, or ``WouldBlock`` having written nothing),
``WriterLock.try_acquire``, the checkpoint it leaves to a thread, ``commit_object_now``, and the
upload ``_Target`` that keeps a small body in memory."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from shutil import copyfile
from types import SimpleNamespace
from typing import Any, cast

import pytest

from monban.access.state import DB_THREADS, AppState
from monban.protocol.errors import AwsError
from monban.services.s3 import repo
from monban.services.s3.call import S3Call
from monban.services.s3.objects import commit_object, commit_object_now
from monban.services.s3.storage import BlobStore, Segment, inline
from monban.services.s3.upload import _arrived_whole, _Target
from monban.store.accounts import ensure_account
from monban.store.db import Database, LoopWriter, WouldBlock, WriterLock
from monban.store.s3_models import Bucket
from tests.unit.conftest import NOW
from tests.unit.test_s3_store import _allow, _info, _locked

IF_NONE = {"if-none-match": "*"}
DEADLINE = 10.0  # seconds a poll for background work may take before the test gives up


def _writer(db: Database) -> LoopWriter:
    assert db.loop_writer is not None
    return db.loop_writer


def _lock(db: Database) -> WriterLock:
    lock = db._writer_lock
    assert lock is not None
    return lock


def _fresh(db: Database) -> sqlite3.Connection:
    assert db.sqlite_file is not None
    return sqlite3.connect(db.sqlite_file)


def _region(db: Database) -> str:
    """The bucket's region, read by a connection of its own (what is committed)."""
    with closing(_fresh(db)) as connection:
        return str(connection.execute("SELECT region FROM s3_buckets WHERE name = 'b'").fetchone()[0])


def _set_region(db: Database, region: str) -> None:
    with _writer(db).transaction() as cursor:
        cursor.execute("UPDATE s3_buckets SET region = ? WHERE name = 'b'", (region,))


def _hold_flock(db: Database) -> int:
    """An exclusive ``flock`` of the writers' lock file through an open file of its own: to
    ``flock``, another holder — as another worker process would be."""
    fd = os.open(f"{db.sqlite_file}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _released(db: Database) -> bool:
    """Nothing of this process holds the writers' lock any more."""
    return _lock(db)._holders == 0 and not _locked(db)


# --- LoopWriter.transaction ---------------------------------------------------------------------


def test_loop_writer_commits_what_a_fresh_connection_reads(db: Database) -> None:
    info = _info("k", (inline(b"abc"),))
    assert repo.put_object_row_now(db, info, _allow) == ()
    with closing(_fresh(db)) as connection:
        rows = connection.execute("SELECT bucket, key, size, data FROM s3_objects").fetchall()
    assert rows == [("b", "k", 3, b"abc")]
    assert repo.read_object_now(db, "b", "k") == info
    files = (Segment("a" * 32, 3), Segment("b" * 32, 4))
    assert repo.put_object_row_now(db, _info("k", files), _allow) == ()
    # overwritten: the replaced blob ids come back for deletion after the commit
    assert repo.put_object_row_now(db, _info("k", (inline(b"x"),)), _allow) == ("a" * 32, "b" * 32)
    assert repo.read_object_now(db, "b", "k") == _info("k", (inline(b"x"),))
    assert _released(db)


def test_loop_writer_never_waits_for_sqlite(db: Database) -> None:
    _set_region(db, "opened")
    connection = _writer(db)._connection
    assert connection is not None
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (0,)
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)


def test_would_block_while_another_process_holds_the_writers_lock(db: Database) -> None:
    fd = _hold_flock(db)
    try:
        with pytest.raises(WouldBlock):
            _set_region(db, "loop")
        assert _lock(db)._holders == 0
    finally:
        os.close(fd)  # lets go of the flock
    assert _region(db) == "us-east-1" and _released(db)
    _set_region(db, "loop")
    assert _region(db) == "loop" and _released(db)


def test_would_block_while_another_connection_of_this_process_holds_a_share(db: Database) -> None:
    lock = _lock(db)
    lock.acquire()  # a thread's connection about to write: SQLite itself is still free
    try:
        with pytest.raises(WouldBlock):
            _set_region(db, "loop")
        assert lock._holders == 1
    finally:
        lock.release()
    assert _region(db) == "us-east-1" and _released(db)
    with db.driver_transaction() as cursor:  # a thread's write transaction, under way
        cursor.execute("UPDATE s3_buckets SET region = 'thread' WHERE name = 'b'")
        with pytest.raises(WouldBlock):
            _set_region(db, "loop")
    assert _region(db) == "thread" and _released(db)


def test_would_block_while_sqlite_is_locked_by_a_connection_outside_the_lock(db: Database) -> None:
    _set_region(db, "opened")
    kept = _writer(db)._connection
    with closing(_fresh(db)) as holder:
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(WouldBlock) as caught:
            _set_region(db, "loop")
        cause = caught.value.__cause__
        assert isinstance(cause, sqlite3.OperationalError)
        assert cause.sqlite_errorcode == sqlite3.SQLITE_BUSY
        assert _released(db)
        holder.execute("COMMIT")
    assert _writer(db)._connection is kept  # merely busy: the connection is kept
    _set_region(db, "loop")
    assert _region(db) == "loop" and _released(db)


def test_would_block_when_used_again_inside_its_own_transaction(db: Database) -> None:
    writer = _writer(db)
    with writer.transaction() as cursor:
        cursor.execute("UPDATE s3_buckets SET region = 'outer' WHERE name = 'b'")
        with pytest.raises(WouldBlock), writer.transaction() as inner:
            inner.execute("UPDATE s3_buckets SET region = 'inner' WHERE name = 'b'")
    assert _region(db) == "outer" and _released(db)


@contextmanager
def _held_by_another_thread(
    hold: Callable[[], AbstractContextManager[Any]], inside: Callable[[Any], object] = lambda _value: None
) -> Iterator[None]:
    """While the block runs, another thread is inside ``hold()`` (having run ``inside`` there)."""
    entered, leave = threading.Event(), threading.Event()

    def run() -> None:
        with hold() as value:
            inside(value)
            entered.set()
            leave.wait(DEADLINE)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert entered.wait(DEADLINE)
        yield
    finally:
        leave.set()
        thread.join()


def test_would_block_while_another_thread_is_in_a_transaction(db: Database) -> None:
    def update(cursor: sqlite3.Cursor) -> None:
        cursor.execute("UPDATE s3_buckets SET region = 'thread' WHERE name = 'b'")

    with _held_by_another_thread(_writer(db).transaction, update), pytest.raises(WouldBlock):
        _set_region(db, "loop")
    assert _region(db) == "thread" and _released(db)


def _value_error() -> BaseException:
    return ValueError("bad")


def _aws_error() -> BaseException:
    return AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")


@pytest.mark.parametrize("make", [_value_error, _aws_error, KeyboardInterrupt])
def test_an_exception_of_the_block_rolls_back_and_propagates(
    db: Database, make: Callable[[], BaseException]
) -> None:
    error = make()
    with pytest.raises(type(error)) as caught, _writer(db).transaction() as cursor:
        cursor.execute("UPDATE s3_buckets SET region = 'lost' WHERE name = 'b'")
        raise error
    assert caught.value is error
    assert _region(db) == "us-east-1" and _released(db)
    connection = _writer(db)._connection
    assert connection is not None and not connection.in_transaction
    _set_region(db, "later")
    assert _region(db) == "later"


def test_a_refused_check_writes_nothing(db: Database) -> None:
    def refuse(_existing: object) -> None:
        raise _aws_error()

    with pytest.raises(AwsError) as caught:
        repo.put_object_row_now(db, _info("k", (inline(b"1"),)), refuse)
    assert caught.value.code == "PreconditionFailed"
    with pytest.raises(AwsError) as caught:
        repo.put_object_row_now(db, _info("k", (inline(b"1"),), bucket="gone"), _allow)
    assert caught.value.code == "NoSuchBucket"
    assert repo.read_object_now(db, "b", "k") is None and _released(db)


def test_a_driver_error_in_the_block_is_would_block_and_commits_nothing(db: Database) -> None:
    _set_region(db, "before")
    first = _writer(db)._connection
    with pytest.raises(WouldBlock) as caught, _writer(db).transaction() as cursor:
        cursor.execute("UPDATE s3_buckets SET region = 'lost' WHERE name = 'b'")
        cursor.execute("INSERT INTO s3_buckets SELECT * FROM s3_buckets")  # the same primary key
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert _region(db) == "before" and _released(db)
    assert _writer(db)._connection is None  # not merely busy: a fresh connection next time
    _set_region(db, "after")
    assert _region(db) == "after" and _writer(db)._connection is not first


# --- WriterLock.try_acquire -----------------------------------------------------------------------


def test_try_acquire_gets_the_lock_another_process_lets_go_of_within_its_patience(db: Database) -> None:
    lock = _lock(db)
    fd = _hold_flock(db)
    releaser = threading.Timer(0.05, fcntl.flock, (fd, fcntl.LOCK_UN))
    releaser.start()
    try:
        assert lock.try_acquire(DEADLINE)
    finally:
        releaser.join()
        os.close(fd)
    assert lock._holders == 1 and _locked(db)
    lock.release()
    assert _released(db)


def test_try_acquire_gives_up_when_the_other_process_keeps_the_lock(db: Database) -> None:
    lock = _lock(db)
    fd = _hold_flock(db)
    try:
        assert not lock.try_acquire(0.02)
        assert lock._holders == 0
    finally:
        os.close(fd)
    assert lock.try_acquire(0)
    lock.release()
    assert _released(db)


def test_try_acquire_refuses_while_this_process_holds_a_share(db: Database) -> None:
    lock = _lock(db)
    lock.acquire()
    try:
        assert not lock.try_acquire(DEADLINE)  # the flock is this process's own: never a wait
        assert lock._holders == 1
    finally:
        lock.release()
    assert _released(db)


def test_try_acquire_refuses_at_once_while_this_process_waits_for_the_lock(db: Database) -> None:
    lock = _lock(db)
    fd = _hold_flock(db)
    got, leave = threading.Event(), threading.Event()

    def wait_for_the_lock() -> None:  # a thread's connection about to write, waiting its turn
        lock.acquire()
        got.set()
        leave.wait(DEADLINE)
        lock.release()

    waiter = threading.Thread(target=wait_for_the_lock)
    waiter.start()
    answers: list[bool] = []
    try:
        assert _wait_for(lock._mutex.locked)
        attempt = threading.Thread(target=lambda: answers.append(lock.try_acquire(0)))
        attempt.start()
        attempt.join(DEADLINE)  # it must not wait behind the waiting thread
        assert answers == [False]
    finally:
        os.close(fd)
        assert got.wait(DEADLINE)
        leave.set()
        waiter.join()
    assert _released(db)


# --- checkpoints ----------------------------------------------------------------------------------


def test_checkpoint_is_due_every_so_many_commits(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = _writer(db)
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 3)
    _set_region(db, "1")
    assert not writer.checkpoint_due()
    _set_region(db, "2")
    assert not writer.checkpoint_due()
    with pytest.raises(ValueError), writer.transaction():
        raise ValueError  # rolled back: not a commit
    fd = _hold_flock(db)
    with pytest.raises(WouldBlock):
        _set_region(db, "x")
    os.close(fd)
    assert not writer.checkpoint_due()
    _set_region(db, "3")
    assert writer.checkpoint_due()
    assert not writer.checkpoint_due()  # once
    for region in ("4", "5"):
        _set_region(db, region)
        assert not writer.checkpoint_due()
    _set_region(db, "6")
    assert writer.checkpoint_due()


def test_checkpoint_moves_the_loop_writers_commits_into_the_database_file(
    db: Database, tmp_path: Path
) -> None:
    assert db.sqlite_file is not None
    db.checkpoint()  # the schema, still in the WAL since the migration

    def file_alone() -> str:
        """The region as the database file says without its WAL."""
        copy = tmp_path / f"copy-{time.monotonic_ns()}.db"
        assert db.sqlite_file is not None
        copyfile(db.sqlite_file, copy)
        with closing(sqlite3.connect(copy)) as connection:
            return str(connection.execute("SELECT region FROM s3_buckets").fetchone()[0])

    assert file_alone() == "us-east-1"
    _set_region(db, "checkpointed")  # the loop writer never checkpoints: the row is in the WAL
    assert file_alone() == "us-east-1"
    db.checkpoint()
    assert file_alone() == "checkpointed"


# --- commit_object_now ----------------------------------------------------------------------------


@pytest.fixture
def bucket_state(state: AppState) -> AppState:
    with state.db.transaction() as session:
        ensure_account(session, "123456789012")
        session.add(Bucket(name="b", account_id="123456789012", region="us-east-1", created_at=NOW))
    return state


def _call(state: AppState, tmp_path: Path, **headers: str) -> S3Call:
    """What ``commit_object_now`` uses of a request: its state, blob store and headers."""
    fake: Any = SimpleNamespace(state=state, blobs=BlobStore(tmp_path), header=headers.get)
    return cast(S3Call, fake)


def _drain(state: AppState) -> None:
    """Wait until the background work submitted so far has run: both database threads are
    taken by this barrier only once everything queued before it is done."""
    barrier = threading.Barrier(DB_THREADS + 1)
    for _ in range(DB_THREADS):
        state.in_background(barrier.wait, DEADLINE)
    barrier.wait(DEADLINE)


def _wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_commit_object_now_stores_over_rows_and_leaves_file_objects_to_a_thread(
    bucket_state: AppState, tmp_path: Path
) -> None:
    call = _call(bucket_state, tmp_path)
    commit_object_now(call, _info("k", (inline(b"first"),)))
    commit_object_now(call, _info("k", (inline(b"small"),)))
    assert repo.read_object_now(bucket_state.db, "b", "k") == _info("k", (inline(b"small"),))
    stored = call.blobs.put(b"a file object")
    commit_object(call, _info("f", (stored,)))
    with pytest.raises(WouldBlock):  # its file is deleted before the answer: not on the loop
        commit_object_now(call, _info("f", (inline(b"small"),)))
    assert repo.read_object_now(bucket_state.db, "b", "f") == _info("f", (stored,))
    assert call.blobs.path(stored.blob_id).exists()
    assert _released(bucket_state.db) and _write_lock_free(bucket_state)


def test_commit_object_now_would_block_while_a_thread_holds_the_write_lock(
    bucket_state: AppState, tmp_path: Path
) -> None:
    with _held_by_another_thread(lambda: bucket_state.write_lock), pytest.raises(WouldBlock):
        commit_object_now(_call(bucket_state, tmp_path), _info("k", (inline(b"1"),)))
    assert repo.read_object_now(bucket_state.db, "b", "k") is None
    assert _released(bucket_state.db)


def _write_lock_free(state: AppState) -> bool:
    """Whether another thread could take ``state.write_lock`` now."""
    free: list[bool] = []

    def attempt() -> None:
        got = state.write_lock.acquire(blocking=False)
        if got:
            state.write_lock.release()
        free.append(got)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return free == [True]


def test_commit_object_now_checks_conditions_and_lets_go_of_its_locks(
    bucket_state: AppState, tmp_path: Path
) -> None:
    commit_object_now(_call(bucket_state, tmp_path), _info("k", (inline(b"one"),)))
    with pytest.raises(AwsError) as caught:
        commit_object_now(_call(bucket_state, tmp_path, **IF_NONE), _info("k", (inline(b"2"),)))
    assert caught.value.code == "PreconditionFailed"
    assert repo.read_object_now(bucket_state.db, "b", "k") == _info("k", (inline(b"one"),))
    assert _write_lock_free(bucket_state) and _released(bucket_state.db)
    commit_object_now(_call(bucket_state, tmp_path, **IF_NONE), _info("new", (inline(b"3"),)))
    assert repo.read_object_now(bucket_state.db, "b", "new") is not None


def test_commit_object_now_runs_a_due_checkpoint_in_the_background(
    bucket_state: AppState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = bucket_state.db
    ran: list[str] = []
    monkeypatch.setattr(_writer(db), "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(db, "checkpoint", lambda: ran.append(threading.current_thread().name))
    commit_object_now(_call(bucket_state, tmp_path), _info("k1", (inline(b"1"),)))
    commit_object_now(_call(bucket_state, tmp_path), _info("k2", (inline(b"2"),)))
    _drain(bucket_state)
    assert len(ran) == 1 and ran[0] != threading.current_thread().name  # on a database thread
    commit_object_now(_call(bucket_state, tmp_path), _info("k3", (inline(b"3"),)))
    _drain(bucket_state)
    assert len(ran) == 1
    commit_object_now(_call(bucket_state, tmp_path), _info("k4", (inline(b"4"),)))
    _drain(bucket_state)
    assert len(ran) == 2


def test_background_failures_are_logged(state: AppState, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="monban")
    done = threading.Event()
    state.in_background(done.set)
    assert done.wait(DEADLINE)

    def failing() -> None:
        raise ValueError("housekeeping failed")

    state.in_background(failing)
    assert _wait_for(lambda: any(r.exc_info for r in caplog.records))
    record = next(r for r in caplog.records if r.exc_info)
    assert record.name == "monban" and record.getMessage() == "background work failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


# --- _Target: small bodies stay in memory ---------------------------------------------------------


def _target(tmp_path: Path, inline_limit: int) -> tuple[_Target, BlobStore]:
    store = BlobStore(tmp_path)
    fake: Any = SimpleNamespace(blobs=store)
    return _Target(cast(S3Call, fake), inline_limit), store


def _files(store: BlobStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []


def test_small_pieces_stay_in_memory_and_become_an_inline_segment(tmp_path: Path) -> None:
    target, store = _target(tmp_path, 10)
    for piece in (b"abc", b"def", b"ghij"):  # 10 bytes in all: at the limit
        target.write(piece)
    assert target.writer is None and _files(store) == []
    assert target.commit() == inline(b"abcdefghij")
    assert _files(store) == []


def test_pieces_beyond_the_inline_limit_spill_to_a_file(tmp_path: Path) -> None:
    target, store = _target(tmp_path, 10)
    target.write(b"abcdef")
    assert target.writer is None
    target.write(b"ghijk")  # 11 bytes: over the limit
    assert target.writer is not None and target.writer.size == 11 and target.writer.temp.exists()
    target.write(b"lmn")
    segment = target.commit()
    assert segment.data is None and segment.size == 14
    assert store.read((segment,), 0, 13) == b"abcdefghijklmn"
    assert _files(store) == [store.path(segment.blob_id)]


def test_one_large_piece_is_written_whole_and_a_discarded_spill_leaves_nothing(tmp_path: Path) -> None:
    target, store = _target(tmp_path, 10)
    target.write(b"x" * 20)
    assert target.writer is None  # one piece: written whole once verified
    segment = target.commit()
    assert segment.data is None and _files(store) == [store.path(segment.blob_id)]
    spilled, _ = _target(tmp_path, 10)
    spilled.write(b"y" * 6)
    spilled.write(b"z" * 6)
    assert spilled.writer is not None and spilled.writer.temp.exists()
    spilled.discard()
    assert _files(store) == [store.path(segment.blob_id)]


def test_without_an_inline_limit_a_second_piece_spills(tmp_path: Path) -> None:
    target, store = _target(tmp_path, -1)
    target.write(b"a")
    assert target.writer is None and _files(store) == []
    target.write(b"b")
    assert target.writer is not None
    segment = target.commit()
    assert segment.data is None and store.read((segment,), 0, 1) == b"ab"
    empty, _ = _target(tmp_path, -1)
    nothing = empty.commit()  # an empty body, no inline limit: a file still
    assert nothing.data is None and nothing.size == 0
    assert _target(tmp_path, 10)[0].commit() == inline(b"")


@pytest.mark.parametrize(
    ("headers", "whole"),
    [
        ({"content-length": "64"}, True),
        ({"content-length": "65"}, False),
        ({}, False),
        ({"content-length": "64", "transfer-encoding": "chunked"}, False),
        ({"content-length": "6४"}, False),  # a Unicode digit is no length
        ({"content-length": "-1"}, False),
    ],
)
def test_only_a_small_declared_body_counts_as_arrived_whole(headers: dict[str, str], whole: bool) -> None:
    fake: Any = SimpleNamespace(header=headers.get)
    assert _arrived_whole(cast(S3Call, fake), 64) is whole


class _RecordingLock:
    """A writers' lock that answers as told and records the patience it was asked for."""

    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers
        self.asked: list[float] = []

    def try_acquire(self, patience: float) -> bool:
        self.asked.append(patience)
        return self.answers.pop(0)

    def release(self) -> None:
        pass


def test_after_giving_up_the_loop_writer_does_not_poll_again_for_a_while(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimpleNamespace(now=100.0)
    monkeypatch.setattr("monban.store.db.time", SimpleNamespace(monotonic=lambda: clock.now))
    writer = _writer(db)
    lock = _RecordingLock([False, False, True, True])
    writer._writer_lock = cast(WriterLock, lock)
    for _ in range(2):
        with pytest.raises(WouldBlock), writer.transaction():
            pass
    clock.now += LoopWriter.PATIENCE * 9  # still within the quiet spell: no poll
    with writer.transaction():
        pass
    clock.now += LoopWriter.PATIENCE * 2  # over: poll again
    with writer.transaction():
        pass
    assert lock.asked == [LoopWriter.PATIENCE, 0.0, 0.0, LoopWriter.PATIENCE]

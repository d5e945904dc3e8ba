"""The S3 hot path's storage: the writers' lock of a SQLite database, the event loop's reader, the
driver statements (same rows as Core's), and inline segments in the blob store."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from monban.protocol.errors import AwsError
from monban.services.s3 import repo
from monban.services.s3.repo import ObjectInfo
from monban.services.s3.storage import INLINE, BlobStore, Segment, dump_segments, file_ids, inline
from monban.store.db import Database, LoopReader, WouldBlock, sqlite_file, sqlite_url
from tests.unit.conftest import NOW

STORED = NOW.replace(tzinfo=None)  # SQLite keeps no zone: Core hands UTC times back naive


def _locked(db: Database) -> bool:
    """Whether some connection of this process holds the writers' lock (seen from another open
    file description, which ``flock`` treats as another holder)."""
    fd = os.open(f"{db.sqlite_file}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _info(key: str, segments: tuple[Segment, ...], **changes: Any) -> ObjectInfo:
    info = ObjectInfo(
        bucket="b",
        key=key,
        segments=segments,
        size=sum(s.size for s in segments),
        etag='"e"',
        last_modified=STORED,
        content_type="text/plain",
        headers={"cache-control": "no-cache"},
        user_metadata=[("a", "1")],
        checksum_algorithm="CRC32",
        checksum_value="AAAAAA==",
        checksum_type="FULL_OBJECT",
        parts_count=None,
        storage_class="STANDARD",
    )
    return replace(info, **changes)


def _allow(_existing: ObjectInfo | None) -> None:
    return None


def test_sqlite_file_of_urls(tmp_path: Path) -> None:
    assert sqlite_file(sqlite_url(tmp_path)) == str(tmp_path / "monban.db")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None


def test_writers_hold_the_lock_from_their_first_write_to_their_end(db: Database) -> None:
    with db.transaction() as session:
        session.execute(text("SELECT count(*) FROM s3_objects")).all()
        assert not _locked(db)  # reading takes no lock
        session.execute(text("UPDATE s3_buckets SET region = region WHERE name = 'b'"))
        assert _locked(db)
    assert not _locked(db)
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.execute(text("UPDATE s3_buckets SET region = region WHERE name = 'b'"))
        assert _locked(db)
        raise RuntimeError
    assert not _locked(db)
    with db.driver_transaction():
        assert _locked(db)
    assert not _locked(db)


def test_a_writer_of_another_process_holds_the_lock_until_it_commits(db: Database) -> None:
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child writes, says so, and commits once the parent closes ``go``
        try:
            os.close(ready_read)
            os.close(go_write)
            child = Database(db.url)
            with child.driver_transaction() as cursor:
                cursor.execute("UPDATE s3_buckets SET region = 'child' WHERE name = 'b'")
                os.write(ready_write, b"x")
                os.read(go_read, 1)
        finally:
            os._exit(0)
    os.close(ready_write)
    os.close(go_read)
    assert os.read(ready_read, 1) == b"x"
    assert _locked(db)
    os.close(go_write)
    os.waitpid(pid, 0)
    os.close(ready_read)
    assert not _locked(db)
    with db.driver_transaction() as cursor:
        assert cursor.execute("SELECT region FROM s3_buckets").fetchall() == [("child",)]


def test_the_loop_reader_sees_commits_and_never_waits(db: Database) -> None:
    reader = db.loop_reader
    assert isinstance(reader, LoopReader)
    repo.put_object_row(db, _info("k", (inline(b"abc"),)), _allow)
    assert repo.read_object_now(db, "b", "k") == _info("k", (inline(b"abc"),))
    assert repo.read_object_now(db, "b", "absent") is None
    assert db.sqlite_file is not None
    db.dispose()  # every connection closed: another one may take the database for itself
    holder = sqlite3.connect(db.sqlite_file, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")  # a state in which a WAL reader would have to wait
    with pytest.raises(WouldBlock) as caught:
        repo.read_object_now(db, "b", "k")
    cause = caught.value.__cause__
    assert isinstance(cause, sqlite3.OperationalError) and cause.sqlite_errorcode == sqlite3.SQLITE_BUSY
    holder.execute("COMMIT")
    holder.close()
    assert repo.read_object_now(db, "b", "k") is not None
    with pytest.raises(WouldBlock):
        reader.fetch("SELECT * FROM no_such_table", ())


def test_driver_and_core_write_and_read_the_same_rows(db: Database) -> None:
    files = (Segment("a" * 32, 3), Segment("b" * 32, 4))
    plain = _info("plain", files, headers={}, user_metadata=[], checksum_algorithm=None, checksum_value=None)
    small = _info("small", (inline(b"\x00\xffdata"),), parts_count=None)
    for info in (plain, small):
        assert repo.put_object_row(db, replace(info, last_modified=NOW), _allow).unused == ()
        with db.engine.connect() as connection:
            assert repo.read_object(connection, "b", info.key) == info
        assert repo.read_object_now(db, "b", info.key) == info
    with db.engine.begin() as connection:  # Core (PostgreSQL's path) over a driver-written row
        repo.lock_bucket_row(connection, "b")
        existing = repo.read_object(connection, "b", "small")
        replaced = repo.replace_object(connection, _info("small", files), existing)
    assert replaced == ()
    assert repo.read_object_now(db, "b", "small") == _info("small", files)
    assert repo.put_object_row(db, small, _allow).unused == tuple(s.blob_id for s in files)
    assert repo.read_object_now(db, "b", "small") == small


def test_put_object_row_checks_and_rolls_back(db: Database) -> None:
    seen: list[ObjectInfo | None] = []

    def refuse(existing: ObjectInfo | None) -> None:
        seen.append(existing)
        raise AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")

    with pytest.raises(AwsError):
        repo.put_object_row(db, _info("k", (inline(b"1"),)), refuse)
    assert seen == [None] and repo.read_object_now(db, "b", "k") is None and not _locked(db)
    with pytest.raises(AwsError) as caught:
        repo.put_object_row(db, _info("k", (inline(b"1"),), bucket="gone"), _allow)
    assert caught.value.code == "NoSuchBucket"


def test_inline_segments_in_the_blob_store(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    on_disk = store.put(b"0123456789")
    small = inline(b"abcdef")
    assert (small.blob_id, small.size) == (INLINE, 6)
    both = (on_disk, small)
    assert store.read(both, 0, 15) == b"0123456789abcdef"
    assert store.read(both, 8, 11) == b"89ab"
    assert store.read((small,), 1, 2) == b"bc"
    assert b"".join(store.open_range(both, 5, 13).chunks(3)) == b"56789abcd"
    assert file_ids(both) == (on_disk.blob_id,)
    assert dump_segments((small,)) == "[]"
    store.delete([INLINE, on_disk.blob_id])
    assert [p for p in store.root.rglob("*") if p.is_file()] == []
    with pytest.raises(FileNotFoundError):
        store.read((on_disk,), 0, 9)

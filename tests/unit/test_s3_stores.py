"""Where object bytes live (``services/s3/stores.py``, ``chunks.py``): the store chosen at serve
time, each segment read from its own store, chunks written in one transaction and read by
range touching only the chunks a range covers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from monban.services.s3.chunks import CHUNK, ChunkStore
from monban.services.s3.storage import BlobMissing, BlobStore, Segment, inline, pieces
from monban.services.s3.stores import Stores, kind, open_store
from monban.settings import Settings
from monban.store.db import Database


def test_a_blob_id_names_its_store() -> None:
    assert [kind(i) for i in ("0" * 32, "", "db:" + "0" * 32, "s3:" + "0" * 32)] == [
        "files",
        "files",
        "database",
        "gateway",
    ]


def test_the_store_chosen_at_serve_time(tmp_path: Path) -> None:
    assert isinstance(open_store(Settings(data_dir=tmp_path)), BlobStore)  # SQLite: files alone
    assert Settings(data_dir=tmp_path).object_store_kind == "files"
    on_postgres = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:p@h/db")
    assert on_postgres.object_store_kind == "database"
    assert Settings(data_dir=tmp_path, object_store="s3://b/p").object_store_kind == "gateway"
    files = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:p@h/db", object_store="files")
    assert files.object_store_kind == "files"


def test_pieces_cover_a_range_and_skip_empty_segments() -> None:
    a, empty, b = Segment("a", 5), Segment("e", 0), Segment("b", 5)
    assert pieces((a, empty, b), 3, 6) == [(a, 3, 2), (b, 0, 2)]
    assert pieces((a, empty, b), 5, 9) == [(b, 0, 5)]


def test_a_segment_of_a_store_this_node_lacks_is_missing(tmp_path: Path) -> None:
    files = BlobStore(tmp_path)
    stores = Stores(files, {"files": files})
    on_disk = files.put(b"hello ")
    segments = (on_disk, inline(b"world"))
    assert stores.read(segments, 0, 10) == b"hello world"
    with pytest.raises(BlobMissing):
        stores.open_range((*segments, Segment("db:" + "0" * 32, 4)), 0, 14)
    with pytest.raises(BlobMissing):  # the plain file store alike (SQLite after a gateway)
        files.read((Segment("s3:" + "0" * 32, 4),), 0, 3)
    stores.delete([on_disk.blob_id, "db:" + "0" * 32, ""])  # a store it lacks is skipped
    assert not files.path(on_disk.blob_id).exists()


@pytest.fixture
def chunk_store(tmp_path: Path) -> Iterator[ChunkStore]:
    admin = os.environ.get("MONBAN_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("needs a PostgreSQL server: MONBAN_TEST_POSTGRES_URL")
    from tests.e2e.server import postgres_database

    with postgres_database(admin) as url:
        db = Database(url)
        db.migrate()
        db.dispose()
        store = ChunkStore(url)
        yield store
        store.engine.dispose()


@pytest.mark.postgres
def test_chunks_are_written_whole_or_not_at_all_and_read_by_range(chunk_store: ChunkStore) -> None:
    data = bytes(range(256)) * (CHUNK // 256) * 2 + b"tail"  # two full chunks and a short one
    writer = chunk_store.create()
    for at in range(0, len(data), 300_000):
        writer.write(data[at : at + 300_000])
    segment = writer.commit()
    assert segment.size == len(data) and segment.blob_id.startswith("db:")
    assert chunk_store.read((segment,), 0, len(data) - 1) == data
    assert chunk_store.read((segment,), CHUNK - 2, CHUNK + 1) == data[CHUNK - 2 : CHUNK + 2]
    assert (
        b"".join(chunk_store.open_range((segment,), 5, 2 * CHUNK + 2).chunks(1000)) == data[5 : 2 * CHUNK + 3]
    )
    dropped = chunk_store.create()
    dropped.write(data)
    dropped.discard()
    with pytest.raises(BlobMissing):
        chunk_store.open_range((Segment(dropped.blob_id, len(data)),), 0, 10)
    chunk_store.delete([segment.blob_id])
    with pytest.raises(BlobMissing):
        chunk_store.read((segment,), 0, 10)


def test_the_gateway_url_names_a_bucket_and_a_prefix() -> None:
    from monban.services.s3.gateway import parse_url

    assert parse_url("s3://bytes") == ("bytes", "")
    assert parse_url("s3://bytes/a/b/") == ("bytes", "a/b/")
    for bad in ("s3://", "s3:///p", "https://bytes", "bytes"):
        with pytest.raises(ValueError):
            parse_url(bad)

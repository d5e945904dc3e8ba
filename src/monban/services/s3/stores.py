"""Which store holds object bytes, chosen at serve time, and reading a blob wherever it lives.

``--object-store`` names the store new blobs go to: ``files`` (the data dir: the default on
SQLite), ``database`` (chunks in PostgreSQL: the default there) or ``s3://BUCKET[/PREFIX]`` (a
gateway to an S3-compatible store). A blob's id says where it lives (files: 32 hex digits;
``db:…`` chunks; ``s3:…`` the gateway), so an object written before a change of store — or a
part uploaded through a node with another — is still read from where it is: ``Stores`` sends each
segment to its store. A blob of a store this node does not have (a file on another node's disk,
a gateway blob on a node started without ``--object-store``) is ``BlobMissing``: 503.

SQLite with files, the default, uses the file store alone, exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Protocol

from monban.services.s3.chunks import ChunkStore
from monban.services.s3.storage import (
    DATABASE_PREFIX,
    GATEWAY_PREFIX,
    INLINE,
    READ_CHUNK,
    BlobMissing,
    BlobSink,
    BlobStore,
    ByteRange,
    ObjectStore,
    Piece,
    Segment,
    pieces,
)
from monban.settings import Settings


class _PieceStore(ObjectStore, Protocol):
    def open_pieces(self, parts: list[Piece]) -> ByteRange: ...


def kind(blob_id: str) -> str:
    """The store of a blob id: "files" (inline segments are read by the file store too),
    "database" or "gateway"."""
    if blob_id.startswith(DATABASE_PREFIX):
        return "database"
    if blob_id.startswith(GATEWAY_PREFIX):
        return "gateway"
    return "files"


def open_store(settings: Settings) -> ObjectStore:
    """The object store of a server (one per worker: it holds connection pools)."""
    files = BlobStore(settings.data_dir)
    chosen = settings.object_store_kind
    database = settings.database.startswith("postgresql")
    if chosen == "files" and not database:
        return files
    stores: dict[str, _PieceStore] = {"files": files}
    if database:
        stores["database"] = ChunkStore(settings.database)
    if chosen == "gateway":
        from monban.services.s3.gateway import GatewayStore  # botocore: only when asked for

        stores["gateway"] = GatewayStore(
            settings.object_store,
            settings.object_store_endpoint,
            settings.object_store_region,
            settings.object_store_profile,
        )
    return Stores(stores[chosen], stores)


class Stores:
    """Writes go to one store; reads and deletes go to each blob's own."""

    def __init__(self, target: _PieceStore, stores: dict[str, _PieceStore]) -> None:
        self.target = target
        self._stores = stores

    def _store(self, name: str, blob_id: str) -> _PieceStore:
        store = self._stores.get(name)
        if store is None:
            raise BlobMissing(f"blob {blob_id} is in a store ({name}) this server does not use")
        return store

    def create(self) -> BlobSink:
        return self.target.create()

    def put(self, data: bytes) -> Segment:
        return self.target.put(data)

    def delete(self, blob_ids: Iterable[str]) -> None:
        ids = sorted((b for b in blob_ids if b != INLINE), key=kind)
        for name, group in groupby(ids, kind):
            store = self._stores.get(name)
            if store is not None:
                store.delete(list(group))

    def read(self, segments: tuple[Segment, ...], start: int, end: int) -> bytes:
        """A small span: by its store's own ``read`` when one store holds it all (the usual
        case), else through ``open_range``."""
        names = {kind(segment.blob_id) for segment, _o, _l in pieces(segments, start, end)}
        if len(names) == 1:
            (name,) = names
            return self._store(name, segments[0].blob_id).read(segments, start, end)
        return self.open_range(segments, start, end).read_all()

    def open_range(self, segments: tuple[Segment, ...], start: int, end: int) -> ByteRange:
        """Each run of consecutive pieces in one store opened by that store, now."""
        opened: list[ByteRange] = []
        try:
            for name, run in groupby(pieces(segments, start, end), lambda p: kind(p[0].blob_id)):
                parts = list(run)
                opened.append(self._store(name, parts[0][0].blob_id).open_pieces(parts))
        except BaseException:
            for reader in opened:
                reader.close()
            raise
        return opened[0] if len(opened) == 1 else Chain(opened)  # Chain([]): nothing to read


class Chain:
    """Readers one after the other."""

    def __init__(self, readers: list[ByteRange]) -> None:
        self._readers = readers

    def chunks(self, size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            for reader in self._readers:
                yield from reader.chunks(size)
        finally:
            self.close()

    def read_all(self) -> bytes:
        return b"".join(self.chunks(1024 * 1024))

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers = []

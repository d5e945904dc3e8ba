"""Where object bytes live: the interface every store keeps, and the first store, files on disk
(``<data dir>/objects/<id[:2]>/<id>``, named by generated ids only).

An ``ObjectStore`` is small: ``create`` (a ``BlobSink`` written piece by piece, then committed as
a ``Segment``, or discarded), ``put`` (a verified body in one piece), ``open_range`` (a
``ByteRange``: an iterator over bytes ``start..end`` of an object's segments), ``read`` (a small
span at once) and ``delete``. Three implement it: ``BlobStore`` here (the data dir),
``chunks.ChunkStore`` (PostgreSQL) and ``gateway.GatewayStore`` (an S3-compatible endpoint);
``stores.py`` picks them at serve time. A store that cannot reach a blob's bytes raises
``Unavailable`` (or ``FileNotFoundError``: ``BlobMissing``), which the S3 front answers as 503.

A blob is written to ``objects/tmp/<id>`` and renamed into place (``os.replace``, atomic on one
file system) once complete and verified; the metadata row that makes it visible is committed after.
A body that arrived whole, verified before its file exists, is written at its final name in one
go (``BlobStore.put``). Either way the file's bytes and then its folder's entry are fsync'd
before the row commits (so before the write is acknowledged): a power loss after the answer cannot
leave a row naming a missing or short file. A crash therefore leaves at worst an unreferenced
file, never a partial object; a temporary left by a crash is removed at the next start.
User-supplied keys never reach a path: ``a/../../etc`` is a database key, its bytes live under a
random id.

Files are 0600 and folders 0700 (``store/datadir.py``), whatever the umask.

A small object may have no file at all: its one segment is *inline* (``Segment.data``, stored in
the object's row). Readers take both kinds alike (``read``, ``open_range``); ``delete`` skips it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_ID = re.compile(r"[0-9a-f]{32}")
READ_CHUNK = 256 * 1024
# a blob file is new (never an existing one), its owner's only (0600, as the data dir's rule says)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def new_id() -> str:
    return secrets.token_hex(16)


INLINE = ""  # the blob id of an inline segment: there is no file
DATABASE_PREFIX = "db:"  # the ids of blobs in the database (``chunks.py``)
GATEWAY_PREFIX = "s3:"  # the ids of blobs in an S3-compatible store (``gateway.py``)


@dataclass(frozen=True, slots=True)
class Segment:
    """One blob of an object (the whole object, or one part of a multipart upload), or the bytes
    of a small object themselves (``data``, with ``blob_id`` INLINE)."""

    blob_id: str
    size: int
    data: bytes | None = None


def inline(data: bytes) -> Segment:
    return Segment(INLINE, len(data), data)


class Unavailable(Exception):
    """A store cannot be reached now (down, overloaded, refused us): S3's 503, with Retry-After.

    ``code`` is ServiceUnavailable, or SlowDown when the store is merely saturated (Amazon S3 API
    Reference, "List of error codes": both 503, both to be retried)."""

    def __init__(self, message: str, code: str = "ServiceUnavailable") -> None:
        super().__init__(message)
        self.code = code


class BlobMissing(FileNotFoundError):
    """A blob's bytes are not where its id says (removed by a concurrent overwrite, or on another
    node's disk): a read retries once with the current row, then answers 503."""


class BlobSink(Protocol):
    """A blob being written: ``write`` pieces, then ``commit`` (its segment) or ``discard``."""

    blob_id: str
    size: int

    def write(self, data: bytes) -> None: ...

    def commit(self) -> Segment: ...

    def discard(self) -> None: ...


class ByteRange(Protocol):
    """An open byte range of an object: iterate ``chunks`` once (it closes itself at the end)."""

    def chunks(self, size: int = ...) -> Iterator[bytes]: ...

    def read_all(self) -> bytes: ...

    def close(self) -> None: ...


class ObjectStore(Protocol):
    """Where object bytes live (see the module docstring); the S3 handlers know only this."""

    def create(self) -> BlobSink: ...

    def put(self, data: bytes) -> Segment: ...

    def delete(self, blob_ids: Iterable[str]) -> None: ...

    def read(self, segments: tuple[Segment, ...], start: int, end: int) -> bytes: ...

    def open_range(self, segments: tuple[Segment, ...], start: int, end: int) -> ByteRange: ...


Piece = tuple[Segment, int, int]  # a segment, the offset in it and the length to read


def pieces(segments: Iterable[Segment], start: int, end: int) -> list[Piece]:
    """The parts of ``segments`` that bytes ``start``..``end`` (inclusive) of their concatenation
    cover: (segment, offset within it, length), in order, empty segments left out."""
    out: list[Piece] = []
    offset = 0
    for segment in segments:
        first, last = offset, offset + segment.size - 1
        offset += segment.size
        if segment.size == 0 or last < start or first > end:
            continue
        out.append((segment, max(start, first) - first, min(end, last) - max(start, first) + 1))
    return out


def file_ids(segments: Iterable[Segment]) -> tuple[str, ...]:
    """The blob ids of the segments that are files."""
    return tuple(s.blob_id for s in segments if s.data is None)


def dump_segments(segments: Iterable[Segment]) -> str:
    """The ``blobs`` column: the file segments (an inline one lives in the ``data`` column)."""
    files = [[s.blob_id, s.size] for s in segments if s.data is None]
    return json.dumps(files) if files else "[]"


def load_segments(text: str) -> tuple[Segment, ...]:
    return tuple(Segment(str(blob), int(size)) for blob, size in json.loads(text))


class BlobStore:
    """The ``objects`` folder of one data dir."""

    def __init__(self, data_dir: Path | str) -> None:
        # file names as plain strings: on a small object, pathlib costs more than the I/O
        self._root = os.path.join(data_dir, "objects")
        self._tmp = os.path.join(self._root, "tmp")

    @property
    def root(self) -> Path:
        return Path(self._root)

    @property
    def tmp(self) -> Path:
        return Path(self._tmp)

    def file(self, blob_id: str) -> str:
        """The file of a blob: ``objects/<id[:2]>/<id>``."""
        if not _ID.fullmatch(blob_id):  # ids are ours; anything else is a bug, never a path
            if ":" in blob_id:  # another store's blob (``stores.py``), not configured here
                raise BlobMissing(f"blob {blob_id} is in a store this server does not use")
            raise ValueError(f"not a blob id: {blob_id!r}")
        return f"{self._root}/{blob_id[:2]}/{blob_id}"

    def path(self, blob_id: str) -> Path:
        return Path(self.file(blob_id))

    def create(self) -> BlobWriter:
        """A new blob being written (in ``objects/tmp``, made on first use)."""
        blob_id = new_id()
        temp = f"{self._tmp}/{blob_id}.part"
        try:
            fd = os.open(temp, _NEW_FILE, 0o600)
        except FileNotFoundError:
            os.makedirs(self._tmp, 0o700, exist_ok=True)
            fd = os.open(temp, _NEW_FILE, 0o600)
        # held while this process lives: ``sweep_temporaries`` removes only files nobody holds
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return BlobWriter(self, blob_id, temp, os.fdopen(fd, "wb"))

    def put(self, data: bytes) -> Segment:
        """A new blob of ``data``, complete and verified already, written in one piece.

        It goes straight to its final name (no temp file and rename): the id is new, so nothing
        reaches the file before the row naming it commits, and a crash leaves at worst an
        unreferenced file — as it may between a rename and its commit.
        """
        blob_id = new_id()
        final = self.file(blob_id)
        try:
            fd = os.open(final, _NEW_FILE, 0o600)
        except FileNotFoundError:  # the first blob of its ``<id[:2]>`` folder
            self.make_folder(os.path.dirname(final))
            fd = os.open(final, _NEW_FILE, 0o600)
        try:
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:])
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(final)
            raise
        os.close(fd)
        fsync_folder(os.path.dirname(final))
        return Segment(blob_id, len(data))

    def make_folder(self, folder: str) -> None:
        """A new ``<id[:2]>`` folder (and ``objects`` the first time), their entries made durable."""
        os.makedirs(folder, 0o700, exist_ok=True)
        fsync_folder(self._root)
        fsync_folder(os.path.dirname(self._root))

    def delete(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            if blob_id == INLINE:  # no file to remove
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.file(blob_id))

    def read(self, segments: tuple[Segment, ...], start: int, end: int) -> bytes:
        """Bytes ``start``..``end`` (inclusive) of the object made of ``segments``, read now (a small
        span: ``open_range`` for anything to stream). FileNotFoundError when a concurrent overwrite
        removed a file meanwhile."""
        read: list[bytes] = []
        for segment, offset, length in pieces(segments, start, end):
            if segment.data is not None:
                whole = length == segment.size
                read.append(segment.data if whole else segment.data[offset : offset + length])
            else:
                read.append(_pread(self.file(segment.blob_id), offset, length))
        return read[0] if len(read) == 1 else b"".join(read)

    def _open(self, blob_id: str) -> BinaryIO:
        return open(self.file(blob_id), "rb")  # closed by the RangeReader

    def open_range(self, segments: tuple[Segment, ...], start: int, end: int) -> RangeReader:
        """A reader of bytes ``start``..``end`` (inclusive) of the object made of ``segments``.

        Files are opened now, so a concurrent overwrite (which unlinks them) cannot break it.
        """
        return self.open_pieces(pieces(segments, start, end))

    def open_pieces(self, parts: list[Piece]) -> RangeReader:
        """``open_range`` of the pieces ``pieces`` chose (files and inline segments)."""
        handles: list[tuple[BinaryIO | bytes, int, int]] = []
        try:
            for segment, offset, length in parts:
                source = segment.data if segment.data is not None else self._open(segment.blob_id)
                handles.append((source, offset, length))
        except BaseException:
            RangeReader(handles).close()
            raise
        return RangeReader(handles)


class BlobWriter:
    """A blob under construction: write, then ``commit`` (rename into place) or ``discard``."""

    def __init__(self, store: BlobStore, blob_id: str, temp: str, handle: BinaryIO) -> None:
        self.store = store
        self.blob_id = blob_id
        self._temp = temp
        self.handle = handle
        self.size = 0

    @property
    def temp(self) -> Path:
        """The file being written (in ``objects/tmp``)."""
        return Path(self._temp)

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.size += len(data)

    def commit(self) -> Segment:
        """The blob at its final name, its bytes and the rename durable (fsync of the file, then of
        the folder it now lives in)."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        final = self.store.file(self.blob_id)
        try:
            os.replace(self._temp, final)
        except FileNotFoundError:  # the first blob of its ``<id[:2]>`` folder
            self.store.make_folder(os.path.dirname(final))
            os.replace(self._temp, final)
        fsync_folder(os.path.dirname(final))
        return Segment(self.blob_id, self.size)

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)


class RangeReader:
    """Reads an object's byte range from already-open files (and inline bytes), in chunks."""

    def __init__(self, handles: list[tuple[BinaryIO | bytes, int, int]]) -> None:
        self._handles = handles

    def read_all(self) -> bytes:
        return b"".join(self.chunks(1 << 62))

    def chunks(self, size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            for source, start, length in self._handles:
                if isinstance(source, bytes):
                    for at in range(start, start + length, size):
                        yield source[at : min(at + size, start + length)]
                    continue
                source.seek(start)
                left = length
                while left > 0:
                    data = source.read(min(size, left))
                    if not data:
                        raise OSError("object file shorter than recorded")
                    left -= len(data)
                    yield data
        finally:
            self.close()

    def close(self) -> None:
        for source, _a, _b in self._handles:
            if not isinstance(source, bytes):
                source.close()
        self._handles = []


def fsync_folder(folder: str) -> None:
    """Make the entries of ``folder`` (a file created or renamed into it) durable: POSIX asks
    an fsync of the directory itself for that, as the file's own fsync covers only its bytes."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pread(path: str, offset: int, length: int) -> bytes:
    """``length`` bytes of file ``path`` from ``offset`` (OSError when the file is shorter)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.pread(fd, length, offset)
        while len(data) < length:  # a regular file reads short only at its end
            more = os.pread(fd, length - len(data), offset + len(data))
            if not more:
                raise OSError("object file shorter than recorded")
            data += more
        return data
    finally:
        os.close(fd)


def sweep_temporaries(data_dir: Path) -> int:
    """Remove the upload temporaries no live writer holds (a crashed process's); their count.

    A writer holds an exclusive ``flock`` on its temporary from creation to commit or discard, and
    the kernel drops it when the process dies, SIGKILL included: a file whose lock can be taken is
    a dead upload's. Live uploads (of this server's workers or of another on the same data dir)
    are left alone. Run at start-up.
    """
    tmp = Path(data_dir) / "objects" / "tmp"
    if not tmp.is_dir():
        return 0
    removed = 0
    for path in tmp.iterdir():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live upload
            continue
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        finally:
            os.close(fd)
    return removed

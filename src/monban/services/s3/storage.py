"""Object bytes on disk: ``<data dir>/objects/<id[:2]>/<id>``, named by generated ids only.

A blob is written to ``objects/tmp/<id>`` and renamed into place (``os.replace``, atomic on one
file system) once complete and verified; the metadata row that makes it visible is committed after.
A crash therefore leaves at worst an unreferenced file, never a partial object. User-supplied keys
never reach a path: ``a/../../etc`` is a database key, its bytes live under a random id.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_ID = re.compile(r"[0-9a-f]{32}")
READ_CHUNK = 256 * 1024


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Segment:
    """One blob of an object (the whole object, or one part of a multipart upload)."""

    blob_id: str
    size: int


def dump_segments(segments: Iterable[Segment]) -> str:
    return json.dumps([[s.blob_id, s.size] for s in segments])


def load_segments(text: str) -> tuple[Segment, ...]:
    return tuple(Segment(str(blob), int(size)) for blob, size in json.loads(text))


class BlobStore:
    """The ``objects`` folder of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "objects"
        self.tmp = self.root / "tmp"
        # file names as plain strings: on a small object, pathlib costs more than the I/O
        self._root = str(self.root)
        self._tmp = str(self.tmp)

    def file(self, blob_id: str) -> str:
        """The file of a blob: ``objects/<id[:2]>/<id>``."""
        if not _ID.fullmatch(blob_id):  # ids are ours; anything else is a bug, never a path
            raise ValueError(f"not a blob id: {blob_id!r}")
        return f"{self._root}/{blob_id[:2]}/{blob_id}"

    def path(self, blob_id: str) -> Path:
        return Path(self.file(blob_id))

    def create(self) -> BlobWriter:
        """A new blob being written (in ``objects/tmp``, made on first use)."""
        blob_id = new_id()
        temp = f"{self._tmp}/{blob_id}.part"
        try:
            handle = open(temp, "xb")  # noqa: SIM115 - closed by the writer
        except FileNotFoundError:
            self.tmp.mkdir(parents=True, exist_ok=True)
            handle = open(temp, "xb")  # noqa: SIM115 - closed by the writer
        return BlobWriter(self, blob_id, temp, handle)

    def delete(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.file(blob_id))

    def open_range(self, segments: tuple[Segment, ...], start: int, end: int) -> RangeReader:
        """A reader of bytes ``start``..``end`` (inclusive) of the object made of ``segments``.

        Files are opened now, so a concurrent overwrite (which unlinks them) cannot break it.
        """
        handles: list[tuple[BinaryIO, int, int]] = []
        offset = 0
        try:
            for segment in segments:
                first, last = offset, offset + segment.size - 1
                offset += segment.size
                if segment.size == 0 or last < start or first > end:
                    continue
                handle: BinaryIO = open(self.file(segment.blob_id), "rb")  # noqa: SIM115 - closed by the reader
                handles.append((handle, max(start, first) - first, min(end, last) - max(start, first) + 1))
        except BaseException:
            for handle, _a, _b in handles:
                handle.close()
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
        self.handle.close()
        final = self.store.file(self.blob_id)
        try:
            os.replace(self._temp, final)
        except FileNotFoundError:  # the first blob of its ``<id[:2]>`` folder
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(self._temp, final)
        return Segment(self.blob_id, self.size)

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)


class RangeReader:
    """Reads an object's byte range from already-open files, in chunks."""

    def __init__(self, handles: list[tuple[BinaryIO, int, int]]) -> None:
        self._handles = handles

    def read_all(self) -> bytes:
        return b"".join(self.chunks(1 << 62))

    def chunks(self, size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            for handle, start, length in self._handles:
                handle.seek(start)
                left = length
                while left > 0:
                    data = handle.read(min(size, left))
                    if not data:
                        raise OSError("object file shorter than recorded")
                    left -= len(data)
                    yield data
        finally:
            self.close()

    def close(self) -> None:
        for handle, _a, _b in self._handles:
            handle.close()
        self._handles = []


def sweep_temporaries(data_dir: Path, older_than: float = 3600.0) -> int:
    """Remove upload temp files untouched for ``older_than`` seconds (left by a crash); their count.

    Meant for start-up: a live upload writes its temp file continuously, so it is never this old.
    """
    tmp = Path(data_dir) / "objects" / "tmp"
    if not tmp.is_dir():
        return 0
    limit = time.time() - older_than
    removed = 0
    for path in tmp.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
    return removed

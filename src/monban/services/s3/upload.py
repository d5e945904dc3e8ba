"""Receiving an object's (or a part's) bytes into a new blob, all or nothing.

The body streams into ``objects/tmp`` while it is hashed and checked; only a complete, verified
body is renamed into place (a body that came in one piece is written whole once verified, or
kept for its row when small), and ``then`` (the metadata commit) runs right after in the same worker
thread. If the client disconnects, a check fails or the commit fails, the blob is removed — no
half-written object is ever visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from monban.services.s3.body import MAX_OBJECT, BodySink, Received, check_size, stream_into
from monban.services.s3.call import S3Call
from monban.services.s3.storage import BlobWriter, Segment, inline

T = TypeVar("T")


class _Target:
    """Where the body goes, in a worker thread. A body that arrives in one piece is kept until it
    is verified, then becomes an inline segment (up to ``inline_limit`` bytes) or is written whole
    (``BlobStore.put``); a longer one streams into a temp file created on its second piece."""

    def __init__(self, call: S3Call, inline_limit: int) -> None:
        self._call = call
        self._inline_limit = inline_limit
        self.writer: BlobWriter | None = None
        self._first: bytes | None = None

    def write(self, data: bytes) -> None:
        if self.writer is None and self._first is None:
            self._first = bytes(data)
            return
        if self.writer is None:
            self.writer = self._call.blobs.create()
            self.writer.write(self._first or b"")
            self._first = None
        self.writer.write(data)

    def commit(self) -> Segment:
        if self.writer is None:
            first = self._first or b""
            return inline(first) if len(first) <= self._inline_limit else self._call.blobs.put(first)
        return self.writer.commit()

    def discard(self) -> None:
        self._first = None
        if self.writer is not None:
            self.writer.discard()


def _finish(
    call: S3Call, sink: BodySink, target: _Target, rest: bytes, then: Callable[[Segment, Received], T]
) -> T:
    sink.feed(rest)
    received = sink.finish()
    segment = target.commit()
    try:
        return then(segment, received)
    except BaseException:
        call.blobs.delete([segment.blob_id])
        raise


async def receive(
    call: S3Call,
    then: Callable[[Segment, Received], T],
    limit: int = MAX_OBJECT,
    default_checksum: str | None = None,
    inline_limit: int = -1,
) -> T:
    """Stream the body into a new blob, verify it, then run ``then(segment, received)``.

    ``default_checksum`` is computed when the request names no checksum (a part of an upload
    created with ``x-amz-checksum-algorithm``). A body of at most ``inline_limit`` bytes becomes
    an inline segment (no file) for ``then`` to store in its row.
    """
    check_size(call, limit)
    target = _Target(call, inline_limit)
    sink = BodySink(call, None, limit, default_checksum)
    sink.writer = target
    try:
        rest = await stream_into(call, sink)
        return await call.state.run_blocking(_finish, call, sink, target, rest, then)
    except BaseException:
        target.discard()
        raise

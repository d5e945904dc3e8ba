"""Receiving an object's (or a part's) bytes into a new blob, all or nothing.

The body streams into a new blob of the object store (``objects/tmp`` for files) while it is
hashed and checked; only a complete, verified body is committed (renamed into place, or its
chunks' transaction committed; a body that came in one piece is written whole once verified, or
kept for its row when small), and ``then`` (the metadata commit) runs right after in the same worker
thread. If the client disconnects, a check fails or the commit fails, the blob is removed — no
half-written object is ever visible.

A small body kept for its row touches no file, so its commit may run on the event loop
(``then_now``, which writes through ``db.LoopWriter``); when that would wait, it raises
``WouldBlock`` having committed nothing, and ``then`` runs on a thread instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from monban.protocol.numbers import NotAnInteger, parse_integer
from monban.services.s3.body import MAX_OBJECT, BodySink, Received, check_size, stream_into
from monban.services.s3.call import S3Call
from monban.services.s3.storage import BlobSink, Segment, inline
from monban.store.db import WouldBlock

T = TypeVar("T")


class _Target:
    """Where the body goes (on a database thread; on the event loop only for a body that stays in
    memory, see ``_arrived_whole``). A body is held in memory while it is one piece, or
    at most ``inline_limit`` bytes; once verified it becomes an inline segment (up to
    ``inline_limit`` bytes) or is written whole (``BlobStore.put``). A longer one streams into a
    temp file created when it outgrows that."""

    def __init__(self, call: S3Call, inline_limit: int) -> None:
        self._call = call
        self._inline_limit = inline_limit
        self.writer: BlobSink | None = None
        self._held: list[bytes] = []
        self._held_size = 0

    def write(self, data: bytes) -> None:
        if self.writer is not None:
            self.writer.write(data)
            return
        self._held.append(bytes(data))
        self._held_size += len(data)
        if len(self._held) > 1 and self._held_size > self._inline_limit:
            self.writer = self._call.blobs.create()
            for piece in self._held:
                self.writer.write(piece)
            self._held = []

    def commit(self) -> Segment:
        if self.writer is None:
            held = b"".join(self._held)
            return inline(held) if len(held) <= self._inline_limit else self._call.blobs.put(held)
        return self.writer.commit()

    def discard(self) -> None:
        self._held = []
        if self.writer is not None:
            self.writer.discard()


def _verified(sink: BodySink, target: _Target, rest: bytes) -> tuple[Segment, Received]:
    sink.feed(rest)
    received = sink.finish()
    return target.commit(), received


def _then(call: S3Call, segment: Segment, received: Received, then: Callable[[Segment, Received], T]) -> T:
    try:
        return then(segment, received)
    except BaseException:
        call.blobs.delete([segment.blob_id])
        raise


def _finish(
    call: S3Call, sink: BodySink, target: _Target, rest: bytes, then: Callable[[Segment, Received], T]
) -> T:
    segment, received = _verified(sink, target, rest)
    return _then(call, segment, received, then)


def _arrived_whole(call: S3Call, limit: int) -> bool:
    """Whether the body as sent (framing included) is at most ``limit`` bytes by its
    Content-Length (no chunked transfer coding, which would override it): then it is all in
    ``stream_into``'s last piece, and in a ``_Target`` it stays in memory."""
    length = call.header("content-length")
    if length is None or call.header("transfer-encoding") is not None:
        return False
    try:
        return 0 <= parse_integer(length) <= limit
    except NotAnInteger:
        return False


async def receive(
    call: S3Call,
    then: Callable[[Segment, Received], T],
    limit: int = MAX_OBJECT,
    default_checksum: str | None = None,
    inline_limit: int = -1,
    then_now: Callable[[Segment, Received], T] | None = None,
) -> T:
    """Stream the body into a new blob, verify it, then run ``then(segment, received)``.

    ``default_checksum`` is computed when the request names no checksum (a part of an upload
    created with ``x-amz-checksum-algorithm``). A body of at most ``inline_limit`` bytes becomes
    an inline segment (no file) for ``then`` to store in its row; given ``then_now``, such a body
    is verified and committed on the event loop when ``then_now`` can do it without waiting.
    """
    check_size(call, limit)
    target = _Target(call, inline_limit)
    sink = BodySink(call, None, limit, default_checksum)
    sink.writer = target
    try:
        rest = await stream_into(call, sink)
        if then_now is None or not _arrived_whole(call, inline_limit):
            return await call.state.run_blocking(_finish, call, sink, target, rest, then)
        segment, received = _verified(sink, target, rest)
        try:
            return then_now(segment, received)
        except WouldBlock:
            return await call.state.run_blocking(_then, call, segment, received, then)
    except BaseException:
        target.discard()
        raise

"""The coalescing transport: one write per loop turn, large bodies at once, nothing lost on close."""

from __future__ import annotations

import asyncio
from typing import Any

from monban.server.http import FLUSH_BYTES, CoalescingTransport


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 7

    def pause_reading(self) -> None:
        self.paused = True


def _run(body: Any) -> FakeTransport:
    async def scenario() -> FakeTransport:
        fake = FakeTransport()
        transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
        await body(transport, fake)
        return fake

    return asyncio.run(scenario())


def test_writes_of_one_turn_leave_together_in_order() -> None:
    async def body(transport: CoalescingTransport, fake: FakeTransport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(bytearray(b"<x/>"))
        assert fake.writes == []
        assert transport.get_write_buffer_size() == 7 + 23
        await asyncio.sleep(0)
        assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\n<x/>"]
        transport.write(b"next")
        await asyncio.sleep(0)

    assert _run(body).writes == [b"HTTP/1.1 200 OK\r\n\r\n<x/>", b"next"]


def test_large_bodies_are_not_held_back() -> None:
    async def body(transport: CoalescingTransport, fake: FakeTransport) -> None:
        transport.write(b"h")
        transport.write(b"b" * FLUSH_BYTES)
        assert fake.writes == [b"h" + b"b" * FLUSH_BYTES]
        await asyncio.sleep(0)

    assert len(_run(body).writes) == 1


def test_close_sends_what_is_pending_first() -> None:
    async def body(transport: CoalescingTransport, fake: FakeTransport) -> None:
        transport.write(b"last words")
        transport.close()
        await asyncio.sleep(0)

    fake = _run(body)
    assert (fake.writes, fake.closed) == ([b"last words"], True)


def test_nothing_is_written_to_a_connection_already_closing() -> None:
    async def body(transport: CoalescingTransport, fake: FakeTransport) -> None:
        transport.write(b"too late")
        fake.closed = True
        await asyncio.sleep(0)

    assert _run(body).writes == []


def test_other_calls_reach_the_real_transport() -> None:
    async def body(transport: CoalescingTransport, fake: FakeTransport) -> None:
        transport.pause_reading()
        assert fake.paused

    _run(body)

"""The S3 front's edges toward the handlers: the request body as a byte stream (``S3Call.body``) and
a handler's ``S3Result`` rendered as a Starlette response."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.responses import StreamingResponse

from monban.fronts.s3 import _body, _render
from monban.services.s3.call import ClientDisconnect
from monban.services.s3.registry import S3Result

Message = dict[str, Any]


def _receive(messages: list[Message]) -> Any:
    async def receive() -> Message:
        return messages.pop(0)

    return receive


async def _read(messages: list[Message]) -> list[bytes]:
    return [chunk async for chunk in _body(_receive(messages))]


def test_the_body_arrives_in_order_and_ends_with_the_last_message() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
        {"type": "http.disconnect"},  # never read: the body ended before it
    ]
    assert asyncio.run(_read(messages)) == [b"ab", b"cd"]
    assert messages == [{"type": "http.disconnect"}]


def test_a_client_gone_mid_body_is_a_client_disconnect() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.disconnect"},
    ]
    with pytest.raises(ClientDisconnect):
        asyncio.run(_read(messages))


def test_bytes_render_with_their_length_and_media_type() -> None:
    response = _render(S3Result(b"<x/>", 201, headers={"ETag": '"e"'}, media_type="application/xml"))
    assert response.status_code == 201
    assert response.body == b"<x/>"
    assert dict(response.headers) == {
        "etag": '"e"',
        "content-length": "4",
        "content-type": "application/xml",
    }


def test_an_iterator_streams() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    response = _render(S3Result(chunks(), 206, headers={"Content-Length": "2"}))
    assert isinstance(response, StreamingResponse)
    assert response.status_code == 206
    assert response.headers["content-length"] == "2"

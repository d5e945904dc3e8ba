"""A bounded request body read from ASGI messages, shared by the fronts that read one whole."""

from __future__ import annotations

from starlette.types import Receive

from monban.protocol.errors import AwsError
from monban.protocol.numbers import parse_integer


class ClientGone(Exception):
    """The client disconnected before its request body arrived: nobody to answer."""


async def bounded_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (RequestEntityTooLarge beyond, from the declared
    Content-Length when it says so already); ClientGone when the client left first."""
    if declared is not None and declared.isascii() and declared.isdigit() and parse_integer(declared) > limit:
        raise AwsError("RequestEntityTooLarge", "Request body is too large.")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise AwsError("RequestEntityTooLarge", "Request body is too large.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)

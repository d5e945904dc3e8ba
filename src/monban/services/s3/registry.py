"""The S3 operation table (operation name → async handler), what a handler answers, and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from monban.services.s3 import xmlio
from monban.services.s3.call import S3Call


@dataclass(frozen=True, slots=True)
class S3Result:
    """What an S3 handler answers: the body (bytes, or an iterator of chunks for a large object),
    status and headers. The S3 front (``monban.fronts.s3``) renders it as HTTP."""

    body: bytes | Iterator[bytes] | AsyncIterator[bytes] = b""
    status: int = 200
    headers: dict[str, str] | None = None
    media_type: str | None = None


Handler = Callable[[S3Call], Awaitable[S3Result]]
OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the implementation of S3 operation ``name``."""

    def add(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return add


def xml_response(
    root: str, content: Mapping[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> S3Result:
    return S3Result(xmlio.document(root, content), status, headers=headers, media_type="application/xml")


def empty(status: int = 200, headers: dict[str, str] | None = None) -> S3Result:
    return S3Result(b"", status, headers=headers)

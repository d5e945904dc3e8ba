"""The S3 operation table (operation name → async handler) and response helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response

from monban.services.s3 import xmlio
from monban.services.s3.call import S3Call

Handler = Callable[[S3Call], Awaitable[Response]]
OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the implementation of S3 operation ``name``."""

    def add(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return add


def xml_response(
    root: str, content: Mapping[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(xmlio.document(root, content), status, headers=headers, media_type="application/xml")


def empty(status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status, headers=headers)

"""The plain-ASGI front in process: lifespan, health, methods S3 does not serve, and the Query
front's answers to requests that never reach a handler (AWS's XML shape, one request id)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from monban.access.state import AppState
from monban.fronts.query import request_id
from monban.server.app import MonbanApp, build_app
from monban.store.accounts import ensure_account

Message = dict[str, Any]


@pytest.fixture
def app(state: AppState) -> MonbanApp:
    with state.db.transaction() as session:
        ensure_account(session, "111122223333")
    return build_app(state)


def call(
    app: MonbanApp, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Any:
    """One HTTP request through the app; (status, headers, body)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "scheme": "http",
        "headers": [(k.encode(), v.encode()) for k, v in {"host": "localhost", **(headers or {})}.items()],
        "client": ("127.0.0.1", 5000),
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers_out, b"".join(m.get("body", b"") for m in sent[1:])


def test_lifespan_starts_and_stops(app: MonbanApp) -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_health_names_no_account(app: MonbanApp) -> None:
    """Unauthenticated: readiness only, never the account ids (issue 11)."""
    status, _headers, body = call(app, "GET", "/_monban/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert b"111122223333" not in body


def test_a_method_no_operation_uses_is_405(app: MonbanApp) -> None:
    status, headers, body = call(app, "PATCH", "/bucket/key")
    assert (status, body) == (405, b"Method Not Allowed")
    assert headers["allow"] == "GET, HEAD, PUT, POST, DELETE"


def test_an_unsigned_iam_call_is_refused_in_aws_shape(app: MonbanApp) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, headers, body = call(app, "POST", "/", b"Action=ListUsers&Version=2010-05-08", form)
    assert status == 403 and headers["content-type"] == "text/xml; charset=utf-8"
    assert b"<Code>MissingAuthenticationToken</Code>" in body
    assert f"<RequestId>{headers['x-amzn-requestid']}</RequestId>".encode() in body


def test_an_oversized_query_body_is_refused_before_it_is_read(app: MonbanApp) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded", "content-length": str(10**9)}
    status, _headers, body = call(app, "POST", "/", b"", headers)
    assert status == 413 and b"<Code>RequestEntityTooLarge</Code>" in body


def test_unknown_actions_name_the_version(app: MonbanApp) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, _headers, body = call(app, "POST", "/", b"Action=Nope&Version=2011-06-15", form)
    assert status == 400 and b"Could not find operation Nope for version 2011-06-15" in body


def test_request_ids_are_random_version_4_uuids() -> None:
    ids = {request_id() for _ in range(200)}
    assert len(ids) == 200
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, rid)

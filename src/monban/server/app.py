"""The ASGI application: one port for IAM, STS and S3 (routing as in DESIGN.md).

IAM and STS are the Query protocol at ``/`` (form ``Action`` + ``Version``); everything else is S3
(path style, or virtual-host style for ``<bucket>.localhost``). ``GET /_monban/health`` answers when
the worker is ready.

The Query front is plain ASGI: it is the path of every IAM and STS call, so it reads the body and
writes the response itself, with no framework objects in between. S3 handlers get Starlette's
``Request`` and answer with its ``Response`` classes.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import Receive, Scope, Send

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.protocol.numbers import parse_integer
from monban.protocol.query import decode_form
from monban.protocol.xml import IAM_NS, query_error
from monban.server.principal import request_info
from monban.server.query_front import VERSIONS, QueryResponse, run_query, sigv4_error
from monban.server.state import AppState
from monban.services.s3.front import handle_s3

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
FORM = "application/x-www-form-urlencoded"
HEALTH = "/_monban/health"


def http_request(scope: Scope) -> sigv4.HttpRequest:
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return sigv4.HttpRequest(
        method=scope["method"],
        path=raw_path.decode("utf-8", "surrogateescape").split("?", 1)[0],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]),
    )


def request_id() -> str:
    """A request id shaped like AWS's: a random (version 4) UUID, formatted from one urandom call
    (half the cost of ``str(uuid.uuid4())`` on every request)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_VARIANT = "89ab"


def _is_query(scope: Scope, http: sigv4.HttpRequest) -> bool:
    if scope["path"] != "/" or _virtual_bucket(http):
        return False
    if http.method == "POST":
        return (http.header("content-type") or "").split(";")[0].strip().lower() == FORM
    return http.method == "GET" and any(k == "Action" for k, _v in parse_qsl(http.query, True))


def _virtual_bucket(http: sigv4.HttpRequest) -> str | None:
    host = (http.header("host") or "").rsplit(":", 1)[0]
    suffix = ".localhost"
    if host.endswith(suffix) and len(host) > len(suffix):
        return host[: -len(suffix)]
    return None


class ClientGone(Exception):
    """The client disconnected before its request body arrived: nobody to answer."""


async def _bounded_body(receive: Receive, declared: str | None, limit: int) -> bytes:
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


async def _send_xml(send: Send, status: int, body: str, rid: str) -> None:
    payload = body.encode()
    headers = [
        (b"content-type", b"text/xml; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-amzn-requestid", rid.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _service(signed: sigv4.SignedRequest | None, params: dict[str, str]) -> str:
    by_version = VERSIONS.get(params.get("Version", ""))
    if by_version:
        return by_version
    if signed is not None and signed.scope.service in ("iam", "sts"):
        return signed.scope.service
    return "sts" if params.get("Action", "").startswith(("Assume", "Get", "Decode")) else "iam"


async def query_endpoint(
    state: AppState, scope: Scope, receive: Receive, http: sigv4.HttpRequest
) -> QueryResponse:
    """One IAM or STS request: body, signature parse, then ``run_query``."""
    rid = request_id()
    try:
        body = await _bounded_body(receive, http.header("content-length"), state.settings.max_body_bytes)
        params = decode_form(body, http.query)
        signed = sigv4.parse(http)
    except AwsError as error:
        return QueryResponse(error.status, query_error(error, IAM_NS, rid), rid)
    except sigv4.SigV4Error as exc:
        mapped = sigv4_error(exc)
        return QueryResponse(mapped.status, query_error(mapped, IAM_NS, rid), rid)
    info = request_info(scope, http, signed, rid, state.settings.region)
    return await run_query(state, _service(signed, params), http, signed, params, body, info)


class MonbanApp:
    """The ASGI app of one worker."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in METHODS:
            allowed = {"Allow": ", ".join(METHODS)}
            await PlainTextResponse("Method Not Allowed", 405, headers=allowed)(scope, receive, send)
            return
        if scope["path"] == HEALTH and method in ("GET", "HEAD"):
            accounts = await self.state.run_cached(self.state.accounts.get)
            await JSONResponse({"status": "ok", "accounts": sorted(accounts)})(scope, receive, send)
            return
        http = http_request(scope)
        if _is_query(scope, http):
            await self._query(scope, receive, send, http)
            return
        response = await handle_s3(self.state, Request(scope, receive), http, _virtual_bucket(http))
        await response(scope, receive, send)

    async def _query(self, scope: Scope, receive: Receive, send: Send, http: sigv4.HttpRequest) -> None:
        try:
            result = await query_endpoint(self.state, scope, receive, http)
        except ClientGone:
            return
        await _send_xml(send, result.status, result.body, result.request_id)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def build_app(state: AppState) -> MonbanApp:
    """The ASGI app of one worker."""
    return MonbanApp(state)

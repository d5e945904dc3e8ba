"""The ASGI application: one port for IAM, STS and S3 (routing as in ARCHITECTURE.md).

IAM and STS are the Query protocol at ``/`` (form ``Action`` + ``Version``); everything else is S3
(path style, or virtual-host style for ``<bucket>.localhost``). ``GET /_monban/health`` answers
``{"status": "ok"}`` when the worker is ready (its database answers); it is unauthenticated, so it
says nothing else — no account ids. ``/_monban/ecs/credentials`` is the container credentials
endpoint (``monban.fronts.container``). ``/_monban/…`` names no bucket: bucket names cannot start
with ``_``.

The Query front (``monban.fronts.query``) is plain ASGI: it is the path of every IAM and STS
call, so it reads the body and writes the response itself, with no framework objects in between.
The S3 front (``monban.fronts.s3``) renders its handlers' results with Starlette's ``Response``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import Receive, Scope, Send

from monban import sigv4
from monban.access.state import AppState
from monban.fronts.cloudtrail import is_cloudtrail, serve_cloudtrail
from monban.fronts.container import PATH as CONTAINER_CREDENTIALS
from monban.fronts.container import serve_container_credentials
from monban.fronts.query import serve_query
from monban.fronts.s3 import handle_s3

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
            await self.state.run_cached(self.state.generation.get)  # the database answers
            await JSONResponse({"status": "ok"})(scope, receive, send)
            return
        if scope["path"] == CONTAINER_CREDENTIALS:
            await serve_container_credentials(self.state, scope, receive, send)
            return
        http = http_request(scope)
        if _is_query(scope, http):
            await serve_query(self.state, scope, receive, send, http)
            return
        if scope["path"] == "/" and is_cloudtrail(http):
            await serve_cloudtrail(self.state, scope, receive, send, http)
            return
        response = await handle_s3(self.state, scope, receive, http, _virtual_bucket(http))
        await response(scope, receive, send)


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

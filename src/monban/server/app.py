"""The ASGI application: one port for IAM, STS and S3 (routing as in DESIGN.md).

IAM and STS are the Query protocol at ``/`` (form ``Action`` + ``Version``); everything else is S3
(path style, or virtual-host style for ``<bucket>.localhost``). ``GET /_monban/health`` answers when
the worker is ready.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.protocol.query import decode_form
from monban.protocol.xml import IAM_NS, query_error
from monban.server.principal import RequestInfo
from monban.server.query_front import VERSIONS, handle_query, sigv4_error
from monban.server.state import AppState

METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
FORM = "application/x-www-form-urlencoded"


def http_request(request: Request) -> sigv4.HttpRequest:
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return sigv4.HttpRequest(
        method=scope["method"],
        path=raw_path.decode("utf-8", "surrogateescape").split("?", 1)[0],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
    )


def request_info(state: AppState, request: Request, signed: sigv4.SignedRequest | None) -> RequestInfo:
    client = request.client
    return RequestInfo(
        request_id=str(uuid.uuid4()),
        now=datetime.now(UTC),
        source_ip=client.host if client else "127.0.0.1",
        user_agent=request.headers.get("user-agent", ""),
        secure=request.url.scheme == "https",
        region=signed.scope.region if signed else state.settings.region,
        host=request.headers.get("host", ""),
    )


def _is_query(request: Request) -> bool:
    if request.url.path != "/" or _virtual_bucket(request):
        return False
    if request.method == "POST":
        return request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM
    return request.method == "GET" and "Action" in request.query_params


def _virtual_bucket(request: Request) -> str | None:
    host = request.headers.get("host", "").rsplit(":", 1)[0]
    suffix = ".localhost"
    if host.endswith(suffix) and len(host) > len(suffix):
        return str(host[: -len(suffix)])
    return None


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise AwsError("RequestEntityTooLarge", "Request body is too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise AwsError("RequestEntityTooLarge", "Request body is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def _xml(status: int, body: str, request_id: str) -> Response:
    return Response(body, status, media_type="text/xml", headers={"x-amzn-RequestId": request_id})


def _service(signed: sigv4.SignedRequest | None, params: dict[str, str]) -> str:
    by_version = VERSIONS.get(params.get("Version", ""))
    if by_version:
        return by_version
    if signed is not None and signed.scope.service in ("iam", "sts"):
        return signed.scope.service
    return "sts" if params.get("Action", "").startswith(("Assume", "Get", "Decode")) else "iam"


async def query_endpoint(state: AppState, request: Request) -> Response:
    http = http_request(request)
    request_id = str(uuid.uuid4())
    try:
        body = await _bounded_body(request, state.settings.max_body_bytes)
        params = decode_form(body, http.query)
        signed = sigv4.parse(http)
    except AwsError as error:
        return _xml(error.status, query_error(error, IAM_NS, request_id), request_id)
    except sigv4.SigV4Error as exc:
        mapped = sigv4_error(exc)
        return _xml(mapped.status, query_error(mapped, IAM_NS, request_id), request_id)
    service = _service(signed, params)
    info = request_info(state, request, signed)
    result = await run_in_threadpool(handle_query, state, service, http, signed, params, body, info)
    return _xml(result.status, result.body, info.request_id)


async def s3_endpoint(state: AppState, request: Request) -> Response:
    from monban.services.s3.front import handle_s3

    return await handle_s3(state, request, http_request(request), _virtual_bucket(request))


def build_app(state: AppState) -> Starlette:
    """The ASGI app of one worker."""

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "accounts": sorted(state.accounts.get())})

    async def dispatch(request: Request) -> Response:
        if _is_query(request):
            return await query_endpoint(state, request)
        return await s3_endpoint(state, request)

    routes = [
        Route("/_monban/health", health, methods=["GET"]),
        Route("/{path:path}", dispatch, methods=METHODS),
    ]
    app = Starlette(routes=routes)
    app.state.monban = state
    return app

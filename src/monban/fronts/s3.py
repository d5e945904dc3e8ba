"""The S3 front: route, authenticate, dispatch, and render S3's errors.

Everything an S3 request raises becomes S3's ``<Error>`` document (no body for HEAD, like S3),
with ``x-amz-request-id``; an unexpected failure is logged and answered as InternalError — never a
bare 500 page. A client that disconnects mid-upload gets nothing, and nothing it sent stays.
Handlers (``monban.services.s3``) take an ``S3Call`` and answer an ``S3Result``; this front reads
the ASGI request into the one and renders the other as a Starlette response.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope

from monban import sigv4
from monban.access.audit import AuditCall
from monban.access.auth import identify, valid_region
from monban.access.principal import ANONYMOUS, Caller, RequestInfo, request_info
from monban.access.state import AppState
from monban.access.throttle import ANONYMOUS_KEY, admit_s3
from monban.protocol.errors import AwsError
from monban.protocol.xml import s3_error
from monban.services.s3 import (  # noqa: F401
    acl,
    buckets,
    complete,
    copy,
    deletes,
    listing,
    multipart,
    objects,
    policy,
    tagging,
    uploads,
    versioning,
    versions,
)
from monban.services.s3.call import ClientDisconnect, S3Call
from monban.services.s3.errors import from_sigv4
from monban.services.s3.names import check_bucket_name, check_key
from monban.services.s3.registry import OPERATIONS, S3Result
from monban.services.s3.routing import Route, query_params, route
from monban.services.s3.storage import ObjectStore, Unavailable
from monban.services.s3.stores import open_store
from monban.settings import Settings
from monban.store.db import RETRY_AFTER_S, DatabaseUnavailable

log = logging.getLogger("monban.s3")


_STORES: dict[int, tuple[Settings, ObjectStore]] = {}  # id(settings) -> the store, see ``_blobs``


def _blobs(settings: Settings) -> ObjectStore:
    """The object store of this server (``services/s3/stores.py``): one serves every request. Found
    by the settings' identity (hashing them per request would cost more than a small GET's I/O)."""
    found = _STORES.get(id(settings))
    if found is None or found[0] is not settings:
        if len(_STORES) >= 8:  # tests make many servers in one process
            _STORES.clear()
        found = _STORES[id(settings)] = (settings, open_store(settings))
    return found[1]


# Seconds a client is asked to wait when object bytes cannot be reached (Retry-After): the SDKs
# retry 503 SlowDown/ServiceUnavailable anyway, with their own back-off.
RETRY_AFTER = "1"


def unavailable(exc: Exception) -> AwsError:
    """S3's 503 for what this node cannot reach now: object bytes (their store down or saturated,
    a blob missing) or the database itself (a lost connection, a pool with none free) (Amazon S3
    API Reference, "List of error codes": ServiceUnavailable, "Service is unable to handle
    request.", and SlowDown, "Please reduce your request rate.", both 503)."""
    if (isinstance(exc, Unavailable) and exc.code == "SlowDown") or isinstance(exc, PoolTimeout):
        return AwsError("SlowDown", "Please reduce your request rate.")
    return AwsError("ServiceUnavailable", "Service is unable to handle request.")


def _request_id() -> str:
    return secrets.token_hex(8).upper()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives (what Starlette's ``Request.stream`` does, without the
    ``Request``); ``ClientDisconnect`` when the client goes away first."""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect


def _presigned(http: sigv4.HttpRequest) -> bool:
    return "X-Amz-Algorithm=" in http.query


# Amazon S3 API Reference, "Authenticating Requests": every ``x-amz-*`` header a request carries
# must be signed (header auth: listed in SignedHeaders; presigned URL: "any x-amz-* headers that you
# plan to add to the request are also required to be signed"), else 403 AccessDenied with
# HeadersNotSigned. ``x-amz-content-sha256`` is the exception S3 makes: with header auth its value
# is the canonical request's payload line (signed either way); a presigned URL's payload mode comes
# from its query (``SignedRequest.payload_hash``), never from this header.
_UNSIGNED_EXEMPT = frozenset({"x-amz-content-sha256"})


def check_headers_signed(http: sigv4.HttpRequest, signed: sigv4.SignedRequest) -> None:
    """AccessDenied, listing them, when x-amz-* headers are present that the signature does not
    cover. A presigned URL covers its whole query: a header that repeats one of its parameters,
    name and value, says nothing the signature does not."""
    unsigned = sigv4.unsigned_headers(signed, http, "x-amz-", _UNSIGNED_EXEMPT)
    if unsigned and signed.presigned:
        in_query = {name.lower(): value for name, value in query_params(http.query).items()}
        unsigned = tuple(name for name in unsigned if in_query.get(name) != http.combined(name))
    if unsigned:
        raise AwsError(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            extra={"HeadersNotSigned": ", ".join(unsigned)},
        )


def authenticate(
    state: AppState, http: sigv4.HttpRequest, signed: sigv4.SignedRequest | None, info: RequestInfo
) -> tuple[Caller, str | None]:
    """The caller and its secret (for chunk signatures); ANONYMOUS for unsigned requests.

    AWS checks the request time and credential scope before it looks the key up. Usually answered
    from the caches, on the event loop (``AppState.run_cached``).
    """
    if signed is None:
        return ANONYMOUS, None
    check_headers_signed(http, signed)
    try:
        sigv4.precheck(signed, now=info.now, expected_service="s3", valid_regions=valid_region)
        try:
            caller, secret = identify(state, signed, "s3", info.now)
        except AwsError as error:
            if error.code == "InvalidAccessKeyId":
                raise AwsError(
                    error.code, error.message, extra={"AWSAccessKeyId": signed.scope.access_key_id}
                ) from None
            raise
        sigv4.verify(
            signed,
            http,
            secret,
            now=info.now,
            body_sha256=None,
            normalize_path=False,
            expected_service="s3",
            valid_regions=valid_region,
            key_cache=state.signing_keys,
        )
    except sigv4.SigV4Error as exc:
        raise from_sigv4(exc, signed, presigned=signed.presigned, region=state.settings.region) from exc
    return caller, secret


def _check_names(where: Route) -> None:
    if where.bucket is not None:
        check_bucket_name(where.bucket)
    if where.key is not None:
        check_key(where.key)
    for name, value in where.query.items():  # prefix, marker, delimiter…: U+0000 as in keys
        if "\x00" in value:
            raise AwsError(
                "InvalidArgument",
                "Request parameters may not contain U+0000 in monban.",
                extra={"ArgumentName": name},
            )


def _has_body(http: sigv4.HttpRequest) -> bool:
    length = http.header("content-length")
    return http.header("transfer-encoding") is not None or (
        length is not None and length.strip() not in ("", "0")
    )


# Codes whose HTTP status S3 gives differently from IAM/STS (Amazon S3 API Reference, "List of
# error codes": ExpiredToken is 400 Bad Request in S3, 403 in STS).
_S3_STATUS = {"ExpiredToken": 400}


# S3's ServiceUnavailable (Amazon S3 API Reference, "Error responses": 503 "Service is unable to
# handle request."): the database cannot answer now; SDKs retry it.
UNAVAILABLE = AwsError("ServiceUnavailable", "Service is unable to handle request.")


def error_response(error: AwsError, request_id: str, method: str, close: bool = False) -> Response:
    """S3's error document. ``close`` ends the connection: a body we did not read (the client may
    be waiting on ``Expect: 100-continue`` and never send it) must not be taken for the next request."""
    headers = {**error.headers, "x-amz-request-id": request_id, "x-amz-id-2": request_id}
    if close:
        headers["Connection"] = "close"
    if error.code == UNAVAILABLE.code:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    status = _S3_STATUS.get(error.code, error.status)
    if method == "HEAD" or status == 304:
        return Response(b"", status, headers=headers)
    body = s3_error(error, request_id, request_id)
    return Response(body, status, headers=headers, media_type="application/xml")


def _render(result: S3Result) -> Response:
    """A handler's answer as a Starlette response (a byte iterator streams)."""
    body = result.body
    if isinstance(body, bytes):
        return Response(body, result.status, headers=result.headers, media_type=result.media_type)
    return StreamingResponse(body, result.status, headers=result.headers, media_type=result.media_type)


class _Seen:
    """What the audit record of an S3 request needs, as far as the request got."""

    __slots__ = ("caller", "info", "key", "where")

    def __init__(self) -> None:
        self.where: Route | None = None
        self.info: RequestInfo | None = None
        self.caller: Caller | None = None
        self.key: str | None = None


# CloudTrail's data events for S3 are the object-level operations (CloudTrail User Guide, "Logging
# data events"); bucket-level ones are management events.
def _data_event(operation: str) -> bool:
    return "Object" in operation or "Multipart" in operation or "Part" in operation


def _audit(state: AppState, seen: _Seen, http: sigv4.HttpRequest, error: AwsError | None) -> None:
    where, info = seen.where, seen.info
    if where is None or info is None:
        return
    params: dict[str, str] = {"Host": http.header("host") or ""}
    if where.bucket is not None:
        params["bucketName"] = where.bucket
    if where.key is not None:
        params["key"] = where.key
    data = _data_event(where.operation)
    state.audit(AuditCall("s3", where.operation, info, seen.caller, seen.key, params, None, error, data))


async def _dispatch(
    state: AppState,
    scope: Scope,
    receive: Receive,
    http: sigv4.HttpRequest,
    virtual_bucket: str | None,
    request_id: str,
    seen: _Seen,
) -> Response:
    where = seen.where = route(http, virtual_bucket)
    try:
        signed = sigv4.parse(http)
    except sigv4.SigV4Error as exc:
        raise from_sigv4(exc, None, presigned=_presigned(http), region=state.settings.region) from exc
    info = seen.info = request_info(scope, http, signed, request_id, state.settings.region)
    seen.key = signed.scope.access_key_id if signed is not None else None
    caller, secret = await state.run_cached(authenticate, state, http, signed, info)
    seen.caller = caller
    if state.throttle is not None:  # charged to the authenticated account (access/throttle.py)
        admit_s3(state.throttle, http.method, ANONYMOUS_KEY if caller.is_anonymous else caller.account)
    _check_names(where)
    call = S3Call(state, _body(receive), http, signed, caller, secret, info, where, _blobs(state.settings))
    return _render(await OPERATIONS[where.operation](call))


async def handle_s3(
    state: AppState, scope: Scope, receive: Receive, http: sigv4.HttpRequest, virtual_bucket: str | None
) -> Response:
    """One S3 request, start to finish."""
    request_id = _request_id()
    seen = _Seen()
    try:
        response = await _dispatch(state, scope, receive, http, virtual_bucket, request_id, seen)
    except AwsError as error:
        _audit(state, seen, http, error)
        return error_response(error, request_id, http.method, _has_body(http))
    except ClientDisconnect:
        return Response(b"", 400)  # nobody is listening any more
    except DatabaseUnavailable as exc:  # not now: 503 with Retry-After, never 500
        log.warning("S3 %s %s: database unavailable: %s", http.method, http.path, exc)
        _audit(state, seen, http, UNAVAILABLE)
        return error_response(UNAVAILABLE, request_id, http.method, _has_body(http))
    except (Unavailable, FileNotFoundError, OperationalError, PoolTimeout) as exc:  # 503, retry later
        log.warning("S3 %s %s: object bytes unavailable: %s", http.method, http.path, exc)
        refusal = unavailable(exc)
        _audit(state, seen, http, refusal)
        response = error_response(refusal, request_id, http.method, _has_body(http))
        response.headers["Retry-After"] = RETRY_AFTER
        return response
    except Exception:  # a bug must still answer in S3's shape, and be logged
        log.exception("internal failure in S3 %s %s", http.method, http.path)
        failure = AwsError("InternalError", "We encountered an internal error. Please try again.")
        _audit(state, seen, http, failure)
        return error_response(failure, request_id, http.method, _has_body(http))
    _audit(state, seen, http, None)
    # appended to the rendered headers (no handler sets these): cheaper than two header lookups
    rid = request_id.encode("latin-1")
    response.raw_headers += [(b"x-amz-request-id", rid), (b"x-amz-id-2", rid)]
    return response

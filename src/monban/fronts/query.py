"""The Query-protocol front (IAM, STS, EC2): read the form, authenticate, dispatch, render.

Operations registered ``inline`` (answered from the per-generation caches: AssumeRole,
GetCallerIdentity…) are tried on the event loop first and finish on a database thread only if
they reach for the database; every other operation runs on a database thread (SQLAlchemy is
synchronous). Everything a request raises becomes AWS's ``<ErrorResponse>`` (EC2's
``<Response><Errors>``) — never a 500 for bad input.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from monban import sigv4
from monban.access.audit import AuditCall
from monban.access.auth import authenticate
from monban.access.principal import Caller, RequestInfo, request_info
from monban.access.state import AppState
from monban.access.throttle import ANONYMOUS_KEY, Admission, admit_query
from monban.fronts.body import ClientGone, bounded_body
from monban.protocol.ec2_xml import ec2_error, ec2_response
from monban.protocol.errors import TEMPORARY_FAILURE, AwsError
from monban.protocol.query import QueryParams, decode_form
from monban.protocol.xml import IAM_NS, STS_NS, query_error, query_response
from monban.services.ec2 import OPERATIONS as EC2_OPERATIONS
from monban.services.iam import OPERATIONS as IAM_OPERATIONS
from monban.services.iam.access_keys import key_use_due, record_key_use
from monban.services.query import Operation, QueryCall
from monban.services.sts import OPERATIONS as STS_OPERATIONS
from monban.services.sts.session_token import check_session_token_use
from monban.store.db import RETRY_AFTER_S, DatabaseUnavailable

log = logging.getLogger("monban")

VERSIONS = {"2010-05-08": "iam", "2011-06-15": "sts", "2016-11-15": "ec2"}
# The database cannot answer now: AWS's ServiceUnavailable (503), with Retry-After.
UNAVAILABLE = AwsError("ServiceUnavailable", TEMPORARY_FAILURE)
NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}


@dataclass(frozen=True, slots=True)
class QueryResponse:
    status: int
    body: str
    request_id: str
    caller: Caller | None = None  # who signed it, when the call succeeded
    audit: AuditCall | None = None  # its audit record, queued by ``run_query``


TABLES: Mapping[str, Mapping[str, Operation]] = {
    "iam": IAM_OPERATIONS,
    "sts": STS_OPERATIONS,
    "ec2": EC2_OPERATIONS,
}

# EC2 words a credential it cannot validate, and an expired one, its own way (API Reference,
# "Error codes": AuthFailure; RequestExpired).
_EC2_CANNOT_VALIDATE = AwsError("AuthFailure", "AWS was not able to validate the provided access credentials")
_EC2_AUTH = {
    "InvalidClientTokenId": _EC2_CANNOT_VALIDATE,
    "SignatureDoesNotMatch": _EC2_CANNOT_VALIDATE,
    "ExpiredToken": AwsError("RequestExpired", "Request has expired."),
}


def _for_service(error: AwsError, service: str) -> AwsError:
    return _EC2_AUTH.get(error.code, error) if service == "ec2" else error


def render_result(service: str, action: str, result: Mapping[str, object] | None, rid: str) -> str:
    if service == "ec2":
        return ec2_response(action, result, rid)
    return query_response(action, result, NAMESPACES[service], rid)


def render_error(service: str, error: AwsError, rid: str) -> str:
    if service == "ec2":
        return ec2_error(error, rid)
    return query_error(error, NAMESPACES[service], rid)


def sigv4_error(error: sigv4.SigV4Error) -> AwsError:
    """A signature problem as IAM and STS word it."""
    try:
        return AwsError(error.code, error.message)
    except KeyError:  # a code only S3 uses
        return AwsError("SignatureDoesNotMatch", error.message)


def _operation(service: str, action: str | None, version: str | None) -> Operation:
    if not action:
        raise AwsError("MissingAction", "Missing Action")
    operation = TABLES[service].get(action)
    if operation is None:
        raise AwsError("InvalidAction", f"Could not find operation {action} for version {version}")
    return operation


def _caller(
    state: AppState,
    http: sigv4.HttpRequest,
    signed: sigv4.SignedRequest | None,
    service: str,
    body: bytes,
    info: RequestInfo,
    operation: Operation,
) -> Caller:
    if signed is None and not operation.anonymous:
        raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token")
    try:
        return authenticate(
            state, http, signed, service=service, now=info.now, body_sha256=hashlib.sha256(body).hexdigest()
        )
    except sigv4.SigV4Error as exc:
        raise _for_service(sigv4_error(exc), service) from exc
    except AwsError as exc:
        raise _for_service(exc, service) from exc


def handle_query(
    state: AppState,
    service: str,
    http: sigv4.HttpRequest,
    signed: sigv4.SignedRequest | None,
    params: Mapping[str, str],
    body: bytes,
    info: RequestInfo,
    admission: Admission,
) -> QueryResponse:
    """One IAM or STS request, start to finish (but the last-use note of its key). With
    ``--throttle``, an authenticated request is charged to its account (``admission`` makes a
    call that moves to a database thread pay once)."""
    action = params.get("Action")
    rid = info.request_id
    caller: Caller | None = None
    try:
        operation = _operation(service, action, params.get("Version"))
        caller = _caller(state, http, signed, service, body, info, operation)
        check_session_token_use(caller, service, action or "")  # GetSessionToken credentials' limits
        if state.throttle is not None:
            account = ANONYMOUS_KEY if caller.is_anonymous else caller.account
            admit_query(state.throttle, service, account, admission)
        call = QueryCall(state, caller, info, action or "", QueryParams(params))
        result = operation.run(call)
        audit = _audit(service, params, info, caller, signed, result, None)
        return QueryResponse(200, render_result(service, action or "", result, rid), rid, caller, audit)
    except AwsError as error:
        audit = _audit(service, params, info, caller, signed, None, error)
        return QueryResponse(error.status, render_error(service, error, rid), rid, None, audit)
    except DatabaseUnavailable as exc:  # not now: 503 with Retry-After, never 500
        log.warning("%s %s: database unavailable: %s", service, action, exc)
        audit = _audit(service, params, info, caller, signed, None, UNAVAILABLE)
        return QueryResponse(503, render_error(service, UNAVAILABLE, rid), rid, None, audit)
    except Exception:  # a bug must still answer in AWS's shape, and be logged
        log.exception("internal failure in %s %s", service, action)
        failure = AwsError("InternalFailure", "We encountered an internal error. Please try again.")
        audit = _audit(service, params, info, caller, signed, None, failure)
        return QueryResponse(500, render_error(service, failure, rid), rid, None, audit)


_NOT_PARAMETERS = frozenset({"Action", "Version"})


def _audit(
    service: str,
    params: Mapping[str, str],
    info: RequestInfo,
    caller: Caller | None,
    signed: sigv4.SignedRequest | None,
    result: object,
    error: AwsError | None,
) -> AuditCall:
    """The audit record of one call. AssumeRole into another account is also that account's event."""
    request = {k: v for k, v in params.items() if k not in _NOT_PARAMETERS and not k.startswith("X-Amz-")}
    role = params.get("RoleArn", "") if service == "sts" else ""
    fields = role.split(":", 5)
    recipient = fields[4] if len(fields) == 6 and fields[4] else None
    key = signed.scope.access_key_id if signed is not None else None
    name = params.get("Action") or ""
    return AuditCall(service, name, info, caller, key, request, result, error, recipient=recipient)


async def run_query(
    state: AppState,
    service: str,
    http: sigv4.HttpRequest,
    signed: sigv4.SignedRequest | None,
    params: Mapping[str, str],
    body: bytes,
    info: RequestInfo,
) -> QueryResponse:
    """``handle_query`` inline or on a database thread (see the module docstring), then the
    last-use note of a long-term key, on a database thread when one is due."""
    operation = TABLES[service].get(params.get("Action") or "")
    run = state.run_cached if operation is not None and operation.inline else state.run_blocking
    response = await run(handle_query, state, service, http, signed, params, body, info, Admission())
    if response.audit is not None:
        state.audit(response.audit)
    caller = response.caller
    if caller is not None and caller.access_key_id is not None and key_use_due(state, caller):
        await state.run_blocking(record_key_use, state, caller.access_key_id, info, service)
    return response


def request_id() -> str:
    """A request id shaped like AWS's: a random (version 4) UUID, formatted from one urandom call
    (half the cost of ``str(uuid.uuid4())`` on every request)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_VARIANT = "89ab"


async def _send_xml(send: Send, status: int, body: str, rid: str) -> None:
    payload = body.encode()
    headers = [
        (b"content-type", b"text/xml; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-amzn-requestid", rid.encode()),
    ]
    if status == 503:  # ServiceUnavailable: when to try again
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _service(signed: sigv4.SignedRequest | None, params: dict[str, str]) -> str:
    by_version = VERSIONS.get(params.get("Version", ""))
    if by_version:
        return by_version
    if signed is not None and signed.scope.service in ("iam", "sts", "ec2"):
        return signed.scope.service
    return "sts" if params.get("Action", "").startswith(("Assume", "Get", "Decode")) else "iam"


async def query_endpoint(
    state: AppState, scope: Scope, receive: Receive, http: sigv4.HttpRequest
) -> QueryResponse:
    """One IAM or STS request: body, signature parse, then ``run_query``."""
    rid = request_id()
    try:
        body = await bounded_body(receive, http.header("content-length"), state.settings.max_body_bytes)
        params = decode_form(body, http.query)
        signed = sigv4.parse(http)
    except AwsError as error:
        return QueryResponse(error.status, query_error(error, IAM_NS, rid), rid)
    except sigv4.SigV4Error as exc:
        mapped = sigv4_error(exc)
        return QueryResponse(mapped.status, query_error(mapped, IAM_NS, rid), rid)
    info = request_info(scope, http, signed, rid, state.settings.region)
    return await run_query(state, _service(signed, params), http, signed, params, body, info)


async def serve_query(
    state: AppState, scope: Scope, receive: Receive, send: Send, http: sigv4.HttpRequest
) -> None:
    """One IAM or STS request over ASGI, answered in AWS's XML (nothing when the client left)."""
    try:
        result = await query_endpoint(state, scope, receive, http)
    except ClientGone:
        return
    await _send_xml(send, result.status, result.body, result.request_id)

"""The Query-protocol front (IAM, STS): authenticate, dispatch, render.

Operations registered ``inline`` (answered from the per-generation caches: AssumeRole,
GetCallerIdentity…) are tried on the event loop first and finish on a database thread only if
they reach for the database; every other operation runs on a database thread (SQLAlchemy is
synchronous). Everything a request raises becomes AWS's ``<ErrorResponse>`` — never a 500 for bad
input.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.protocol.xml import IAM_NS, STS_NS, query_error, query_response
from monban.server.auth import authenticate
from monban.server.principal import Caller, RequestInfo
from monban.server.state import AppState
from monban.services.iam import OPERATIONS as IAM_OPERATIONS
from monban.services.iam.access_keys import key_use_due, record_key_use
from monban.services.query import Operation, QueryCall
from monban.services.sts import OPERATIONS as STS_OPERATIONS
from monban.services.sts.session_token import check_session_token_use

log = logging.getLogger("monban")

VERSIONS = {"2010-05-08": "iam", "2011-06-15": "sts"}
NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}


@dataclass(frozen=True, slots=True)
class QueryResponse:
    status: int
    body: str
    request_id: str
    caller: Caller | None = None  # who signed it, when the call succeeded


TABLES: Mapping[str, Mapping[str, Operation]] = {"iam": IAM_OPERATIONS, "sts": STS_OPERATIONS}


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
        raise sigv4_error(exc) from exc


def handle_query(
    state: AppState,
    service: str,
    http: sigv4.HttpRequest,
    signed: sigv4.SignedRequest | None,
    params: Mapping[str, str],
    body: bytes,
    info: RequestInfo,
) -> QueryResponse:
    """One IAM or STS request, start to finish (but the last-use note of its key)."""
    namespace = NAMESPACES[service]
    action = params.get("Action")
    rid = info.request_id
    try:
        operation = _operation(service, action, params.get("Version"))
        caller = _caller(state, http, signed, service, body, info, operation)
        check_session_token_use(caller, service, action or "")  # GetSessionToken credentials' limits
        call = QueryCall(state, caller, info, action or "", QueryParams(params))
        result = operation.handler(call)
        return QueryResponse(200, query_response(action or "", result, namespace, rid), rid, caller)
    except AwsError as error:
        return QueryResponse(error.status, query_error(error, namespace, rid), rid)
    except Exception:  # a bug must still answer in AWS's shape, and be logged
        log.exception("internal failure in %s %s", service, action)
        failure = AwsError("InternalFailure", "We encountered an internal error. Please try again.")
        return QueryResponse(500, query_error(failure, namespace, rid), rid)


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
    response = await run(handle_query, state, service, http, signed, params, body, info)
    caller = response.caller
    if caller is not None and caller.access_key_id is not None and key_use_due(state, caller):
        await state.run_blocking(record_key_use, state, caller.access_key_id, info, service)
    return response

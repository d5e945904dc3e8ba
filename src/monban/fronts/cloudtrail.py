"""The CloudTrail front: AWS's JSON protocol (``application/x-amz-json-1.1``, the operation in
``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>``), of which
monban answers LookupEvents (``services/cloudtrail.py``) from its audit trail.

Errors are JSON: ``{"__type": code, "message": …}`` with ``x-amzn-RequestId``; the JSON protocol's
own words for key and signature problems (UnrecognizedClientException, InvalidSignatureException)
and AccessDeniedException for a denial.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from starlette.types import Receive, Scope, Send

from monban import sigv4
from monban.access.audit import AuditCall, event_id
from monban.access.auth import authenticate
from monban.access.principal import Caller, RequestInfo, request_info
from monban.access.state import AppState
from monban.fronts.body import ClientGone, bounded_body
from monban.protocol.errors import TEMPORARY_FAILURE, AwsError
from monban.services.cloudtrail import lookup_events
from monban.store.db import RETRY_AFTER_S, DatabaseUnavailable

log = logging.getLogger("monban")

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
CONTENT_TYPE = b"application/x-amz-json-1.1"
# the Query protocol's codes as the JSON protocol words them
_JSON_CODES = {
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "AccessDenied": "AccessDeniedException",
    "MissingAuthenticationToken": "MissingAuthenticationToken",
}


def is_cloudtrail(http: sigv4.HttpRequest) -> bool:
    return http.method == "POST" and (http.header("x-amz-target") or "").startswith(TARGET_PREFIX)


def _json_error(error: AwsError) -> AwsError:
    code = _JSON_CODES.get(error.code, error.code)
    return AwsError(code, error.message, reason=error.reason) if code != error.code else error


def _handle(
    state: AppState,
    http: sigv4.HttpRequest,
    signed: sigv4.SignedRequest | None,
    body: bytes,
    info: RequestInfo,
    seen: dict[str, Any],
) -> dict[str, Any]:
    """Authenticate, then the operation (on a database thread); ``seen`` keeps the caller and the
    request for the audit record."""
    if signed is None:
        raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token")
    try:
        caller = authenticate(
            state,
            http,
            signed,
            service="cloudtrail",
            now=info.now,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
    except sigv4.SigV4Error as exc:
        raise AwsError("SignatureDoesNotMatch", exc.message) from exc
    seen["caller"] = caller
    operation = (http.header("x-amz-target") or "").removeprefix(TARGET_PREFIX)
    if operation != "LookupEvents":
        raise AwsError("UnknownOperationException", f"Unknown operation {operation}")
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise AwsError(
            "SerializationException", "Start of structure or map found where not expected."
        ) from None
    if not isinstance(request, dict):
        raise AwsError("SerializationException", "Start of structure or map found where not expected.")
    seen["request"] = request
    return lookup_events(state, caller, info, request)


async def serve_cloudtrail(
    state: AppState, scope: Scope, receive: Receive, send: Send, http: sigv4.HttpRequest
) -> None:
    """One CloudTrail request, answered in JSON, and its audit record."""
    rid = event_id()
    status, answer = 200, {}
    seen: dict[str, Any] = {}
    error: AwsError | None = None
    signed: sigv4.SignedRequest | None = None
    info: RequestInfo | None = None
    try:
        try:
            body = await bounded_body(receive, http.header("content-length"), state.settings.max_body_bytes)
        except ClientGone:
            body = b""
        signed = sigv4.parse(http)
        info = request_info(scope, http, signed, rid, state.settings.region)
        answer = await state.run_blocking(_handle, state, http, signed, body, info, seen)
    except sigv4.SigV4Error as exc:
        error = AwsError("IncompleteSignature", exc.message)
    except AwsError as exc:
        error = _json_error(exc)
    except DatabaseUnavailable as exc:  # authentication needed the database: 503, never 500
        log.warning("CloudTrail: database unavailable: %s", exc)
        error = AwsError("ServiceUnavailable", TEMPORARY_FAILURE)
    except Exception:  # a bug must still answer in AWS's shape, and be logged
        log.exception("internal failure in CloudTrail")
        error = AwsError("InternalFailure", "We encountered an internal error. Please try again.")
    if error is not None:
        status, answer = error.status, {"__type": error.code, "message": error.message}
    if info is not None:
        key = signed.scope.access_key_id if signed is not None else None
        name = (http.header("x-amz-target") or "").removeprefix(TARGET_PREFIX)
        caller: Caller | None = seen.get("caller")
        state.audit(AuditCall("cloudtrail", name, info, caller, key, seen.get("request", {}), None, error))
    payload = json.dumps(answer).encode()
    headers = [
        (b"content-type", CONTENT_TYPE),
        (b"content-length", str(len(payload)).encode()),
        (b"x-amzn-requestid", rid.encode()),
    ]
    if status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

"""The container credentials front: ``GET /_monban/ecs/credentials`` on the main port, the URL an
ECS-style workload is given as ``AWS_CONTAINER_CREDENTIALS_FULL_URI``, with its task's token as
``AWS_CONTAINER_AUTHORIZATION_TOKEN`` (sent by the SDKs as the ``Authorization`` header).

Answers (``services/containers.py``): 200 and ECS's JSON (AccessKeyId, SecretAccessKey, Token,
Expiration, RoleArn); 401 without an Authorization header; 403 for a token no task holds, and for
a task whose role cannot be assumed by ``ecs-tasks.amazonaws.com`` (the log says why); 405 for a
method other than GET and HEAD. Errors are JSON ``{"code", "message"}``. botocore accepts a full
URI on a loopback address (or HTTPS) only, so the workload must reach monban on 127.0.0.1, ::1 or
localhost — or through TLS.
"""

from __future__ import annotations

import json
import time
import weakref

from starlette.types import Receive, Scope, Send

from monban.access.state import AppState
from monban.services.containers import TaskCredentials, Unknown
from monban.services.sts.service_session import Refused

PATH = "/_monban/ecs/credentials"

_WORKERS: weakref.WeakKeyDictionary[AppState, TaskCredentials] = weakref.WeakKeyDictionary()


def _tasks(state: AppState) -> TaskCredentials:
    """The worker's task credentials (a cache per worker)."""
    found = _WORKERS.get(state)
    if found is None:
        found = _WORKERS[state] = TaskCredentials(state)
    return found


async def _json(send: Send, status: int, document: dict[str, str], head: bool, allow: bool = False) -> None:
    body = json.dumps(document).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def serve_container_credentials(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    """One request to the container credentials endpoint."""
    method = scope["method"]
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        await _json(send, 405, {"code": "MethodNotAllowed", "message": "Use GET."}, head, allow=True)
        return
    values = [v for k, v in scope["headers"] if k.lower() == b"authorization"]
    if not values:
        message = "The Authorization header is missing: set AWS_CONTAINER_AUTHORIZATION_TOKEN."
        await _json(send, 401, {"code": "Unauthorized", "message": message}, head)
        return
    token = b",".join(values).decode("latin-1")
    got = await state.run_blocking(_tasks(state).credentials, token, int(time.time()))
    if isinstance(got, Unknown):
        await _json(send, 403, {"code": "AccessDenied", "message": "No task holds this token."}, head)
    elif isinstance(got, Refused):
        message = "The task role cannot be assumed by ecs-tasks.amazonaws.com."
        await _json(send, 403, {"code": "AccessDenied", "message": message}, head)
    else:
        await _json(send, 200, got, head)

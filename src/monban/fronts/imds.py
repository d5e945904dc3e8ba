"""The instance metadata front: EC2's IMDS over HTTP, one listener per instance
(``server/imds.py`` opens them; the listener's port names the instance).

IMDSv2 (EC2 User Guide, "Use the Instance Metadata Service to access instance metadata"):
``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1–21600; missing or
outside: 400) answers a token and repeats the TTL header; a PUT carrying ``X-Forwarded-For`` is
refused (403), as EC2 refuses tokens to requests that went through a proxy. GET requests carry
the token in ``X-aws-ec2-metadata-token``: an invalid or expired one, or one made for another
instance, is 401. Without a token (IMDSv1) a GET is answered unless the instance's
``HttpTokens`` is ``required`` (401). The statuses are EC2's: 400, 401, 403, 404, 405 (a method
other than GET, HEAD and PUT, a GET of the token path, a PUT elsewhere), with EC2's XHTML error
page. A request to the listener of an instance that is no longer running is 404.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import Receive, Scope, Send

from monban.access.state import AppState
from monban.protocol.numbers import NotAnInteger, OutOfRange, in_range
from monban.services.imds.credentials import InstanceCredentials
from monban.services.imds.metadata import InstanceFacts, read_facts
from monban.services.imds.tokens import MAX_TTL, MIN_TTL, issue_token, token_valid
from monban.services.sts.service_session import workload_lifetime

TOKEN_PATH = "/latest/api/token"
TTL_HEADER = b"x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = b"x-aws-ec2-metadata-token"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
}


def error_page(status: int) -> bytes:
    """EC2's error body: an XHTML page titled with the status."""
    title = f"{status} - {TITLES[status]}"
    return (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
        '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
        f" <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    ).encode()


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes, head: bool, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _header(scope: Scope, name: bytes) -> str | None:
    """The header's value (several lines joined with commas, as HTTP reads them); None if absent."""
    values = [v for k, v in scope["headers"] if k.lower() == name]
    return b",".join(values).decode("latin-1") if values else None


def _ttl(scope: Scope) -> int | None:
    text = _header(scope, TTL_HEADER)
    if text is None:
        return None
    try:
        return in_range(text.strip(), MIN_TTL, MAX_TTL)
    except (NotAnInteger, OutOfRange):
        return None


class MetadataApp:
    """The ASGI app every instance listener shares; ``instance_at(port)`` names the instance a
    listener serves (None once it serves none)."""

    def __init__(self, state: AppState, instance_at: Callable[[int], str | None]) -> None:
        self.state = state
        self.instance_at = instance_at
        self.credentials = InstanceCredentials(
            state.token_key, workload_lifetime(state.settings.min_session_seconds), state.audit
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        status, body, extra = await self._answer(scope)
        text = status == 200
        content_type = b"text/plain" if text else b"text/html"
        await _send(
            send, status, body if text else error_page(status), content_type, scope["method"] == "HEAD", extra
        )

    async def _answer(self, scope: Scope) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method, path = scope["method"], scope["path"]
        if method not in ("GET", "HEAD", "PUT"):
            return 405, b"", [(b"allow", b"GET, HEAD, PUT")]
        server = scope.get("server")
        instance_id = self.instance_at(int(server[1])) if server else None
        facts = await self.state.run_blocking(self._facts, instance_id)
        if facts is None:
            return 404, b"", []
        now = int(time.time())
        if method == "PUT":
            return self._token(scope, path, facts, now)
        if path == TOKEN_PATH:
            return 405, b"", [(b"allow", b"PUT")]
        token = _header(scope, TOKEN_HEADER)
        if token is not None:
            if not token_valid(self.state.keyring, token.strip(), facts.record.instance_id, now):
                return 401, b"", []
            delivery = "2.0"
        elif facts.record.http_tokens == "required":
            return 401, b"", []
        else:
            delivery = "1.0"
        answer = await self.state.run_blocking(self.credentials.answer, facts, path, delivery, now)
        if answer is None:
            return 404, b"", []
        return 200, answer.encode(), []

    def _facts(self, instance_id: str | None) -> InstanceFacts | None:
        if instance_id is None:
            return None
        with self.state.db.transaction() as session:
            facts = read_facts(session, instance_id)
        if facts is None or facts.record.state != "running" or facts.record.http_endpoint != "enabled":
            return None
        return facts

    def _token(
        self, scope: Scope, path: str, facts: InstanceFacts, now: int
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if path != TOKEN_PATH:
            return 405, b"", [(b"allow", b"GET, HEAD")]
        if _header(scope, b"x-forwarded-for") is not None:
            return 403, b"", []
        ttl = _ttl(scope)
        if ttl is None:
            return 400, b"", []
        token = issue_token(self.state.keyring, facts.record.instance_id, now, ttl)
        return 200, token.encode(), [(TTL_HEADER, str(ttl).encode())]

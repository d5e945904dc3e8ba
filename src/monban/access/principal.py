"""The authenticated caller of one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monban.credentials.session import SessionClaims
from monban.policy.conditions.ip import canonical_address
from monban.policy.types import Principal
from monban.sigv4.model import HttpRequest, SignedRequest


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the engine's ``Principal`` plus what authentication learned.

    ``user_id`` is set for IAM users (and their GetSessionToken sessions); ``session`` for every
    temporary credential; ``access_key_id`` is None for anonymous requests.
    """

    principal: Principal
    access_key_id: str | None = None
    user_id: str | None = None
    session: SessionClaims | None = None
    # the caller's condition keys, normalised once (``access.context.caller_keys``)
    context_keys: dict[str, tuple[str, ...]] | None = field(default=None, compare=False, repr=False)

    @property
    def account(self) -> str:
        return self.principal.account

    @property
    def arn(self) -> str:
        return self.principal.arn

    @property
    def is_root(self) -> bool:
        return self.principal.type == "Account"

    @property
    def is_anonymous(self) -> bool:
        return self.principal.type == "Anonymous"


@dataclass(slots=True)
class OpenedToken:
    """A session token that opened once (clients send the same token with every request of a
    session), and the Caller last built from it with the IAM generation it was built in."""

    claims: SessionClaims
    built: tuple[int, Caller] | None = None


ANONYMOUS = Caller(Principal(type="Anonymous", account="", arn="*", unique_id="anonymous"))


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Facts about the HTTP request that condition keys and responses use."""

    request_id: str
    now: datetime
    source_ip: str
    user_agent: str
    secure: bool
    region: str
    host: str = ""
    extra_context: dict[str, str] = field(default_factory=dict)


def request_info(
    scope: Mapping[str, Any],
    http: HttpRequest,
    signed: SignedRequest | None,
    request_id: str,
    default_region: str,
) -> RequestInfo:
    """What an HTTP request tells the condition keys: its ASGI scope (the TCP peer, the scheme),
    its headers, and the region its signature names (``default_region`` when unsigned)."""
    client = scope.get("client")
    return RequestInfo(
        request_id=request_id,
        now=datetime.now(UTC),
        source_ip=canonical_address(client[0]) if client else "127.0.0.1",  # ::ffff:a.b.c.d is a.b.c.d
        user_agent=http.header("user-agent") or "",
        secure=scope.get("scheme") == "https",
        region=signed.scope.region if signed else default_region,
        host=http.header("host") or "",
    )

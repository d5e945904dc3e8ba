"""Stateless session tokens.

A session token is everything a temporary credential means, sealed with AES-GCM under a key derived
from the master key: opening it needs no database read, any node with the key ring verifies it,
and one flipped byte makes it unopenable (→ InvalidClientTokenId). The access key id is bound to the
token as associated data, so a token only works with its own ASIA… key.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from monban.credentials.keyring import Sealer, SealError

TOKEN_PREFIX = "IQoJbW9uYmFu"  # base64-looking marker, like AWS's "IQoJb3JpZ2lu…"


class InvalidSessionToken(Exception):
    """The token cannot be opened or does not belong to the access key id."""


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a temporary credential carries.

    ``kind``: "role" (AssumeRole*), "user" (GetSessionToken of an IAM user), "root"
    (GetSessionToken of an account root), "federated" (GetFederationToken).
    ``session_policies`` holds the inline session policy text and the policy ARNs, applied as
    session policies; ``None`` for both means "no session policy".
    """

    access_key_id: str
    secret_access_key: str
    kind: str
    account: str
    issued_at: int  # epoch seconds
    expires_at: int  # epoch seconds
    principal_id: str  # role id (AROA…) or user id (AIDA…) or the account id for root
    principal_name: str  # role name, user name, or "root"
    principal_arn: str  # the role's or user's ARN (aws:PrincipalArn)
    session_name: str | None = None
    session_policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    mfa_authenticated_at: int | None = None
    chained: bool = False
    instance_profile: bool = False
    caller_arn: str | None = None  # who called AssumeRole (audit)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def expiration(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)

    @property
    def issue_time(self) -> datetime:
        return datetime.fromtimestamp(self.issued_at, UTC)


# AWS access key ids carry their account: base32-decode the 16 characters after the prefix, take
# the first 48 bits, and bits 46..7 are the account id (observed; the decoding that public tools
# such as "aws_key_info" use). monban's ASIA ids follow the same layout, so GetAccessKeyInfo
# answers from the id alone — no database, any node.
_ACCOUNT_MASK = 0x7FFFFFFFFF80
_ACCOUNT_LIMIT = 10**12


def session_access_key_id(account: str) -> str:
    """A fresh ``ASIA…`` id (20 characters, A–Z2–7) that encodes ``account``.

    The other 40 bits are random, as in AWS's layout. Two sessions sharing an id is harmless for
    authentication (each token is sealed with its own secret); it only means that revoking one
    by its id (``monban revoke-session``) revokes the other too.
    """
    if len(account) != 12 or not account.isdigit():
        raise ValueError("account must be 12 digits")
    head = (secrets.randbits(1) << 47) | (int(account) << 7) | secrets.randbits(7)
    raw = head.to_bytes(6, "big") + secrets.token_bytes(4)
    return "ASIA" + base64.b32encode(raw).decode()


def account_of_access_key_id(access_key_id: str) -> str | None:
    """The account encoded in an AWS-style key id, or None when it holds none (fail closed)."""
    body = access_key_id[4:]
    if len(access_key_id) != 20 or not access_key_id[:4].isalpha() or len(body) != 16:
        return None
    try:
        raw = base64.b32decode(body)
    except (binascii.Error, ValueError):
        return None
    number = (int.from_bytes(raw[:6], "big") & _ACCOUNT_MASK) >> 7
    return f"{number:012d}" if number < _ACCOUNT_LIMIT else None


_FIELDS = tuple(f.name for f in fields(SessionClaims))
_UNSET: tuple[object, ...] = (None, (), [], {}, False)


def _to_json(claims: SessionClaims) -> bytes:
    """The claims as compact JSON, unset fields left out (tuples become arrays)."""
    data = {name: value for name in _FIELDS if (value := getattr(claims, name)) not in _UNSET}
    return json.dumps(data, separators=(",", ":")).encode()


def _from_json(raw: bytes) -> SessionClaims:
    data = json.loads(raw)
    for key in ("policy_arns", "transitive_tag_keys"):
        if key in data:
            data[key] = tuple(data[key])
    if "tags" in data:
        data["tags"] = tuple((k, v) for k, v in data["tags"])
    return SessionClaims(**data)


def seal_token(claims: SessionClaims, sealer: Sealer) -> str:
    """The session token string handed to the client."""
    sealed = sealer.seal(_to_json(claims), claims.access_key_id.encode())
    return TOKEN_PREFIX + base64.b64encode(sealed).decode()


def open_token(token: str, access_key_id: str, sealer: Sealer) -> SessionClaims:
    """Open a token presented with ``access_key_id``; raises InvalidSessionToken on any doubt."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 8192:
        raise InvalidSessionToken("not a monban session token")
    try:
        sealed = base64.b64decode(token[len(TOKEN_PREFIX) :], validate=True)
        claims = _from_json(sealer.open(sealed, access_key_id.encode()))
    except (SealError, binascii.Error, ValueError, TypeError) as exc:
        raise InvalidSessionToken("cannot open session token") from exc
    if claims.access_key_id != access_key_id:
        raise InvalidSessionToken("token belongs to another key")
    return claims

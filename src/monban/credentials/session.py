"""Stateless session tokens.

A session token is everything a temporary credential means, sealed with AES-GCM under a session key
of the key ring (``store/session_keys.py``): opening it needs no database read once the ring is
loaded, any node with the ring verifies it, and one flipped byte makes it unopenable
(→ InvalidClientTokenId). The access key id is bound to the token as associated data, so a token
only works with its own ASIA… key.

Two shapes: ``TOKEN_PREFIX`` + base64(sealed) is sealed with key 0 (the key derived from the master
key, which sealed every token before the ring existed); ``KEYED_PREFIX`` + base64(key id, 4 bytes
big-endian, + sealed) names the ring's key that sealed it, so any node opens any token.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import NamedTuple

from monban.credentials.keyring import Sealer, SealError

_string = encode_basestring_ascii  # a str as a JSON string literal, in C (what json.dumps uses)

TOKEN_PREFIX = "IQoJbW9uYmFu"  # base64-looking marker, like AWS's "IQoJb3JpZ2lu…": key 0
KEYED_PREFIX = "IQoKbW9uYmFu"  # the same length, one letter apart: a key id follows
KEY_ID_BYTES = 4
MAX_TOKEN_CHARS = 8192


class TokenKey(NamedTuple):
    """The session key that seals new tokens: its id in the ring, and its sealer."""

    key_id: int
    sealer: Sealer


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


KEY_ID_RANDOM_BYTES = 5  # the 40 random bits of an ASIA id
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32_PAIRS = tuple(a + b for a in _BASE32 for b in _BASE32)  # 10 bits → 2 characters


def session_access_key_id(account: str, random: bytes | None = None) -> str:
    """A fresh ``ASIA…`` id (20 characters, A–Z2–7) that encodes ``account``.

    The other 40 bits are random, as in AWS's layout: the top bit and the 7 bits under the
    account from the first byte of ``random`` (``KEY_ID_RANDOM_BYTES`` fresh bytes; drawn here
    when None), the last 32 bits from the other four. Two sessions sharing an id is harmless for
    authentication (each token is sealed with its own secret); it only means that revoking one
    by its id (``monban revoke-session``) revokes the other too.
    """
    if len(account) != 12 or not account.isdigit():
        raise ValueError("account must be 12 digits")
    if random is None:
        random = os.urandom(KEY_ID_RANDOM_BYTES)
    elif len(random) != KEY_ID_RANDOM_BYTES:
        raise ValueError(f"a key id takes {KEY_ID_RANDOM_BYTES} random bytes")
    bits = int.from_bytes(random, "big")
    head = ((bits >> 39) << 47) | (int(account) << 7) | ((bits >> 32) & 0x7F)
    value = (head << 32) | (bits & 0xFFFFFFFF)  # 80 bits: base32 of its 10 bytes
    pairs = _BASE32_PAIRS  # 8 table lookups: half the cost of base64.b32encode (pure Python)
    return (
        "ASIA"
        + pairs[value >> 70]
        + pairs[(value >> 60) & 1023]
        + pairs[(value >> 50) & 1023]
        + pairs[(value >> 40) & 1023]
        + pairs[(value >> 30) & 1023]
        + pairs[(value >> 20) & 1023]
        + pairs[(value >> 10) & 1023]
        + pairs[value & 1023]
    )


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


def _json_list(items: tuple[str, ...]) -> str:
    return "[" + ",".join(map(_string, items)) + "]"


def _optional_json(claims: SessionClaims) -> list[str]:
    """The defaulted fields that are set, as ``"name":value`` members."""
    c, out = claims, []
    if c.session_name is not None:
        out.append('"session_name":' + _string(c.session_name))
    if c.session_policy is not None:
        out.append('"session_policy":' + _string(c.session_policy))
    if c.policy_arns:
        out.append('"policy_arns":' + _json_list(c.policy_arns))
    if c.tags:
        pairs = ",".join(f"[{_string(k)},{_string(v)}]" for k, v in c.tags)
        out.append(f'"tags":[{pairs}]')
    if c.transitive_tag_keys:
        out.append('"transitive_tag_keys":' + _json_list(c.transitive_tag_keys))
    if c.source_identity is not None:
        out.append('"source_identity":' + _string(c.source_identity))
    if c.mfa_authenticated_at is not None:
        out.append(f'"mfa_authenticated_at":{int(c.mfa_authenticated_at)}')
    if c.chained:
        out.append('"chained":true')
    if c.instance_profile:
        out.append('"instance_profile":true')
    if c.caller_arn is not None:
        out.append('"caller_arn":' + _string(c.caller_arn))
    if c.extra:
        out.append('"extra":' + json.dumps(c.extra, separators=(",", ":")))
    return out


def _to_json(claims: SessionClaims) -> bytes:
    """The claims as compact JSON, defaulted fields that are unset left out (tuples become
    arrays). Written out field by field: a fifth of the cost of building a dict for ``json.dumps``
    (whose encoder set-up is Python); a unit test checks it against that and that it covers every
    field."""
    c = claims
    head = (
        f'{{"access_key_id":{_string(c.access_key_id)},"secret_access_key":{_string(c.secret_access_key)},'
        f'"kind":{_string(c.kind)},"account":{_string(c.account)},'
        f'"issued_at":{int(c.issued_at)},"expires_at":{int(c.expires_at)},'
        f'"principal_id":{_string(c.principal_id)},"principal_name":{_string(c.principal_name)},'
        f'"principal_arn":{_string(c.principal_arn)}'
    )
    rest = _optional_json(c)
    return (head + ("," + ",".join(rest) if rest else "") + "}").encode()


def _from_json(raw: bytes) -> SessionClaims:
    data = json.loads(raw)
    for key in ("policy_arns", "transitive_tag_keys"):
        if key in data:
            data[key] = tuple(data[key])
    if "tags" in data:
        data["tags"] = tuple((k, v) for k, v in data["tags"])
    return SessionClaims(**data)


def seal_token(claims: SessionClaims, key: TokenKey, nonce: bytes | None = None) -> str:
    """The session token string handed to the client (``nonce``: see ``Sealer.seal``)."""
    sealed = key.sealer.seal(_to_json(claims), claims.access_key_id.encode(), nonce)
    if key.key_id == 0:
        return TOKEN_PREFIX + binascii.b2a_base64(sealed, newline=False).decode()
    named = key.key_id.to_bytes(KEY_ID_BYTES, "big") + sealed
    return KEYED_PREFIX + binascii.b2a_base64(named, newline=False).decode()


def token_key_id(token: str) -> tuple[int, bytes]:
    """The id of the key that sealed ``token``, and the sealed claims; InvalidSessionToken when it
    is not a monban token."""
    keyed = token.startswith(KEYED_PREFIX)
    if not (keyed or token.startswith(TOKEN_PREFIX)) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidSessionToken("not a monban session token")
    try:
        raw = base64.b64decode(token[len(TOKEN_PREFIX) :], validate=True)  # both prefixes: one length
    except (binascii.Error, ValueError) as exc:
        raise InvalidSessionToken("cannot open session token") from exc
    if not keyed:
        return 0, raw
    if len(raw) < KEY_ID_BYTES:
        raise InvalidSessionToken("not a monban session token")
    return int.from_bytes(raw[:KEY_ID_BYTES], "big"), raw[KEY_ID_BYTES:]


def open_token(token: str, access_key_id: str, sealer_of: Callable[[int], Sealer | None]) -> SessionClaims:
    """Open a token presented with ``access_key_id`` with the key ``sealer_of`` gives for its key
    id (None: no such key, or no longer); raises InvalidSessionToken on any doubt."""
    key_id, sealed = token_key_id(token)
    sealer = sealer_of(key_id)
    if sealer is None:
        raise InvalidSessionToken("unknown session key")
    try:
        claims = _from_json(sealer.open(sealed, access_key_id.encode()))
    except (SealError, ValueError, TypeError) as exc:
        raise InvalidSessionToken("cannot open session token") from exc
    if claims.access_key_id != access_key_id:
        raise InvalidSessionToken("token belongs to another key")
    return claims

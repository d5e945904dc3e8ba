"""Authentication: from a signed HTTP request to a ``Caller``.

``AKIA…`` keys come from the store (cached per IAM generation); ``ASIA…`` keys are checked against
their session token, opened with the key ring — no database read for the session itself.
Errors are AWS's, worded per service family (IAM/STS vs S3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from monban import sigv4
from monban.access.principal import ANONYMOUS, Caller, OpenedToken
from monban.access.state import AppState
from monban.credentials.keyring import SealError
from monban.credentials.session import InvalidSessionToken, SessionClaims, open_token
from monban.policy.types import Principal
from monban.protocol.errors import AwsError
from monban.store import iam_read

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

# failure kind -> {service family -> (code, message)}
_KEY_ERRORS: dict[str, dict[str, tuple[str, str]]] = {
    "unknown_key": {
        "query": ("InvalidClientTokenId", "The security token included in the request is invalid."),
        "s3": ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
    },
    "bad_token": {
        "query": ("InvalidClientTokenId", "The security token included in the request is invalid."),
        "s3": ("InvalidToken", "The provided token is malformed or otherwise invalid."),
    },
    "expired_token": {
        "query": ("ExpiredToken", "The security token included in the request is expired"),
        "s3": ("ExpiredToken", "The provided token has expired."),
    },
}


def key_error(kind: str, service: str) -> AwsError:
    code, message = _KEY_ERRORS[kind]["s3" if service == "s3" else "query"]
    return AwsError(code, message)


def valid_region(region: str) -> bool:
    return bool(_REGION.match(region))


@dataclass(frozen=True, slots=True)
class LongTermKey:
    record: iam_read.KeyRecord
    secret: str
    caller: Caller  # built once per IAM generation, so its normalised condition keys are reused


def _key_caller(record: iam_read.KeyRecord, tags: tuple[tuple[str, str], ...]) -> Caller:
    if record.user_id is None:
        principal = Principal(
            "Account", record.account_id, f"arn:aws:iam::{record.account_id}:root", record.account_id
        )
    else:
        principal = Principal(
            "User", record.account_id, record.user_arn or "", record.user_id, tags=dict(tags)
        )
    return Caller(principal, record.access_key_id, record.user_id)


def _load_key(state: AppState, akid: str) -> LongTermKey | None:
    with state.db.transaction() as session:
        record = iam_read.find_access_key(session, akid)
        if record is None:
            return None
        tags = iam_read.entity_tags(session, "user", record.user_id) if record.user_id else ()
    secret = state.keyring.secrets.open(record.secret_sealed, akid.encode()).decode()
    return LongTermKey(record, secret, _key_caller(record, tags))


def _long_term(state: AppState, akid: str, service: str) -> tuple[Caller, str]:
    try:
        key = state.cached(("key", akid), lambda: _load_key(state, akid) or False)
    except SealError as exc:  # a key sealed under another master key
        raise key_error("unknown_key", service) from exc
    if not isinstance(key, LongTermKey) or key.record.status != "Active":
        raise key_error("unknown_key", service)
    return key.caller, key.secret


def _role_tags(state: AppState, role_id: str) -> tuple[tuple[str, str], ...]:
    def load() -> tuple[tuple[str, str], ...]:
        with state.db.transaction() as session:
            return iam_read.entity_tags(session, "role", role_id)

    return state.cached(("role-tags", role_id), load)


def session_principal(state: AppState, claims: SessionClaims) -> Principal:
    """The principal a session token stands for (reference §6's table)."""
    acct = claims.account
    if claims.kind == "role":
        tags = {k.lower(): (k, v) for k, v in _role_tags(state, claims.principal_id)}
        tags.update({k.lower(): (k, v) for k, v in claims.tags})
        return Principal(
            "AssumedRole",
            acct,
            f"arn:aws:sts::{acct}:assumed-role/{claims.principal_name}/{claims.session_name}",
            f"{claims.principal_id}:{claims.session_name}",
            role_arn=claims.principal_arn,
            tags=dict(tags.values()),
        )
    if claims.kind == "federated":
        return Principal(
            "FederatedUser",
            acct,
            f"arn:aws:sts::{acct}:federated-user/{claims.session_name}",
            f"{acct}:{claims.session_name}",
            tags=dict(claims.tags),
        )
    if claims.kind == "root":
        return Principal("Account", acct, f"arn:aws:iam::{acct}:root", acct)
    return Principal("User", acct, claims.principal_arn, claims.principal_id, tags=dict(claims.tags))


def _opened(state: AppState, token: str, akid: str) -> OpenedToken:
    """The token's claims, decrypted on first sight only. Expiry and revocation are checked on
    every request by the caller of this."""
    opened = state.session_tokens.get((akid, token))
    if opened is None:
        opened = OpenedToken(open_token(token, akid, state.opening_key))
        state.session_tokens.put((akid, token), opened)
    return opened


def _session_caller(state: AppState, opened: OpenedToken, akid: str) -> Caller:
    """The Caller of a session, rebuilt when the IAM generation moved (role tags may have)."""
    generation = state.generation.get()
    built = opened.built
    if built is not None and built[0] == generation:
        return built[1]
    claims = opened.claims
    user_id = claims.principal_id if claims.kind == "user" else None
    caller = Caller(session_principal(state, claims), akid, user_id, claims)
    opened.built = (generation, caller)  # one attribute: threads never see a torn pair
    return caller


def _temporary(
    state: AppState, signed: sigv4.SignedRequest, service: str, now: datetime
) -> tuple[Caller, str]:
    akid = signed.scope.access_key_id
    if not signed.security_token:
        raise key_error("unknown_key", service)
    try:
        opened = _opened(state, signed.security_token, akid)
    except InvalidSessionToken as exc:
        raise key_error("bad_token", service) from exc
    claims = opened.claims
    if now.timestamp() >= claims.expires_at:
        raise key_error("expired_token", service)
    if akid in state.revoked.get():
        raise key_error("bad_token", service)
    return _session_caller(state, opened, akid), claims.secret_access_key


def identify(state: AppState, signed: sigv4.SignedRequest, service: str, now: datetime) -> tuple[Caller, str]:
    """The caller and its secret key, before the signature is checked."""
    akid = signed.scope.access_key_id
    if akid.startswith("ASIA"):
        return _temporary(state, signed, service, now)
    if signed.security_token:
        raise key_error("bad_token", service)
    return _long_term(state, akid, service)


def authenticate(
    state: AppState,
    request: sigv4.HttpRequest,
    signed: sigv4.SignedRequest | None,
    *,
    service: str,
    now: datetime,
    body_sha256: str | None,
) -> Caller:
    """Identify the caller and verify the signature; anonymous when the request is unsigned.

    Raises AwsError for key problems and ``sigv4.SigV4Error`` for signature problems (each
    service family words those itself).
    """
    if signed is None:
        return ANONYMOUS
    sigv4.precheck(signed, now=now, expected_service=service, valid_regions=valid_region)
    caller, secret = identify(state, signed, service, now)
    sigv4.verify(
        signed,
        request,
        secret,
        now=now,
        body_sha256=body_sha256,
        normalize_path=service != "s3",
        expected_service=service,
        valid_regions=valid_region,
        key_cache=state.signing_keys,
    )
    return caller

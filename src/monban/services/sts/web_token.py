"""Verifying a web identity token (an OpenID Connect ID token, a JWT) for AssumeRoleWithWebIdentity.

STS API reference, AssumeRoleWithWebIdentity, and IAM User Guide, "Create an OpenID Connect (OIDC)
identity provider in IAM" / "Available keys for AWS web identity federation":

- the token is a JWS signed with RS256/384/512 or ES256/384/512 (``InvalidIdentityToken`` "The ID
  Token provided is not a valid JWT. (You may see this error if you sent an Access Token)" for
  anything else);
- its ``iss`` names an OIDC provider of the role's account ("No OpenIDConnect provider found in
  your account for <iss>") — looked up before any key is fetched, so an unauthenticated token
  never makes monban reach for a URL nobody registered;
- the signature verifies with the issuer's key (see ``oidc_keys``);
- ``aud`` (or one of its values) is a client id of the provider ("Incorrect token audience");
- ``exp`` is not past, ``nbf``/``iat`` are not in the future, each with five minutes of clock
  skew (``ExpiredTokenException`` "Token expired: current date/time <now> must be before the
  expiration date/time<exp>", AWS's spacing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy.orm import Session

from monban.protocol.errors import AwsError
from monban.services.iam import oidc_providers as iam_oidc
from monban.services.sts.oidc_keys import issuer_key

ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
SKEW_SECONDS = 300
NOT_A_JWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"


def invalid(message: str) -> AwsError:
    return AwsError("InvalidIdentityToken", message)


@dataclass(frozen=True, slots=True)
class Provider:
    """A registered OIDC provider, as verification needs it (no ORM object leaves the
    transaction)."""

    arn: str
    url: str  # the issuer without https://: the prefix of its condition keys
    client_ids: tuple[str, ...]
    jwks: str | None


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature, issuer, audience and times were checked."""

    provider: Provider
    subject: str
    audience: str
    claims: Mapping[str, Any]


def unverified(token: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The header and the claims of a token, before any check (only to find the issuer and key)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise invalid(NOT_A_JWT) from exc
    if header.get("alg") not in ALGORITHMS or not isinstance(claims, dict):
        raise invalid(NOT_A_JWT)
    return header, claims


def find_provider(session: Session, account: str, issuer: str) -> Provider:
    """The provider of ``account`` whose URL is the token's ``iss`` (``https://`` + URL)."""
    url = issuer[len("https://") :] if issuer.startswith("https://") else None
    row = iam_oidc.find_provider(session, account, url) if url else None
    if row is None:
        raise invalid(f"No OpenIDConnect provider found in your account for {issuer}")
    return Provider(row.arn, row.url, tuple(iam_oidc.client_ids_of(row)), row.jwks)


def _audience(claims: Mapping[str, Any], provider: Provider) -> str:
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    for value in values:
        if isinstance(value, str) and value in provider.client_ids:
            return value
    raise invalid("Incorrect token audience")


def _times(claims: Mapping[str, Any], now: int) -> None:
    exp, nbf, iat = claims.get("exp"), claims.get("nbf", 0), claims.get("iat", 0)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, nbf, iat)):
        raise invalid(NOT_A_JWT)
    assert isinstance(exp, int | float)
    if now > exp + SKEW_SECONDS:
        raise AwsError(
            "ExpiredTokenException",
            f"Token expired: current date/time {now} must be before the expiration date/time{int(exp)}",
        )
    if nbf > now + SKEW_SECONDS or iat > now + SKEW_SECONDS:
        raise invalid("The ID Token provided is not yet valid.")


def verify_signature(
    token: str, header: Mapping[str, Any], provider: Provider, ca_bundle: Path | None
) -> None:
    """The signature against the issuer's key named by ``kid``."""
    kid = header.get("kid")
    key = issuer_key(
        "https://" + provider.url, kid if isinstance(kid, str) else None, provider.jwks, ca_bundle
    )
    algorithm = str(header["alg"])
    try:
        jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise invalid("Invalid token signature") from exc
    except jwt.PyJWTError as exc:
        raise invalid(NOT_A_JWT) from exc


def check_claims(claims: Mapping[str, Any], provider: Provider, now: int) -> VerifiedToken:
    """Audience, times and subject of a token whose signature verified."""
    audience = _audience(claims, provider)
    _times(claims, now)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise invalid(NOT_A_JWT)
    return VerifiedToken(provider, subject, audience, claims)

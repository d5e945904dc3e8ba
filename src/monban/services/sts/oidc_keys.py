"""The signing keys of an OpenID Connect issuer: declared (a provider's ``Jwks`` in the bootstrap
file) or discovered over HTTPS.

IAM User Guide, "Create an OpenID Connect (OIDC) identity provider in IAM": STS reads
``<issuer>/.well-known/openid-configuration``, then the JWKS at its ``jwks_uri``, both over HTTPS
with a certificate a trusted authority signed (monban: the system trust store, or the bundle of
``monban serve --oidc-ca-bundle FILE``). Keys are cached per issuer and fetched again when a token
names a key id the cached set lacks (issuers rotate keys).

Callers must only ask for an issuer that is a provider registered in the role's account: the
issuer comes from an unauthenticated token, and nothing here may be pointed at an arbitrary URL.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from monban.access.state import LruCache
from monban.protocol.errors import AwsError

FETCH_TIMEOUT = 5.0
MAX_DOCUMENT_BYTES = 512 * 1024
REFETCH_SECONDS = 10.0
KEY_MESSAGE = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)


def key_error() -> AwsError:
    """The issuer answered, but with no usable key (AWS's wording, two spaces and all)."""
    return AwsError("InvalidIdentityToken", KEY_MESSAGE)


def communication_error() -> AwsError:
    """The issuer could not be reached (connection, TLS, timeout)."""
    return AwsError("IDPCommunicationError", KEY_MESSAGE)


def parse_jwks(text: str) -> jwt.PyJWKSet:
    """A JWKS document; ValueError unless it holds at least one usable key."""
    try:
        data = json.loads(text)
        keys = jwt.PyJWKSet.from_dict(data)
    except (ValueError, TypeError, jwt.PyJWKSetError, jwt.InvalidKeyError) as exc:
        raise ValueError(f"not a usable JWKS document: {exc}") from exc
    return keys


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Discovery documents and key sets are read where they are: a redirect is a failure."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _context(ca_bundle: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)


def fetch_json(url: str, ca_bundle: Path | None) -> Any:
    """GET an HTTPS URL and decode its JSON body (bounded size, no redirects)."""
    if not url.startswith("https://"):
        raise key_error()
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=_context(ca_bundle)), _NoRedirect
    )
    try:
        with opener.open(urllib.request.Request(url, method="GET"), timeout=FETCH_TIMEOUT) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise key_error() from exc
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise communication_error() from exc
    if len(body) > MAX_DOCUMENT_BYTES:
        raise key_error()
    try:
        return json.loads(body)
    except ValueError as exc:
        raise key_error() from exc


def discover(issuer: str, ca_bundle: Path | None) -> jwt.PyJWKSet:
    """The issuer's key set: its discovery document (whose ``issuer`` must be the issuer itself,
    OpenID Connect Discovery 1.0 §4.3), then its ``jwks_uri``."""
    config = fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration", ca_bundle)
    if not isinstance(config, dict) or config.get("issuer") != issuer:
        raise key_error()
    jwks_uri = config.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise key_error()
    document = fetch_json(jwks_uri, ca_bundle)
    try:
        return parse_jwks(json.dumps(document))
    except ValueError as exc:
        raise key_error() from exc


@dataclass(frozen=True, slots=True)
class _Fetched:
    keys: jwt.PyJWKSet
    at: float
    missed: frozenset[str | None] = frozenset()  # key ids asked for since, and not in ``keys``


_FETCHED: LruCache[tuple[str, str], _Fetched] = LruCache(256)


def _find(keys: jwt.PyJWKSet, kid: str | None) -> jwt.PyJWK | None:
    if kid is None:
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((key for key in keys.keys if key.key_id == kid), None)


def _declared_key(declared: str, kid: str | None) -> jwt.PyJWK:
    try:
        found = _find(parse_jwks(declared), kid)
    except ValueError as exc:
        raise key_error() from exc
    if found is None:
        raise key_error()
    return found


def issuer_key(issuer: str, kid: str | None, declared: str | None, ca_bundle: Path | None) -> jwt.PyJWK:
    """The key that signed a token of ``issuer`` (a registered provider): from the declared
    JWKS when the provider has one, else discovered and cached. A ``kid`` the cached set lacks
    fetches the set again (a rotation), unless that very ``kid`` already missed in a fetch of the
    last ``REFETCH_SECONDS``. InvalidIdentityToken when no key has that id."""
    if declared is not None:
        return _declared_key(declared, kid)
    cache_key = (issuer, str(ca_bundle or ""))
    cached = _FETCHED.get(cache_key)
    if cached is not None:
        found = _find(cached.keys, kid)
        if found is not None:
            return found
        if kid in cached.missed and time.monotonic() - cached.at < REFETCH_SECONDS:
            raise key_error()
    fresh = _Fetched(discover(issuer, ca_bundle), time.monotonic())
    found = _find(fresh.keys, kid)
    _FETCHED.put(cache_key, fresh if found is not None else _Fetched(fresh.keys, fresh.at, frozenset({kid})))
    if found is None:
        raise key_error()
    return found

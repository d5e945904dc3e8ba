"""``monban oidc token | jwks``: a test OpenID Connect issuer, so web identity federation works offline.

For any issuer URL (GitHub's ``https://token.actions.githubusercontent.com``, an EKS cluster's…)
monban keeps an RSA key of its own in ``<data dir>/oidc-issuers/<sha256 of the URL>.pem`` (mode
0600, made on first use). ``monban oidc token`` prints a JWT signed with it (RS256, ``kid`` the
RFC 7638 thumbprint of the public key), ``monban oidc jwks`` the JWKS to declare as the provider's
``Jwks`` in the bootstrap file. Tokens of this issuer then verify exactly as real ones do against
the very trust policy that will be deployed; the key proves nothing outside this data dir.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from monban.settings import default_data_dir

KEY_FOLDER = "oidc-issuers"


def key_path(data_dir: Path, issuer: str) -> Path:
    return data_dir / KEY_FOLDER / (hashlib.sha256(issuer.encode()).hexdigest()[:32] + ".pem")


def issuer_key(data_dir: Path, issuer: str) -> rsa.RSAPrivateKey:
    """The issuer's private key, made (2048-bit RSA, file mode 0600) on first use."""
    path = key_path(data_dir, issuer)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The public key as a JWK with ``kid`` its RFC 7638 thumbprint, ``alg`` RS256, ``use`` sig."""
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    kid = jwt.utils.base64url_encode(digest).decode()
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def jwks(data_dir: Path, issuer: str) -> dict[str, Any]:
    return {"keys": [public_jwk(issuer_key(data_dir, issuer))]}


def _claim(text: str) -> tuple[str, Any]:
    """``k=v``: v is JSON when it parses as JSON (``{"principal_tags": …}``, ``["pwd"]``), else text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def token(data_dir: Path, issuer: str, sub: str, aud: str, ttl: int, claims: list[tuple[str, Any]]) -> str:
    """A signed ID token: ``iss``, ``sub``, ``aud``, ``iat``, ``nbf`` (now), ``exp`` (now + ttl),
    then the extra claims."""
    key = issuer_key(data_dir, issuer)
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": aud,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    payload.update(dict(claims))
    if ttl < 0:  # an expired token for tests: it was also issued before it expired
        payload["iat"] = payload["nbf"] = now + 2 * ttl
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"]})


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if args.data_dir else default_data_dir()


def _token(args: argparse.Namespace) -> int:
    """Print the token, or write it to ``--output`` as Kubernetes projects one: no newline."""
    signed = token(_data_dir(args), args.issuer, args.sub, args.aud, args.ttl, args.claim)
    if args.output is None:
        print(signed)
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signed)
    return 0


def _jwks(args: argparse.Namespace) -> int:
    json.dump(jwks(_data_dir(args), args.issuer), sys.stdout, indent=2)
    print()
    return 0


def add_oidc_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """``monban oidc token`` and ``monban oidc jwks``."""
    oidc = sub.add_parser("oidc", help="a test OpenID Connect issuer (tokens and JWKS, offline)")
    commands = oidc.add_subparsers(dest="oidc_command", required=True)
    data_help = "where the issuer keys are kept (default: $MONBAN_DATA_DIR, else ~/.local/share/monban)"
    tok = commands.add_parser("token", help="print a signed ID token (JWT) of the issuer")
    tok.add_argument(
        "--issuer", required=True, help="issuer URL, e.g. https://token.actions.githubusercontent.com"
    )
    tok.add_argument("--sub", required=True, help="the sub claim")
    tok.add_argument("--aud", required=True, help="the aud claim (a client id of the provider)")
    tok.add_argument(
        "--claim",
        type=_claim,
        action="append",
        default=[],
        help="extra claim KEY=VALUE, VALUE read as JSON or else text; repeatable (default: none)",
    )
    tok.add_argument(
        "--ttl",
        type=int,
        default=3600,
        help="seconds until exp; negative: already expired (default: %(default)s)",
    )
    tok.add_argument(
        "--output",
        default=None,
        help="write the token to this file, with no newline, as a token file (default: print it)",
    )
    tok.add_argument("--data-dir", default=None, help=data_help)
    keys = commands.add_parser("jwks", help="print the issuer's JWKS (declare it as the provider's Jwks)")
    keys.add_argument("--issuer", required=True, help="issuer URL")
    keys.add_argument("--data-dir", default=None, help=data_help)
    return {"oidc": lambda args: _token(args) if args.oidc_command == "token" else _jwks(args)}

"""Helpers for the web identity tests (no tests here): tokens from ``monban oidc``, a local HTTPS
OpenID Connect issuer with its own certificate authority, and a server whose bootstrap file
declares GitHub's provider with the test issuer's JWKS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.server import REGION, Server, start_server

GITHUB = "https://token.actions.githubusercontent.com"
DEPLOY_ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
OTHER_ISSUER = "https://gitlab.example.com"
MAIN = "repo:acme/app:ref:refs/heads/main"
AUDIENCE = "sts.amazonaws.com"


def monban_oidc(data_dir: Path, *args: str) -> str:
    """``monban oidc …`` in a subprocess, its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "monban.cli", "oidc", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def mint(data_dir: Path, issuer: str, sub: str = MAIN, aud: str = AUDIENCE, *extra: str) -> str:
    """A token of the test issuer ``issuer`` whose key is kept in ``data_dir``."""
    return monban_oidc(data_dir, "token", "--issuer", issuer, "--sub", sub, "--aud", aud, *extra)


def unsigned_sts(server: Server) -> Any:
    """An STS client that signs nothing, as AssumeRoleWithWebIdentity is called."""
    return boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def github_trust(account: str, *conditions: tuple[str, str, str], actions: Any = None) -> dict[str, Any]:
    """A trust policy for GitHub Actions tokens: ``(operator, claim, value)`` conditions."""
    condition: dict[str, dict[str, str]] = {}
    for operator, claim, value in conditions:
        condition.setdefault(operator, {})[f"token.actions.githubusercontent.com:{claim}"] = value
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
                },
                "Action": actions or "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ],
    }


# --- a local HTTPS issuer ------------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(subject: str, issuer: str, key: Any, signer: Any, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class HttpsIssuer:
    """An OpenID Connect issuer on ``https://127.0.0.1:<port>`` whose certificate a test CA signed;
    it serves discovery and the JWKS of the ``monban oidc`` key kept in ``keys``."""

    url: str
    ca_bundle: Path
    keys: Path
    documents: dict[str, bytes] = field(default_factory=dict)

    def publish(self, keys: Path) -> None:
        """Serve the JWKS of the key kept in ``keys`` (a rotation when it changes)."""
        self.keys = keys
        self.documents["/jwks"] = monban_oidc(keys, "jwks", "--issuer", self.url).encode()


def _handler(documents: dict[str, bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def https_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsIssuer]:
    folder = tmp_path_factory.mktemp("https-issuer")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("monban test CA", "monban test CA", ca_key, ca_key, ca=True)
    leaf = _cert("127.0.0.1", "monban test CA", server_key, ca_key, ca=False)
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "server.pem").write_bytes(_pem(leaf))
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "server.key").write_bytes(key_pem)
    documents: dict[str, bytes] = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(documents))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    discovery = {"issuer": url, "jwks_uri": f"{url}/jwks", "id_token_signing_alg_values_supported": ["RS256"]}
    documents["/.well-known/openid-configuration"] = json.dumps(discovery).encode()
    issuer = HttpsIssuer(url, folder / "ca.pem", folder / "keys-1", documents)
    issuer.publish(folder / "keys-1")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield issuer
    httpd.shutdown()
    httpd.server_close()


# --- a server with GitHub's provider declared in the bootstrap file ------------------------------


@dataclass
class Federation:
    server: Server
    issuer_keys: Path  # where `monban oidc` keeps the test issuers' keys (GitHub's, GitLab's)


def _bootstrap(folder: Path, keys: Path) -> Path:
    (folder / "github-jwks.json").write_text(monban_oidc(keys, "jwks", "--issuer", GITHUB))
    other_jwks = json.loads(monban_oidc(keys, "jwks", "--issuer", OTHER_ISSUER))
    main_only = github_trust(DEPLOY_ACCOUNT, ("StringEquals", "aud", AUDIENCE), ("StringEquals", "sub", MAIN))
    data = {
        "Accounts": [
            {
                "AccountId": DEPLOY_ACCOUNT,
                "OIDCProviders": [
                    {
                        "Url": GITHUB,
                        "ClientIdList": [AUDIENCE],
                        "Jwks": "github-jwks.json",
                        "Tags": [{"Key": "ci", "Value": "github"}],
                    }
                ],
                "Roles": [
                    {"RoleName": "deploy", "AssumeRolePolicyDocument": main_only, "MaxSessionDuration": 7200}
                ],
            },
            {
                "AccountId": OTHER_ACCOUNT,
                "OIDCProviders": [{"Url": OTHER_ISSUER, "ClientIdList": [AUDIENCE], "Jwks": other_jwks}],
            },
        ]
    }
    path = folder / "federation.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, https_issuer: HttpsIssuer) -> Iterator[Federation]:
    folder = tmp_path_factory.mktemp("federation")
    keys = folder / "issuer-keys"
    config = _bootstrap(folder, keys)
    options = ["--min-session-seconds", "1", "--config", str(config)]
    server = start_server(folder / "data", *options, "--oidc-ca-bundle", str(https_issuer.ca_bundle))
    yield Federation(server, keys)
    server.stop()

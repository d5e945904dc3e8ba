"""SigV4 micro-benchmark: monban verifying a request's signature beside botocore computing it.

Plain script, no server, no pytest: ``.venv/bin/python bench/sigv4_bench.py``. Prints one markdown
table. Two requests, signed by botocore and received as the server receives them (lower-case header
names, plus Host, Content-Length, User-Agent):

- STS AssumeRole, the Query POST ``bench/sts_bench.py`` replays: form body, Authorization header
  auth with content-type, host and x-amz-date signed;
- S3 GetObject with role-session credentials, as ``bench/s3_bench.py`` replays it: header auth,
  a 700-character x-amz-security-token and x-amz-content-sha256 signed.

monban, per request as the server does it: ``HttpRequest`` built from the header list (it indexes
the headers by name), the body's SHA-256 (STS only; S3 signs the x-amz-content-sha256 it is told),
``sigv4.parse``, ``precheck``, ``verify`` with a warm signing-key cache. The peer: botocore's own
signer, ``SigV4Auth`` / ``S3SigV4Auth`` ``add_auth`` on a fresh copy of the unsigned ``AWSRequest``
(signing adds headers to it), computing the signature of the same request. botocore keeps no key
cache, so its figure includes deriving the signing key (four HMAC-SHA256 of a few bytes each).

Before timing, monban must accept each request and refuse it with one signature character changed,
and botocore with its clock set to the request's time must produce the very signature the request
carries. Each figure is the best of 7 batches of 5,000 calls, in µs per call. No thresholds.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* when run as a script

from bench.common import FORM, REGION
from bench.sts_bench import body as assume_role_body
from monban import sigv4

KEY_ID, SECRET = "ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = base64.b64encode(random.Random(7).randbytes(525)).decode()  # 700 characters, like STS's
ENDPOINT = "http://127.0.0.1:8080"
USER_AGENT = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.7"
BATCH, REPEAT = 5_000, 7


@dataclass(frozen=True)
class Case:
    """One unsigned request and botocore's signed version of it, as the server sees it."""

    label: str
    service: str
    method: str
    url: str
    body: bytes
    headers: dict[str, str]  # before signing
    token: str | None

    def auth(self) -> SigV4Auth:
        signer = S3SigV4Auth if self.service == "s3" else SigV4Auth
        return signer(Credentials(KEY_ID, SECRET, self.token), self.service, REGION)

    def unsigned(self) -> AWSRequest:
        return AWSRequest(method=self.method, url=self.url, data=self.body, headers=dict(self.headers))

    def received(self, signed: AWSRequest) -> sigv4.HttpRequest:
        """``signed`` as ``server/app.py`` builds it from the ASGI scope."""
        parts = urlsplit(self.url)
        headers = [(name.lower(), value) for name, value in signed.headers.items()]
        headers += [("host", parts.netloc), ("content-length", str(len(self.body)))]
        headers += [("user-agent", USER_AGENT), ("accept-encoding", "identity")]
        return sigv4.HttpRequest(self.method, parts.path or "/", parts.query, tuple(headers))


CASES = (
    Case(
        "STS AssumeRole (Query POST, header auth)",
        "sts",
        "POST",
        ENDPOINT + "/",
        assume_role_body("arn:aws:iam::111122223333:role/bench").encode(),
        {"Content-Type": FORM},
        None,
    ),
    Case(
        "S3 GetObject (header auth, session token)",
        "s3",
        "GET",
        ENDPOINT + "/benchb/get-4k",
        b"",
        {},
        TOKEN,
    ),
)


def monban_verifier(case: Case, http: sigv4.HttpRequest) -> Callable[[], None]:
    """One server-side check of ``http``: build, hash the body, parse, precheck, verify."""
    cache = sigv4.SigningKeyCache()
    method, path, query, headers = http.method, http.path, http.query, http.headers
    s3 = case.service == "s3"

    def check() -> None:
        request = sigv4.HttpRequest(method=method, path=path, query=query, headers=headers)
        body_sha256 = None if s3 else hashlib.sha256(case.body).hexdigest()
        signed = sigv4.parse(request)
        if signed is None:
            raise RuntimeError("parse found no signature")
        now = datetime.now(UTC)
        sigv4.precheck(signed, now=now, expected_service=case.service)
        sigv4.verify(
            signed,
            request,
            SECRET,
            now=now,
            body_sha256=body_sha256,
            normalize_path=not s3,
            expected_service=case.service,
            key_cache=cache,
        )

    return check


def botocore_signer(case: Case) -> Callable[[], None]:
    auth = case.auth()
    return lambda: auth.add_auth(case.unsigned())


def sanity(case: Case, signed: AWSRequest, http: sigv4.HttpRequest) -> None:
    """monban accepts the request and refuses it mis-signed; botocore re-signs it identically."""
    monban_verifier(case, http)()
    authorization = signed.headers["Authorization"]
    bad = authorization[:-1] + ("0" if authorization[-1] != "0" else "1")
    tampered = tuple((n, bad if n == "authorization" else v) for n, v in http.headers)
    try:
        monban_verifier(case, sigv4.HttpRequest(http.method, http.path, http.query, tampered))()
    except sigv4.SigV4Error:
        pass
    else:
        raise RuntimeError(f"{case.label}: a wrong signature was accepted")
    moment = datetime.strptime(signed.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    again = case.unsigned()
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        case.auth().add_auth(again)
    if again.headers["Authorization"] != authorization:
        raise RuntimeError(f"{case.label}: botocore signed the request differently")


def per_call_us(call: Callable[[], object]) -> float:
    call()
    return min(timeit.repeat(call, number=BATCH, repeat=REPEAT)) / BATCH * 1e6


def table() -> list[str]:
    lines = [
        "| request | monban parse + verify | botocore signs it | monban / botocore |",
        "|---|---:|---:|---:|",
    ]
    for case in CASES:
        signed = case.unsigned()
        case.auth().add_auth(signed)
        http = case.received(signed)
        sanity(case, signed, http)
        ours = per_call_us(monban_verifier(case, http))
        peer = per_call_us(botocore_signer(case))
        lines.append(f"| {case.label} | {ours:.1f} µs | {peer:.1f} µs | {ours / peer:.2f} |")
    return lines


def summary() -> list[str]:
    """Run the benchmark; the markdown table's lines."""
    return table()


def main() -> int:
    print("\n".join(table()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

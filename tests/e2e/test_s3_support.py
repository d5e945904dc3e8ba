"""Helpers of the S3 tests (no tests here): names, principals, clients, raw signed requests."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.server import REGION, Server

OWNER = "123456789012"  # bucket owner account of the cross-account tests
OTHER = "123456789010"  # the account whose role is granted access
AWS = Path(sys.executable).parent / "aws"
Key = tuple[str, str]


def uid(prefix: str) -> str:
    """A bucket-safe name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def tag_set(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """boto3's ``Tagging`` parameter for ``pairs``."""
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def s3_client(server: Server, key: Key, token: str | None = None, region: str = REGION, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=token,
        config=Config(
            retries={"max_attempts": 1}, s3={"addressing_style": "path"}, signature_version="s3v4", **config
        ),
    )


def root(server: Server, account: str = OWNER) -> Key:
    if account not in server.roots:
        pytest.fail(f"the test server has no account {account} (tests/e2e/bootstrap.yaml)")
    return server.roots[account]


def iam(server: Server, account: str = OWNER) -> Any:
    return server.client("iam", key=root(server, account))


def user(server: Server, account: str, *statements: dict[str, Any]) -> tuple[str, Key]:
    """A new IAM user (arn, access key) with an inline policy of ``statements``."""
    client = iam(server, account)
    name = uid("s3user")
    arn = client.create_user(UserName=name)["User"]["Arn"]
    if statements:
        client.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=policy(*statements))
    key = client.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def role(server: Server, account: str, trusted: str, *statements: dict[str, Any]) -> str:
    """A new role of ``account`` trusting principal ``trusted``, with an inline policy."""
    client = iam(server, account)
    name = uid("s3role")
    trust = policy({"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"})
    arn: str = client.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    if statements:
        client.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=policy(*statements))
    return arn


@dataclass(frozen=True)
class Session:
    key: Key
    token: str


def assume(server: Server, key: Key, role_arn: str) -> Session:
    """Role-session credentials from the server's STS AssumeRole."""
    sts = server.client("sts", key=key)
    try:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="s3-test")["Credentials"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidAction":
            pytest.skip("STS AssumeRole is not implemented on this server yet")
        raise
    return Session((creds["AccessKeyId"], creds["SecretAccessKey"]), creds["SessionToken"])


def bucket(server: Server, key: Key, prefix: str = "b", bucket_policy: str | None = None) -> str:
    name = uid(prefix)
    client = s3_client(server, key)
    client.create_bucket(Bucket=name)
    if bucket_policy is not None:
        client.put_bucket_policy(Bucket=name, Policy=bucket_policy.replace("BUCKET", name))
    return name


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes


def signed_headers(
    server: Server,
    method: str,
    path: str,
    key: Key | None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    payload_hash: str | None = None,
    token: str | None = None,
) -> dict[str, str]:
    """Headers of a SigV4-signed S3 request (``payload_hash`` overrides x-amz-content-sha256)."""
    url = server.endpoint + path
    all_headers = dict(headers or {})
    if key is None:
        return all_headers
    request = AWSRequest(method=method, url=url, data=body, headers=all_headers)
    _Signer(Credentials(key[0], key[1], token), "s3", REGION, payload_hash).add_auth(request)
    return dict(request.headers.items())


class _Signer(S3SigV4Auth):
    """botocore's S3 signer, with the payload hash line chosen by the test when given."""

    def __init__(self, credentials: Credentials, service: str, region: str, payload_hash: str | None) -> None:
        super().__init__(credentials, service, region)
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        if self._payload_hash is not None:
            return self._payload_hash
        return hashlib.sha256(request.body or b"").hexdigest()


def send(server: Server, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Raw:
    parts = urlsplit(server.endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Raw(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def raw(
    server: Server,
    method: str,
    path: str,
    key: Key | None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    payload_hash: str | None = None,
) -> Raw:
    """Send one (signed unless ``key`` is None) request as it is, with http.client."""
    return send(
        server, method, path, signed_headers(server, method, path, key, body, headers, payload_hash), body
    )


def aws_cli(server: Server, key: Key, *args: str, token: str | None = None, cwd: Path | None = None) -> str:
    """Run the ``aws`` CLI against the server; its stdout (fails the test on a non-zero exit)."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key[0],
        "AWS_SECRET_ACCESS_KEY": key[1],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    if token:
        env["AWS_SESSION_TOKEN"] = token
    command = [str(AWS), "--endpoint-url", server.endpoint, *args]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class DatabaseBlob:
    """A blob kept as chunk rows in a PostgreSQL server's database (``--object-store database``),
    with the two questions the tests ask of a blob file: its bytes, and whether it is still there."""

    url: str
    blob_id: str

    def _chunks(self) -> list[bytes]:
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://")) as connection:
            rows = connection.execute(
                "SELECT data FROM s3_blob_chunks WHERE blob_id = %s ORDER BY chunk_no", (self.blob_id,)
            ).fetchall()
        return [bytes(row[0]) for row in rows]

    def read_bytes(self) -> bytes:
        return b"".join(self._chunks())

    def exists(self) -> bool:
        return bool(self._chunks())


def database_blobs(url: str) -> set[DatabaseBlob]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        rows = connection.execute("SELECT DISTINCT blob_id FROM s3_blob_chunks").fetchall()
    return {DatabaseBlob(url, str(row[0])) for row in rows}


def object_files(server: Server) -> set[Any]:
    """The blobs of the server's object store: files of its data dir (``Path``), and on
    PostgreSQL the blobs in its database (``DatabaseBlob``), which read and vanish alike."""
    found: set[Any] = {p for p in (server.data_dir / "objects").rglob("*") if p.is_file()}
    if server.database and server.database.startswith("postgresql"):
        found |= database_blobs(server.database)
    return found

"""Helpers of the IAM and bootstrap tests: unique names, policy documents, users with keys and
policies, new users/groups/roles, error parts, raw signed requests (for what boto3 would refuse to
send), the ``aws`` CLI in a subprocess."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.server import REGION, Server

BIN = Path(sys.executable).parent
IAM_VERSION = "2010-05-08"


def uid(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: Any) -> str:
    """A trust policy letting ``principal`` call sts:AssumeRole."""
    return document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


EC2_TRUST = trust({"Service": "ec2.amazonaws.com"})
TRUST_NOBODY = document({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a ClientError."""
    code, message, status = error(caught)
    return code, status, message


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a ClientError."""
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def new_entity(iam: Any, kind: str, path: str = "/", role_trust: str = EC2_TRUST) -> str:
    """A new user, group or role (trusting ``role_trust``); returns its name."""
    name = uid(kind)
    if kind == "user":
        iam.create_user(UserName=name, Path=path)
    elif kind == "group":
        iam.create_group(GroupName=name, Path=path)
    else:
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=role_trust)
    return name


def account_of(server: Server) -> str:
    """The account the server's default client (its first root) acts in."""
    return next(iter(server.roots))


def user_client(server: Server, *policies: str) -> tuple[str, Any]:
    """A new user with the given inline policies: its ARN and an IAM client signed with its key."""
    iam = server.client("iam")
    name = uid("u")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    for index, text in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{index}", PolicyDocument=text)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client("iam", key=(key["AccessKeyId"], key["SecretAccessKey"]))


@dataclass
class Account:
    """One account of the test server, driven by its root."""

    server: Server
    id: str

    @property
    def root(self) -> tuple[str, str]:
        return self.server.roots[self.id]

    def iam(self, key: tuple[str, str] | None = None, **config: Any) -> Any:
        return self.server.client("iam", key=key or self.root, **config)

    def client(self, service: str, key: tuple[str, str] | None = None, **config: Any) -> Any:
        return self.server.client(service, key=key or self.root, **config)

    def user(
        self, prefix: str = "user", *statements: dict[str, Any], **create: Any
    ) -> tuple[str, tuple[str, str]]:
        """A new user with an access key and, given statements, an inline policy of them."""
        iam = self.iam()
        name = uid(prefix)
        iam.create_user(UserName=name, **create)
        if statements:
            iam.put_user_policy(UserName=name, PolicyName="test-policy", PolicyDocument=document(*statements))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, (key["AccessKeyId"], key["SecretAccessKey"])

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.id}:{kind}{path}{name}"

    def entity(self, kind: str) -> str:
        """A new user, group or role (trusting nobody); returns its name."""
        return new_entity(self.iam(), kind, role_trust=TRUST_NOBODY)


def first_account(server: Server) -> Account:
    return Account(server, sorted(server.roots)[0])


def second_account(server: Server) -> Account:
    return Account(server, sorted(server.roots)[1])


@dataclass
class RawResponse:
    status: int
    body: str


def raw_request(
    server: Server,
    body: bytes,
    *,
    key: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    sign: bool = True,
) -> RawResponse:
    """POST ``body`` to the Query endpoint, signed for IAM with ``key`` (default: first root)."""
    url = server.endpoint + "/"
    all_headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})}
    if sign:
        akid, secret = key or next(iter(server.roots.values()))
        request = AWSRequest(method="POST", url=url, data=body, headers=all_headers)
        SigV4Auth(Credentials(akid, secret), "iam", REGION).add_auth(request)
        all_headers = dict(request.headers.items())
    return _post(server.endpoint, body, all_headers)


def _post(endpoint: str, body: bytes, headers: dict[str, str]) -> RawResponse:
    """POST with http.client; a server that answers before reading the whole body (413) is
    still heard: the send may break, the response is read anyway."""
    parsed = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        return RawResponse(response.status, response.read().decode())
    finally:
        connection.close()


def aws_cli(
    server: Server, *args: str, key: tuple[str, str] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``aws --endpoint-url … <args> --output json`` with ``key`` (if any) in the environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if key is not None:
        environment.update({"AWS_ACCESS_KEY_ID": key[0], "AWS_SECRET_ACCESS_KEY": key[1]})
    environment.update(env or {})
    command = [str(BIN / "aws"), "--endpoint-url", server.endpoint, *args, "--output", "json"]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=False)

"""Helpers for the STS end-to-end tests (no tests here): unique names, users and roles made
through boto3, clients for issued credentials, a server seeded with the walkthrough's accounts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from monban.store.accounts import ensure_account
from monban.store.db import Database, sqlite_url
from tests.e2e.server import Server, start_server

ALICE_ACCOUNT = "123456789010"
BOB_ACCOUNT = "123456789012"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: dict[str, Any], actions: str | list[str] = "sts:AssumeRole", **extra: Any) -> str:
    return document({"Effect": "Allow", "Principal": principal, "Action": actions, **extra})


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


class Account:
    """One account of a running server, driven by its root key."""

    def __init__(self, server: Server, account: str) -> None:
        self.server = server
        self.id = account
        self.iam = server.client("iam", account=account)

    def user(self, name: str | None = None, *policies: str, managed: tuple[str, ...] = ()) -> dict[str, Any]:
        """A user with an access key, inline policies (documents) and attached managed ARNs."""
        name = name or uid("user")
        created = self.iam.create_user(UserName=name)["User"]
        for n, text in enumerate(policies):
            self.iam.put_user_policy(UserName=name, PolicyName=f"p{n}", PolicyDocument=text)
        for policy_arn in managed:
            self.iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {**created, "Key": (key["AccessKeyId"], key["SecretAccessKey"])}

    def role(
        self,
        trust_policy: str,
        *policies: str,
        managed: tuple[str, ...] = (),
        name: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        name = name or uid("role")
        created = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy, **options)[
            "Role"
        ]
        for n, text in enumerate(policies):
            self.iam.put_role_policy(RoleName=name, PolicyName=f"p{n}", PolicyDocument=text)
        for policy_arn in managed:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return dict(created)

    def client(self, service: str, key: tuple[str, str], token: str | None = None, **config: Any) -> Any:
        return self.server.client(service, key=key, token=token, **config)


def wait_past(expiration: datetime | str) -> None:
    """Sleep until a second after ``expiration`` (a datetime, or the CLI's ISO text)."""
    when = (
        datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        if isinstance(expiration, str)
        else expiration
    )
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 1.1)


def session_client(server: Server, service: str, credentials: dict[str, Any], **config: Any) -> Any:
    """A client signed with temporary credentials from an STS response."""
    key = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
    return server.client(service, key=key, token=credentials["SessionToken"], **config)


def seeded_server(
    data_dir: Path, *args: str, accounts: tuple[str, ...] = (ALICE_ACCOUNT, BOB_ACCOUNT)
) -> Server:
    """A server whose database already holds ``accounts`` (root keys are generated at start)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(sqlite_url(data_dir))
    try:
        db.migrate()
        with db.transaction() as session:
            for account in accounts:
                ensure_account(session, account)
    finally:
        db.dispose()
    return start_server(data_dir, "--min-session-seconds", "1", *args)


@pytest.fixture(scope="module")
def two_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the walkthrough's accounts: 123456789010 (alice's) and 123456789012 (bob's)."""
    running = seeded_server(tmp_path_factory.mktemp("sts-accounts"))
    yield running
    running.stop()

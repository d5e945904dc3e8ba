"""Secrets stay secret (issue 17): after a server has made and used every kind of secret — a user's
access key, GetSessionToken and web identity sessions, the root keys, the master key, an OIDC
issuer's private key, an ECS task's token and its credentials, an instance's IMDSv2 token and
its credentials — and refused a request signed with a wrong secret, no file of the data dir
(the database and its WAL, the object files, the server's log, the audit trail when there is one:
every file, whatever its name) holds any of them in clear, except the one file that is that
secret's home: ``credentials`` for the root keys, ``master.key``, the issuer's ``.pem``. Every file
is 0600 (tests/e2e/test_data_dir.py holds the modes under any umask; here they hold after this
work too)."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server, start_server
from tests.e2e.test_data_dir import modes, wide
from tests.e2e.test_s3_support import s3_client, uid
from tests.e2e.test_sts_support import session_client
from tests.e2e.web_identity_support import (
    AUDIENCE,
    GITHUB,
    MAIN,
    github_trust,
    mint,
    monban_oidc,
    unsigned_sts,
)
from tests.e2e.workload_support import free_range, request, token

ACCOUNT = "111122223333"
TASK_TOKEN = "a-task-token-kept-only-as-a-digest"
WORKLOAD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class Secret:
    name: str
    forms: tuple[bytes, ...]  # every spelling of it that would give it away
    home: frozenset[str] = frozenset()  # the files (relative to the data dir) meant to hold it


def _bootstrap(data: Path) -> Path:
    """A bootstrap file: one account, GitHub's provider with the JWKS of an issuer key kept in the
    data dir (``monban oidc`` makes it there), a role it may assume."""
    jwks = json.loads(monban_oidc(data, "jwks", "--issuer", GITHUB))
    trust = github_trust(ACCOUNT, ("StringEquals", "aud", AUDIENCE), ("StringEquals", "sub", MAIN))
    config = {
        "Accounts": [
            {
                "AccountId": ACCOUNT,
                "OIDCProviders": [{"Url": GITHUB, "ClientIdList": [AUDIENCE], "Jwks": jwks}],
                "Roles": [
                    {"RoleName": "deploy", "AssumeRolePolicyDocument": trust},
                    {"RoleName": "workload", "AssumeRolePolicyDocument": WORKLOAD_TRUST},
                ],
                "InstanceProfiles": [{"InstanceProfileName": "workload", "Roles": ["workload"]}],
                "Instances": [{"IamInstanceProfile": "workload"}],
                "Tasks": [
                    {"TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/workload", "AuthorizationToken": TASK_TOKEN}
                ],
            }
        ]
    }
    path = data.parent / "secrets.yaml"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def used(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[Secret]]]:
    """A server that made and used every kind of secret (stopped), and those secrets."""
    data = tmp_path_factory.mktemp("secrets") / "data"
    data.mkdir(mode=0o700)
    imds = free_range(1)
    running = start_server(data, "--config", str(_bootstrap(data)), "--imds-port", str(imds))
    try:
        secrets = exercise(running) + workloads(running, imds)
    finally:
        running.stop()
    yield running, secrets


def exercise(server: Server) -> list[Secret]:
    iam = server.client("iam")
    user = uid("secrets")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    made = iam.create_access_key(UserName=user)["AccessKey"]
    key = (made["AccessKeyId"], made["SecretAccessKey"])
    session = server.client("sts", key=key).get_session_token()["Credentials"]
    s3 = s3_client(server, (session["AccessKeyId"], session["SecretAccessKey"]), session["SessionToken"])
    bucket = uid("secrets")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(300 * 1024))
    token = mint(server.data_dir, GITHUB)
    web = unsigned_sts(server).assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/deploy", RoleSessionName="ci", WebIdentityToken=token
    )["Credentials"]
    assert session_client(server, "sts", web).get_caller_identity()["Account"] == ACCOUNT
    wrong = {**session, "SecretAccessKey": "x" * 40}  # a refused request carrying the real token
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        session_client(server, "sts", wrong).get_caller_identity()
    return [
        plain("a user's secret access key", made["SecretAccessKey"]),
        plain("a session's secret access key", session["SecretAccessKey"]),
        plain("a session token", session["SessionToken"]),
        plain("a web identity session's secret", web["SecretAccessKey"]),
        plain("a web identity session token", web["SessionToken"]),
        *[plain(f"root secret of {a}", s, home="credentials") for a, (_k, s) in server.roots.items()],
        master_key(server.data_dir),
        *issuer_keys(server.data_dir),
    ]


def workloads(server: Server, imds: int) -> list[Secret]:
    """The container endpoint's and the metadata service's credentials, and their tokens."""
    port = int(server.endpoint.rsplit(":", 1)[1])
    task = json.loads(request(port, "GET", "/_monban/ecs/credentials", {"Authorization": TASK_TOKEN}).body)
    deadline = time.monotonic() + 30
    while True:  # the listener opens within 0.5 s of the start
        try:
            v2 = token(imds)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    headers = {"X-aws-ec2-metadata-token": v2}
    instance = json.loads(
        request(imds, "GET", "/latest/meta-data/iam/security-credentials/workload", headers).body
    )
    assert session_client(server, "sts", {**task, "SessionToken": task["Token"]}).get_caller_identity()
    return [
        plain("an ECS task's token", TASK_TOKEN),
        plain("a task session's secret", task["SecretAccessKey"]),
        plain("a task session token", task["Token"]),
        plain("an IMDSv2 token", v2),
        plain("an instance session's secret", instance["SecretAccessKey"]),
        plain("an instance session token", instance["Token"]),
    ]


def plain(name: str, value: str, home: str | None = None) -> Secret:
    return Secret(name, (value.encode(),), frozenset({home} if home else ()))


def master_key(data: Path) -> Secret:
    text = (data / "master.key").read_bytes().strip()
    raw = base64.b64decode(text)
    return Secret("the master key", (text, raw, raw.hex().encode()), frozenset({"master.key"}))


def issuer_keys(data: Path) -> list[Secret]:
    """Each OIDC issuer key: every line of its PEM body (any 48 bytes of the key would do)."""
    found = []
    for pem in sorted((data / "oidc-issuers").glob("*.pem")):
        lines = [line for line in pem.read_bytes().splitlines() if not line.startswith(b"-----")]
        home = frozenset({str(pem.relative_to(data))})
        found.append(Secret(f"OIDC issuer key {pem.name}", tuple(lines), home))
    assert found, "monban oidc made no issuer key in the data dir"
    return found


def files(data: Path) -> dict[str, bytes]:
    """Every file under the data dir, by relative path, with its bytes."""
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


def test_no_secret_is_in_clear_outside_its_home(used: tuple[Server, list[Secret]]) -> None:
    server, secrets = used
    contents = files(server.data_dir)
    assert {"monban.db", "server.log", "credentials", "master.key"} <= contents.keys()
    leaks = [
        (secret.name, path)
        for secret in secrets
        for path, content in contents.items()
        if path not in secret.home and any(form in content for form in secret.forms)
    ]
    assert leaks == []


def test_each_secret_is_in_its_home(used: tuple[Server, list[Secret]]) -> None:
    """The search above looks for what is really there: each homed secret is found at home."""
    server, secrets = used
    contents = files(server.data_dir)
    for secret in secrets:
        for home in secret.home:
            assert secret.forms[0] in contents[home], secret.name


def test_every_file_is_owner_only_after_use(used: tuple[Server, list[Secret]]) -> None:
    server, _secrets = used
    assert wide(modes(server.data_dir), server.data_dir) == {}

"""The walkthrough's roles with the `aws` CLI in a subprocess (tests/readme walks the README itself
as printed), cross-account AssumeRole, and
clients' own role handling (a profile with role_arn + source_profile; boto3's refreshing
assume-role provider). Runs on a server holding the walkthrough's accounts 123456789010 (alice)
and 123456789012 (bob).

The S3 steps of the walkthrough (`aws s3 ls` denied, then listing assume-role-test-bucket, then
ExpiredToken from S3) need monban's S3 service: they run as soon as ``monban.fronts.s3``
exists, and are reported as skipped with that reason until then.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import REGION, Server
from tests.e2e.test_sts_support import (
    ALICE_ACCOUNT,
    BOB_ACCOUNT,
    Account,
    allow,
    document,
    error_of,
    session_client,
    trust,
    two_accounts,  # noqa: F401  (module fixture)
    uid,
    wait_past,
)

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
AWS_CLI = str(Path(sys.executable).with_name("aws"))
S3_READY = importlib.util.find_spec("monban.fronts.s3") is not None
needs_s3 = pytest.mark.skipif(not S3_READY, reason="S3 service not landed yet (monban.fronts.s3)")


@pytest.fixture(scope="module")
def alice_acct(two_accounts: Server) -> Account:  # noqa: F811
    return Account(two_accounts, ALICE_ACCOUNT)


@pytest.fixture(scope="module")
def bob_acct(two_accounts: Server) -> Account:  # noqa: F811
    return Account(two_accounts, BOB_ACCOUNT)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty AWS configuration directory for the CLI."""
    (tmp_path / ".aws").mkdir()
    return tmp_path


def cli_env(
    server: Server, home: Path, key: tuple[str, str] | None = None, token: str | None = None
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_MAX_ATTEMPTS": "1",
    }
    if key is not None:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = key
    if token is not None:
        env["AWS_SESSION_TOKEN"] = token
    return env


def aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS_CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def exported(credentials: dict[str, Any]) -> tuple[tuple[str, str], str]:
    return (credentials["AccessKeyId"], credentials["SecretAccessKey"]), credentials["SessionToken"]


def walkthrough_entities(acct: Account) -> tuple[dict[str, Any], str]:
    """alice (no permissions) and role read-only (ReadOnlyAccess) trusting her, as the quickstart has."""
    alice = acct.user(uid("alice"))
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(READ_ONLY,), name=uid("read-only"))
    return alice, role["Arn"]


def test_walkthrough_with_the_cli(alice_acct: Account, two_accounts: Server, home: Path) -> None:  # noqa: F811
    alice, role_arn = walkthrough_entities(alice_acct)
    as_alice = cli_env(two_accounts, home, alice["Key"])
    denied = aws(as_alice, "iam", "list-roles")
    assert denied.returncode != 0 and "(AccessDenied)" in denied.stderr
    before = datetime.now(UTC)
    result = aws(
        as_alice, "sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "test-session"
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    creds, user = printed["Credentials"], printed["AssumedRoleUser"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SecretAccessKey"] and creds["SessionToken"]
    expiration = datetime.fromisoformat(creds["Expiration"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=59) < expiration <= datetime.now(UTC) + timedelta(hours=1)
    role_name = role_arn.rsplit("/", 1)[1]
    assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":test-session")
    assert user["Arn"] == f"arn:aws:sts::{ALICE_ACCOUNT}:assumed-role/{role_name}/test-session"
    key, token = exported(creds)
    as_session = cli_env(two_accounts, home, key, token)
    identity = json.loads(aws(as_session, "sts", "get-caller-identity").stdout)
    assert identity["Arn"] == user["Arn"]
    listed = aws(as_session, "iam", "list-roles")
    assert listed.returncode == 0 and role_name in listed.stdout


def test_cli_short_session_expires(alice_acct: Account, two_accounts: Server, home: Path) -> None:  # noqa: F811
    alice, role_arn = walkthrough_entities(alice_acct)
    (home / ".aws" / "config").write_text("[default]\nparameter_validation = false\n")
    env = cli_env(two_accounts, home, alice["Key"])
    args = ["sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "test-session"]
    result = aws(env, *args, "--duration-seconds", "4")
    assert result.returncode == 0, result.stderr
    creds = json.loads(result.stdout)["Credentials"]
    assert session_client(two_accounts, "sts", creds).get_caller_identity()["Arn"].endswith("/test-session")
    key, token = exported(creds)
    as_session = cli_env(two_accounts, home, key, token)
    wait_past(creds["Expiration"])
    expired = aws(as_session, "sts", "get-caller-identity")
    assert expired.returncode != 0
    assert (
        "(ExpiredToken)" in expired.stderr
        and "The security token included in the request is expired" in expired.stderr
    )


@needs_s3
def test_walkthrough_s3_steps(alice_acct: Account, two_accounts: Server, home: Path) -> None:  # noqa: F811
    """README steps 1–5 exactly: denied, assume, list the bucket, then ExpiredToken from S3."""
    alice, role_arn = walkthrough_entities(alice_acct)
    root = cli_env(two_accounts, home, two_accounts.roots[ALICE_ACCOUNT])
    made = aws(root, "s3", "mb", "s3://assume-role-test-bucket")
    assert made.returncode == 0 or "BucketAlreadyOwnedByYou" in made.stderr, made.stderr
    (home / ".aws" / "config").write_text("[default]\nparameter_validation = false\n")
    as_alice = cli_env(two_accounts, home, alice["Key"])
    denied = aws(as_alice, "s3", "ls")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    args = ["sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "test-session"]
    key, token = exported(json.loads(aws(as_alice, *args).stdout)["Credentials"])
    listed = aws(cli_env(two_accounts, home, key, token), "s3", "ls")
    assert listed.returncode == 0 and "assume-role-test-bucket" in listed.stdout
    short = json.loads(aws(as_alice, *args, "--duration-seconds", "2").stdout)["Credentials"]
    key, token = exported(short)
    wait_past(short["Expiration"])
    expired = aws(cli_env(two_accounts, home, key, token), "s3", "ls")
    assert expired.returncode != 0
    assert "ExpiredToken" in expired.stderr and "The provided token has expired." in expired.stderr


def test_cross_account_needs_both_sides(alice_acct: Account, bob_acct: Account, two_accounts: Server) -> None:  # noqa: F811
    role = alice_acct.role(trust({"AWS": f"arn:aws:iam::{BOB_ACCOUNT}:root"}), managed=(READ_ONLY,))
    bare = bob_acct.user()
    with pytest.raises(ClientError) as caught:
        bob_acct.client("sts", bare["Key"]).assume_role(RoleArn=role["Arn"], RoleSessionName="bob")
    assert "because no identity-based policy allows the sts:AssumeRole action" in error_of(caught)[1]
    bob = bob_acct.user(None, document(allow("sts:AssumeRole", f"arn:aws:iam::{ALICE_ACCOUNT}:role/*")))
    untrusting = alice_acct.role(trust({"AWS": f"arn:aws:iam::{ALICE_ACCOUNT}:root"}))
    with pytest.raises(ClientError) as caught:
        bob_acct.client("sts", bob["Key"]).assume_role(RoleArn=untrusting["Arn"], RoleSessionName="bob")
    assert "because no role trust policy allows the sts:AssumeRole action" in error_of(caught)[1]
    result = bob_acct.client("sts", bob["Key"]).assume_role(RoleArn=role["Arn"], RoleSessionName="bob")
    identity = session_client(two_accounts, "sts", result["Credentials"]).get_caller_identity()
    assert identity["Account"] == ALICE_ACCOUNT
    assert identity["Arn"] == f"arn:aws:sts::{ALICE_ACCOUNT}:assumed-role/{role['RoleName']}/bob"
    roles = session_client(two_accounts, "iam", result["Credentials"]).list_roles()["Roles"]
    assert role["RoleName"] in {r["RoleName"] for r in roles}  # reads alice's account


@needs_s3
def test_cross_account_s3_read(alice_acct: Account, bob_acct: Account, two_accounts: Server) -> None:  # noqa: F811
    bucket = uid("shared")
    two_accounts.client("s3", account=ALICE_ACCOUNT).create_bucket(Bucket=bucket)
    role = alice_acct.role(trust({"AWS": f"arn:aws:iam::{BOB_ACCOUNT}:root"}), managed=(READ_ONLY,))
    bob = bob_acct.user(None, document(allow("sts:AssumeRole", role["Arn"])))
    creds = bob_acct.client("sts", bob["Key"]).assume_role(RoleArn=role["Arn"], RoleSessionName="bob")[
        "Credentials"
    ]
    names = [b["Name"] for b in session_client(two_accounts, "s3", creds).list_buckets()["Buckets"]]
    assert bucket in names


def test_power_user_role_for_a_user_without_permissions(alice_acct: Account, two_accounts: Server) -> None:  # noqa: F811
    carol = alice_acct.user()
    role = alice_acct.role(trust({"AWS": carol["Arn"]}), managed=(POWER_USER,))
    creds = alice_acct.client("sts", carol["Key"]).assume_role(RoleArn=role["Arn"], RoleSessionName="power")[
        "Credentials"
    ]
    iam = session_client(two_accounts, "iam", creds)
    assert "Roles" in iam.list_roles()  # PowerUserAccess allows iam:ListRoles …
    with pytest.raises(ClientError) as caught:
        iam.list_users()  # … and no other IAM action
    assert error_of(caught)[0] == "AccessDenied"


@pytest.fixture
def role_profile(alice_acct: Account, two_accounts: Server, home: Path) -> Iterator[tuple[Path, str]]:  # noqa: F811
    """~/.aws with alice's keys and a profile ``ro`` that assumes a role through source_profile."""
    alice, role_arn = walkthrough_entities(alice_acct)
    (home / ".aws" / "credentials").write_text(
        f"[alice]\naws_access_key_id = {alice['Key'][0]}\naws_secret_access_key = {alice['Key'][1]}\n"
    )
    (home / ".aws" / "config").write_text(
        "[profile ro]\n"
        f"role_arn = {role_arn}\n"
        "source_profile = alice\n"
        "role_session_name = cli-session\n"
        f"region = {REGION}\n"
        f"endpoint_url = {two_accounts.endpoint}\n"
        "parameter_validation = false\n"
        "duration_seconds = 2\n"
        "[profile alice]\n"
        f"region = {REGION}\n"
        f"endpoint_url = {two_accounts.endpoint}\n"
    )
    yield home, role_arn


def test_cli_profile_assumes_the_role_itself(role_profile: tuple[Path, str], two_accounts: Server) -> None:  # noqa: F811
    home, role_arn = role_profile
    env = cli_env(two_accounts, home)
    del env["AWS_ENDPOINT_URL"]  # endpoint_url from the config file
    result = aws(env, "--profile", "ro", "sts", "get-caller-identity")
    assert result.returncode == 0, result.stderr
    name = role_arn.rsplit("/", 1)[1]
    assert json.loads(result.stdout)["Arn"] == f"arn:aws:sts::{ALICE_ACCOUNT}:assumed-role/{name}/cli-session"


def test_boto3_role_profile_refreshes(
    role_profile: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, role_arn = role_profile
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    session = boto3.Session(profile_name="ro")
    sts = session.client("sts")
    first = sts.get_caller_identity()["Arn"]
    first_key = session.get_credentials().get_frozen_credentials().access_key
    time.sleep(3.5)  # the first 2-second session has expired; botocore refreshes before signing
    assert sts.get_caller_identity()["Arn"] == first
    assert session.get_credentials().get_frozen_credentials().access_key != first_key
    assert first.endswith("/cli-session") and role_arn.rsplit("/", 1)[1] in first

"""Revocation against a running server: `monban revoke-role-sessions` (AWS's AWSRevokeOlderSessions
policy) and `monban revoke-session ASIA…` (monban's own), run as separate processes on the data
dir. Both take effect within ``settings.cache_seconds`` (1 s): the tests wait past that bound."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_sts_support import ALICE_ACCOUNT, Account, error_of, seeded_server, session_client, trust

IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
CACHE_BOUND = 1.0  # settings.cache_seconds


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = seeded_server(tmp_path_factory.mktemp("sts-revoke"), accounts=(ALICE_ACCOUNT,))
    yield server
    server.stop()


def monban(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "monban.cli", *args, "--data-dir", str(server.data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def new_session(acct: Account) -> tuple[dict[str, Any], dict[str, Any]]:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    sts = acct.client("sts", alice["Key"])
    return role, sts.assume_role(RoleArn=role["Arn"], RoleSessionName="revoke-me")["Credentials"]


def test_revoke_role_sessions(running: Server) -> None:
    acct = Account(running, ALICE_ACCOUNT)
    role, creds = new_session(acct)
    old = session_client(running, "iam", creds)
    assert "Users" in old.list_users()
    done = monban(running, "revoke-role-sessions", role["Arn"])
    assert done.returncode == 0, done.stderr
    assert "AWSRevokeOlderSessions" in done.stdout
    time.sleep(CACHE_BOUND + 0.5)
    with pytest.raises(ClientError) as caught:
        old.list_users()
    code, message, _ = error_of(caught)
    assert code == "AccessDenied" and "with an explicit deny in an identity-based policy" in message
    policy = acct.iam.get_role_policy(RoleName=role["RoleName"], PolicyName="AWSRevokeOlderSessions")
    statement = policy["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny" and "aws:TokenIssueTime" in json.dumps(statement["Condition"])
    time.sleep(1.0)  # sessions issued after the cut-off second are not affected
    sts = acct.client("sts", next(iter(_alice_key(acct, role))))
    fresh = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="after")["Credentials"]
    assert "Users" in session_client(running, "iam", fresh).list_users()


def _alice_key(acct: Account, role: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A new key of the user the role trusts (its trust policy names exactly one user)."""
    trusted = acct.iam.get_role(RoleName=role["RoleName"])["Role"]["AssumeRolePolicyDocument"]
    user_name = trusted["Statement"][0]["Principal"]["AWS"].rsplit("/", 1)[1]
    key = acct.iam.create_access_key(UserName=user_name)["AccessKey"]
    yield key["AccessKeyId"], key["SecretAccessKey"]


def test_revoke_one_session(running: Server) -> None:
    acct = Account(running, ALICE_ACCOUNT)
    _role, revoked = new_session(acct)
    _role2, kept = new_session(acct)
    done = monban(running, "revoke-session", revoked["AccessKeyId"])
    assert done.returncode == 0, done.stderr
    time.sleep(CACHE_BOUND + 0.5)
    with pytest.raises(ClientError) as caught:
        session_client(running, "sts", revoked).get_caller_identity()
    assert error_of(caught)[:1] == ("InvalidClientTokenId",)
    assert session_client(running, "sts", kept).get_caller_identity()["Arn"].endswith("/revoke-me")


def test_admin_errors(running: Server) -> None:
    bad = monban(running, "revoke-session", "AKIAAAAAAAAAAAAAAAAA")
    assert bad.returncode == 1 and "not a temporary access key id" in bad.stderr
    missing = monban(running, "revoke-role-sessions", "no-such-role")
    assert missing.returncode == 1 and "no role no-such-role" in missing.stderr

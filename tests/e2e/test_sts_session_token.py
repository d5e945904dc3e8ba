"""GetCallerIdentity for every principal type, GetSessionToken and its limits, GetAccessKeyInfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_sts_support import Account, allow, document, error_of, session_client, trust

IAM_READ = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


@pytest.fixture
def acct(server: Server) -> Account:
    return Account(server, next(iter(server.roots)))


def test_caller_identity_of_root_user_and_role_session(acct: Account, server: Server) -> None:
    root = server.client("sts", account=acct.id).get_caller_identity()
    assert (root["UserId"], root["Account"], root["Arn"]) == (
        acct.id,
        acct.id,
        f"arn:aws:iam::{acct.id}:root",
    )
    alice = acct.user()
    mine = acct.client("sts", alice["Key"]).get_caller_identity()
    assert (mine["UserId"], mine["Arn"]) == (alice["UserId"], alice["Arn"])
    assert mine["UserId"].startswith("AIDA")
    role = acct.role(trust({"AWS": alice["Arn"]}))
    creds = acct.client("sts", alice["Key"]).assume_role(RoleArn=role["Arn"], RoleSessionName="s1")[
        "Credentials"
    ]
    session = session_client(server, "sts", creds).get_caller_identity()
    assert session["UserId"] == f"{role['RoleId']}:s1" and session["UserId"].startswith("AROA")


def test_caller_identity_ignores_explicit_deny(acct: Account) -> None:
    denied = acct.user(None, document({"Effect": "Deny", "Action": "*", "Resource": "*"}))
    assert acct.client("sts", denied["Key"]).get_caller_identity()["Arn"] == denied["Arn"]


def test_user_session_token(acct: Account, server: Server) -> None:
    alice = acct.user(None, managed=(IAM_READ,))
    creds = acct.client("sts", alice["Key"]).get_session_token()["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    lifetime = creds["Expiration"] - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)  # default 43200
    sts = session_client(server, "sts", creds)
    identity = sts.get_caller_identity()
    assert (identity["UserId"], identity["Arn"]) == (alice["UserId"], alice["Arn"])
    with pytest.raises(ClientError) as caught:
        session_client(server, "iam", creds).list_users()  # IAM needs MFA with these credentials
    assert error_of(caught)[0] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as caught:
        sts.get_session_token()
    assert error_of(caught)[:2] == ("AccessDenied", "Cannot call GetSessionToken with session credentials")
    with pytest.raises(ClientError) as caught:
        sts.get_access_key_info(AccessKeyId=alice["Key"][0])
    assert error_of(caught)[0] == "AccessDenied"


def test_session_token_credentials_may_assume_roles(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}), managed=(IAM_READ,))
    creds = acct.client("sts", alice["Key"]).get_session_token(DurationSeconds=900)["Credentials"]
    assumed = session_client(server, "sts", creds).assume_role(RoleArn=role["Arn"], RoleSessionName="via-gst")
    assert "Users" in session_client(server, "iam", assumed["Credentials"]).list_users()


def test_role_sessions_cannot_get_session_tokens(acct: Account, server: Server) -> None:
    alice = acct.user()
    role = acct.role(trust({"AWS": alice["Arn"]}))
    creds = acct.client("sts", alice["Key"]).assume_role(RoleArn=role["Arn"], RoleSessionName="s2")[
        "Credentials"
    ]
    with pytest.raises(ClientError) as caught:
        session_client(server, "sts", creds).get_session_token()
    assert error_of(caught)[:2] == ("AccessDenied", "Cannot call GetSessionToken with session credentials")


def test_root_session_token_is_capped_at_an_hour(acct: Account, server: Server) -> None:
    creds = server.client("sts", account=acct.id).get_session_token(DurationSeconds=7200)["Credentials"]
    assert creds["Expiration"] - datetime.now(UTC) <= timedelta(hours=1)
    identity = session_client(server, "sts", creds).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{acct.id}:root"


def test_session_token_duration_limits(acct: Account) -> None:
    alice = acct.user()
    sts = acct.client("sts", alice["Key"], parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        sts.get_session_token(DurationSeconds=129601)
    assert error_of(caught)[:2] == (
        "ValidationError",
        "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value less than or equal to 129600",
    )
    long = sts.get_session_token(DurationSeconds=129600)["Credentials"]
    assert long["Expiration"] - datetime.now(UTC) > timedelta(hours=35)


def test_access_key_info(acct: Account, server: Server) -> None:
    asker = acct.user(None, document(allow("sts:GetAccessKeyInfo")))
    sts = acct.client("sts", asker["Key"])
    other = acct.user()
    assert sts.get_access_key_info(AccessKeyId=other["Key"][0])["Account"] == acct.id
    assert sts.get_access_key_info(AccessKeyId=server.roots[acct.id][0])["Account"] == acct.id
    temporary = sts.get_session_token()["Credentials"]["AccessKeyId"]
    assert sts.get_access_key_info(AccessKeyId=temporary)["Account"] == acct.id
    for unknown in ("AKIAAAAAAAAAAAAAAAAA", "ASIAAAAAAAAAAAAAAAAA"):
        with pytest.raises(ClientError) as caught:
            sts.get_access_key_info(AccessKeyId=unknown)
        assert error_of(caught)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        acct.client("sts", other["Key"]).get_access_key_info(AccessKeyId=other["Key"][0])
    assert "sts:GetAccessKeyInfo" in error_of(caught)[1]

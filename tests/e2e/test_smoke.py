"""The server answers real clients: health, identity, a signed IAM call, a bad key."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


def test_root_caller_identity(server: Server) -> None:
    account, _key = next(iter(server.roots.items()))
    identity = server.client("sts").get_caller_identity()
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:iam::{account}:root"
    assert identity["UserId"] == account


def test_answers_carry_no_server_header(server: Server) -> None:
    meta = server.client("sts").get_caller_identity()["ResponseMetadata"]
    assert "server" not in meta["HTTPHeaders"]  # botocore lower-cases the names
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == meta["RequestId"]


def test_unknown_key_is_invalid_client_token(server: Server) -> None:
    sts = server.client("sts", key=("AKIAAAAAAAAAAAAAAAAA", "x" * 40))
    with pytest.raises(ClientError) as caught:
        sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret_is_signature_mismatch(server: Server) -> None:
    akid = next(iter(server.roots.values()))[0]
    with pytest.raises(ClientError) as caught:
        server.client("iam", key=(akid, "y" * 40)).get_user()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_create_and_get_user(server: Server) -> None:
    iam = server.client("iam")
    created = iam.create_user(UserName="smoke-user", Path="/smoke/")["User"]
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) == 21
    assert created["Arn"].endswith(":user/smoke/smoke-user")
    fetched = iam.get_user(UserName="SMOKE-USER")["User"]
    assert fetched["UserId"] == created["UserId"]
    with pytest.raises(ClientError) as caught:
        iam.create_user(UserName="smoke-user")
    assert caught.value.response["Error"]["Code"] == "EntityAlreadyExists"

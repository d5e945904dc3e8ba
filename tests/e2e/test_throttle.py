"""``monban serve --throttle``: per-account rate limits answered with AWS's error and status, and an
SDK's standard retry mode getting through once the bucket refills.

The server here allows one request per second per account and class (burst 1): calls made back to
back are throttled from the second on, whatever the machine's speed, so the tests count attempts,
never time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import BOOTSTRAP
from tests.e2e.server import REGION, Server, start_server

ALICE_ACCOUNT = "123456789010"
BOB_ACCOUNT = "123456789012"
TRIES = 20  # back-to-back calls before the limit must have answered


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    limits = "sts=1:1,iam=1:1,s3-read=1:1,s3-write=1:1"
    running = start_server(
        tmp_path_factory.mktemp("throttle"), "--config", str(BOOTSTRAP), "--throttle", limits
    )
    yield running
    running.stop()


def _client(server: Server, service: str, account: str, retries: dict[str, Any]) -> Any:
    return server.client(service, account=account, retries=retries)


def _no_retries(server: Server, service: str, account: str) -> Any:
    return _client(server, service, account, {"mode": "standard", "max_attempts": 1})


def _first_refusal(call: Callable[[], Any]) -> ClientError:
    for _ in range(TRIES):
        try:
            call()
        except ClientError as error:
            return error
    raise AssertionError(f"{TRIES} back-to-back calls and none was throttled")


def _retried_success(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A call that succeeded after at least one throttled attempt, in the SDK's standard mode."""
    for _ in range(TRIES):
        response = call()
        if response["ResponseMetadata"]["RetryAttempts"] >= 1:
            return response
    raise AssertionError(f"{TRIES} calls and none needed a retry")


@pytest.mark.parametrize(("service", "operation"), [("sts", "get_caller_identity"), ("iam", "list_users")])
def test_iam_and_sts_answer_throttling_400_and_standard_retries_get_through(
    limited: Server, service: str, operation: str
) -> None:
    client = _no_retries(limited, service, ALICE_ACCOUNT)
    error = _first_refusal(getattr(client, operation))
    assert error.response["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["ResponseMetadata"]["RequestId"]

    patient = _client(limited, service, ALICE_ACCOUNT, {"mode": "standard", "max_attempts": 10})
    response = _retried_success(getattr(patient, operation))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    if service == "sts":
        assert response["Account"] == ALICE_ACCOUNT


def test_s3_answers_slowdown_503_and_standard_retries_get_through(limited: Server) -> None:
    client = _no_retries(limited, "s3", ALICE_ACCOUNT)
    error = _first_refusal(client.list_buckets)
    assert error.response["Error"]["Code"] == "SlowDown"
    assert error.response["Error"]["Message"] == "Please reduce your request rate."
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503

    patient = _client(limited, "s3", ALICE_ACCOUNT, {"mode": "standard", "max_attempts": 10})
    assert _retried_success(patient.list_buckets)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_s3_writes_and_reads_have_their_own_buckets(limited: Server) -> None:
    client = _no_retries(limited, "s3", ALICE_ACCOUNT)
    _first_refusal(client.list_buckets)  # the account's reads are spent
    bucket = "assume-role-test-bucket"
    writes = _client(limited, "s3", ALICE_ACCOUNT, {"mode": "standard", "max_attempts": 10})
    writes.put_object(Bucket=bucket, Key="throttle/one", Body=b"x")
    error = _first_refusal(lambda: client.put_object(Bucket=bucket, Key="throttle/two", Body=b"y"))
    assert error.response["Error"]["Code"] == "SlowDown"


def test_the_limit_is_the_signing_accounts(limited: Server) -> None:
    """Alice's account spent, Bob's still answers: the bucket is the authenticated account's."""
    _first_refusal(_no_retries(limited, "sts", ALICE_ACCOUNT).get_caller_identity)
    bob = _no_retries(limited, "sts", BOB_ACCOUNT).get_caller_identity()
    assert bob["Account"] == BOB_ACCOUNT


def test_a_request_that_fails_authentication_spends_nobodys_budget(limited: Server) -> None:
    """A wrong secret for Bob's key is answered SignatureDoesNotMatch however often it comes, never
    Throttling: the limiter sits behind authentication, so unsigned-for input never picks whose
    budget a request spends."""
    key_id = limited.roots[BOB_ACCOUNT][0]
    forged = boto3.client(
        "sts",
        endpoint_url=limited.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    for _ in range(5):
        with pytest.raises(ClientError) as caught:
            forged.get_caller_identity()
        assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_unsigned_requests_share_one_bucket(limited: Server) -> None:
    """Unsigned S3 calls are refused (the bucket is private) until their one shared bucket is
    spent, then answered SlowDown: no unsigned input picks an account to charge."""
    anonymous = boto3.client(
        "s3",
        endpoint_url=limited.endpoint,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1}),
    )
    codes = []
    for _ in range(TRIES):
        with pytest.raises(ClientError) as caught:
            anonymous.list_objects_v2(Bucket="assume-role-test-bucket")
        codes.append(caught.value.response["Error"]["Code"])
    assert "AccessDenied" in codes
    assert "SlowDown" in codes


def test_off_by_default(server: Server) -> None:
    """The shared test server runs without --throttle: back-to-back calls all succeed."""
    client = server.client("sts")
    for _ in range(TRIES):
        client.get_caller_identity()

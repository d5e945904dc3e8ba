"""The instance metadata service against the aws CLI and plain HTTP: instance roles' credentials
with no keys anywhere, IMDSv2 tokens, HttpTokens=required, the credential control properties as
condition keys, a role EC2 may not assume, instances made while the server runs, EC2's statuses."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from monban.access.audit import HIDDEN
from monban.store.db import Database, sqlite_url
from monban.store.instances import NewInstance, create_instance, set_state
from monban.store.models import InstanceProfile
from tests.e2e.server import REGION
from tests.e2e.test_audit import Record, wait_for
from tests.e2e.workload_support import (
    ACCOUNT,
    BUCKET,
    KEYED_INSTANCE,
    Workloads,
    aws,
    keyless_env,
    request,
    start_workloads,
    token,
)

ROLE_CREDENTIALS = "/latest/meta-data/iam/security-credentials/"


@pytest.fixture(scope="module")
def workloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workloads]:
    running = start_workloads(tmp_path_factory.mktemp("imds"))
    yield running
    running.server.stop()


def _cli(workloads: Workloads, home: Path, ordinal: int, *args: str) -> tuple[int, str, str]:
    env = keyless_env(
        home, workloads.server, AWS_EC2_METADATA_SERVICE_ENDPOINT=workloads.metadata_endpoint(ordinal)
    )
    done = aws(env, *args)
    return done.returncode, done.stdout, done.stderr


def _instance_id(workloads: Workloads, ordinal: int) -> str:
    return request(workloads.imds_port + ordinal, "GET", "/latest/meta-data/instance-id").body


def test_the_cli_is_the_instance_role(workloads: Workloads, tmp_path: Path) -> None:
    instance_id = _instance_id(workloads, 0)
    assert instance_id.startswith("i-") and len(instance_id) == 19
    code, out, err = _cli(workloads, tmp_path, 0, "sts", "get-caller-identity")
    assert code == 0, err
    assert json.loads(out)["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/web/{instance_id}"
    code, out, err = _cli(workloads, tmp_path, 0, "s3", "ls")
    assert code == 0, err
    assert BUCKET in out


def test_the_roles_permissions_decide(workloads: Workloads, tmp_path: Path) -> None:
    code, _out, err = _cli(workloads, tmp_path, 2, "s3", "ls")
    assert code != 0
    assert "AccessDenied" in err and f"assumed-role/narrow/{_instance_id(workloads, 2)}" in err


def test_tokens_required(workloads: Workloads, tmp_path: Path) -> None:
    port = workloads.imds_port + 1
    assert request(port, "GET", "/latest/meta-data/instance-id").status == 401
    assert request(port, "GET", ROLE_CREDENTIALS + "web").status == 401
    headers = {"X-aws-ec2-metadata-token": token(port)}
    assert request(port, "GET", ROLE_CREDENTIALS, headers).body == "web"
    code, out, err = _cli(
        workloads, tmp_path, 1, "sts", "get-caller-identity", "--query", "Arn", "--output", "text"
    )
    assert code == 0, err
    assert out.strip().endswith(f"assumed-role/web/{_instance_id_v2(port)}")


def _instance_id_v2(port: int) -> str:
    return request(
        port, "GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": token(port)}
    ).body


def _credentials(port: int, role: str, v2: bool) -> dict[str, str]:
    headers = {"X-aws-ec2-metadata-token": token(port)} if v2 else {}
    answer = request(port, "GET", ROLE_CREDENTIALS + role, headers)
    assert answer.status == 200 and answer.headers["content-type"] == "text/plain"
    document: dict[str, str] = json.loads(answer.body)
    return document


def test_the_credentials_document(workloads: Workloads) -> None:
    port = workloads.imds_port
    document = _credentials(port, "web", v2=True)
    assert list(document) == [
        "Code",
        "LastUpdated",
        "Type",
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
    ]
    assert document["Code"] == "Success" and document["Type"] == "AWS-HMAC"
    assert document["AccessKeyId"].startswith("ASIA")
    assert _credentials(port, "web", v2=True) == document  # the same set until it nears its end
    info = json.loads(request(port, "GET", "/latest/meta-data/iam/info").body)
    assert info["Code"] == "Success" and info["InstanceProfileId"].startswith("AIPA")
    assert info["InstanceProfileArn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/web"
    assert request(port, "GET", ROLE_CREDENTIALS + "WEB").status == 404


def test_credential_control_properties(workloads: Workloads) -> None:
    """The keyed role may list buckets only with IMDSv2 credentials of its own instance."""
    port = workloads.imds_port + 3
    assert _instance_id(workloads, 3) == KEYED_INSTANCE
    for v2, allowed in ((True, True), (False, False)):
        document = _credentials(port, "keyed", v2)
        client = boto3.client(
            "s3",
            endpoint_url=workloads.server.endpoint,
            region_name=REGION,
            aws_access_key_id=document["AccessKeyId"],
            aws_secret_access_key=document["SecretAccessKey"],
            aws_session_token=document["Token"],
        )
        if allowed:
            assert BUCKET in [b["Name"] for b in client.list_buckets()["Buckets"]]
        else:
            with pytest.raises(ClientError) as denied:
                client.list_buckets()
            assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_role_that_does_not_trust_ec2(workloads: Workloads, tmp_path: Path) -> None:
    port = workloads.imds_port + 4
    instance_id = _instance_id(workloads, 4)
    assert request(port, "GET", ROLE_CREDENTIALS).body == "lambda-only"
    document = json.loads(request(port, "GET", ROLE_CREDENTIALS + "lambda-only").body)
    assert document["Code"] == "AssumeRoleUnauthorizedAccess" and "AccessKeyId" not in document
    assert document["Message"].startswith("EC2 cannot assume the role lambda-only.")
    assert json.loads(request(port, "GET", "/latest/meta-data/iam/info").body)["Code"] == (
        "AssumeRoleUnauthorizedAccess"
    )
    code, _out, err = _cli(workloads, tmp_path, 4, "sts", "get-caller-identity")
    assert code != 0 and "Unable to locate credentials" in err
    lines = [line for line in workloads.server.log.read_text().splitlines() if instance_id in line]
    assert len(lines) == 1 and "does not let ec2.amazonaws.com perform sts:AssumeRole" in lines[0]


def test_no_role_no_credentials(workloads: Workloads, tmp_path: Path) -> None:
    empty, bare = workloads.imds_port + 5, workloads.imds_port + 6
    assert request(empty, "GET", ROLE_CREDENTIALS).status == 404
    assert json.loads(request(empty, "GET", "/latest/meta-data/iam/info").body)["Code"] == "Success"
    assert "iam/" not in request(bare, "GET", "/latest/meta-data/").body.split("\n")
    assert request(bare, "GET", "/latest/meta-data/iam/info").status == 404
    code, _out, err = _cli(workloads, tmp_path, 6, "sts", "get-caller-identity")
    assert code != 0 and "Unable to locate credentials" in err


def test_the_metadata_tree(workloads: Workloads) -> None:
    port = workloads.imds_port + 2
    listing = request(port, "GET", "/latest/meta-data/").body.split("\n")
    assert {"ami-id", "iam/", "instance-id", "instance-type", "local-ipv4", "placement/"} <= set(listing)
    assert request(port, "GET", "/latest/meta-data/placement/region").body == "eu-west-1"
    assert request(port, "GET", "/latest/meta-data/placement/availability-zone").body == "eu-west-1a"
    assert request(port, "GET", "/latest/meta-data/local-ipv4").body == "10.0.0.12"
    document = json.loads(request(port, "GET", "/latest/dynamic/instance-identity/document").body)
    assert document["instanceId"] == _instance_id(workloads, 2) and document["accountId"] == ACCOUNT
    assert document["region"] == "eu-west-1" and document["privateIp"] == "10.0.0.12"


def test_token_rules(workloads: Workloads) -> None:
    port, other = workloads.imds_port, workloads.imds_port + 2
    put = "/latest/api/token"
    ttl = "X-aws-ec2-metadata-token-ttl-seconds"
    assert request(port, "PUT", put).status == 400
    for bad in ("0", "21601", "-1", "abc", "1e3", " ", "9" * 400):
        assert request(port, "PUT", put, {ttl: bad}).status == 400, bad
    answer = request(port, "PUT", put, {ttl: "21600"})
    assert answer.status == 200 and answer.headers[ttl.lower()] == "21600"
    assert request(port, "PUT", put, {ttl: "60", "X-Forwarded-For": "10.0.0.1"}).status == 403
    assert request(port, "GET", put).status == 405
    assert request(port, "PUT", "/latest/meta-data/", {ttl: "60"}).status == 405
    assert request(port, "POST", "/latest/meta-data/").status == 405
    assert request(port, "DELETE", put).status == 405
    for bad_token in ("nonsense", token(other), "x" * 5000, answer.body[:-2]):
        headers = {"X-aws-ec2-metadata-token": bad_token}
        assert request(port, "GET", "/latest/meta-data/instance-id", headers).status == 401
    assert request(port, "GET", "/latest/meta-data/nothing-here").status == 404
    assert request(port, "GET", "/latest/meta-data/instance-id/").status == 404


def test_a_token_expires(workloads: Workloads) -> None:
    port = workloads.imds_port
    headers = {"X-aws-ec2-metadata-token": token(port, ttl=1)}
    deadline = time.monotonic() + 30
    status = 200
    while status == 200 and time.monotonic() < deadline:
        status = request(port, "GET", "/latest/meta-data/instance-id", headers).status
        time.sleep(0.2)
    assert status == 401


def test_hostile_requests_get_ec2_statuses(workloads: Workloads) -> None:
    port = workloads.imds_port
    for path in (
        "/latest/meta-data/../../etc/passwd",
        "/%00",
        "/latest/meta-data/" + "a" * 10_000,
        "//",
        "/latest//",
    ):
        assert request(port, "GET", path).status in (400, 404), path
    huge = {"X-aws-ec2-metadata-token": "t" * 60_000, "X-Other": "v" * 60_000}
    assert request(port, "GET", "/latest/meta-data/", huge).status in (400, 401, 431)
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"\x00\xff\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(raw)
            reply = sock.recv(100)
        assert not reply or reply.startswith(b"HTTP/1.1 4"), reply
    assert request(port, "GET", "/latest/meta-data/instance-id").status == 200


def _database(workloads: Workloads) -> Database:
    return Database(sqlite_url(workloads.server.data_dir))


def _wait_for(port: int, status: int) -> int:
    deadline, got = time.monotonic() + 30, -1
    while time.monotonic() < deadline:
        try:
            got = request(port, "GET", "/latest/meta-data/instance-id").status
        except OSError:
            got = -1
        if got == status:
            return got
        time.sleep(0.1)
    return got


def test_an_instance_made_later_gets_its_listener(workloads: Workloads, tmp_path: Path) -> None:
    db = _database(workloads)
    try:
        with db.transaction() as session:
            web = session.query(InstanceProfile).filter_by(account_id=ACCOUNT, name="web").one()
            made = create_instance(session, NewInstance(ACCOUNT, REGION, f"{REGION}b", profile_id=web.id))
        port = workloads.imds_port + made.ordinal
        assert _wait_for(port, 200) == 200, workloads.server.log.read_text()[-3000:]
        code, out, err = _cli(workloads, tmp_path, made.ordinal, "sts", "get-caller-identity")
        assert code == 0, err
        assert json.loads(out)["Arn"].endswith(f"assumed-role/web/{made.instance_id}")
        with db.transaction() as session:
            set_state(session, made.instance_id, "terminated")
        with contextlib.suppress(ConnectionRefusedError):  # 404 from the moment it is terminated
            assert request(port, "GET", ROLE_CREDENTIALS + "web").status == 404
        assert _wait_for(port, -1) == -1  # the listener is closed
    finally:
        db.dispose()


def test_a_deleted_profile_is_no_profile(workloads: Workloads) -> None:
    """Instance 5's profile holds no role; deleted, the instance has no iam/ (last: it changes 5)."""
    port = workloads.imds_port + 5
    workloads.server.client("iam").delete_instance_profile(InstanceProfileName="empty")
    assert "iam/" not in request(port, "GET", "/latest/meta-data/").body.split("\n")
    assert request(port, "GET", "/latest/meta-data/iam/info").status == 404


def test_the_audit_trail_records_ec2s_assume_role(workloads: Workloads) -> None:
    """CloudTrail logs the AssumeRole EC2 makes for an instance: the service as the caller, the
    instance id as the session name, no secret; a refused one as AccessDenied."""
    served = json.loads(request(workloads.imds_port, "GET", ROLE_CREDENTIALS + "web").body)
    instance_id, refused_id = _instance_id(workloads, 0), _instance_id(workloads, 4)
    request(workloads.imds_port + 4, "GET", ROLE_CREDENTIALS + "lambda-only")

    def by_ec2(record: Record) -> bool:
        return record["userIdentity"] == {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}

    found = wait_for(workloads.server.data_dir, by_ec2, count=2)
    made = [r for r in found if r["requestParameters"]["roleSessionName"] == instance_id]
    assert made and made[0]["eventName"] == "AssumeRole" and made[0]["eventSource"] == "sts.amazonaws.com"
    assert made[0]["sourceIPAddress"] == "ec2.amazonaws.com" and made[0]["recipientAccountId"] == ACCOUNT
    keys = {r["responseElements"]["credentials"]["accessKeyId"] for r in made}
    assert served["AccessKeyId"] in keys
    assert all(r["responseElements"]["credentials"]["sessionToken"] == HIDDEN for r in made)
    no = [r for r in found if r["requestParameters"]["roleSessionName"] == refused_id]
    assert no and no[0]["errorCode"] == "AccessDenied" and no[0]["responseElements"] is None
    assert served["SecretAccessKey"] not in json.dumps(found)

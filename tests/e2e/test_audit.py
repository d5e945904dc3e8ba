"""The audit trail (issue 17, item 1): one CloudTrail-shaped JSON line per API call in
DATA_DIR/audit/audit.log (0600), rotated, optionally on stdout; denials with monban's reason; no
secret ever written; ``monban audit`` filters it; CloudTrail's LookupEvents answers from it (boto3
and ``aws cloudtrail lookup-events``)."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, allow, aws_cli, deny, first_account, second_account, trust, uid
from tests.e2e.server import Server, run_cli, start_server
from tests.e2e.test_s3_support import s3_client

Record = dict[str, Any]


def records(data_dir: Path) -> list[Record]:
    folder = data_dir / "audit"
    paths = [*sorted(folder.glob("audit.log.*"), key=lambda p: -int(p.suffix[1:])), folder / "audit.log"]
    found = []
    for path in paths:
        if path.exists():
            found += [json.loads(line) for line in path.read_text().splitlines()]
    return found


def wait_for(data_dir: Path, matches: Callable[[Record], bool], count: int = 1) -> list[Record]:
    """The records ``matches`` picks, once at least ``count`` of them are written (the audit thread
    writes them just after the answer)."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in records(data_dir) if matches(r)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def by_request(data_dir: Path, response: dict[str, Any]) -> Record:
    rid = response["ResponseMetadata"]["RequestId"]
    found = wait_for(data_dir, lambda r: r.get("requestID") == rid)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def test_an_iam_call_is_one_cloudtrail_record(server: Server, acct: Account) -> None:
    name = uid("audited")
    answer = acct.iam().create_user(UserName=name)
    record = by_request(server.data_dir, answer)
    assert record["eventVersion"] == "1.09"
    assert (record["eventSource"], record["eventName"], record["awsRegion"]) == (
        "iam.amazonaws.com",
        "CreateUser",
        "us-east-1",
    )
    assert record["userIdentity"] == {
        "type": "Root",
        "principalId": acct.id,
        "arn": f"arn:aws:iam::{acct.id}:root",
        "accountId": acct.id,
        "accessKeyId": acct.root[0],
    }
    assert record["sourceIPAddress"] == "127.0.0.1" and record["userAgent"].startswith("Boto3/")
    assert record["requestParameters"] == {"userName": name}
    assert record["responseElements"]["user"]["userName"] == name
    assert record["readOnly"] is False and record["recipientAccountId"] == acct.id
    assert record["eventType"] == "AwsApiCall" and record["managementEvent"] is True
    assert len(record["eventID"]) == 36 and "errorCode" not in record
    listed = by_request(server.data_dir, acct.iam().list_users())
    assert listed["readOnly"] is True and listed["responseElements"] is None


def test_no_secret_is_ever_written(server: Server, acct: Account) -> None:
    name, key = acct.user("secrets", allow(["sts:GetSessionToken", "sts:AssumeRole"]))
    session = acct.client("sts", key=key).get_session_token()["Credentials"]
    role = uid("r")
    acct.iam().create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": acct.id}))
    assumed = acct.client("sts", key=key).assume_role(RoleArn=acct.arn("role", role), RoleSessionName="s1")[
        "Credentials"
    ]
    record = by_request(server.data_dir, acct.client("sts").get_caller_identity())
    assert record["eventName"] == "GetCallerIdentity"
    text = "\n".join(p.read_text() for p in (server.data_dir / "audit").glob("audit.log*"))
    for secret in (
        key[1],
        session["SecretAccessKey"],
        session["SessionToken"],
        assumed["SecretAccessKey"],
        assumed["SessionToken"],
    ):
        assert secret not in text
    created = wait_for(
        server.data_dir,
        lambda r: r["eventName"] == "CreateAccessKey" and r["requestParameters"] == {"userName": name},
    )
    assert created[0]["responseElements"]["accessKey"]["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert created[0]["responseElements"]["accessKey"]["accessKeyId"] == key[0]


def test_a_denial_carries_monbans_reason(server: Server, acct: Account) -> None:
    _name, key = acct.user("denied", {"Sid": "NoListing", **deny("iam:ListUsers")}, allow("iam:*"))
    with pytest.raises(ClientError) as caught:
        acct.iam(key=key).list_users()
    record = by_request(server.data_dir, caught.value.response)
    assert record["errorCode"] == "AccessDenied"
    assert record["errorMessage"] == caught.value.response["Error"]["Message"]
    denial = record["additionalEventData"]["denial"]
    assert denial["decision"] == "explicitDeny" and denial["action"] == "iam:ListUsers"
    decided = [(s["sid"], s["effect"], s["stage"]) for s in denial["statements"]]
    assert ("NoListing", "Deny", "identity") in decided
    assert record["userIdentity"]["type"] == "IAMUser" and record["userIdentity"]["accessKeyId"] == key[0]


def test_role_sessions_and_cross_account_calls(server: Server, acct: Account) -> None:
    other = second_account(server)
    role = uid("cross")
    other.iam().create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": acct.id}))
    role_arn = other.arn("role", role)
    _name, key = acct.user("crosser", allow("sts:AssumeRole"))
    answer = acct.client("sts", key=key).assume_role(RoleArn=role_arn, RoleSessionName="audit-s")
    rid = answer["ResponseMetadata"]["RequestId"]
    pair = wait_for(server.data_dir, lambda r: r.get("requestID") == rid, count=2)
    assert sorted(r["recipientAccountId"] for r in pair) == sorted([acct.id, other.id])
    assert pair[0]["sharedEventID"] == pair[1]["sharedEventID"] and pair[0]["eventID"] != pair[1]["eventID"]
    creds = answer["Credentials"]
    shown = pair[0]["responseElements"]["credentials"]
    assert shown["accessKeyId"] == creds["AccessKeyId"]
    assert shown["sessionToken"] == shown["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    sts = server.client(
        "sts", key=(creds["AccessKeyId"], creds["SecretAccessKey"]), token=creds["SessionToken"]
    )
    identity = by_request(server.data_dir, sts.get_caller_identity())["userIdentity"]
    assert identity["type"] == "AssumedRole" and identity["arn"].endswith(f":assumed-role/{role}/audit-s")
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert (issuer["type"], issuer["arn"], issuer["userName"]) == ("Role", role_arn, role)
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"


def test_s3_calls_are_data_and_management_events(server: Server, acct: Account) -> None:
    s3 = s3_client(server, acct.root)
    bucket = uid("audit")
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    record = by_request(server.data_dir, put)
    assert (record["eventSource"], record["eventName"], record["eventCategory"]) == (
        "s3.amazonaws.com",
        "PutObject",
        "Data",
    )
    assert record["requestParameters"]["bucketName"] == bucket and record["requestParameters"]["key"] == "k"
    made = wait_for(
        server.data_dir,
        lambda r: r["eventName"] == "CreateBucket" and r["requestParameters"].get("bucketName") == bucket,
    )
    assert made[0]["managementEvent"] is True


def _lookup_all(client: Any, **args: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("lookup_events").paginate(**args, PaginationConfig={"PageSize": 2}):
        yield from page["Events"]


def test_lookup_events_filters_and_pages(server: Server, acct: Account) -> None:
    names = [uid("looked") for _ in range(3)]
    for name in names:
        acct.iam().create_user(UserName=name)
    trail = acct.client("cloudtrail")
    events = list(
        _lookup_all(trail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
    )
    created = [json.loads(e["CloudTrailEvent"])["requestParameters"]["userName"] for e in events]
    assert created[:3] == names[::-1]  # newest first, across pages of two
    first = events[0]
    assert first["EventName"] == "CreateUser" and first["ReadOnly"] == "false" and first["Username"] == "root"
    assert {"ResourceType": "AWS::IAM::User", "ResourceName": names[-1]} in first["Resources"]
    by_user = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": names[0]}]
    )
    assert [e["EventName"] for e in by_user["Events"]] == ["CreateUser"]
    other = (
        second_account(server)
        .client("cloudtrail")
        .lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": names[0]}])
    )
    assert other["Events"] == []  # another account's events are not its own


def test_lookup_events_is_management_events_only(server: Server, acct: Account) -> None:
    s3 = s3_client(server, acct.root)
    bucket = uid("lookup")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    found = acct.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": bucket}]
    )
    assert [e["EventName"] for e in found["Events"]] == ["CreateBucket"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"MaxResults": 0}, "InvalidMaxResultsException"),
        ({"StartTime": 2_000_000_000, "EndTime": 1_000_000_000}, "InvalidTimeRangeException"),
        ({"NextToken": "bm90LWEtdG9rZW4="}, "InvalidNextTokenException"),
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "a"},
                    {"AttributeKey": "EventName", "AttributeValue": "b"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        ({"EventCategory": "nothing"}, "InvalidEventCategoryException"),
    ],
)
def test_lookup_events_rejects_what_cloudtrail_rejects(
    acct: Account, args: dict[str, Any], code: str
) -> None:
    with pytest.raises(ClientError) as caught:
        acct.client("cloudtrail", parameter_validation=False).lookup_events(**args)
    assert caught.value.response["Error"]["Code"] == code


def test_lookup_events_needs_cloudtrail_lookup_events(server: Server, acct: Account) -> None:
    _name, key = acct.user("nolookup", allow("iam:*"))
    with pytest.raises(ClientError) as caught:
        acct.client("cloudtrail", key=key).lookup_events()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    denied = by_request(server.data_dir, caught.value.response)
    assert (
        denied["eventSource"] == "cloudtrail.amazonaws.com" and denied["errorCode"] == "AccessDeniedException"
    )
    assert denied["additionalEventData"]["denial"]["action"] == "cloudtrail:LookupEvents"
    _name, reader = acct.user("lookup", allow("cloudtrail:LookupEvents"))
    assert acct.client("cloudtrail", key=reader).lookup_events(MaxResults=1)["Events"]


def test_aws_cli_lookup_events(server: Server, acct: Account) -> None:
    name = uid("cli")
    acct.iam().create_user(UserName=name)
    done = aws_cli(
        server,
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        f"AttributeKey=ResourceName,AttributeValue={name}",
        key=acct.root,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["Events"]
    assert [e["EventName"] for e in events] == ["CreateUser"]
    assert json.loads(events[0]["CloudTrailEvent"])["userIdentity"]["type"] == "Root"


def test_monban_audit_filters(server: Server, acct: Account) -> None:
    name, key = acct.user("cmd", allow("iam:GetUser"))
    with pytest.raises(ClientError):
        acct.iam(key=key).list_users()
    acct.iam(key=key).get_user(UserName=name)
    wait_for(
        server.data_dir, lambda r: r["eventName"] == "GetUser" and r["userIdentity"].get("userName") == name
    )
    done = run_cli(server.data_dir, "audit", "--principal", name, "--json")
    assert done.returncode == 0, done.stderr
    mine = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["eventName"] for r in mine] == ["ListUsers", "GetUser"]
    errors = run_cli(
        server.data_dir, "audit", "--principal", key[0], "--errors", "--json"
    ).stdout.splitlines()
    assert [json.loads(line)["errorCode"] for line in errors] == ["AccessDenied"]
    table = run_cli(
        server.data_dir, "audit", "--principal", name, "--event-name", "GetUser"
    ).stdout.splitlines()
    assert table[0].split() == ["TIME", "SOURCE", "EVENT", "PRINCIPAL", "IP", "ERROR"]
    assert len(table) == 2 and "GetUser" in table[1] and f"user/{name}" in table[1]
    later = run_cli(
        server.data_dir, "audit", "--principal", name, "--since", "2999-01-01T00:00:00Z", "--json"
    )
    assert later.returncode == 0 and later.stdout == ""


def test_rotation_modes_stdout_and_workers(tmp_path: Path) -> None:
    running = start_server(
        tmp_path / "data",
        "--audit-max-bytes",
        "4000",
        "--audit-files",
        "2",
        "--audit-stdout",
        "--workers",
        "2",
    )
    try:
        iam = running.client("iam")
        folder = running.data_dir / "audit"
        calls = 0  # until the file has rotated twice (the writers batch what comes while they start)
        while calls < 30 or (not (folder / "audit.log.2").exists() and calls < 2000):
            iam.list_users()
            calls += 1
        names = {p.name for p in folder.glob("audit.log*")}
        assert {"audit.log.1", "audit.log.2"} <= names <= {"audit.log", "audit.log.1", "audit.log.2"}
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for path in folder.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert all(r["eventName"] == "ListUsers" for r in records(running.data_dir))  # whole lines only
    finally:
        running.stop()
    printed = [line for line in running.log.read_text().splitlines() if line.startswith("{")]
    assert len([json.loads(line) for line in printed if '"ListUsers"' in line]) == calls


def test_two_workers_rotating_write_whole_lines_and_lose_none_at_a_clean_stop(tmp_path: Path) -> None:
    """Both workers append to one file that rotates under them, each record whole; a clean stop
    writes every record of an answered call (the server is stopped as soon as the last answer is in)."""
    running = start_server(
        tmp_path / "data", "--audit-max-bytes", "2000", "--audit-files", "1000", "--workers", "2"
    )
    try:
        iam = running.client("iam")
        with ThreadPoolExecutor(8) as pool:
            answered = list(
                pool.map(lambda _n: iam.list_users()["ResponseMetadata"]["RequestId"], range(200))
            )
    finally:
        running.stop()
    written = records(running.data_dir)  # json.loads of every line: a torn line fails here
    assert sorted(r["requestID"] for r in written if r["eventName"] == "ListUsers") == sorted(answered)
    assert len(list((running.data_dir / "audit").glob("audit.log.*"))) > 1  # it rotated


def _writers(data_dir: Path) -> list[int]:
    """The audit writer processes writing into ``data_dir``."""
    folder = str(data_dir / "audit").encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"monban.access.audit_writer" in args and folder in args:
            found.append(int(entry.name))
    return found


def test_a_dead_writer_is_replaced(tmp_path: Path) -> None:
    """The worker starts another writer when its writer process died: the calls after are written."""
    running = start_server(tmp_path / "data")
    try:
        iam = running.client("iam")
        first = by_request(running.data_dir, iam.list_users())
        (writer,) = _writers(running.data_dir)
        os.kill(writer, signal.SIGKILL)
        while writer in _writers(running.data_dir):  # until the kernel has reaped it
            time.sleep(0.01)
        later = [iam.list_roles()["ResponseMetadata"]["RequestId"] for _ in range(5)]
        found = wait_for(running.data_dir, lambda r: r["requestID"] in later, count=5)
        assert len(found) == 5 and first["eventName"] == "ListUsers"
        (replacement,) = _writers(running.data_dir)
        assert replacement != writer
    finally:
        running.stop()
    assert "the audit writer process" in running.log.read_text()  # its end is logged

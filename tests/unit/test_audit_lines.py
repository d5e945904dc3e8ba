"""The audit record's way: the request path's line of facts (``audit_facts``), the writer
process's trail lines made of it (``audit_writer.lines_of``), whatever the values (orjson, or json
where orjson refuses one)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from types import MappingProxyType

from monban.access.audit import HIDDEN, AuditCall, audit_facts, event_id
from monban.access.audit_writer import lines_of
from monban.access.principal import Caller, RequestInfo
from monban.policy.types import Principal

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALICE = Caller(Principal("User", "111122223333", "arn:aws:iam::111122223333:user/alice", "AIDAALICE"), "AKIA")
INFO = RequestInfo("rid-1", NOW, "127.0.0.1", "Boto3/1.40", False, "us-east-1")


def audit_lines(call: AuditCall) -> bytes:
    payload, answers = lines_of(audit_facts(call) + b"F7\n")
    assert answers == [b"7"]
    return payload


def test_the_line_is_the_record_with_secrets_hidden_and_values_as_text() -> None:
    params = MappingProxyType({"UserName": "zoë", "Password": "p4ss", "Tags": ({"Key": "k", "Value": "v"},)})
    result = {"User": {"CreateDate": NOW, "Path": "/", "Count": 3, "Flag": True, "Odd": PurePosixPath("/x")}}
    call = AuditCall("iam", "CreateUser", INFO, ALICE, "AKIA", params, result, None)
    (line,) = audit_lines(call).splitlines()
    record = json.loads(line)
    assert record["requestParameters"] == {
        "userName": "zoë",
        "password": HIDDEN,
        "tags": [{"key": "k", "value": "v"}],
    }
    assert record["responseElements"] == {
        "user": {"createDate": "2026-01-02T03:04:05Z", "path": "/", "count": 3, "flag": True, "odd": "/x"}
    }
    assert record["eventTime"] == "2026-01-02T03:04:05Z" and uuid.UUID(record["eventID"]).version == 4
    assert record["userIdentity"] == {
        "type": "IAMUser",
        "principalId": "AIDAALICE",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIA",
        "userName": "alice",
    }
    assert (record["eventSource"], record["eventName"], record["requestID"]) == (
        "iam.amazonaws.com",
        "CreateUser",
        "rid-1",
    )


def test_a_value_orjson_refuses_is_written_by_json() -> None:
    lone = "bad\ud800name"  # a lone surrogate: not UTF-8, orjson refuses it
    call = AuditCall("iam", "GetUser", INFO, ALICE, "AKIA", {"UserName": lone, "Big": 2**70}, None, None)
    (line,) = audit_lines(call).splitlines()
    assert json.loads(line)["requestParameters"] == {"userName": lone, "big": 2**70}


def test_a_call_into_another_account_is_two_lines() -> None:
    call = AuditCall("sts", "AssumeRole", INFO, ALICE, "AKIA", {}, None, None, recipient="444455556666")
    first, second = (json.loads(line) for line in audit_lines(call).splitlines())
    assert {first["recipientAccountId"], second["recipientAccountId"]} == {"111122223333", "444455556666"}
    assert first["sharedEventID"] == second["sharedEventID"] and first["eventID"] != second["eventID"]


def test_event_ids_are_distinct_version_4_uuids() -> None:
    made = [event_id() for _ in range(1000)]  # several batches of 64
    assert len(set(made)) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in made)

"""The audit record's JSON line, built on the request path (access/audit.py): the same record as
``cloudtrail_records`` makes, whatever the values (orjson, or json where orjson refuses one)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from monban.access.audit import HIDDEN, AuditCall, audit_lines, cloudtrail_records, event_id
from monban.access.principal import Caller, RequestInfo
from monban.policy.types import Principal

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALICE = Caller(Principal("User", "111122223333", "arn:aws:iam::111122223333:user/alice", "AIDAALICE"), "AKIA")
INFO = RequestInfo("rid-1", NOW, "127.0.0.1", "Boto3/1.40", False, "us-east-1")


def _without_id(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "eventID"}


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
    (expected,) = cloudtrail_records(call)
    assert _without_id(record) == _without_id(json.loads(json.dumps(expected, default=str)))


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

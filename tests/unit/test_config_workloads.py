"""The bootstrap file's Instances and Tasks: validation (unknown fields, ids, tags, placement,
tokens, references) and application (declared order, idempotent by instance id, derived ids
stable, tasks owned by the file, tokens never in clear)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from monban.credentials.keyring import KeyRing
from monban.store.db import Database
from monban.store.ecs_models import ContainerTask
from monban.store.instances import list_instances
from monban.store.tasks import find_task, token_digest
from tests.unit.test_config import account, apply, parse, problems, store

__all__ = ["store"]  # the fixture

TRUST = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'  # noqa: E501
BASE = f"""
Roles: [{{RoleName: web, AssumeRolePolicyDocument: '{TRUST}'}}]
InstanceProfiles: [{{InstanceProfileName: web, Roles: [web]}}]
"""
TOKEN = "a-task-token-of-16+chars"
READ = """
Instances:
  - {InstanceId: i-0123456789abcdef0, IamInstanceProfile: web, Tags: {Name: a, n: 1},
     MetadataOptions: {HttpTokens: required}, AvailabilityZone: eu-west-1b}
  - {Tags: [{Key: team, Value: x}], Region: ap-south-1}
"""
MADE = """
Instances:
  - {IamInstanceProfile: web}
  - {InstanceId: i-0123456789abcdef0, MetadataOptions: {HttpTokens: required}}
  - {Tags: {Name: third}}
"""


def test_instances_are_read() -> None:
    spec = parse(account(BASE + READ)).accounts[0]
    first, second = spec.instances
    assert first.instance_id == "i-0123456789abcdef0" and first.http_tokens == "required"
    assert first.tags == (("Name", "a"), ("n", "1"))
    assert (first.region, first.availability_zone) == ("eu-west-1", "eu-west-1b")
    assert second.instance_id is None and second.tags == (("team", "x"),)
    assert (second.region, second.availability_zone) == ("ap-south-1", "ap-south-1a")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{Colour: red}", "Instances[0].Colour: unknown field"),
        ("{InstanceId: i-XYZ}", "Instances[0].InstanceId: must be i- and 8 or 17"),
        ("{MetadataOptions: {HttpTokens: sometimes}}", "HttpTokens: must be optional or required"),
        ("{MetadataOptions: {HttpEndpoint: disabled}}", "MetadataOptions.HttpEndpoint: unknown field"),
        ("{Tags: {aws:x: y}}", "does not start with aws:"),
        ("{Tags: [{Key: k}, {Key: k}]}", "duplicate tag key k"),
        ("{Region: Mars}", "Instances[0].Region: must be a Region code"),
        ("{Region: us-east-1, AvailabilityZone: eu-west-1a}", "AvailabilityZone: must be the Region's code"),
        ("{IamInstanceProfile: 'no spaces'}", "IamInstanceProfile: must be an instance profile's name"),
    ],
)
def test_bad_instances_are_refused(entry: str, message: str) -> None:
    found = problems(account(f"Instances: [{entry}]"))
    assert any(message in p for p in found), found


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{TaskRoleArn: 'arn:aws:iam::111122223333:role/app'}", "AuthorizationToken: is required"),
        (f"{{TaskRoleArn: nope, AuthorizationToken: {TOKEN}}}", "TaskRoleArn: must be a role's ARN"),
        ("{TaskRoleArn: 'arn:aws:iam::111122223333:role/app', AuthorizationToken: short}", "16-8192 visible"),
        (
            f"{{TaskRoleArn: 'arn:aws:iam::999988887777:role/app', AuthorizationToken: {TOKEN}}}",
            "a task role must be a role of account 111122223333",
        ),
    ],
)
def test_bad_tasks_are_refused(entry: str, message: str) -> None:
    found = problems(account(f"Tasks: [{entry}]"))
    assert any(message in p for p in found), found


def test_ids_and_tokens_are_unique_in_the_file() -> None:
    task = f"{{TaskRoleArn: 'arn:aws:iam::111122223333:role/app', AuthorizationToken: {TOKEN}}}"
    found = problems(
        account(
            f"Instances: [{{InstanceId: i-01234567}}, {{InstanceId: i-01234567}}]\nTasks: [{task}, {task}]"
        )
    )
    assert any("duplicate instance id i-01234567" in p for p in found), found
    assert any("Tasks[1].AuthorizationToken: the same token as" in p for p in found), found


def test_instances_are_made_once_in_order(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    body = account(BASE + MADE)
    apply(store, body, tmp_path)
    db, _keyring = store
    with db.transaction() as session:
        first = list_instances(session)
    assert [i.ordinal for i in first] == [0, 1, 2]
    assert first[1].instance_id == "i-0123456789abcdef0" and first[1].http_tokens == "required"
    assert first[0].profile_id is not None and first[0].association_id is not None
    assert first[2].tags == (("Name", "third"),) and first[2].profile_id is None
    apply(store, body, tmp_path)  # the next start
    with db.transaction() as session:
        again = list_instances(session)
    assert again == first


def test_an_unknown_profile_is_refused_at_apply(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    with pytest.raises(Exception) as caught:
        apply(store, account("Instances: [{IamInstanceProfile: nowhere}]"), tmp_path)
    assert "Accounts[0].Instances[0]: NoSuchEntity: Instance Profile nowhere cannot be found." in str(
        caught.value
    )


def test_tasks_follow_the_file_and_keep_no_token(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    db, keyring = store
    role = "arn:aws:iam::111122223333:role/app"
    apply(store, account(f"Tasks: [{{TaskRoleArn: '{role}', AuthorizationToken: {TOKEN}}}]"), tmp_path)
    with db.transaction() as session:
        task = find_task(session, token_digest(keyring.workload_tokens, TOKEN))
        assert task is not None and task.role_arn == role and len(task.task_id) == 32
        dumped = "".join(str(row) for row in session.execute(text("SELECT * FROM ecs_tasks")))
    assert TOKEN not in dumped
    apply(store, account(f"Tasks: [{{TaskRoleArn: '{role}', AuthorizationToken: {TOKEN}}}]"), tmp_path)
    with db.transaction() as session:
        assert find_task(session, token_digest(keyring.workload_tokens, TOKEN)) == task  # same id
    apply(store, account("Roles: []"), tmp_path)  # the file owns the tasks: gone
    with db.transaction() as session:
        assert session.scalars(select(ContainerTask)).all() == []

"""Container credentials (the aws CLI with AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN, and plain HTTP), and the JavaScript SDK's fromInstanceMetadata
and fromContainerMetadata, with no keys anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_audit import Record, wait_for
from tests.e2e.workload_support import (
    ACCOUNT,
    APP_TOKEN,
    BUCKET,
    UNTRUSTED_TOKEN,
    Workloads,
    aws,
    keyless_env,
    node_script,
    request,
    run_node,
    start_workloads,
)

PATH = "/_monban/ecs/credentials"
JS = Path(__file__).resolve().parents[1] / "js"


@pytest.fixture(scope="module")
def workloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workloads]:
    running = start_workloads(tmp_path_factory.mktemp("containers"))
    yield running
    running.server.stop()


def _port(workloads: Workloads) -> int:
    port = urlsplit(workloads.server.endpoint).port
    assert port is not None
    return port


def _container_env(workloads: Workloads, home: Path, token: str) -> dict[str, str]:
    return keyless_env(
        home,
        workloads.server,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=workloads.server.endpoint + PATH,
        AWS_CONTAINER_AUTHORIZATION_TOKEN=token,
    )


def test_the_cli_is_the_task_role(workloads: Workloads, tmp_path: Path) -> None:
    env = _container_env(workloads, tmp_path, APP_TOKEN)
    done = aws(env, "sts", "get-caller-identity", "--query", "Arn", "--output", "text")
    assert done.returncode == 0, done.stderr
    prefix = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/"
    task_id = done.stdout.strip().removeprefix(prefix)
    assert done.stdout.startswith(prefix) and len(task_id) == 32 and int(task_id, 16) >= 0
    listed = aws(env, "s3", "ls")
    assert listed.returncode == 0, listed.stderr
    assert BUCKET in listed.stdout
    denied = aws(env, "iam", "create-user", "--user-name", "from-a-task")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr


def test_the_document(workloads: Workloads) -> None:
    answer = request(_port(workloads), "GET", PATH, {"Authorization": APP_TOKEN})
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    document = json.loads(answer.body)
    assert set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}
    assert document["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/app"
    again = json.loads(request(_port(workloads), "GET", PATH, {"Authorization": APP_TOKEN}).body)
    assert again == document  # the same set until it nears its end


def test_wrong_or_missing_tokens_get_nothing(workloads: Workloads, tmp_path: Path) -> None:
    port = _port(workloads)
    missing = request(port, "GET", PATH)
    assert missing.status == 401 and "AccessKeyId" not in missing.body
    for wrong in (
        APP_TOKEN[:-1],
        APP_TOKEN + "x",
        APP_TOKEN.upper(),
        "",
        "Bearer " + APP_TOKEN,
        "t" * 20_000,
    ):
        answer = request(port, "GET", PATH, {"Authorization": wrong})
        assert answer.status in (401, 403) and "AccessKeyId" not in answer.body, wrong[:40]
    assert request(port, "POST", PATH, {"Authorization": APP_TOKEN}).status == 405
    done = aws(_container_env(workloads, tmp_path, "not-the-token-of-any-task"), "sts", "get-caller-identity")
    assert done.returncode != 0 and "AKIA" not in done.stdout


def test_a_role_that_does_not_trust_ecs_tasks(workloads: Workloads) -> None:
    answer = request(_port(workloads), "GET", PATH, {"Authorization": UNTRUSTED_TOKEN})
    assert answer.status == 403 and "AccessKeyId" not in answer.body
    lines = [
        line for line in workloads.server.log.read_text().splitlines() if "container credentials" in line
    ]
    assert lines and "does not let ecs-tasks.amazonaws.com perform sts:AssumeRole" in lines[-1]


def test_javascript_from_instance_metadata(workloads: Workloads, tmp_path: Path) -> None:
    for ordinal in (0, 1):  # HttpTokens optional, then required
        endpoint = workloads.metadata_endpoint(ordinal)
        env = keyless_env(tmp_path, workloads.server, AWS_EC2_METADATA_SERVICE_ENDPOINT=endpoint)
        result = node_script(env, workloads.server.endpoint, "instance")
        instance_id = request(workloads.imds_port, "GET", "/latest/meta-data/instance-id").body
        if ordinal == 0:
            assert result["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/web/{instance_id}"
        else:
            assert result["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/web/i-")
        assert result["accessKeyId"].startswith("ASIA")


def test_javascript_from_container_metadata(workloads: Workloads, tmp_path: Path) -> None:
    result = node_script(
        _container_env(workloads, tmp_path, APP_TOKEN), workloads.server.endpoint, "container"
    )
    assert result["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/")
    env = _container_env(workloads, tmp_path, "not-the-token-of-any-task")
    assert run_node(env, workloads.server.endpoint, "container").returncode != 0


def test_the_audit_trail_records_ecs_assume_role(workloads: Workloads) -> None:
    """CloudTrail logs the AssumeRole ECS makes for a task, the service as the caller."""
    document = json.loads(request(_port(workloads), "GET", PATH, {"Authorization": APP_TOKEN}).body)

    def by_ecs(record: Record) -> bool:
        return record["userIdentity"] == {"type": "AWSService", "invokedBy": "ecs-tasks.amazonaws.com"}

    found = wait_for(workloads.server.data_dir, by_ecs)
    keys = {r["responseElements"]["credentials"]["accessKeyId"] for r in found if r["responseElements"]}
    assert document["AccessKeyId"] in keys
    assert all(r["requestParameters"]["roleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/") for r in found)
    assert document["SecretAccessKey"] not in json.dumps(found) and document["Token"] not in json.dumps(found)

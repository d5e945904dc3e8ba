"""The README's "EC2 instances" and "Container credentials" examples, as printed:
examples/workloads.yaml, the aws CLI with no keys anywhere (only the metadata endpoint, or the
container variables), curl against an instance that requires IMDSv2."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import REGION, Server, start_server
from tests.e2e.workload_support import AWS_CLI, free_range

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workloads.yaml"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    base = free_range(4)
    server = start_server(
        tmp_path_factory.mktemp("workloads") / "data", "--config", str(EXAMPLE), "--imds-port", str(base)
    )
    yield server, base
    server.stop()


def _env(server: Server, **more: str) -> dict[str, str]:
    """The README's exports: no keys, /dev/null for both files, the endpoint and the Region."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_CONFIG_FILE="/dev/null",
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_DEFAULT_REGION=REGION,
        **more,
    )
    return env


def _run(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fails(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_the_instance_role(example: tuple[Server, int]) -> None:
    """The instance's role (AmazonEC2ReadOnlyAccess and reading one bucket), with no keys anywhere:
    who it is, EC2 reads allowed and launches refused, S3 as its policy says."""
    server, base = example
    env = _env(server, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{base}")
    arn = _run(env, AWS_CLI, "sts", "get-caller-identity", "--query", "Arn", "--output", "text")
    assert arn == "arn:aws:sts::123456789010:assumed-role/web-server/i-0a1b2c3d4e5f60001\n"
    assert _run(env, AWS_CLI, "s3", "ls", "s3://reports-bucket").rstrip().endswith("          9 daily.txt")
    assert "AccessDenied" in _fails(env, AWS_CLI, "s3", "ls")  # no s3:ListAllMyBuckets
    query = "Reservations[].Instances[].[InstanceId,Tags[?Key=='monban:imds-endpoint'].Value|[0]]"
    found = _run(env, AWS_CLI, "ec2", "describe-instances", "--query", query, "--output", "text")
    assert found.splitlines() == [
        f"i-0a1b2c3d4e5f60001\thttp://127.0.0.1:{base}",
        f"i-0a1b2c3d4e5f60002\thttp://127.0.0.1:{base + 1}",
    ]
    refused = _fails(env, AWS_CLI, "ec2", "run-instances", "--image-id", "ami-0abcdef1234567890")
    assert "(UnauthorizedOperation)" in refused and "Encoded authorization failure message" in refused
    assert (
        "assumed-role/web-server/i-0a1b2c3d4e5f60001 is not authorized to perform: ec2:RunInstances"
        in refused
    )


def test_a_launched_instance_gets_its_metadata_service(example: tuple[Server, int]) -> None:
    """RunInstances with the profile (by the root, who may pass the role): the new instance's
    endpoint is in its tags, and it is that instance there."""
    server, _base = example
    root = dict(
        zip(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), server.roots["123456789010"], strict=True)
    )
    env = _env(server, **root)
    launched = _run(
        env,
        AWS_CLI,
        "ec2",
        "run-instances",
        "--image-id",
        "ami-0abcdef1234567890",
        "--iam-instance-profile",
        "Name=web-server",
        "--query",
        "Instances[0].[InstanceId,Tags[?Key=='monban:imds-endpoint'].Value|[0]]",
        "--output",
        "text",
    )
    instance_id, endpoint = launched.split()
    mine = _env(server, AWS_EC2_METADATA_SERVICE_ENDPOINT=endpoint)
    for _ in range(100):  # its listener opens within the instance table's next read (0.5 s)
        done = subprocess.run(
            [AWS_CLI, "sts", "get-caller-identity", "--query", "Arn", "--output", "text"],
            env=mine,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0:
            break
    assert done.stdout == f"arn:aws:sts::123456789010:assumed-role/web-server/{instance_id}\n", done.stderr


def test_imdsv2_with_curl(example: tuple[Server, int]) -> None:
    server, base = example
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    url = f"http://127.0.0.1:{base + 1}"
    env = _env(server)
    code = _run(
        env, curl, "-s", "-o", "/dev/null", "-w", "%{http_code}\n", f"{url}/latest/meta-data/instance-id"
    )
    assert code == "401\n"
    token = _run(
        env,
        curl,
        "-s",
        "-X",
        "PUT",
        "-H",
        "X-aws-ec2-metadata-token-ttl-seconds: 21600",
        f"{url}/latest/api/token",
    )
    role = _run(
        env,
        curl,
        "-s",
        "-H",
        f"X-aws-ec2-metadata-token: {token}",
        f"{url}/latest/meta-data/iam/security-credentials/",
    )
    assert role == "web-server"
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url
    arn = _run(env, AWS_CLI, "sts", "get-caller-identity", "--query", "Arn", "--output", "text")
    assert arn == "arn:aws:sts::123456789010:assumed-role/web-server/i-0a1b2c3d4e5f60002\n"


def test_the_task_role(example: tuple[Server, int]) -> None:
    server, _base = example
    env = _env(
        server,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{server.endpoint}/_monban/ecs/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN="example-task-token/DEVELOPMENT-ONLY",
    )
    assert _run(env, AWS_CLI, "s3", "cp", "s3://reports-bucket/daily.txt", "-") == "all good\n"
    done = subprocess.run(
        [AWS_CLI, "s3", "ls"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0 and "AccessDenied" in done.stderr  # worker may not list buckets

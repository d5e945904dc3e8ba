"""A server with EC2 instances and ECS tasks from its bootstrap file, and the metadata listeners on
(``--imds-port``), for the workload credential tests; clients that hold no keys of their own."""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.server import REGION, Server, start_server

ACCOUNT = "123456789010"
KEYED_INSTANCE = "i-0123456789abcdef0"
BUCKET = "workload-bucket"
APP_TOKEN = "app-task-token-0123456789abcdef"
UNTRUSTED_TOKEN = "untrusted-task-token-0123456789"
AWS_CLI = str(Path(sys.executable).with_name("aws"))
LISTENERS = 24  # ports kept free above the base: the file's instances and those tests add


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


KEYED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:ListAllMyBuckets",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"ec2:RoleDelivery": "2.0", "aws:EC2InstanceSourcePrivateIPv4": "10.0.0.13"},
                "ArnEquals": {
                    "ec2:SourceInstanceARN": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{KEYED_INSTANCE}"
                },
                "Null": {"aws:EC2InstanceSourceVPC": "false"},
            },
        }
    ],
}


def bootstrap(path: Path) -> Path:
    """The file: roles for EC2 and ECS, profiles, seven instances (ordinals 0-6), two tasks."""
    read_only = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    ec2, ecs = _trust("ec2.amazonaws.com"), _trust("ecs-tasks.amazonaws.com")
    roles = [
        {"RoleName": "web", "AssumeRolePolicyDocument": ec2, "ManagedPolicyArns": read_only},
        {"RoleName": "narrow", "AssumeRolePolicyDocument": _trust("ec2.amazonaws.com")},
        {
            "RoleName": "keyed",
            "AssumeRolePolicyDocument": _trust("ec2.amazonaws.com"),
            "Policies": [{"PolicyName": "keys", "PolicyDocument": KEYED_POLICY}],
        },
        {"RoleName": "lambda-only", "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com")},
        {"RoleName": "app", "AssumeRolePolicyDocument": ecs, "ManagedPolicyArns": read_only},
        {"RoleName": "not-for-tasks", "AssumeRolePolicyDocument": _trust("ec2.amazonaws.com")},
    ]  # fmt: skip
    profiles = [
        {"InstanceProfileName": name, "Roles": [role]}
        for name, role in (("web", "web"), ("narrow", "narrow"), ("keyed", "keyed"), ("bad", "lambda-only"))
    ]
    profiles.append({"InstanceProfileName": "empty"})
    instances = [
        {"IamInstanceProfile": "web", "Tags": {"Name": "web-0"}},
        {"IamInstanceProfile": "web", "MetadataOptions": {"HttpTokens": "required"}},
        {"IamInstanceProfile": "narrow", "Region": "eu-west-1"},
        {
            "InstanceId": KEYED_INSTANCE,
            "IamInstanceProfile": "keyed",
            "Tags": [{"Key": "team", "Value": "a"}],
        },
        {"IamInstanceProfile": "bad"},
        {"IamInstanceProfile": "empty"},
        {},
    ]
    tasks = [
        {"TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/app", "AuthorizationToken": APP_TOKEN},
        {"TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/not-for-tasks", "AuthorizationToken": UNTRUSTED_TOKEN},
    ]
    account = {
        "AccountId": ACCOUNT,
        "Roles": roles,
        "InstanceProfiles": profiles,
        "Instances": instances,
        "Tasks": tasks,
        "Buckets": [{"BucketName": BUCKET}],
    }
    path.write_text(json.dumps({"Accounts": [account]}))  # JSON is YAML
    return path


def free_range(count: int) -> int:
    """A base port with ``count`` free ports from it."""
    for _ in range(200):
        base = random.randrange(10000, 32000)  # below Linux's ephemeral ports (32768-60999)
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@dataclass
class Workloads:
    server: Server
    imds_port: int

    def metadata_endpoint(self, ordinal: int) -> str:
        return f"http://127.0.0.1:{self.imds_port + ordinal}/"


def start_workloads(tmp: Path, *args: str) -> Workloads:
    base = free_range(LISTENERS)
    config = bootstrap(tmp / "workloads.yaml")
    server = start_server(tmp / "data", "--config", str(config), "--imds-port", str(base), *args)
    return Workloads(server, base)


def keyless_env(home: Path, server: Server, **more: str) -> dict[str, str]:
    """No keys anywhere: empty config and credentials files, only the endpoint and the region (and
    ``more``: where the workload's credentials come from)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_MAX_ATTEMPTS": "1",
        }
    )
    env.update(more)
    return env


def aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS_CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request as curl sends it (no token unless given)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return Answer(response.status, body, {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()


def token(port: int, ttl: int = 21600) -> str:
    answer = request(port, "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
    assert answer.status == 200, answer
    return answer.body


JS = Path(__file__).resolve().parents[1] / "js"


def run_node(env: dict[str, str], endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``node tests/js/workload_credentials.mjs <endpoint> <args>``."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@aws-sdk" / "credential-providers").is_dir():
        raise RuntimeError("needs Node.js and `npm ci --prefix tests/js` (make test does both)")
    command = [node, "workload_credentials.mjs", endpoint, *args]
    return subprocess.run(command, cwd=JS, env=env, capture_output=True, text=True, timeout=300, check=False)


def node_script(env: dict[str, str], endpoint: str, *args: str) -> dict[str, Any]:
    """The script's JSON line (it must succeed)."""
    done = run_node(env, endpoint, *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result

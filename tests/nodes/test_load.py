"""Three nodes under AssumeRole, IAM and S3 traffic at once, while the session keys are rotated and
PostgreSQL restarts (``pg_ctlcluster 15 main restart``, as root): no answer is a 500 (the database
being away is 503 ServiceUnavailable with Retry-After, which the SDK retries), the nodes reconnect
by themselves, every acknowledged write is there afterwards on every node, sessions sealed before
a rotation keep working, and a change made on one node is enforced on every node once
``cache_seconds`` (1 s) has passed (README, "Running several nodes")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from monban.credentials.session import KEYED_PREFIX, TOKEN_PREFIX
from tests.e2e.server import REGION, Server, run_cli
from tests.nodes.conftest import Cluster

pytestmark = pytest.mark.postgres

CACHE_SECONDS = 1.0  # Settings.cache_seconds: the bound for a change to be seen everywhere
ROUNDS_AFTER = 3  # each worker's successful rounds after the restart, before it stops
PG_CLUSTER = ("15", "main")
RETRIES = Config(retries={"mode": "standard", "max_attempts": 20}, s3={"addressing_style": "path"})


def trust(user_arn: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": user_arn},
        "Action": "sts:AssumeRole",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow_s3() -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )


@dataclass
class Traffic:
    """What the workers saw: every HTTP status of every attempt, and what was acknowledged."""

    statuses: list[int] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    objects: dict[str, bytes] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, client: Any) -> Any:
        """Record the status of every attempt of ``client`` (retries included)."""

        def seen(response_dict: dict[str, Any] | None = None, **_: Any) -> None:
            if response_dict is not None:
                with self.lock:
                    self.statuses.append(int(response_dict["status_code"]))

        client.meta.events.register("response-received", seen)
        return client


def client(
    traffic: Traffic, node: Server, service: str, key: tuple[str, str], token: str | None = None
) -> Any:
    made = boto3.client(
        service,
        endpoint_url=node.endpoint,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=token,
        config=RETRIES,
    )
    return traffic.watch(made)


def restart_postgres() -> None:
    subprocess.run(["pg_ctlcluster", *PG_CLUSTER, "restart"], check=True, timeout=120)


Session = tuple[str, str, str]  # access key id, secret, token


@dataclass(frozen=True)
class Setup:
    role_arn: str
    bucket: str
    caller: tuple[str, str]  # an IAM user the role trusts (a root may not assume roles)


def one_round(traffic: Traffic, nodes: list[Server], index: int, n: int, setup: Setup) -> Session:
    """AssumeRole on one node, S3 with the session on the next two, an IAM write on the first;
    returns the session."""
    root = nodes[0].roots[next(iter(nodes[0].roots))]
    role_arn, bucket = setup.role_arn, setup.bucket
    here, there, third = nodes[index % 3], nodes[(index + 1) % 3], nodes[(index + 2) % 3]
    creds = client(traffic, here, "sts", setup.caller).assume_role(
        RoleArn=role_arn, RoleSessionName=f"w{index}"
    )
    c = creds["Credentials"]
    session = (c["AccessKeyId"], c["SecretAccessKey"])
    key, body = f"w{index}/{n}", os.urandom(1024 + n)
    client(traffic, there, "s3", session, c["SessionToken"]).put_object(Bucket=bucket, Key=key, Body=body)
    with traffic.lock:
        traffic.objects[key] = body
    got = client(traffic, third, "s3", session, c["SessionToken"]).get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == body  # small objects live in the database: any node has them
    name = f"load-{index}-{n}"
    client(traffic, here, "iam", root).create_user(UserName=name)
    with traffic.lock:
        traffic.users.append(name)
    return (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def worker(
    traffic: Traffic, nodes: list[Server], index: int, setup: Setup, restarted: threading.Event
) -> None:
    n, after = 0, 0
    try:
        while after < ROUNDS_AFTER:
            done_after_restart = restarted.is_set()
            one_round(traffic, nodes, index, n, setup)
            n += 1
            after += done_after_restart
    except Exception as error:  # reported by the test
        with traffic.lock:
            traffic.failures.append(f"worker {index} round {n}: {error!r}")


def test_three_nodes_under_load_through_a_key_rotation_and_a_database_restart(cluster: Cluster) -> None:
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL needs pg_ctlcluster, as root")
    nodes, traffic = cluster.nodes, Traffic()
    root = nodes[0].roots[next(iter(nodes[0].roots))]
    iam = client(traffic, nodes[0], "iam", root)
    user_arn = iam.create_user(UserName="caller")["User"]["Arn"]
    key = iam.create_access_key(UserName="caller")["AccessKey"]
    role_arn = iam.create_role(RoleName="loader", AssumeRolePolicyDocument=trust(user_arn))["Role"]["Arn"]
    iam.put_role_policy(RoleName="loader", PolicyName="s3", PolicyDocument=allow_s3())
    setup = Setup(role_arn, "load-bucket", (key["AccessKeyId"], key["SecretAccessKey"]))
    client(traffic, nodes[1], "s3", root).create_bucket(Bucket=setup.bucket)
    before = one_round(traffic, nodes, 9, 0, setup)
    assert before[2].startswith(TOKEN_PREFIX)  # key 0 until the first rotation

    restarted = threading.Event()
    threads = [threading.Thread(target=worker, args=(traffic, nodes, i, setup, restarted)) for i in range(3)]
    for thread in threads:
        thread.start()
    rotated = run_cli(nodes[2].data_dir, "keys", "rotate", "--database", cluster.database, env=cluster.env)
    assert rotated.returncode == 0, rotated.stderr
    assert "session key 1 seals new sessions" in rotated.stdout
    restart_postgres()
    restarted.set()
    for thread in threads:
        thread.join(timeout=300)
    assert traffic.failures == []
    assert all(status < 500 or status == 503 for status in traffic.statuses), sorted(set(traffic.statuses))

    time.sleep(CACHE_SECONDS + 0.5)  # past the bound: every node has re-read the generation
    check_everything_is_everywhere(traffic, nodes, setup.bucket)
    check_sessions_across_the_rotation(traffic, nodes, setup, before)
    check_a_change_is_enforced_everywhere(traffic, nodes, setup)


def check_everything_is_everywhere(traffic: Traffic, nodes: list[Server], bucket: str) -> None:
    root = nodes[0].roots[next(iter(nodes[0].roots))]
    for node in nodes:
        listed = {
            u["UserName"] for u in client(traffic, node, "iam", root).list_users(MaxItems=1000)["Users"]
        }
        assert set(traffic.users) <= listed
        s3 = client(traffic, node, "s3", root)
        for key, body in traffic.objects.items():
            assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


def check_sessions_across_the_rotation(
    traffic: Traffic, nodes: list[Server], setup: Setup, before: Session
) -> None:
    """Every node seals with key 1 now, and opens what key 0 sealed before the rotation."""
    for index, node in enumerate(nodes):
        after = one_round(traffic, nodes, index, 1000, setup)  # issued here, used on the others
        assert after[2].startswith(KEYED_PREFIX)
        old = client(traffic, node, "s3", before[:2], before[2])
        assert old.get_object(Bucket=setup.bucket, Key="w9/0")["Body"].read() == traffic.objects["w9/0"]


def check_a_change_is_enforced_everywhere(traffic: Traffic, nodes: list[Server], setup: Setup) -> None:
    """A Deny put on one node refuses the role's sessions on every node once the bound passed."""
    root = nodes[0].roots[next(iter(nodes[0].roots))]
    sessions = []
    for node in nodes:
        sts = client(traffic, node, "sts", setup.caller)
        c = sts.assume_role(RoleArn=setup.role_arn, RoleSessionName="deny")["Credentials"]
        s3 = client(traffic, node, "s3", (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
        s3.head_bucket(Bucket=setup.bucket)  # allowed, and cached on that node
        sessions.append(s3)
    deny = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    )
    client(traffic, nodes[1], "iam", root).put_role_policy(
        RoleName="loader", PolicyName="deny", PolicyDocument=deny
    )
    time.sleep(CACHE_SECONDS + 0.5)  # the bound: each node re-reads the generation on its next request
    for s3 in sessions:
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=setup.bucket, Key="w9/0")
        assert caught.value.response["Error"]["Code"] == "AccessDenied"

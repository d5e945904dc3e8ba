"""PostgreSQL stopped under three nodes (``pg_ctlcluster 15 main stop``, as root): what the caches
answer is still served on every node (AssumeRole of a role it has seen, a session's
GetCallerIdentity); what needs the database (IAM writes; S3 requests, which read the bucket or
the object's row) is 503 ServiceUnavailable with ``Retry-After`` in each front's shape; once
PostgreSQL is back every node serves writes again without a restart, and nothing acknowledged is
lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_s3_support import s3_client
from tests.nodes.conftest import Cluster

pytestmark = pytest.mark.postgres

PG_CLUSTER = ("15", "main")


def pg(action: str) -> None:
    subprocess.run(["pg_ctlcluster", *PG_CLUSTER, action], check=True, timeout=120)


def unavailable(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    answer: dict[str, Any] = caught.value.response
    assert answer["Error"]["Code"] == "ServiceUnavailable"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert answer["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    return answer


def test_cached_requests_are_served_while_postgresql_is_stopped(cluster: Cluster) -> None:
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        pytest.skip("stopping PostgreSQL needs pg_ctlcluster, as root")
    nodes = cluster.nodes
    root = next(iter(nodes[0].roots.values()))
    iam = nodes[0].client("iam")
    user_arn = iam.create_user(UserName="caller")["User"]["Arn"]
    made = iam.create_access_key(UserName="caller")["AccessKey"]
    key = (made["AccessKeyId"], made["SecretAccessKey"])
    trust = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
    role_arn = iam.create_role(
        RoleName="cached",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]["Arn"]
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    iam.put_role_policy(
        RoleName="cached",
        PolicyName="s3",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    s3_client(nodes[0], root).create_bucket(Bucket="cached")
    sessions: list[tuple[tuple[str, str], str]] = []
    for node in nodes:  # each node reads the role, the session's policies and the bucket once
        creds = node.client("sts", key=key).assume_role(RoleArn=role_arn, RoleSessionName="warm")[
            "Credentials"
        ]
        session = ((creds["AccessKeyId"], creds["SecretAccessKey"]), creds["SessionToken"])
        s3_client(node, *session).put_object(Bucket="cached", Key="k", Body=b"before")
        node.client("sts", key=session[0], token=session[1]).get_caller_identity()
        sessions.append(session)
    pg("stop")
    try:
        for node, session in zip(nodes, sessions, strict=True):
            again = node.client("sts", key=key).assume_role(RoleArn=role_arn, RoleSessionName="while-stopped")
            assert again["Credentials"]["AccessKeyId"].startswith("ASIA")  # from the caches
            who = node.client("sts", key=session[0], token=session[1]).get_caller_identity()
            assert who["Arn"].endswith(":assumed-role/cached/warm")
            query = unavailable(lambda node=node: node.client("iam").create_user(UserName="while-stopped"))
            assert query["Error"]["Type"] == "Receiver"  # the Query protocol's <ErrorResponse>
            s3 = s3_client(node, *session)
            unavailable(lambda s3=s3: s3.get_object(Bucket="cached", Key="k"))  # S3's <Error>
            unavailable(lambda s3=s3: s3.put_object(Bucket="cached", Key="k", Body=b"x"))
    finally:
        pg("start")
    for n, node in enumerate(nodes):  # reconnected by themselves; retried as the SDK would
        node.client("iam", retries={"mode": "standard", "max_attempts": 20}).create_user(UserName=f"after{n}")
    listed = {u["UserName"] for u in nodes[2].client("iam").list_users()["Users"]}
    assert {"after0", "after1", "after2"} <= listed and "while-stopped" not in listed
    for node, session in zip(nodes, sessions, strict=True):  # nothing acknowledged was lost
        assert s3_client(node, *session).get_object(Bucket="cached", Key="k")["Body"].read() == b"before"

"""The same IAM call on two nodes at once (boto3, one thread per node, released together): exactly
one CreateX wins and the others get EntityAlreadyExists; the two-key and five-version limits hold;
concurrent edits of one role lose nothing. IAM writers are ordered by the generation bump each
takes first (``store/accounts.py`` ``bump_generation``, ``QueryCall.write``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.nodes.conftest import Cluster

pytestmark = pytest.mark.postgres

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)


def at_once(calls: list[Callable[[], Any]]) -> list[str]:
    """Run ``calls`` in threads released by one barrier; each outcome: "ok" or the error code."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            calls[index]()
            outcomes[index] = "ok"
        except ClientError as error:
            outcomes[index] = str(error.response["Error"]["Code"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def iams(cluster: Cluster) -> list[Any]:
    return [node.client("iam") for node in cluster.nodes]


CREATES: dict[str, Callable[[Any, str], Any]] = {
    "user": lambda c, n: c.create_user(UserName=n),
    "group": lambda c, n: c.create_group(GroupName=n),
    "role": lambda c, n: c.create_role(RoleName=n, AssumeRolePolicyDocument=TRUST),
    "policy": lambda c, n: c.create_policy(PolicyName=n, PolicyDocument=DOC),
    "instance profile": lambda c, n: c.create_instance_profile(InstanceProfileName=n),
    "OIDC provider": lambda c, n: c.create_open_id_connect_provider(
        Url=f"https://{n}.example.com", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    ),
}


def test_the_same_create_on_two_nodes_succeeds_once(cluster: Cluster) -> None:
    clients = iams(cluster)
    for kind, create in CREATES.items():
        for attempt in range(3):  # two callers per node
            name = f"race{attempt}{kind.replace(' ', '').lower()}"
            outcomes = at_once([lambda c=c: create(c, name) for c in clients * 2])  # noqa: B023 - run here
            assert sorted(outcomes) == ["EntityAlreadyExists"] * 5 + ["ok"], (kind, outcomes)


def test_two_access_keys_at_most_whatever_the_node(cluster: Cluster) -> None:
    clients = iams(cluster)
    clients[0].create_user(UserName="keys")
    calls = [lambda c=c: c.create_access_key(UserName="keys") for c in clients * 2]
    outcomes = at_once(calls)
    assert sorted(outcomes) == ["LimitExceeded"] * 4 + ["ok", "ok"]
    assert len(clients[2].list_access_keys(UserName="keys")["AccessKeyMetadata"]) == 2


def test_five_policy_versions_at_most_whatever_the_node(cluster: Cluster) -> None:
    clients = iams(cluster)
    arn = clients[0].create_policy(PolicyName="versions", PolicyDocument=DOC)["Policy"]["Arn"]
    calls = [lambda c=c: c.create_policy_version(PolicyArn=arn, PolicyDocument=DOC) for c in clients * 2]
    outcomes = at_once(calls)
    assert outcomes.count("ok") == 4 and outcomes.count("LimitExceeded") == 2, outcomes
    versions = clients[1].list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5 and sum(v["IsDefaultVersion"] for v in versions) == 1


def test_concurrent_edits_of_one_role_lose_nothing(cluster: Cluster) -> None:
    clients = iams(cluster)
    clients[0].create_role(RoleName="edited", AssumeRolePolicyDocument=TRUST)
    calls: list[Callable[[], Any]] = []
    for n, client in enumerate(clients * 2):
        calls.append(
            lambda c=client, n=n: c.put_role_policy(RoleName="edited", PolicyName=f"p{n}", PolicyDocument=DOC)
        )
        calls.append(
            lambda c=client, n=n: c.tag_role(RoleName="edited", Tags=[{"Key": f"k{n}", "Value": str(n)}])
        )
    assert at_once(calls) == ["ok"] * len(calls)
    assert sorted(clients[2].list_role_policies(RoleName="edited")["PolicyNames"]) == [
        f"p{n}" for n in range(6)
    ]
    tags = {t["Key"]: t["Value"] for t in clients[1].list_role_tags(RoleName="edited")["Tags"]}
    assert tags == {f"k{n}": str(n) for n in range(6)}


def test_concurrent_default_version_changes_leave_one_default(cluster: Cluster) -> None:
    clients = iams(cluster)
    arn = clients[0].create_policy(PolicyName="defaults", PolicyDocument=DOC)["Policy"]["Arn"]
    for _ in range(3):
        clients[0].create_policy_version(PolicyArn=arn, PolicyDocument=DOC)
    calls = [
        lambda c=c, v=v: c.set_default_policy_version(PolicyArn=arn, VersionId=v)
        for c, v in zip(clients + clients[:1], ["v1", "v2", "v3", "v4"], strict=True)
    ]
    assert at_once(calls) == ["ok"] * 4
    versions = clients[2].list_policy_versions(PolicyArn=arn)["Versions"]
    defaults = [v["VersionId"] for v in versions if v["IsDefaultVersion"]]
    assert len(defaults) == 1
    assert clients[1].get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == defaults[0]

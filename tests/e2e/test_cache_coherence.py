"""What the request path caches per generation is seen as changed by the very next request on the
worker that changed it (ARCHITECTURE.md, "Caches"): a bucket's existence and policy, a role's trust
policy, and a deleted role's sessions."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import (
    OWNER,
    assume,
    error_of,
    iam,
    policy,
    role,
    root,
    s3_client,
    uid,
    user,
)


def test_a_bucket_created_after_a_miss_is_there_at_once(server: Server) -> None:
    client = s3_client(server, root(server))
    name = uid("cache")
    with pytest.raises(ClientError) as caught:
        client.get_object(Bucket=name, Key="k")
    assert error_of(caught)[:2] == ("NoSuchBucket", 404)
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"value")
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"value"


def test_a_deleted_bucket_is_gone_at_once(server: Server) -> None:
    client = s3_client(server, root(server))
    name = uid("cache")
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"x")  # the bucket is cached now
    client.delete_object(Bucket=name, Key="k")
    client.delete_bucket(Bucket=name)
    for call in (
        lambda: client.get_object(Bucket=name, Key="k"),
        lambda: client.put_object(Bucket=name, Key="k", Body=b"x"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught)[:2] == ("NoSuchBucket", 404)


def test_a_bucket_policy_change_applies_to_the_next_request(server: Server) -> None:
    owner = s3_client(server, root(server))
    name = uid("cache")
    owner.create_bucket(Bucket=name)
    owner.put_object(Bucket=name, Key="k", Body=b"value")
    arn, key = user(server, OWNER, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    reader = s3_client(server, key)
    assert reader.get_object(Bucket=name, Key="k")["Body"].read() == b"value"
    deny = policy(
        {
            "Effect": "Deny",
            "Principal": {"AWS": arn},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*",
        }
    )
    owner.put_bucket_policy(Bucket=name, Policy=deny)
    with pytest.raises(ClientError) as caught:
        reader.get_object(Bucket=name, Key="k")
    assert error_of(caught)[:2] == ("AccessDenied", 403)
    owner.delete_bucket_policy(Bucket=name)
    assert reader.get_object(Bucket=name, Key="k")["Body"].read() == b"value"


def test_a_trust_policy_change_applies_to_the_next_assume_role(server: Server) -> None:
    alice_arn, alice = user(server, OWNER)
    bob_arn, _bob = user(server, OWNER)
    role_arn = role(server, OWNER, alice_arn)
    assume(server, alice, role_arn)  # cached now: the role and its trust policy
    trust_bob = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "sts:AssumeRole"}],
        }
    )
    iam(server).update_assume_role_policy(RoleName=role_arn.rsplit("/", 1)[1], PolicyDocument=trust_bob)
    with pytest.raises(ClientError) as caught:
        assume(server, alice, role_arn)
    assert error_of(caught)[:2] == ("AccessDenied", 403)


def test_sessions_of_a_deleted_role_fail_at_once(server: Server) -> None:
    alice_arn, alice = user(server, OWNER)
    role_arn = role(
        server, OWNER, alice_arn, {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
    )
    session = assume(server, alice, role_arn)
    client = s3_client(server, session.key, session.token)
    client.list_buckets()  # authenticated and authorized from the caches
    name = role_arn.rsplit("/", 1)[1]
    iam(server).delete_role_policy(RoleName=name, PolicyName="s3")
    iam(server).delete_role(RoleName=name)
    with pytest.raises(ClientError) as caught:
        client.list_buckets()
    assert error_of(caught)[1] == 403

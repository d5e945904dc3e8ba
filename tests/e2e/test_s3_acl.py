"""ACLs and Object Ownership as S3 has them for new buckets since April 2023 (BucketOwnerEnforced:
ACLs disabled), through boto3 and the aws CLI: reading an ACL answers the owner with FULL_CONTROL,
setting one is AccessControlListNotSupported, writes take only the bucket owner's full control, the
ownership controls round trip, and the IAM actions and keys that guard them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import (
    OTHER,
    OWNER,
    aws_cli,
    bucket,
    error_of,
    policy,
    root,
    s3_client,
    uid,
    user,
)

NOT_ALLOWED = ("AccessControlListNotSupported", 400, "The bucket does not allow ACLs")
ENFORCED = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def cli_error(server: Server, key: tuple[str, str], *args: str) -> str:
    """The aws CLI's complaint about a command that must fail."""
    with pytest.raises(AssertionError) as failed:
        aws_cli(server, key, *args)
    return str(failed.value)


def owner_full_control(owner: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Grantee": {**owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}]


def test_acls_read_as_the_owner_with_full_control(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    owner = s3.list_buckets()["Owner"]
    assert owner["DisplayName"] == OWNER and len(owner["ID"]) == 64
    for got in (s3.get_bucket_acl(Bucket=name), s3.get_object_acl(Bucket=name, Key="k")):
        assert got["Owner"] == owner
        assert got["Grants"] == owner_full_control(owner)
    assert s3.get_object_acl(Bucket=name, Key="k", VersionId="null")["Owner"] == owner
    with pytest.raises(ClientError) as caught:
        s3.get_object_acl(Bucket=name, Key="missing")
    assert error_of(caught)[:2] == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_acl(Bucket=uid("nobucket"))
    assert error_of(caught)[:2] == ("NoSuchBucket", 404)
    shown = json.loads(
        aws_cli(server, root(server), "s3api", "get-object-acl", "--bucket", name, "--key", "k")
    )
    assert shown["Grants"] == owner_full_control(owner)


def test_setting_an_acl_is_refused(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    owner = s3.list_buckets()["Owner"]
    own = {"Owner": owner, "Grants": owner_full_control(owner)}
    for attempt in (
        lambda: s3.put_bucket_acl(Bucket=name, ACL="private"),
        lambda: s3.put_bucket_acl(Bucket=name, AccessControlPolicy=own),
        lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=name, Key="k", GrantRead=f"id={owner['ID']}"),
    ):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert error_of(caught) == NOT_ALLOWED
    args = ("s3api", "put-object-acl", "--bucket", name, "--key", "k", "--acl", "public-read")
    assert "(AccessControlListNotSupported)" in cli_error(server, root(server), *args)
    assert s3.get_object_acl(Bucket=name, Key="k")["Grants"] == owner_full_control(owner)


def test_writes_take_only_the_bucket_owners_full_control(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    s3.put_object(Bucket=name, Key="src", Body=b"source")
    owner_id = s3.list_buckets()["Owner"]["ID"]
    refused: list[Any] = [
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read"),
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", GrantFullControl=f"id={owner_id}"),
        lambda: s3.copy_object(Bucket=name, Key="k", CopySource=f"{name}/src", ACL="authenticated-read"),
        lambda: s3.create_multipart_upload(Bucket=name, Key="k", ACL="public-read-write"),
    ]
    for attempt in refused:
        with pytest.raises(ClientError) as caught:
            attempt()
        assert error_of(caught) == NOT_ALLOWED
    assert "Contents" not in s3.list_objects_v2(Bucket=name, Prefix="k")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=name)
    s3.put_object(Bucket=name, Key="a", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=name, Key="b", Body=b"x", ACL="private")
    s3.copy_object(Bucket=name, Key="c", CopySource=f"{name}/src", ACL="bucket-owner-full-control")
    upload = s3.create_multipart_upload(Bucket=name, Key="d", ACL="bucket-owner-full-control")
    s3.abort_multipart_upload(Bucket=name, Key="d", UploadId=upload["UploadId"])
    args = ("s3api", "put-object", "--bucket", name, "--key", "e", "--acl", "public-read")
    assert "(AccessControlListNotSupported)" in cli_error(server, root(server), *args)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == ["a", "b", "c", "src"]


def test_another_accounts_writer_may_give_only_the_bucket_owner_full_control(server: Server) -> None:
    writer_arn, writer = user(server, OTHER, {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    grant = {"Effect": "Allow", "Principal": {"AWS": writer_arn}, "Action": "s3:PutObject"}
    name = bucket(server, root(server), bucket_policy=policy({**grant, "Resource": "arn:aws:s3:::BUCKET/*"}))
    s3 = s3_client(server, writer)
    s3.put_object(Bucket=name, Key="given", Body=b"x", ACL="bucket-owner-full-control")
    with pytest.raises(ClientError) as caught:  # "private" would be the writer's full control
        s3.put_object(Bucket=name, Key="kept", Body=b"x", ACL="private")
    assert error_of(caught) == NOT_ALLOWED
    acl = s3_client(server, root(server)).get_object_acl(Bucket=name, Key="given")
    assert acl["Owner"]["DisplayName"] == OWNER


def test_create_bucket_takes_no_acl_but_private_and_no_setting_but_enforced(server: Server) -> None:
    s3 = s3_client(server, root(server))
    for acl in ("public-read", "authenticated-read"):
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(Bucket=uid("acl"), ACL=acl)
        assert error_of(caught) == (
            "InvalidBucketAclWithObjectOwnership",
            400,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        )
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=uid("acl"), GrantRead="uri=http://acs.amazonaws.com/groups/global/AllUsers")
    assert error_of(caught)[:2] == ("InvalidBucketAclWithObjectOwnership", 400)
    for setting in ("ObjectWriter", "BucketOwnerPreferred"):
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(Bucket=uid("own"), ObjectOwnership=setting)
        assert error_of(caught)[:2] == ("NotImplemented", 501)
    private = uid("acl")
    s3.create_bucket(Bucket=private, ACL="private")
    enforced = uid("own")
    s3.create_bucket(Bucket=enforced, ObjectOwnership="BucketOwnerEnforced")
    for name in (private, enforced):
        assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == ENFORCED


def test_ownership_controls_round_trip(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == ENFORCED
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=ENFORCED)
    shown = aws_cli(server, root(server), "s3api", "get-bucket-ownership-controls", "--bucket", name)
    assert json.loads(shown)["OwnershipControls"] == ENFORCED
    for setting in ("ObjectWriter", "BucketOwnerPreferred"):
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": setting}]}
            )
        assert error_of(caught)[:2] == ("NotImplemented", 501)
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket_ownership_controls(Bucket=name)
    assert error_of(caught)[:2] == ("NotImplemented", 501)
    args = ("s3api", "put-bucket-ownership-controls", "--bucket", name, "--ownership-controls")
    aws_cli(server, root(server), *args, "Rules=[{ObjectOwnership=BucketOwnerEnforced}]")
    assert "(NotImplemented)" in cli_error(
        server, root(server), *args, "Rules=[{ObjectOwnership=ObjectWriter}]"
    )
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == ENFORCED


def test_acl_and_ownership_actions_and_keys_are_authorized(server: Server) -> None:
    name = bucket(server, root(server))
    s3_client(server, root(server)).put_object(Bucket=name, Key="k", Body=b"x")
    arn = f"arn:aws:s3:::{name}"
    _, key = user(
        server,
        OWNER,
        {
            "Effect": "Allow",
            "Action": ["s3:GetBucketAcl", "s3:PutObject", "s3:CreateBucket"],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": "s3:GetBucketOwnershipControls", "Resource": arn},
        {
            "Effect": "Deny",
            "Action": "s3:PutObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    )
    s3 = s3_client(server, key)
    assert s3.get_bucket_acl(Bucket=name)["Owner"]["DisplayName"] == OWNER
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == ENFORCED
    denied: list[Any] = [
        lambda: s3.get_object_acl(Bucket=name, Key="k"),
        lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="private"),
        lambda: s3.put_bucket_acl(Bucket=name, ACL="private"),
        lambda: s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=ENFORCED),
        lambda: s3.delete_bucket_ownership_controls(Bucket=name),
        lambda: s3.put_object(Bucket=name, Key="n", Body=b"x", ACL="bucket-owner-full-control"),
        lambda: s3.create_bucket(Bucket=uid("own"), ObjectOwnership="BucketOwnerEnforced"),
        lambda: s3.create_bucket(Bucket=uid("acl"), ACL="public-read"),  # s3:PutBucketAcl first
    ]
    for attempt in denied:
        with pytest.raises(ClientError) as caught:
            attempt()
        assert error_of(caught)[:2] == ("AccessDenied", 403)
    s3.put_object(Bucket=name, Key="n", Body=b"x")
    s3.create_bucket(Bucket=uid("own"))
    s3.create_bucket(Bucket=uid("acl"), ACL="private")  # the owner's full control: no s3:PutBucketAcl

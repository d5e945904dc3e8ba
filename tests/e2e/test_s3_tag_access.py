"""Tag-based access to S3 objects (User Guide, "Tagging and access control policies"):
s3:ExistingObjectTag/<key> on the object acted on, s3:RequestObjectTag/<key> and
s3:RequestObjectTagKeys on the tags a request sets, and the permissions tagging needs."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import OWNER, bucket, error_of, policy, root, s3_client, tag_set, user


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    code, status, message = error_of(caught)
    assert (code, status) == ("AccessDenied", 403)
    return message


def _objects(server: Server) -> tuple[str, Any]:
    """A bucket with the objects ``blue`` (team=blue), ``red`` (team=red) and ``plain`` (no tags)."""
    owner = s3_client(server, root(server))
    name = bucket(server, root(server))
    owner.put_object(Bucket=name, Key="blue", Body=b"blue data", Tagging="team=blue")
    owner.put_object(Bucket=name, Key="red", Body=b"red data", Tagging="team=red")
    owner.put_object(Bucket=name, Key="plain", Body=b"plain data")
    return name, owner


def test_get_object_only_when_the_existing_tag_matches(server: Server) -> None:
    name, _owner = _objects(server)
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}},
    }
    arn, key = user(server, OWNER, statement)
    client = s3_client(server, key)
    blue = client.get_object(Bucket=name, Key="blue")
    assert blue["Body"].read() == b"blue data"
    assert "TagCount" not in blue  # no s3:GetObjectTagging: no x-amz-tagging-count
    assert client.head_object(Bucket=name, Key="blue")["ContentLength"] == 9
    message = _denied(lambda: client.get_object(Bucket=name, Key="red"))
    assert message.startswith(f"User: {arn} is not authorized to perform: s3:GetObject on resource")
    with pytest.raises(ClientError) as caught:  # HEAD: no body, so no code
        client.head_object(Bucket=name, Key="red")
    assert error_of(caught)[:2] == ("403", 403)
    _denied(lambda: client.get_object(Bucket=name, Key="plain"))
    _denied(lambda: client.get_object(Bucket=name, Key="missing"))


def test_the_tag_count_is_for_those_who_may_read_the_tags(server: Server) -> None:
    name, _owner = _objects(server)
    statements = (
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"},
        {
            "Effect": "Allow",
            "Action": "s3:GetObjectTagging",
            "Resource": f"arn:aws:s3:::{name}/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}},
        },
    )
    _arn, key = user(server, OWNER, *statements)
    client = s3_client(server, key)
    assert client.get_object(Bucket=name, Key="blue")["TagCount"] == 1
    assert "TagCount" not in client.get_object(Bucket=name, Key="red")
    assert client.get_object_tagging(Bucket=name, Key="blue")["TagSet"] == [{"Key": "team", "Value": "blue"}]
    _denied(lambda: client.get_object_tagging(Bucket=name, Key="red"))


def test_put_object_only_with_the_requested_tag(server: Server) -> None:
    name = bucket(server, root(server))
    statement = {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:PutObjectTagging"],
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "blue"}},
    }
    _arn, key = user(server, OWNER, statement)
    client = s3_client(server, key)
    client.put_object(Bucket=name, Key="ok", Body=b"x", Tagging="team=blue&env=dev")
    _denied(lambda: client.put_object(Bucket=name, Key="red", Body=b"x", Tagging="team=red"))
    _denied(lambda: client.put_object(Bucket=name, Key="none", Body=b"x"))
    client.put_object_tagging(Bucket=name, Key="ok", Tagging=tag_set([("team", "blue")]))
    _denied(lambda: client.put_object_tagging(Bucket=name, Key="ok", Tagging=tag_set([("team", "red")])))
    upload = client.create_multipart_upload(Bucket=name, Key="parts", Tagging="team=blue")["UploadId"]
    owner = s3_client(server, root(server))
    owner.abort_multipart_upload(Bucket=name, Key="parts", UploadId=upload)
    _denied(lambda: client.create_multipart_upload(Bucket=name, Key="parts", Tagging="team=red"))
    keys = [o["Key"] for o in owner.list_objects_v2(Bucket=name).get("Contents", [])]
    assert keys == ["ok"]


def test_for_all_values_of_the_requested_tag_keys(server: Server) -> None:
    name = bucket(server, root(server))
    statements = (
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*"},
        {
            "Effect": "Allow",
            "Action": "s3:PutObjectTagging",
            "Resource": f"arn:aws:s3:::{name}/*",
            "Condition": {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "env"]}},
        },
    )
    _arn, key = user(server, OWNER, *statements)
    client = s3_client(server, key)
    client.put_object(Bucket=name, Key="doc", Body=b"x", Tagging="team=blue&env=prod")
    client.put_object_tagging(Bucket=name, Key="doc", Tagging=tag_set([("env", "dev")]))
    message = _denied(
        lambda: client.put_object_tagging(
            Bucket=name, Key="doc", Tagging=tag_set([("team", "a"), ("secret", "b")])
        )
    )
    assert "s3:PutObjectTagging" in message
    _denied(lambda: client.put_object(Bucket=name, Key="other", Body=b"x", Tagging="team=a&secret=b"))
    assert s3_client(server, root(server)).get_object_tagging(Bucket=name, Key="doc")["TagSet"] == [
        {"Key": "env", "Value": "dev"}
    ]


def test_tags_on_an_upload_need_put_object_tagging(server: Server) -> None:
    name, _owner = _objects(server)
    statements = (
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{name}/*"},
    )
    arn, key = user(server, OWNER, *statements)
    client = s3_client(server, key)
    client.put_object(Bucket=name, Key="untagged", Body=b"x")
    message = _denied(lambda: client.put_object(Bucket=name, Key="tagged", Body=b"x", Tagging="a=1"))
    assert message == (
        f"User: {arn} is not authorized to perform: s3:PutObjectTagging on resource: "
        f'"arn:aws:s3:::{name}/tagged" because no identity-based policy allows the s3:PutObjectTagging action'
    )
    _denied(lambda: client.create_multipart_upload(Bucket=name, Key="tagged", Tagging="a=1"))
    source = {"Bucket": name, "Key": "blue"}
    # COPY (the default) carries the source's tags: s3:GetObjectTagging and s3:PutObjectTagging too
    _denied(lambda: client.copy_object(Bucket=name, Key="copy", CopySource=source))
    client.copy_object(Bucket=name, Key="copy", CopySource=source, TaggingDirective="REPLACE")
    client.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "plain"})
    _denied(lambda: client.delete_object_tagging(Bucket=name, Key="blue"))


def test_a_bucket_policy_grants_tag_reads_by_existing_tag(server: Server) -> None:
    name, owner = _objects(server)
    arn, key = user(server, OWNER)
    owner.put_bucket_policy(
        Bucket=name,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": arn},
                "Action": ["s3:GetObjectTagging", "s3:DeleteObjectTagging"],
                "Resource": f"arn:aws:s3:::{name}/*",
                "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}},
            }
        ),
    )
    client = s3_client(server, key)
    assert client.get_object_tagging(Bucket=name, Key="blue")["TagSet"] == [{"Key": "team", "Value": "blue"}]
    _denied(lambda: client.get_object_tagging(Bucket=name, Key="red"))
    _denied(lambda: client.delete_object_tagging(Bucket=name, Key="red"))
    client.delete_object_tagging(Bucket=name, Key="blue")
    _denied(lambda: client.get_object_tagging(Bucket=name, Key="blue"))  # no tags left to match
    assert owner.get_object_tagging(Bucket=name, Key="red")["TagSet"] == [{"Key": "team", "Value": "red"}]


def test_tag_keys_that_differ_in_case_are_both_seen(server: Server) -> None:
    """Condition key names ignore case, tag keys do not: a Deny on s3:ExistingObjectTag/Team
    must see the tag ``Team`` of an object that also has ``team``."""
    owner = s3_client(server, root(server))
    name = bucket(server, root(server))
    owner.put_object(Bucket=name, Key="both", Body=b"x", Tagging="Team=red&team=blue")
    owner.put_object(Bucket=name, Key="blue", Body=b"x", Tagging="team=blue")
    statements = (
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"},
        {
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/Team": "red"}},
        },
    )
    _arn, key = user(server, OWNER, *statements)
    client = s3_client(server, key)
    assert client.get_object(Bucket=name, Key="blue")["Body"].read() == b"x"
    message = _denied(lambda: client.get_object(Bucket=name, Key="both"))
    assert "with an explicit deny in an identity-based policy" in message

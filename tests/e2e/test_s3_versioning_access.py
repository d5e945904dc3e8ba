"""S3 versioning under IAM, and through the ``aws`` CLI.

Amazon S3 User Guide, "Required permissions for Amazon S3 API operations": naming a version needs
the "…Version" action (s3:GetObjectVersion for GET/HEAD and a copy source, s3:DeleteObjectVersion
for DELETE and DeleteObjects entries), ListObjectVersions s3:ListBucketVersions, the versioning
configuration s3:PutBucketVersioning / s3:GetBucketVersioning; the …Version actions carry the
s3:versionid condition key.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import OWNER, aws_cli, bucket, error_of, root, s3_client, user

_PLAIN = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]


def _denied(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return error_of(caught)[:2]


def _client(server: Server, *statements: dict[str, Any]) -> Any:
    return s3_client(server, user(server, OWNER, *statements)[1])


def test_a_user_with_only_the_plain_actions_is_denied_every_version_action(server: Server) -> None:
    owner = s3_client(server, root(server))
    name = bucket(server, root(server), "verauth")
    owner.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    first = owner.put_object(Bucket=name, Key="k", Body=b"1")["VersionId"]
    owner.put_object(Bucket=name, Key="k", Body=b"2")
    plain = _client(server, {"Effect": "Allow", "Action": _PLAIN, "Resource": "*"})
    assert plain.get_object(Bucket=name, Key="k")["Body"].read() == b"2"
    denied = ("AccessDenied", 403)
    assert _denied(plain.get_object, Bucket=name, Key="k", VersionId=first) == denied
    assert _denied(plain.head_object, Bucket=name, Key="k", VersionId=first)[1] == 403
    assert _denied(plain.delete_object, Bucket=name, Key="k", VersionId=first) == denied
    assert _denied(plain.list_object_versions, Bucket=name) == denied
    assert _denied(plain.get_bucket_versioning, Bucket=name) == denied
    config = {"Status": "Suspended"}
    assert _denied(plain.put_bucket_versioning, Bucket=name, VersioningConfiguration=config) == denied
    source = {"Bucket": name, "Key": "k", "VersionId": first}
    assert _denied(plain.copy_object, Bucket=name, Key="c", CopySource=source) == denied
    many = plain.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "VersionId": first}]})
    assert [e["Code"] for e in many["Errors"]] == ["AccessDenied"]
    marker = plain.delete_object(Bucket=name, Key="k")  # s3:DeleteObject: a delete marker
    assert marker["DeleteMarker"] is True
    listed = owner.list_object_versions(Bucket=name)
    assert len(listed["Versions"]) == 2 and len(listed["DeleteMarkers"]) == 1


def test_the_version_actions_see_s3_versionid(server: Server) -> None:
    owner = s3_client(server, root(server))
    name = bucket(server, root(server), "verkey")
    owner.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    first = owner.put_object(Bucket=name, Key="k", Body=b"1")["VersionId"]
    second = owner.put_object(Bucket=name, Key="k", Body=b"2")["VersionId"]
    only_first = {"StringEquals": {"s3:versionid": first}}
    client = _client(
        server,
        {"Effect": "Allow", "Action": ["s3:GetObjectVersion", "s3:DeleteObjectVersion"],
         "Resource": f"arn:aws:s3:::{name}/*", "Condition": only_first},
        {"Effect": "Allow", "Action": ["s3:ListBucketVersions", "s3:GetBucketVersioning"],
         "Resource": f"arn:aws:s3:::{name}"},
    )  # fmt: skip
    assert client.get_object(Bucket=name, Key="k", VersionId=first)["Body"].read() == b"1"
    assert _denied(client.get_object, Bucket=name, Key="k", VersionId=second) == ("AccessDenied", 403)
    assert _denied(client.delete_object, Bucket=name, Key="k", VersionId=second) == ("AccessDenied", 403)
    assert client.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert len(client.list_object_versions(Bucket=name)["Versions"]) == 2
    client.delete_object(Bucket=name, Key="k", VersionId=first)
    assert [v["VersionId"] for v in owner.list_object_versions(Bucket=name)["Versions"]] == [second]


def test_the_aws_cli_works_with_versions(server: Server, tmp_path: Any) -> None:
    key = root(server)
    name = bucket(server, key, "vercli")

    def cli(*args: str) -> Any:
        out = aws_cli(server, key, "s3api", *args, "--bucket", name, cwd=tmp_path)
        return json.loads(out) if out.strip() else None

    assert cli("get-bucket-versioning") is None  # an empty configuration: nothing to print
    cli("put-bucket-versioning", "--versioning-configuration", "Status=Enabled")
    assert cli("get-bucket-versioning")["Status"] == "Enabled"
    (tmp_path / "body").write_bytes(b"first")
    first = cli("put-object", "--key", "k", "--body", "body")["VersionId"]
    (tmp_path / "body").write_bytes(b"second")
    cli("put-object", "--key", "k", "--body", "body")
    cli("put-object", "--key", "other", "--body", "body")
    listed = cli("list-object-versions", "--page-size", "1")  # the CLI follows the markers
    assert [(v["Key"], v["IsLatest"]) for v in listed["Versions"]] == [
        ("k", True),
        ("k", False),
        ("other", True),
    ]
    got = cli("get-object", "--key", "k", "--version-id", first, "out")
    assert got["VersionId"] == first and (tmp_path / "out").read_bytes() == b"first"
    marker = cli("delete-object", "--key", "k")
    assert marker["DeleteMarker"] is True
    cli("delete-object", "--key", "k", "--version-id", marker["VersionId"])
    assert cli("head-object", "--key", "k")["ContentLength"] == len(b"second")
    versions = cli("list-object-versions", "--prefix", "k")
    assert "DeleteMarkers" not in versions and len(versions["Versions"]) == 2

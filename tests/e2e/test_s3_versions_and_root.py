"""Issue 11, findings 8 (S3 part) and 10.

8: naming a version (``versionId=null``, the only version an unversioned bucket has) needs the
"…Version" actions: s3:GetObjectVersion for GET/HEAD and a copy source, s3:DeleteObjectVersion for
DELETE and DeleteObjects entries. Any other version id is InvalidArgument.
10: the bucket owner's root user is authorized on bucket-policy calls like everyone else — its SCPs
bind it; only a *bucket policy's* Deny is waived, and only for Get/Put/DeleteBucketPolicy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server, start_server
from tests.e2e.test_s3_support import OWNER, bucket, error_of, policy, raw, root, s3_client, user

_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]


def _caller(server: Server, *actions: str) -> Any:
    _arn, key = user(server, OWNER, {"Effect": "Allow", "Action": list(actions), "Resource": "*"})
    return s3_client(server, key)


def _denied(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return error_of(caught)[:2]


def test_null_version_reads_need_get_object_version(server: Server) -> None:
    name = bucket(server, root(server))
    s3_client(server, root(server)).put_object(Bucket=name, Key="k", Body=b"v")
    plain = _caller(server, *_OBJECT_ACTIONS)
    assert plain.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    assert _denied(plain.get_object, Bucket=name, Key="k", VersionId="null") == ("AccessDenied", 403)
    head = raw(server, "HEAD", f"/{name}/k?versionId=null", _key_of(plain))
    assert head.status == 403
    versioned = _caller(server, *_OBJECT_ACTIONS, "s3:GetObjectVersion")
    body = versioned.get_object(Bucket=name, Key="k", VersionId="null")["Body"].read()
    assert body == b"v"
    assert _denied(
        versioned.get_object, Bucket=name, Key="k", VersionId="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    ) == (
        "InvalidArgument",
        400,
    )


def test_null_version_deletes_need_delete_object_version(server: Server) -> None:
    owner = s3_client(server, root(server))
    name = bucket(server, root(server))
    owner.put_object(Bucket=name, Key="k", Body=b"v")
    plain = _caller(server, *_OBJECT_ACTIONS)
    assert _denied(plain.delete_object, Bucket=name, Key="k", VersionId="null") == ("AccessDenied", 403)
    result = plain.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "VersionId": "null"}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    assert owner.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    versioned = _caller(server, *_OBJECT_ACTIONS, "s3:DeleteObjectVersion")
    result = versioned.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "VersionId": "null"}]})
    assert result["Deleted"] == [{"Key": "k", "VersionId": "null"}]
    owner.put_object(Bucket=name, Key="k", Body=b"v")
    versioned.delete_object(Bucket=name, Key="k", VersionId="null")
    assert owner.list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_null_version_copy_source_needs_get_object_version(server: Server) -> None:
    name = bucket(server, root(server))
    s3_client(server, root(server)).put_object(Bucket=name, Key="src", Body=b"v")
    source = {"Bucket": name, "Key": "src", "VersionId": "null"}
    plain = _caller(server, *_OBJECT_ACTIONS)
    plain.copy_object(Bucket=name, Key="a", CopySource={"Bucket": name, "Key": "src"})
    assert _denied(plain.copy_object, Bucket=name, Key="b", CopySource=source) == ("AccessDenied", 403)
    versioned = _caller(server, *_OBJECT_ACTIONS, "s3:GetObjectVersion")
    versioned.copy_object(Bucket=name, Key="b", CopySource=source)
    bad = {"Bucket": name, "Key": "src", "VersionId": "other"}
    assert _denied(versioned.copy_object, Bucket=name, Key="c", CopySource=bad) == ("InvalidArgument", 400)


def _key_of(client: Any) -> tuple[str, str]:
    credentials = client._request_signer._credentials
    return credentials.access_key, credentials.secret_key


# --- finding 10 ---------------------------------------------------------------------------------

SCP_ACCOUNT = "444455556666"
_CONFIG = f"""Accounts:
  - AccountId: "{SCP_ACCOUNT}"
    ServiceControlPolicies:
      - {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: "*", Resource: "*"}}]}}
      - {{Version: "2012-10-17",
         Statement: [{{Effect: Deny, Action: ["s3:PutBucketPolicy", "s3:GetBucketPolicy"],
                       Resource: "arn:aws:s3:::scp-locked-*"}}]}}
"""


@pytest.fixture(scope="module")
def scp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: an account whose SCPs deny bucket-policy calls on scp-locked-* buckets."""
    data: Path = tmp_path_factory.mktemp("scp")
    config = data / "bootstrap.yaml"
    config.write_text(_CONFIG)
    running = start_server(data / "data", "--config", str(config))
    yield running
    running.stop()


def test_an_scp_binds_the_root_on_bucket_policy_calls(scp_server: Server) -> None:
    key = root(scp_server, SCP_ACCOUNT)
    s3 = s3_client(scp_server, key)
    locked = bucket(scp_server, key, "scp-locked")
    document = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{locked}/*",
        }
    )
    code, status = _denied(s3.put_bucket_policy, Bucket=locked, Policy=document)
    assert (code, status) == ("AccessDenied", 403)
    assert _denied(s3.get_bucket_policy, Bucket=locked)[0] == "AccessDenied"
    free = bucket(scp_server, key, "free")
    s3.put_bucket_policy(Bucket=free, Policy=document.replace(locked, free))  # SCP allows elsewhere


def test_the_root_lockout_exception_is_the_bucket_policy_deny_only(scp_server: Server) -> None:
    """A bucket policy that denies everyone everything: the root may still get, replace and delete
    it — but GetBucketPolicyStatus has no such exception."""
    key = root(scp_server, SCP_ACCOUNT)
    s3 = s3_client(scp_server, key)
    name = bucket(scp_server, key, "lockout")
    deny_all = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        }
    )
    s3.put_bucket_policy(Bucket=name, Policy=deny_all)
    assert s3.get_bucket_policy(Bucket=name)["Policy"] == deny_all
    assert _denied(s3.get_bucket_policy_status, Bucket=name) == ("AccessDenied", 403)
    s3.put_bucket_policy(Bucket=name, Policy=deny_all)
    s3.delete_bucket_policy(Bucket=name)

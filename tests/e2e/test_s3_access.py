"""S3 guarded by IAM: identity policies, condition keys, bucket policies, cross-account access with
role sessions, anonymous access, and who may manage a bucket policy."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import (
    OTHER,
    OWNER,
    assume,
    bucket,
    error_of,
    policy,
    raw,
    role,
    root,
    s3_client,
    uid,
    user,
)


def _denied(call: object) -> str:
    with pytest.raises(ClientError) as caught:
        call()  # type: ignore[operator]
    code, status, message = error_of(caught)
    assert (code, status) == ("AccessDenied", 403)
    return message


def test_identity_policy_decides_within_the_account(server: Server) -> None:
    name = bucket(server, root(server))
    s3_client(server, root(server)).put_object(Bucket=name, Key="doc", Body=b"data")
    arn, nothing = user(server, OWNER)
    message = _denied(lambda: s3_client(server, nothing).get_object(Bucket=name, Key="doc"))
    assert message == (
        f'User: {arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{name}/doc" '
        "because no identity-based policy allows the s3:GetObject action"
    )
    _arn, reader = user(
        server, OWNER, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
    )
    client = s3_client(server, reader)
    assert client.get_object(Bucket=name, Key="doc")["Body"].read() == b"data"
    _denied(lambda: client.put_object(Bucket=name, Key="doc", Body=b"no"))
    _denied(lambda: client.list_objects_v2(Bucket=name))
    _denied(lambda: client.get_object(Bucket=name, Key="missing"))  # no s3:ListBucket: 403, not 404
    _denied(lambda: client.list_buckets())


def test_list_bucket_prefix_condition(server: Server) -> None:
    name = bucket(server, root(server))
    owner = s3_client(server, root(server))
    for key in ("home/alice/a", "home/bob/b"):
        owner.put_object(Bucket=name, Key=key, Body=b"x")
    statement = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{name}",
        "Condition": {"StringLike": {"s3:prefix": "home/alice/*"}},
    }
    _arn, key = user(server, OWNER, statement)
    client = s3_client(server, key)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name, Prefix="home/alice/")["Contents"]]
    assert keys == ["home/alice/a"]
    _denied(lambda: client.list_objects_v2(Bucket=name, Prefix="home/bob/"))
    _denied(lambda: client.list_objects_v2(Bucket=name))


def test_bucket_policy_grants_and_denies_in_the_same_account(server: Server) -> None:
    arn, key = user(server, OWNER, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    grant_arn, granted = user(server, OWNER)
    document = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": grant_arn},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": arn},
            "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
        },
    )
    name = bucket(server, root(server), bucket_policy=document)
    s3_client(server, key).put_object(Bucket=name, Key="k", Body=b"v")
    # the bucket policy alone grants a user of the same account
    assert s3_client(server, granted).get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    message = _denied(lambda: s3_client(server, key).delete_object(Bucket=name, Key="k"))
    assert "with an explicit deny in a resource-based policy" in message


def test_cross_account_role_sessions(server: Server) -> None:
    """A bucket of 123456789012 shared with a role of 123456789010: readable by that role's
    sessions (their identity policy allowing it) and by nobody else."""
    reader_role = role(
        server, OTHER, f"arn:aws:iam::{OTHER}:root", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    other_role = role(
        server, OTHER, f"arn:aws:iam::{OTHER}:root", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    shared = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": reader_role},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"],
        },
    )
    name = bucket(server, root(server, OWNER), bucket_policy=shared)
    s3_client(server, root(server, OWNER)).put_object(Bucket=name, Key="shared.txt", Body=b"for the role")
    caller_arn, caller = user(server, OTHER, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    del caller_arn
    session = assume(server, caller, reader_role)
    client = s3_client(server, session.key, session.token)
    assert client.get_object(Bucket=name, Key="shared.txt")["Body"].read() == b"for the role"
    assert [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]] == ["shared.txt"]
    assert _denied(lambda: client.put_object(Bucket=name, Key="x", Body=b"no")) == "Access Denied"
    stranger = assume(server, caller, other_role)
    _denied(lambda: s3_client(server, stranger.key, stranger.token).get_object(Bucket=name, Key="shared.txt"))
    _denied(lambda: s3_client(server, root(server, OTHER)).get_object(Bucket=name, Key="shared.txt"))
    _arn, same_account = user(server, OWNER)
    _denied(lambda: s3_client(server, same_account).get_object(Bucket=name, Key="shared.txt"))


def test_cross_account_needs_both_sides(server: Server) -> None:
    """The bucket policy grants a role, but the role's own policy does not allow S3: denied."""
    bare_role = role(server, OTHER, f"arn:aws:iam::{OTHER}:root")
    shared = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": bare_role},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
        }
    )
    name = bucket(server, root(server, OWNER), bucket_policy=shared)
    s3_client(server, root(server, OWNER)).put_object(Bucket=name, Key="k", Body=b"v")
    _arn, caller = user(server, OTHER, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    session = assume(server, caller, bare_role)
    _denied(lambda: s3_client(server, session.key, session.token).get_object(Bucket=name, Key="k"))


def test_cross_account_user_with_bucket_policy(server: Server) -> None:
    granted_arn, granted = user(server, OTHER, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    shared = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": granted_arn},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
        }
    )
    name = bucket(server, root(server, OWNER), bucket_policy=shared)
    s3_client(server, root(server, OWNER)).put_object(Bucket=name, Key="k", Body=b"v")
    assert s3_client(server, granted).get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    _arn, ungranted = user(server, OTHER, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    _denied(lambda: s3_client(server, ungranted).get_object(Bucket=name, Key="k"))


def _anonymous(url: str, method: str = "GET", data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method), timeout=30
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_anonymous_access_only_with_a_public_policy(server: Server) -> None:
    s3 = s3_client(server, root(server))
    private = bucket(server, root(server))
    s3.put_object(Bucket=private, Key="k", Body=b"secret")
    assert _anonymous(f"{server.endpoint}/{private}/k") == 403
    public = bucket(
        server,
        root(server),
        bucket_policy=policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::BUCKET/*",
            }
        ),
    )
    s3.put_object(Bucket=public, Key="k", Body=b"public")
    with urllib.request.urlopen(f"{server.endpoint}/{public}/k", timeout=30) as response:
        assert response.read() == b"public"
    assert _anonymous(f"{server.endpoint}/{public}/k", "PUT", b"vandal") == 403
    assert _anonymous(f"{server.endpoint}/{public}?list-type=2") == 403
    assert _anonymous(f"{server.endpoint}/") == 403
    assert s3.get_bucket_policy_status(Bucket=public)["PolicyStatus"]["IsPublic"] is True


def test_bucket_policy_management(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server))
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_policy(Bucket=name)
    assert error_of(caught)[:2] == ("NoSuchBucketPolicy", 404)
    restricted = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    s3.put_bucket_policy(Bucket=name, Policy=restricted)
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) == json.loads(restricted)
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    with pytest.raises(ClientError) as caught:
        s3_client(server, root(server, OTHER)).get_bucket_policy(Bucket=name)
    assert error_of(caught)[:2] == ("MethodNotAllowed", 405)
    s3.delete_bucket_policy(Bucket=name)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=name)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::elsewhere/*",
            },
            "Policy has invalid resource",
        ),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "iam:GetUser",
                "Resource": "arn:aws:s3:::BUCKET/*",
            },
            "Policy has invalid action",
        ),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/*"},
            "Missing required field Principal",
        ),
    ],
)
def test_malformed_bucket_policies(server: Server, statement: dict[str, object], message: str) -> None:
    name = bucket(server, root(server))
    with pytest.raises(ClientError) as caught:
        s3_client(server, root(server)).put_bucket_policy(
            Bucket=name, Policy=policy(statement).replace("BUCKET", name)
        )
    assert error_of(caught) == ("MalformedPolicy", 400, message)


def test_root_is_never_locked_out(server: Server) -> None:
    lockout = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"],
        }
    )
    name = bucket(server, root(server), bucket_policy=lockout)
    s3 = s3_client(server, root(server))
    _denied(lambda: s3.put_object(Bucket=name, Key="k", Body=b"v"))
    s3.delete_bucket_policy(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"v")


def test_delete_objects_reports_denials_per_key(server: Server) -> None:
    name = bucket(server, root(server))
    owner = s3_client(server, root(server))
    for key in ("mine/a", "theirs/b"):
        owner.put_object(Bucket=name, Key=key, Body=b"x")
    _arn, key = user(
        server,
        OWNER,
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{name}/mine/*"},
    )
    result = s3_client(server, key).delete_objects(
        Bucket=name, Delete={"Objects": [{"Key": "mine/a"}, {"Key": "theirs/b"}]}
    )
    assert [d["Key"] for d in result["Deleted"]] == ["mine/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("theirs/b", "AccessDenied")]
    assert [o["Key"] for o in owner.list_objects_v2(Bucket=name)["Contents"]] == ["theirs/b"]


def test_unique_names_helper_is_bucket_safe() -> None:
    assert uid("x").islower()


def test_s3_condition_keys_of_the_signature(server: Server) -> None:
    """s3:authType tells header auth from presigned URLs; s3:x-amz-content-sha256 the payload mode."""
    document = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
            "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}},
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::BUCKET/*",
            "Condition": {"StringEquals": {"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}},
        },
    )
    name = bucket(server, root(server), bucket_policy=document)
    s3 = s3_client(server, root(server))
    s3.put_object(Bucket=name, Key="k", Body=b"signed payload")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"signed payload"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "k"})
    assert _anonymous(url) == 403
    unsigned = raw(server, "PUT", f"/{name}/u", root(server), b"x", payload_hash="UNSIGNED-PAYLOAD")
    assert unsigned.status == 403 and b"<Code>AccessDenied</Code>" in unsigned.body


def test_expired_and_tampered_session_tokens(server: Server) -> None:
    name = bucket(server, root(server))
    role_arn = role(
        server, OWNER, f"arn:aws:iam::{OWNER}:root", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    _arn, caller = user(server, OWNER, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    session = assume(server, caller, role_arn)
    tampered = session.token[:-8] + ("A" * 8 if not session.token.endswith("A" * 8) else "B" * 8)
    with pytest.raises(ClientError) as caught:
        s3_client(server, session.key, tampered).list_objects_v2(Bucket=name)
    assert error_of(caught)[:2] == ("InvalidToken", 400)
    sts = server.client("sts", key=caller, parameter_validation=False)
    short = sts.assume_role(RoleArn=role_arn, RoleSessionName="short", DurationSeconds=1)["Credentials"]
    time.sleep(2.1)
    client = s3_client(server, (short["AccessKeyId"], short["SecretAccessKey"]), short["SessionToken"])
    with pytest.raises(ClientError) as caught:
        client.list_objects_v2(Bucket=name)
    assert error_of(caught) == ("ExpiredToken", 400, "The provided token has expired.")

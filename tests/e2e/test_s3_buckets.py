"""S3 buckets through boto3 and raw requests: create, head, list, location, delete, names, errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import OTHER, OWNER, error_of, raw, root, s3_client, send, signed_headers, uid


def test_bucket_lifecycle(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = uid("life")
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=name)
    assert error_of(caught)[:2] == ("404", 404)


def test_list_buckets_shows_only_the_callers_account(server: Server) -> None:
    mine, theirs = uid("mine"), uid("theirs")
    s3_client(server, root(server, OWNER)).create_bucket(Bucket=mine)
    s3_client(server, root(server, OWNER)).create_bucket(Bucket=uid("mine"))
    s3_client(server, root(server, OTHER)).create_bucket(Bucket=theirs)
    names = [b["Name"] for b in s3_client(server, root(server, OWNER)).list_buckets()["Buckets"]]
    assert mine in names and theirs not in names
    page = s3_client(server, root(server, OWNER)).list_buckets(MaxBuckets=1)
    assert len(page["Buckets"]) == 1 and page.get("ContinuationToken")


def test_names_are_global(server: Server) -> None:
    name = uid("global")
    owner = s3_client(server, root(server, OWNER))
    owner.create_bucket(Bucket=name)
    with pytest.raises(ClientError) as caught:
        s3_client(server, root(server, OTHER)).create_bucket(Bucket=name)
    code, status, _ = error_of(caught)
    assert (code, status) == ("BucketAlreadyExists", 409)
    assert caught.value.response["Error"]["BucketName"] == name
    owner.create_bucket(Bucket=name)  # us-east-1: 200 OK for legacy compatibility


def test_bucket_already_owned_outside_us_east_1(server: Server) -> None:
    name = uid("euro")
    s3 = s3_client(server, root(server), region="eu-west-1")
    config = {"LocationConstraint": "eu-west-1"}
    s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=config)
    assert error_of(caught)[:2] == ("BucketAlreadyOwnedByYou", 409)
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=uid("euro"), CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert error_of(caught)[0] == "IllegalLocationConstraintException"


@pytest.mark.parametrize(
    "name",
    ["ab", "Upper-Case-Name", "bad..dots", "192.168.10.1", "-starts-with-dash", "xn--reserved", "a" * 64],
)
def test_invalid_bucket_names(server: Server, name: str) -> None:
    response = raw(server, "PUT", f"/{name}", root(server))
    assert response.status == 400
    assert b"<Code>InvalidBucketName</Code>" in response.body


def test_delete_bucket_errors(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = uid("full")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=name)
    assert error_of(caught)[:2] == ("BucketNotEmpty", 409)
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=uid("missing"))
    code, status, message = error_of(caught)
    assert (code, status, message) == ("NoSuchBucket", 404, "The specified bucket does not exist")
    with pytest.raises(ClientError) as caught:
        s3_client(server, root(server, OTHER)).delete_bucket(Bucket=name)
    assert error_of(caught)[:3] == ("AccessDenied", 403, "Access Denied")


def test_virtual_host_style(server: Server) -> None:
    s3 = s3_client(server, root(server))
    name = uid("vhost")
    s3.create_bucket(Bucket=name)
    port = server.endpoint.rsplit(":", 1)[1]
    host = f"{name}.localhost:{port}"
    headers = signed_headers(server, "PUT", "/dir/file.txt", root(server), b"virtual", {"Host": host})
    headers["Host"] = host
    assert send(server, "PUT", "/dir/file.txt", headers, b"virtual").status == 200
    assert s3.get_object(Bucket=name, Key="dir/file.txt")["Body"].read() == b"virtual"
    listing = signed_headers(server, "GET", "/?list-type=2", root(server), headers={"Host": host})
    response = send(server, "GET", "/?list-type=2", listing)
    assert response.status == 200 and b"<Key>dir/file.txt</Key>" in response.body


def test_unsupported_subresource_is_not_implemented(server: Server) -> None:
    name = uid("sub")
    s3_client(server, root(server)).create_bucket(Bucket=name)
    response = raw(server, "GET", f"/{name}?website", root(server))
    assert response.status == 501 and b"<Code>NotImplemented</Code>" in response.body

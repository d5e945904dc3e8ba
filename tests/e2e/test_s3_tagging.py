"""S3 tagging through boto3 and the aws CLI: object and bucket tag sets, x-amz-tagging on
PutObject, CopyObject and multipart uploads, x-amz-tagging-count, and S3's limits and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_s3_support import OWNER, aws_cli, bucket, error_of, raw, root, s3_client, tag_set

MIB = 1024 * 1024


def _tags(client: Any, name: str, key: str) -> list[tuple[str, str]]:
    return [(t["Key"], t["Value"]) for t in client.get_object_tagging(Bucket=name, Key=key)["TagSet"]]


def _refused(call: Any) -> tuple[str, int, str, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    code, status, message = error_of(caught)
    return code, status, message, caught.value.response["Error"]


def test_object_tag_set_round_trip(server: Server) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    client.put_object(Bucket=name, Key="doc", Body=b"hello")
    assert _tags(client, name, "doc") == []
    assert (
        "x-amz-tagging-count"
        not in client.head_object(Bucket=name, Key="doc")["ResponseMetadata"]["HTTPHeaders"]
    )
    ten = [(f"key-{n}", f"value-{n}") for n in range(7)]
    ten += [("b c+d-e=f.g_h:i/j@k", "2 + 2 = 4"), ("empty", ""), ("𝒜" * 128, "文" * 256)]
    client.put_object_tagging(Bucket=name, Key="doc", Tagging=tag_set(ten))
    assert _tags(client, name, "doc") == ten
    assert client.get_object(Bucket=name, Key="doc")["TagCount"] == 10
    assert (
        client.head_object(Bucket=name, Key="doc")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"]
        == "10"
    )
    client.put_object_tagging(Bucket=name, Key="doc", Tagging=tag_set([("only", "one")]))
    assert _tags(client, name, "doc") == [("only", "one")]
    deleted = client.delete_object_tagging(Bucket=name, Key="doc")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _tags(client, name, "doc") == []
    assert "TagCount" not in client.get_object(Bucket=name, Key="doc")
    client.put_object(Bucket=name, Key="doc", Body=b"again")  # a new object: no tags of the old one
    assert _tags(client, name, "doc") == []


@pytest.mark.parametrize(
    ("header", "pairs"),
    [
        ("a=1&b=2", [("a", "1"), ("b", "2")]),
        ("a&b=", [("a", ""), ("b", "")]),
        ("a%20b=c%2Bd&e+f=g=h", [("a b", "c+d"), ("e f", "g=h")]),
        ("%C3%BC=%E6%96%87", [("ü", "文")]),
    ],
)
def test_the_tagging_header_of_an_upload(server: Server, header: str, pairs: list[tuple[str, str]]) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    client.put_object(Bucket=name, Key="doc", Body=b"x", Tagging=header)
    assert _tags(client, name, "doc") == pairs


INVALID_KEY = "The TagKey you have provided is invalid"
INVALID_VALUE = "The TagValue you have provided is invalid"


@pytest.mark.parametrize(
    ("pairs", "code", "message", "fields"),
    [
        ([(f"key-{n}", "") for n in range(11)], "BadRequest", "Object tags cannot be greater than 10", {}),
        (
            [("a", "1"), ("a", "2")],
            "InvalidTag",
            "Cannot provide multiple Tags with the same key",
            {"TagKey": "a"},
        ),
        ([("k" * 129, "")], "InvalidTag", INVALID_KEY, {"TagKey": "k" * 129}),
        ([("k", "v" * 257)], "InvalidTag", INVALID_VALUE, {"TagKey": "k", "TagValue": "v" * 257}),
        ([("a,b", "v")], "InvalidTag", INVALID_KEY, {"TagKey": "a,b"}),
        ([("a\tb", "v")], "InvalidTag", INVALID_KEY, {"TagKey": "a\tb"}),
        ([("k", "😀")], "InvalidTag", INVALID_VALUE, {"TagKey": "k", "TagValue": "😀"}),
        ([("k", "a?b")], "InvalidTag", INVALID_VALUE, {"TagKey": "k", "TagValue": "a?b"}),
        (
            [("aws:cost", "v")],
            "InvalidTag",
            "System tags cannot be added/updated by requester",
            {"TagKey": "aws:cost"},
        ),
        (
            [("AWS:cost", "v")],
            "InvalidTag",
            "System tags cannot be added/updated by requester",
            {"TagKey": "AWS:cost"},
        ),
    ],
)
def test_tag_sets_s3_refuses(
    server: Server, pairs: list[tuple[str, str]], code: str, message: str, fields: dict[str, str]
) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    client.put_object(Bucket=name, Key="doc", Body=b"x", Tagging="kept=1")
    got_code, status, got_message, error = _refused(
        lambda: client.put_object_tagging(Bucket=name, Key="doc", Tagging=tag_set(pairs))
    )
    assert (got_code, status, got_message) == (code, 400, message)
    assert {k: error[k] for k in fields} == fields
    assert _tags(client, name, "doc") == [("kept", "1")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<Tagging><TagSet>", "MalformedXML"),
        (b"<Tagging></Tagging>", "MalformedXML"),
        (b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", "MalformedXML"),
        (b"<Tags><TagSet></TagSet></Tags>", "MalformedXML"),
        (b"", "MissingRequestBodyError"),
        (b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>", "InvalidTag"),
    ],
)
def test_tagging_documents_s3_refuses(server: Server, body: bytes, code: str) -> None:
    key = root(server)
    name = bucket(server, key)
    s3_client(server, key).put_object(Bucket=name, Key="doc", Body=b"x")
    answer = raw(server, "PUT", f"/{name}/doc?tagging", key, body)
    assert answer.status == 400
    assert f"<Code>{code}</Code>".encode() in answer.body


HEADER_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
    "without tag name duplicates."
)


@pytest.mark.parametrize("header", ["a=1&a=2", "=1", "a=%FF"])
def test_tagging_headers_s3_refuses(server: Server, header: str) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    code, status, message, error = _refused(
        lambda: client.put_object(Bucket=name, Key="new", Body=b"x", Tagging=header)
    )
    assert (code, status, message) == ("InvalidArgument", 400, HEADER_MESSAGE)
    assert (error["ArgumentName"], error["ArgumentValue"]) == ("x-amz-tagging", header)
    eleven = "&".join(f"k{n}=" for n in range(11))
    assert (
        _refused(lambda: client.put_object(Bucket=name, Key="new", Body=b"x", Tagging=eleven))[0]
        == "BadRequest"
    )
    assert (
        _refused(lambda: client.put_object(Bucket=name, Key="new", Body=b"x", Tagging="aws:c=1"))[0]
        == "InvalidTag"
    )
    assert client.list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_tagging_a_key_that_does_not_exist(server: Server) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    for call in (
        lambda: client.get_object_tagging(Bucket=name, Key="missing"),
        lambda: client.put_object_tagging(Bucket=name, Key="missing", Tagging=tag_set([("a", "1")])),
        lambda: client.delete_object_tagging(Bucket=name, Key="missing"),
    ):
        code, status, _message, error = _refused(call)
        assert (code, status, error["Key"]) == ("NoSuchKey", 404, "missing")
    assert (
        _refused(lambda: client.get_object_tagging(Bucket="no-such-bucket-tagging", Key="k"))[0]
        == "NoSuchBucket"
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, [("a", "1")]),
        ({"TaggingDirective": "COPY", "Tagging": "b=2"}, [("a", "1")]),
        ({"TaggingDirective": "REPLACE", "Tagging": "b=2&c=3"}, [("b", "2"), ("c", "3")]),
        ({"TaggingDirective": "REPLACE"}, []),
    ],
)
def test_copy_object_tagging_directive(
    server: Server, headers: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    client.put_object(Bucket=name, Key="source", Body=b"hello", Tagging="a=1")
    client.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "source"}, **headers)
    assert _tags(client, name, "copy") == expected
    assert _tags(client, name, "source") == [("a", "1")]


def test_copy_object_refusals(server: Server) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    client.put_object(Bucket=name, Key="source", Body=b"hello")
    source = {"Bucket": name, "Key": "source"}
    code, status, message, error = _refused(
        lambda: client.copy_object(Bucket=name, Key="copy", CopySource=source, TaggingDirective="MERGE")
    )
    assert (code, status, message) == ("InvalidArgument", 400, "Unknown tagging directive.")
    assert (error["ArgumentName"], error["ArgumentValue"]) == ("x-amz-tagging-directive", "MERGE")
    itself = _refused(
        lambda: client.copy_object(
            Bucket=name, Key="source", CopySource=source, TaggingDirective="REPLACE", Tagging="b=2"
        )
    )
    assert itself[:2] == ("InvalidRequest", 400)


def test_multipart_upload_tags_apply_at_completion(server: Server) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    upload = client.create_multipart_upload(Bucket=name, Key="big", Tagging="team=blue&tier=1")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * (5 * MIB)), (2, b"tail")):
        etag = client.upload_part(Bucket=name, Key="big", UploadId=upload, PartNumber=number, Body=body)[
            "ETag"
        ]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(
        Bucket=name, Key="big", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    assert _tags(client, name, "big") == [("team", "blue"), ("tier", "1")]
    assert (
        client.head_object(Bucket=name, Key="big")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"]
        == "2"
    )
    assert (
        _refused(lambda: client.create_multipart_upload(Bucket=name, Key="x", Tagging="a=1&a=2"))[0]
        == "InvalidArgument"
    )


def test_bucket_tag_set_round_trip(server: Server) -> None:
    client = s3_client(server, root(server))
    name = bucket(server, root(server))
    code, status, message, error = _refused(lambda: client.get_bucket_tagging(Bucket=name))
    assert (code, status, message, error["BucketName"]) == (
        "NoSuchTagSet",
        404,
        "The TagSet does not exist",
        name,
    )
    fifty = [(f"cost-{n}", str(n)) for n in range(50)]
    put = client.put_bucket_tagging(Bucket=name, Tagging=tag_set(fifty))
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert [(t["Key"], t["Value"]) for t in client.get_bucket_tagging(Bucket=name)["TagSet"]] == fifty
    too_many = tag_set([(f"cost-{n}", "") for n in range(51)])
    refused = _refused(lambda: client.put_bucket_tagging(Bucket=name, Tagging=too_many))
    assert refused[:3] == ("BadRequest", 400, "Bucket tag count cannot be greater than 50")
    assert (
        _refused(lambda: client.put_bucket_tagging(Bucket=name, Tagging=tag_set([("aws:x", "1")])))[0]
        == "InvalidTag"
    )
    assert client.delete_bucket_tagging(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _refused(lambda: client.get_bucket_tagging(Bucket=name))[0] == "NoSuchTagSet"
    client.delete_bucket(Bucket=name)


def test_abac_configuration_is_not_implemented(server: Server) -> None:
    key = root(server)
    name = bucket(server, key)
    assert raw(server, "GET", f"/{name}?abac", key).status == 501


def test_the_aws_cli_tags_objects_and_buckets(server: Server) -> None:
    key = root(server, OWNER)
    name = bucket(server, key)
    s3_client(server, key).put_object(Bucket=name, Key="doc", Body=b"x")
    tagging = json.dumps(tag_set([("team", "blue"), ("env", "prod")]))
    aws_cli(
        server, key, "s3api", "put-object-tagging", "--bucket", name, "--key", "doc", "--tagging", tagging
    )
    listed = json.loads(aws_cli(server, key, "s3api", "get-object-tagging", "--bucket", name, "--key", "doc"))
    assert listed["TagSet"] == [{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "prod"}]
    aws_cli(
        server,
        key,
        "s3api",
        "put-bucket-tagging",
        "--bucket",
        name,
        "--tagging",
        "TagSet=[{Key=cc,Value=42}]",
    )
    listed = json.loads(aws_cli(server, key, "s3api", "get-bucket-tagging", "--bucket", name))
    assert listed["TagSet"] == [{"Key": "cc", "Value": "42"}]
    aws_cli(server, key, "s3api", "put-object", "--bucket", name, "--key", "tagged", "--tagging", "a=1&b=2")
    head = json.loads(
        aws_cli(server, key, "s3api", "get-object-tagging", "--bucket", name, "--key", "tagged")
    )
    assert head["TagSet"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]


def _pairs(tag_set: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(t["Key"], t["Value"]) for t in tag_set]


def test_each_version_has_its_own_tags(server: Server) -> None:
    """In a versioned bucket the tagging operations act on the version ``VersionId`` names (else
    the latest), answer its ``x-amz-version-id``, and a delete marker has no tags."""
    client = s3_client(server, root(server))
    name = bucket(server, root(server), prefix="tagver")
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    first = client.put_object(Bucket=name, Key="k", Body=b"1", Tagging="v=one")["VersionId"]
    second = client.put_object(Bucket=name, Key="k", Body=b"2", Tagging="v=two")["VersionId"]
    assert _tags(client, name, "k") == [("v", "two")]
    old = client.get_object_tagging(Bucket=name, Key="k", VersionId=first)
    assert old["VersionId"] == first and _pairs(old["TagSet"]) == [("v", "one")]
    put = client.put_object_tagging(
        Bucket=name, Key="k", VersionId=first, Tagging={"TagSet": [{"Key": "v", "Value": "uno"}]}
    )
    assert put["VersionId"] == first
    assert _pairs(client.get_object_tagging(Bucket=name, Key="k", VersionId=first)["TagSet"]) == [
        ("v", "uno")
    ]
    assert _tags(client, name, "k") == [("v", "two")]
    assert (
        client.head_object(Bucket=name, Key="k", VersionId=first)["ResponseMetadata"]["HTTPHeaders"][
            "x-amz-tagging-count"
        ]
        == "1"
    )
    marker = client.delete_object(Bucket=name, Key="k")["VersionId"]
    code, status, _message, _rest = _refused(lambda: client.get_object_tagging(Bucket=name, Key="k"))
    assert (code, status) == ("NoSuchKey", 404)
    code, status, _message, _rest = _refused(
        lambda: client.get_object_tagging(Bucket=name, Key="k", VersionId=marker)
    )
    assert (code, status) == ("MethodNotAllowed", 405)
    assert _pairs(client.get_object_tagging(Bucket=name, Key="k", VersionId=second)["TagSet"]) == [
        ("v", "two")
    ]

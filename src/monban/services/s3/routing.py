"""From an HTTP request to (bucket, key, operation), as botocore's S3 model lays the REST API out.

Path style ``/<bucket>/<key>`` or virtual-host style ``<bucket>.localhost/<key>``. The key is the
rest of the raw path, percent-decoded once and never normalised (S3 keeps ``..`` and ``//``).
The operation follows from the method, whether there is a key, the sub-resource query parameters
and, for PUT, the ``x-amz-copy-source`` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from monban import sigv4
from monban.protocol.errors import AwsError
from monban.services.s3.errors import not_implemented

# sub-resources of a bucket or object that monban does not implement (S3 would act on them)
_UNSUPPORTED = frozenset(
    {
        "abac",
        "accelerate",
        "analytics",
        "attributes",
        "cors",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metadataConfiguration",
        "metadataTable",
        "metrics",
        "notification",
        "object-lock",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "session",
        "torrent",
        "website",
        "renameObject",
    }
)


# bucket sub-resources that name no operation on an object
_UNSUPPORTED_ON_OBJECTS = _UNSUPPORTED | {"versioning", "versions"}


@dataclass(frozen=True, slots=True)
class Route:
    bucket: str | None
    key: str | None
    operation: str
    query: dict[str, str]


def query_params(raw: str) -> dict[str, str]:
    """Query parameters, first value wins; a bare name (``?uploads``) has the value ``""``."""
    out: dict[str, str] = {}
    if not raw:
        return out
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError as exc:
        raise AwsError("InvalidURI", "Couldn't parse the specified URI.") from exc
    for name, value in pairs:
        out.setdefault(name, value)
    return out


def _split(path: str, virtual_bucket: str | None) -> tuple[str | None, str | None]:
    try:
        if virtual_bucket is not None:
            key = (
                unquote(path[1:], errors="strict") if path.startswith("/") else unquote(path, errors="strict")
            )
            return virtual_bucket, key or None
        rest = path[1:] if path.startswith("/") else path
        bucket, slash, key = rest.partition("/")
        bucket = unquote(bucket, errors="strict")
        return (bucket or None), (unquote(key, errors="strict") if slash and key else None)
    except UnicodeDecodeError as exc:
        raise AwsError("InvalidURI", "Couldn't parse the specified URI.") from exc


def _service_operation(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "ListBuckets"
    raise AwsError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        extra={"Method": method, "ResourceType": "SERVICE"},
    )


def _bucket_operation(method: str, query: dict[str, str]) -> str:
    table = {
        "GET": (
            ("policy", "GetBucketPolicy"),
            ("policyStatus", "GetBucketPolicyStatus"),
            ("tagging", "GetBucketTagging"),
            ("location", "GetBucketLocation"),
            ("uploads", "ListMultipartUploads"),
            ("acl", "GetBucketAcl"),
            ("ownershipControls", "GetBucketOwnershipControls"),
            ("versioning", "GetBucketVersioning"),
            ("versions", "ListObjectVersions"),
        ),
        "PUT": (
            ("policy", "PutBucketPolicy"),
            ("tagging", "PutBucketTagging"),
            ("acl", "PutBucketAcl"),
            ("ownershipControls", "PutBucketOwnershipControls"),
            ("versioning", "PutBucketVersioning"),
        ),
        "DELETE": (
            ("policy", "DeleteBucketPolicy"),
            ("tagging", "DeleteBucketTagging"),
            ("ownershipControls", "DeleteBucketOwnershipControls"),
        ),
        "POST": (("delete", "DeleteObjects"),),
        "HEAD": (),
    }[method]
    for name, operation in table:
        if name in query:
            return operation
    if any(name in _UNSUPPORTED for name in query):
        raise not_implemented()
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    default = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method)
    if default is None:
        raise AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            extra={"Method": method, "ResourceType": "BUCKET"},
        )
    return default


_OBJECT_TAGGING = {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"}


def _object_operation(method: str, query: dict[str, str], copy_source: bool) -> str:
    if "acl" in query and method in ("GET", "PUT"):
        return "GetObjectAcl" if method == "GET" else "PutObjectAcl"
    if "tagging" in query and method in _OBJECT_TAGGING:
        return _OBJECT_TAGGING[method]
    if any(name in _UNSUPPORTED_ON_OBJECTS for name in query):
        raise not_implemented()
    upload = "uploadId" in query
    if method == "PUT":
        if upload and "partNumber" in query:
            return "UploadPartCopy" if copy_source else "UploadPart"
        return "CopyObject" if copy_source else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if upload:
            return "CompleteMultipartUpload"
        raise AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            extra={"Method": method, "ResourceType": "OBJECT"},
        )
    if method == "GET":
        return "ListParts" if upload else "GetObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if upload else "DeleteObject"
    return "HeadObject"


def route(http: sigv4.HttpRequest, virtual_bucket: str | None) -> Route:
    """Which S3 operation ``http`` is (MethodNotAllowed / NotImplemented when none)."""
    query = query_params(http.query)
    bucket, key = _split(http.path, virtual_bucket)
    method = http.method.upper()
    if bucket is None:
        return Route(None, None, _service_operation(method), query)
    if key is None:
        return Route(bucket, None, _bucket_operation(method, query), query)
    copy_source = http.header("x-amz-copy-source") is not None
    return Route(bucket, key, _object_operation(method, query, copy_source), query)

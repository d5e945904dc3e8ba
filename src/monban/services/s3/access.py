"""Authorization of S3 requests: the operation's action and resource, S3's condition keys, the
bucket policy as the resource policy, and S3's AccessDenied wording.

IAM User Guide, "Policy evaluation logic", and Amazon S3 User Guide, "How Amazon S3 authorizes a
request": the bucket owner's account is the resource account; its bucket policy is the resource
policy (compiled once per content, see ``access.authz.compiled``); a caller of another account
needs both sides to allow; an anonymous caller only the bucket policy. S3 adds context to access
denied messages for requests within the bucket owner's account ("User: <arn> is not authorized to
perform: <action> on resource: "<arn>" because …"); other callers get "Access Denied".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from monban.access.audit import denial_reason
from monban.access.authz import compiled, decide
from monban.policy import Decision, MalformedPolicyDocument, NamedPolicy, PolicyKind, denial_clause
from monban.protocol.errors import AwsError
from monban.services.s3 import tags as tag_sets
from monban.services.s3.call import S3Call
from monban.services.s3.errors import count_argument, invalid_argument
from monban.services.s3.names import bucket_arn, object_arn
from monban.services.s3.tags import Tags
from monban.store import principals
from monban.store.iam_read import PolicyText

Context = dict[str, str | Sequence[str] | None]
ACCESS_DENIED = "Access Denied"


@dataclass(frozen=True, slots=True)
class OperationRule:
    action: str
    resource: str  # "bucket" | "object" | "account"
    source_action: str | None
    condition_keys: tuple[str, ...]


@cache
def rules() -> Mapping[str, OperationRule]:
    """The packaged S3 operation → IAM action table (``monban/data/s3-actions.json``)."""
    text = resources.files("monban").joinpath("data/s3-actions.json").read_text()
    table = json.loads(text)["operations"]
    return {
        name: OperationRule(
            row["action"], row["resource"], row.get("source_action"), tuple(row.get("condition_keys", ()))
        )
        for name, row in table.items()
    }


@dataclass(frozen=True, slots=True)
class BucketFacts:
    """What authorization needs of a bucket: its owner and policy text (and its versioning state,
    None while unversioned, for the answers that name versions)."""

    name: str
    owner: str
    region: str
    policy: str | None
    versioning: str | None = None


_DENY_ALL_BUT_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":'
    '["s3:GetBucketPolicy","s3:PutBucketPolicy","s3:DeleteBucketPolicy"],"Resource":"*"}]}'
)


def bucket_policy(facts: BucketFacts) -> NamedPolicy | None:
    """The compiled bucket policy (shared compile cache), or None."""
    if not facts.policy:
        return None
    name = f"arn:aws:s3:::{facts.name}/bucket-policy"
    try:
        return compiled(PolicyText(name, facts.policy), PolicyKind.RESOURCE, principals.load_bound_policy)
    except MalformedPolicyDocument:
        # Validated on write; one that no longer compiles fails closed: it denies everything but
        # reading and replacing the bucket policy itself, so the owner can still mend it.
        return compiled(
            PolicyText(f"{name} (invalid: denies everything)", _DENY_ALL_BUT_POLICY), PolicyKind.RESOURCE
        )


def request_keys(call: S3Call) -> Context:
    """Condition keys every S3 request carries (Service Authorization Reference for Amazon S3)."""
    values: Context = {}
    signed = call.signed
    if signed is not None:
        values["s3:authType"] = "REST-QUERY-STRING" if signed.presigned else "REST-HEADER"
        values["s3:signatureversion"] = "AWS4-HMAC-SHA256"
        age = (call.info.now - signed.amz_date).total_seconds() * 1000
        values["s3:signatureAge"] = str(max(0, int(age)))
        if signed.payload_hash:  # the signed payload mode, never an unsigned header's claim
            values["s3:x-amz-content-sha256"] = signed.payload_hash
    return values


_HEADER_KEYS = {
    "s3:x-amz-acl": "x-amz-acl",
    "s3:x-amz-storage-class": "x-amz-storage-class",
    "s3:x-amz-server-side-encryption": "x-amz-server-side-encryption",
    "s3:x-amz-copy-source": "x-amz-copy-source",
    "s3:x-amz-metadata-directive": "x-amz-metadata-directive",
    "s3:if-match": "if-match",
    "s3:if-none-match": "if-none-match",
    "s3:x-amz-object-ownership": "x-amz-object-ownership",
    "s3:x-amz-grant-full-control": "x-amz-grant-full-control",
    "s3:x-amz-grant-read": "x-amz-grant-read",
    "s3:x-amz-grant-read-acp": "x-amz-grant-read-acp",
    "s3:x-amz-grant-write": "x-amz-grant-write",
    "s3:x-amz-grant-write-acp": "x-amz-grant-write-acp",
}


def _operation_key(call: S3Call, name: str) -> str | None:
    if name == "s3:max-keys":  # the number the handler reads, as it reads it (count_argument)
        for parameter in ("max-keys", "max-uploads"):
            text = call.query.get(parameter)
            if text is not None:
                return str(count_argument(text, parameter))
        return None
    if name in ("s3:prefix", "s3:delimiter"):
        return call.query.get(name[3:])
    header = _HEADER_KEYS.get(name)
    return call.header(header) if header is not None else None


def operation_keys(call: S3Call, names: Sequence[str]) -> Context:
    """The operation-specific keys listed for it in the table, from headers and query."""
    values: Context = {}
    for name in names:
        value = _operation_key(call, name)
        if value is not None:
            values[name] = value
    return values


def denial(call: S3Call, action: str, resource: str, decision: Decision, owner: str | None) -> AwsError:
    """S3's AccessDenied: detailed within the owner's account, plain "Access Denied" otherwise."""
    caller = call.caller
    reason = denial_reason(action, resource, decision)
    if caller.is_anonymous or (owner is not None and owner != caller.account) or not decision.reason:
        return AwsError("AccessDenied", ACCESS_DENIED, reason=reason)
    return AwsError(
        "AccessDenied",
        f'User: {caller.arn} is not authorized to perform: {action} on resource: "{resource}"'
        f"{denial_clause(decision)}",
        reason=reason,
    )


def check(
    call: S3Call,
    action: str,
    resource: str,
    bucket: BucketFacts | None,
    extra: Context | None = None,
) -> None:
    """Raise AccessDenied unless ``action`` on ``resource`` is allowed (runs in a worker thread)."""
    context = request_keys(call)
    if bucket is not None:
        context["s3:ResourceAccount"] = bucket.owner
        context["aws:ResourceAccount"] = bucket.owner
    if extra:
        context.update(extra)
    decision = decide(
        call.state,
        call.caller,
        call.info,
        action,
        resource,
        resource_account=bucket.owner if bucket is not None else None,
        extra_context=context,
        resource_policy=bucket_policy(bucket) if bucket is not None else None,
    )
    if not decision.allowed:
        raise denial(call, action, resource, decision, bucket.owner if bucket is not None else None)


# Operations that name one version of an object with ``versionId`` need the "…Version" action
# (Amazon S3 User Guide, "Required permissions for Amazon S3 API operations": GetObject with a
# versionId needs s3:GetObjectVersion, DeleteObject with one s3:DeleteObjectVersion, the tagging
# operations s3:…ObjectVersionTagging), with the s3:versionid condition key the Service
# Authorization Reference lists for those actions.
VERSION_ACTIONS = {
    "GetObject": "s3:GetObjectVersion",
    "HeadObject": "s3:GetObjectVersion",
    "DeleteObject": "s3:DeleteObjectVersion",
    "GetObjectAcl": "s3:GetObjectVersionAcl",
    "PutObjectAcl": "s3:PutObjectVersionAcl",
    "GetObjectTagging": "s3:GetObjectVersionTagging",
    "PutObjectTagging": "s3:PutObjectVersionTagging",
    "DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
}
NULL_VERSION = "null"
# the ids monban makes (``repo.new_version_id``): 32 URL-safe characters
_VERSION_ID = re.compile(r"[A-Za-z0-9_-]{32}")


def check_version_id(value: str, argument: str) -> None:
    """A version id monban can name: ``null`` or one of its own ids (InvalidArgument "Invalid
    version id specified" for anything else, as S3 answers an id it could not have made)."""
    if value == "":
        raise invalid_argument("Version id cannot be the empty string", argument, value)
    if value != NULL_VERSION and not _VERSION_ID.fullmatch(value):
        raise invalid_argument("Invalid version id specified", argument, value)


def version_action(call: S3Call, operation: str, action: str) -> tuple[str, Context]:
    """The action ``operation`` needs on this request, and the ``s3:versionid`` key when it names one."""
    version = call.query.get("versionId") if operation in VERSION_ACTIONS else None
    if version is None:
        return action, {}
    check_version_id(version, "versionId")
    return VERSION_ACTIONS[operation], {"s3:versionid": version}


def authorize_operation(
    call: S3Call,
    operation: str,
    bucket: BucketFacts | None,
    key: str | None = None,
    extra: Context | None = None,
    tags: Context | None = None,
) -> None:
    """The table's action for ``operation`` on its bucket/object ARN, with its condition keys.
    ``tags``: the tag keys of the object and of the request (``tags.existing_keys``,
    ``tags.request_keys``), which reach the engine where the catalogue lists them for the action
    (``access.authz.offered_keys``)."""
    rule = rules()[operation]
    if rule.resource == "account":
        if call.caller.is_anonymous:
            raise AwsError("AccessDenied", ACCESS_DENIED)
        resource = "arn:aws:s3:::*"
    elif rule.resource == "bucket":
        resource = bucket_arn(call.bucket)
    else:
        resource = object_arn(call.bucket, key if key is not None else call.key)
    action, version_keys = version_action(call, operation, rule.action)
    context = operation_keys(call, rule.condition_keys)
    context.update({name: value for name, value in (extra or {}).items() if name in rule.condition_keys})
    context.update(version_keys)
    context.update(tags or {})
    check(call, action, resource, bucket, context)


def now() -> datetime:
    return datetime.now(UTC)


def authorize_write(call: S3Call, operation: str, bucket: BucketFacts, tags: Tags) -> None:
    """An operation that writes an object (PutObject, CopyObject, CreateMultipartUpload) with the
    tags of its request: s3:PutObject with ``s3:RequestObjectTag/…`` and
    ``s3:RequestObjectTagKeys``, and, when it sets tags, s3:PutObjectTagging on the object too
    (Amazon S3 API Reference, PutObject: "To use this [x-amz-tagging] header, you must have the
    s3:PutObjectTagging permission"; User Guide, "Required permissions for Amazon S3 API
    operations", CopyObject and CreateMultipartUpload alike)."""
    keys = tag_sets.request_keys(tags)
    authorize_operation(call, operation, bucket, tags=keys)
    if tags:
        check(call, "s3:PutObjectTagging", object_arn(call.bucket, call.key), bucket, keys)


def may_read_tags(call: S3Call, bucket: BucketFacts, key: str, tags: Tags) -> bool:
    """Whether the caller may read the tags of the object ``key`` has (s3:GetObjectTagging, with
    its ``s3:ExistingObjectTag/…``): GetObject and HeadObject answer ``x-amz-tagging-count`` only
    then (API Reference, GetObject: "when you have the relevant permission to read object tags")."""
    try:
        check(call, "s3:GetObjectTagging", object_arn(call.bucket, key), bucket, tag_sets.existing_keys(tags))
    except AwsError:
        return False
    return True

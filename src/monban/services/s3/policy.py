"""Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus.

Amazon S3 User Guide, "Bucket policies": a resource-based policy of at most 20 KB whose resources
are the bucket and its objects (MalformedPolicy "Policy has invalid resource" otherwise) and whose
actions are S3's. Only identities of the bucket owner's account may call these operations (405
MethodNotAllowed for others); the owner account's root user may always, even under an explicit
deny, so a bucket can never be locked out. "The meaning of 'public'": a policy is public when an
Allow grants a wildcard principal without fixing one of the restricting condition keys.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from monban.policy.model import PolicyDocument, Statement
from monban.protocol.errors import AwsError
from monban.services.s3 import repo
from monban.services.s3.access import BucketFacts, authorize_operation
from monban.services.s3.body import read_document
from monban.services.s3.call import S3Call
from monban.services.s3.registry import S3Result, empty, operation, xml_response
from monban.store import principals
from monban.store.s3_models import Bucket

MAX_POLICY_BYTES = 20 * 1024
INVALID_PRINCIPAL = "Invalid principal in policy"
_RESTRICTING_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    }
)


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicy", message)


def _check_resources(statement: Statement, bucket: str) -> None:
    own = f"arn:aws:s3:::{bucket}"
    for resource in (statement.resources or ()) + (statement.not_resources or ()):
        if resource != own and not resource.startswith(own + "/"):
            raise malformed("Policy has invalid resource")


def _check_actions(statement: Statement) -> None:
    for action in (statement.actions or ()) + (statement.not_actions or ()):
        if action != "*" and not action.lower().startswith("s3:"):
            raise malformed("Policy has invalid action")


def validate(text: str, bucket: str) -> PolicyDocument:
    """S3's checks of a bucket policy document (MalformedPolicy with S3's message)."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise malformed("Policies must be less than 20KB")
    if not text.lstrip().startswith("{"):
        raise malformed("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = parse_policy(text, PolicyKind.RESOURCE)
    except MalformedPolicyDocument as exc:
        if exc.message.startswith(INVALID_PRINCIPAL):  # S3 does not name the principal
            raise malformed(INVALID_PRINCIPAL) from exc
        raise malformed(exc.message) from exc
    for statement in document.statements:
        _check_resources(statement, bucket)
        _check_actions(statement)
    return document


# PutBucketPolicy API reference: "the root principal in a bucket owner's AWS account can perform the
# GetBucketPolicy, PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket policy
# explicitly denies the root principal's access. Bucket owner root principals can only be blocked from
# performing these API actions by VPC endpoint policies and AWS Organizations policies."
_LOCKOUT_EXEMPT = frozenset({"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"})


def _owner_only(call: S3Call, operation_name: str) -> BucketFacts:
    """The bucket, once the caller may manage its policy: identities of the owner account only,
    each authorized. The owner's root user is authorized too — its SCPs bind it — but for the three
    lock-out-exempt operations the bucket policy (and so its Deny) does not apply to it."""
    with call.state.db.transaction() as session:
        facts = repo.bucket_facts(session, call.bucket)
    if call.caller.is_anonymous or call.caller.account != facts.owner:
        raise AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            extra={"Method": call.http.method, "ResourceType": "BUCKETPOLICY"},
        )
    exempt = call.caller.is_root and operation_name in _LOCKOUT_EXEMPT
    authorize_operation(call, operation_name, replace(facts, policy=None) if exempt else facts)
    return facts


def bound(session: Session, text: str) -> str:
    """The bucket policy to store: every user or role it names bound to its unique id; every
    principal must exist, and an account principal must be an account of this server
    (MalformedPolicy "Invalid principal in policy", as S3 answers; see
    :mod:`monban.store.principals`)."""
    try:
        return principals.bind(session, text, known_accounts=True)
    except principals.InvalidPrincipal:
        raise malformed(INVALID_PRINCIPAL) from None


def _set_policy(call: S3Call, text: str | None) -> None:
    with call.bucket_write() as session:
        row: Bucket = repo.lock_bucket(session, call.bucket)
        row.policy = bound(session, text) if text is not None else None


def _put(call: S3Call, text: str) -> None:
    _owner_only(call, "PutBucketPolicy")
    validate(text, call.bucket)
    _set_policy(call, text)


@operation("PutBucketPolicy")
async def put_bucket_policy(call: S3Call) -> S3Result:
    await call.state.run_blocking(_owner_only, call, "PutBucketPolicy")
    body = await read_document(call, MAX_POLICY_BYTES + 1024)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("Policies must be valid JSON and the first byte must be '{'") from None
    await call.state.run_blocking(_put, call, text)
    return empty(204)


def _require_policy(call: S3Call, operation_name: str) -> str:
    """The stored policy as S3 shows it: bound principals by their current ARN (a deleted one by
    its unique id)."""
    facts = _owner_only(call, operation_name)
    if not facts.policy:
        raise AwsError(
            "NoSuchBucketPolicy", "The bucket policy does not exist", extra={"BucketName": call.bucket}
        )
    with call.state.db.transaction() as session:
        return principals.render(session, facts.policy)


@operation("GetBucketPolicy")
async def get_bucket_policy(call: S3Call) -> S3Result:
    text = await call.state.run_blocking(_require_policy, call, "GetBucketPolicy")
    return S3Result(text.encode(), 200, media_type="application/json")


def _delete(call: S3Call) -> None:
    _owner_only(call, "DeleteBucketPolicy")
    _set_policy(call, None)


@operation("DeleteBucketPolicy")
async def delete_bucket_policy(call: S3Call) -> S3Result:
    await call.state.run_blocking(_delete, call)
    return empty(204)


def _wildcard(statement: Statement) -> bool:
    if statement.not_principal is not None:
        return True
    spec = statement.principal
    return spec is not None and any("*" in values for kind, values in spec.entries if kind == "AWS")


def _restricted(statement: Statement) -> bool:
    return any(
        clause.key.lower() in _RESTRICTING_KEYS
        and not any("*" in v or "?" in v for v in clause.values)
        and not clause.operator.lower().startswith(("stringnot", "arnnot", "notip"))
        for clause in statement.conditions
    )


def is_public(text: str) -> bool:
    """Whether a stored policy grants public access (S3's definition, see the module docstring)."""
    try:
        document = principals.parse_bound(text, PolicyKind.RESOURCE)
    except MalformedPolicyDocument:
        return False
    return any(s.effect == "Allow" and _wildcard(s) and not _restricted(s) for s in document.statements)


@operation("GetBucketPolicyStatus")
async def get_bucket_policy_status(call: S3Call) -> S3Result:
    text = await call.state.run_blocking(_require_policy, call, "GetBucketPolicyStatus")
    return xml_response("PolicyStatus", {"IsPublic": is_public(text)})

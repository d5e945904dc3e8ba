"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.

Amazon S3 API Reference. Names are global; a bucket belongs to the account that created it.
Re-creating one's own bucket is BucketAlreadyOwnedByYou, except in us-east-1 where S3 answers
200 OK for legacy compatibility; another account's name is BucketAlreadyExists.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monban.protocol.errors import AwsError
from monban.services.s3 import repo, xmlio
from monban.services.s3.access import BucketFacts, authorize_operation
from monban.services.s3.body import read_document
from monban.services.s3.call import S3_NS, S3Call
from monban.services.s3.errors import integer_argument, invalid_argument, iso_ms
from monban.services.s3.names import canonical_user_id
from monban.services.s3.ownership import check_new_bucket
from monban.services.s3.registry import S3Result, empty, operation, xml_response
from monban.store.s3_models import Bucket

DEFAULT_REGION = "us-east-1"
MAX_BUCKETS_PAGE = 10000


def _location(call: S3Call, body: bytes) -> str | None:
    if not body.strip():
        return None
    root = xmlio.parse(body, "CreateBucketConfiguration")
    value = xmlio.child_text(root, "LocationConstraint")
    return value.strip() if value is not None else None


def _region(call: S3Call, location: str | None) -> str:
    """The bucket's Region: the LocationConstraint, which must fit the endpoint's Region."""
    endpoint = call.info.region
    if location is None or location == "":
        if endpoint != DEFAULT_REGION:
            raise AwsError(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific endpoint "
                "this request was sent to.",
            )
        return DEFAULT_REGION
    if location == DEFAULT_REGION or location != endpoint:
        if location != endpoint:
            raise AwsError(
                "IllegalLocationConstraintException",
                f"The {location} location constraint is incompatible for the region specific endpoint "
                "this request was sent to.",
            )
        raise AwsError(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
            extra={"LocationConstraint": location},
        )
    return location


def _create(call: S3Call, region: str) -> bool:
    """Insert the bucket; True when created, False for the us-east-1 re-create of one's own. Its
    ACL and Object Ownership setting must be BucketOwnerEnforced's (``ownership``)."""
    authorize_operation(call, "CreateBucket", None, extra={"s3:locationconstraint": region})
    check_new_bucket(call)
    try:
        with call.bucket_write() as session:
            session.add(
                Bucket(
                    name=call.bucket,
                    account_id=call.caller.account,
                    region=region,
                    created_at=datetime.now(UTC).replace(microsecond=0),
                )
            )
            session.flush()
        return True
    except IntegrityError:
        pass
    with call.state.db.transaction() as session:
        existing = repo.find_bucket(session, call.bucket)
    if existing is None:
        raise AwsError(
            "OperationAborted",
            "A conflicting conditional operation is currently in progress "
            "against this resource. Please try again.",
        )
    if existing.account_id != call.caller.account:
        raise AwsError(
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket namespace is shared by all users of the "
            "system. Please select a different name and try again.",
            extra={"BucketName": call.bucket},
        )
    if call.info.region == DEFAULT_REGION and existing.region == DEFAULT_REGION:
        return False
    raise AwsError(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        extra={"BucketName": call.bucket},
    )


@operation("CreateBucket")
async def create_bucket(call: S3Call) -> S3Result:
    if call.caller.is_anonymous:
        raise AwsError("AccessDenied", "Access Denied")
    body = await read_document(call, 64 * 1024)
    region = _region(call, _location(call, body))
    await call.state.run_blocking(_create, call, region)
    return empty(200, {"Location": f"/{call.bucket}"})


def _authorized_bucket(call: S3Call, operation_name: str) -> BucketFacts:
    with call.state.db.transaction() as session:
        facts = repo.bucket_facts(session, call.bucket)
    authorize_operation(call, operation_name, facts)
    return facts


@operation("HeadBucket")
async def head_bucket(call: S3Call) -> S3Result:
    facts = await call.state.run_blocking(_authorized_bucket, call, "HeadBucket")
    return empty(200, {"x-amz-bucket-region": facts.region, "x-amz-access-point-alias": "false"})


@operation("GetBucketLocation")
async def get_bucket_location(call: S3Call) -> S3Result:
    facts = await call.state.run_blocking(_authorized_bucket, call, "GetBucketLocation")
    value = "" if facts.region == DEFAULT_REGION else xmlio.text(facts.region)
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{S3_NS}">'
    body += f"{value}</LocationConstraint>"
    return S3Result(body.encode(), 200, media_type="application/xml")


def _delete(call: S3Call) -> None:
    with call.state.db.transaction() as session:
        facts = repo.bucket_facts(session, call.bucket)
    authorize_operation(call, "DeleteBucket", facts)
    blobs: list[str] = []
    with call.bucket_write() as session:
        row = repo.lock_bucket(session, call.bucket)
        if repo.has_objects(session, call.bucket):
            raise AwsError(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
                extra={"BucketName": call.bucket},
            )
        for upload in repo.bucket_uploads(session, call.bucket):
            blobs.extend(repo.drop_upload(session, upload.upload_id))
        session.delete(row)
    call.blobs.delete(blobs)


@operation("DeleteBucket")
async def delete_bucket(call: S3Call) -> S3Result:
    await call.state.run_blocking(_delete, call)
    return empty(204)


def _page_token(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from exc


def _max_buckets(text: str | None) -> int:
    if text is None:
        return MAX_BUCKETS_PAGE
    return integer_argument(
        text,
        "max-buckets",
        1,
        MAX_BUCKETS_PAGE,
        "Argument max-buckets must be an integer between 1 and 10000",
    )


def _list(call: S3Call) -> dict[str, object]:
    authorize_operation(call, "ListBuckets", None)
    limit = _max_buckets(call.query.get("max-buckets"))
    after = _page_token(call.query.get("continuation-token"))
    prefix = call.query.get("prefix", "")
    query = select(Bucket).where(Bucket.account_id == call.caller.account)
    if after is not None:
        query = query.where(Bucket.name > after)
    if prefix:
        query = query.where(Bucket.name.startswith(prefix, autoescape=True))
    if call.query.get("bucket-region"):
        query = query.where(Bucket.region == call.query["bucket-region"])
    with call.state.db.transaction() as session:
        rows = session.scalars(query.order_by(Bucket.name).limit(limit + 1)).all()
    page, more = rows[:limit], len(rows) > limit
    account = call.caller.account
    token = base64.urlsafe_b64encode(page[-1].name.encode()).decode() if more and page else None
    return {
        "Owner": {"DisplayName": account, "ID": canonical_user_id(account)},
        "Buckets": {
            "Bucket": [
                {"Name": b.name, "CreationDate": iso_ms(b.created_at), "BucketRegion": b.region} for b in page
            ]
        },
        "ContinuationToken": token,
        "Prefix": prefix or None,
    }


@operation("ListBuckets")
async def list_buckets(call: S3Call) -> S3Result:
    content = await call.state.run_blocking(_list, call)
    return xml_response("ListAllMyBucketsResult", content)

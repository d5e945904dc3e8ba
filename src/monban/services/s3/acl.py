"""The ACL and Object Ownership operations: GetBucketAcl, GetObjectAcl, PutBucketAcl,
PutObjectAcl, Get/Put/DeleteBucketOwnershipControls (the rules are in ``ownership``)."""

from __future__ import annotations

from monban.services.s3 import repo, xmlio
from monban.services.s3.access import BucketFacts
from monban.services.s3.body import read_document, require_integrity_header
from monban.services.s3.call import S3_NS, S3Call
from monban.services.s3.errors import malformed_xml
from monban.services.s3.names import canonical_user_id
from monban.services.s3.objects import authorized_bucket, missing_key
from monban.services.s3.ownership import ENFORCED, SETTINGS, acls_not_supported, setting_not_offered
from monban.services.s3.registry import S3Result, empty, operation, xml_response

_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _policy(account: str) -> bytes:
    """The AccessControlPolicy of a bucket or object of ``account``'s bucket: the owner (as
    ListBuckets names it) with FULL_CONTROL."""
    owner = f"<ID>{canonical_user_id(account)}</ID><DisplayName>{xmlio.text(account)}</DisplayName>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<AccessControlPolicy xmlns="{S3_NS}"><Owner>{owner}</Owner><AccessControlList><Grant>'
        f'<Grantee xmlns:xsi="{_XSI}" xsi:type="CanonicalUser">{owner}</Grantee>'
        "<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>"
    ).encode()


@operation("GetBucketAcl")
async def get_bucket_acl(call: S3Call) -> S3Result:
    facts = await call.state.run_cached(authorized_bucket, call, "GetBucketAcl")
    return S3Result(_policy(facts.owner), 200, media_type="application/xml")


def _existing_object(call: S3Call) -> BucketFacts:
    facts = authorized_bucket(call, "GetObjectAcl")
    with call.state.db.engine.connect() as connection:
        found = repo.read_object(connection, call.bucket, call.key)
    if found is None:
        raise missing_key(call, facts, call.key)
    return facts


@operation("GetObjectAcl")
async def get_object_acl(call: S3Call) -> S3Result:
    facts = await call.state.run_blocking(_existing_object, call)
    return S3Result(_policy(facts.owner), 200, media_type="application/xml")


@operation("PutBucketAcl")
async def put_bucket_acl(call: S3Call) -> S3Result:
    await call.state.run_cached(authorized_bucket, call, "PutBucketAcl")
    raise acls_not_supported()


@operation("PutObjectAcl")
async def put_object_acl(call: S3Call) -> S3Result:
    await call.state.run_cached(authorized_bucket, call, "PutObjectAcl")
    raise acls_not_supported()


@operation("GetBucketOwnershipControls")
async def get_bucket_ownership_controls(call: S3Call) -> S3Result:
    await call.state.run_cached(authorized_bucket, call, "GetBucketOwnershipControls")
    return xml_response("OwnershipControls", {"Rule": {"ObjectOwnership": ENFORCED}})


def _setting(body: bytes) -> str:
    """The one rule's ObjectOwnership of an OwnershipControls document (MalformedXML otherwise)."""
    rules = xmlio.children(xmlio.parse(body, "OwnershipControls"), "Rule")
    if len(rules) != 1:
        raise malformed_xml()
    setting = (xmlio.child_text(rules[0], "ObjectOwnership") or "").strip()
    if setting not in SETTINGS:
        raise malformed_xml()
    return setting


@operation("PutBucketOwnershipControls")
async def put_bucket_ownership_controls(call: S3Call) -> S3Result:
    require_integrity_header(call)
    await call.state.run_cached(authorized_bucket, call, "PutBucketOwnershipControls")
    setting = _setting(await read_document(call, 64 * 1024))
    if setting != ENFORCED:
        raise setting_not_offered(setting)
    return empty(200)


@operation("DeleteBucketOwnershipControls")
async def delete_bucket_ownership_controls(call: S3Call) -> S3Result:
    await call.state.run_cached(authorized_bucket, call, "DeleteBucketOwnershipControls")
    raise setting_not_offered("no Object Ownership setting (ACLs enabled)")

"""ACLs and Object Ownership, as S3 has them for new buckets since April 2023.

Amazon S3 User Guide, "Controlling ownership of objects and disabling ACLs for your bucket" and
its "Troubleshooting" page: with Object Ownership ``BucketOwnerEnforced`` (the default of every new
bucket) ACLs are disabled. The bucket owner owns every object; reading an ACL answers the owner with
``FULL_CONTROL``; setting one (PutBucketAcl, PutObjectAcl) fails with AccessControlListNotSupported
(400, "The bucket does not allow ACLs"); a PUT that writes an object may carry no ACL or only the
bucket owner's full control (``bucket-owner-full-control``), anything else is
AccessControlListNotSupported; a CreateBucket whose bucket ACL grants anyone but the owner is
InvalidBucketAclWithObjectOwnership.

monban offers this setting only. ``BucketOwnerPreferred`` and ``ObjectWriter`` enable ACLs, which
then grant access (to other accounts, to everyone) beside the policies, and can leave objects owned
by their writers; monban decides access by policies alone, so it refuses those settings — and
DeleteBucketOwnershipControls, which in S3 leaves a bucket with ACLs enabled — with NotImplemented
rather than keep ACLs it would not enforce. A bucket's setting is therefore always
``BucketOwnerEnforced``: PutBucketOwnershipControls with it changes nothing, and there is nothing
per bucket to store.
"""

from __future__ import annotations

from monban.protocol.errors import AwsError
from monban.services.s3.access import BucketFacts
from monban.services.s3.call import S3Call
from monban.services.s3.errors import invalid_argument

ENFORCED = "BucketOwnerEnforced"
SETTINGS = frozenset({ENFORCED, "BucketOwnerPreferred", "ObjectWriter"})
GRANT_HEADERS = (
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)


def acls_not_supported() -> AwsError:
    return AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs")


def setting_not_offered(setting: str) -> AwsError:
    return AwsError(
        "NotImplemented",
        f"monban offers only the {ENFORCED} Object Ownership setting (ACLs disabled), not {setting}",
    )


def _grants(call: S3Call) -> bool:
    return any(call.header(name) is not None for name in GRANT_HEADERS)


def check_object_acl(call: S3Call, facts: BucketFacts) -> None:
    """An object write (PutObject, CopyObject, CreateMultipartUpload) under BucketOwnerEnforced:
    no ACL, ``bucket-owner-full-control``, or ``private`` from the bucket owner's own account (the
    same ACL: its owner's full control alone); else AccessControlListNotSupported."""
    canned = call.header("x-amz-acl")
    if _grants(call):
        raise acls_not_supported()
    if canned is None or canned == "bucket-owner-full-control":
        return
    if canned == "private" and call.caller.account == facts.owner:
        return
    raise acls_not_supported()


def check_new_bucket(call: S3Call) -> str | None:
    """CreateBucket's ``x-amz-object-ownership`` (InvalidArgument when unknown, NotImplemented
    unless BucketOwnerEnforced) and bucket ACL: none or ``private`` (the owner's full control),
    else InvalidBucketAclWithObjectOwnership. The setting sent, if any."""
    setting = call.header("x-amz-object-ownership")
    if setting is not None and setting not in SETTINGS:
        raise invalid_argument(
            f"Invalid x-amz-object-ownership header: {setting}", "x-amz-object-ownership", setting
        )
    if setting is not None and setting != ENFORCED:
        raise setting_not_offered(setting)
    canned = call.header("x-amz-acl")
    if _grants(call) or (canned is not None and canned != "private"):
        raise AwsError(
            "InvalidBucketAclWithObjectOwnership",
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        )
    return setting

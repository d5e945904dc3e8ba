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
from monban.services.s3.access import BucketFacts, check, operation_keys, rules
from monban.services.s3.call import S3Call
from monban.services.s3.errors import invalid_argument
from monban.services.s3.names import bucket_arn

ENFORCED = "BucketOwnerEnforced"
SETTINGS = frozenset({ENFORCED, "BucketOwnerPreferred", "ObjectWriter"})
GRANT_HEADERS = (
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)

_ACL_KEYS = rules()["PutBucketAcl"].condition_keys


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


def check_new_bucket(call: S3Call) -> None:
    """CreateBucket's extra permissions and checks (Amazon S3 API Reference, CreateBucket): with
    ``x-amz-object-ownership``, s3:PutBucketOwnershipControls too, and the setting must be known
    (InvalidArgument) and BucketOwnerEnforced (NotImplemented); an ACL other than ``private`` needs
    s3:PutBucketAcl too, and is InvalidBucketAclWithObjectOwnership (only the owner's full control
    goes with BucketOwnerEnforced)."""
    resource = bucket_arn(call.bucket)
    setting = call.header("x-amz-object-ownership")
    if setting is not None:
        check(call, "s3:PutBucketOwnershipControls", resource, None)
        if setting not in SETTINGS:
            raise invalid_argument(
                f"Invalid x-amz-object-ownership header: {setting}", "x-amz-object-ownership", setting
            )
        if setting != ENFORCED:
            raise setting_not_offered(setting)
    canned = call.header("x-amz-acl")
    if _grants(call) or (canned is not None and canned != "private"):
        check(call, "s3:PutBucketAcl", resource, None, operation_keys(call, _ACL_KEYS))
        raise AwsError(
            "InvalidBucketAclWithObjectOwnership",
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        )

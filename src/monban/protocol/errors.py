"""The one error table: an error declares its AWS code; status and fault type come from here.

Query-protocol services (IAM, STS) render ``<ErrorResponse>``; S3 renders ``<Error>`` with its own
extra fields. Nothing else in monban picks an HTTP status for an AWS error.
"""

from __future__ import annotations

from collections.abc import Mapping

# code -> (HTTP status, fault type). Fault "Receiver" is a server-side error.
ERRORS: Mapping[str, tuple[int, str]] = {
    # authentication (all services)
    "AccessDenied": (403, "Sender"),
    "AccessDeniedException": (403, "Sender"),
    "InvalidClientTokenId": (403, "Sender"),
    "SignatureDoesNotMatch": (403, "Sender"),
    "ExpiredToken": (403, "Sender"),
    "MissingAuthenticationToken": (403, "Sender"),
    "IncompleteSignature": (400, "Sender"),
    "InvalidAccessKeyId": (403, "Sender"),
    "RequestTimeTooSkewed": (403, "Sender"),
    "AuthorizationHeaderMalformed": (400, "Sender"),
    "AuthorizationQueryParametersError": (400, "Sender"),
    "XAmzContentSHA256Mismatch": (400, "Sender"),
    "RequestExpired": (400, "Sender"),
    "OptInRequired": (403, "Sender"),
    # protocol
    "InvalidAction": (400, "Sender"),
    "MissingAction": (400, "Sender"),
    "MissingParameter": (400, "Sender"),
    "InvalidParameterValue": (400, "Sender"),
    "InvalidParameterCombination": (400, "Sender"),
    "MalformedQueryString": (404, "Sender"),
    "ValidationError": (400, "Sender"),
    "RequestEntityTooLarge": (413, "Sender"),
    "Throttling": (400, "Sender"),
    "InternalFailure": (500, "Receiver"),
    "ServiceUnavailable": (503, "Receiver"),
    # IAM
    "EntityAlreadyExists": (409, "Sender"),
    "NoSuchEntity": (404, "Sender"),
    "LimitExceeded": (409, "Sender"),
    "MalformedPolicyDocument": (400, "Sender"),
    "InvalidInput": (400, "Sender"),
    "DeleteConflict": (409, "Sender"),
    "UnmodifiableEntity": (400, "Sender"),
    "ConcurrentModification": (409, "Sender"),
    "PolicyEvaluation": (500, "Receiver"),
    # STS
    "PackedPolicyTooLarge": (400, "Sender"),
    "RegionDisabledException": (403, "Sender"),
    "InvalidIdentityToken": (400, "Sender"),
    "IDPRejectedClaim": (403, "Sender"),
    "IDPCommunicationError": (400, "Sender"),
    "ExpiredTokenException": (400, "Sender"),
    "InvalidAuthorizationMessageException": (400, "Sender"),
    # EC2 (its Query dialect: 400 unless listed here; API Reference, "Error codes")
    "AuthFailure": (401, "Sender"),
    "UnauthorizedOperation": (403, "Sender"),
    "DryRunOperation": (412, "Sender"),
    "IncorrectState": (400, "Sender"),
    "IncorrectInstanceState": (400, "Sender"),
    "InvalidParameter": (400, "Sender"),
    "InvalidInstanceID.NotFound": (400, "Sender"),
    "InvalidInstanceID.Malformed": (400, "Sender"),
    "InvalidAssociationID.NotFound": (400, "Sender"),
    "InvalidAMIID.Malformed": (400, "Sender"),
    "InvalidID": (400, "Sender"),
    "InvalidPaginationToken": (400, "Sender"),
    "InvalidFilter": (400, "Sender"),
    "InvalidRegion": (400, "Sender"),
    "InvalidZone.NotFound": (400, "Sender"),
    "InvalidTagKey.Malformed": (400, "Sender"),
    "TagLimitExceeded": (400, "Sender"),
    "InvalidInstanceType": (400, "Sender"),
    # CloudTrail (JSON protocol)
    "UnrecognizedClientException": (400, "Sender"),
    "InvalidSignatureException": (400, "Sender"),
    "UnknownOperationException": (400, "Sender"),
    "SerializationException": (400, "Sender"),
    "InvalidLookupAttributesException": (400, "Sender"),
    "InvalidTimeRangeException": (400, "Sender"),
    "InvalidMaxResultsException": (400, "Sender"),
    "InvalidNextTokenException": (400, "Sender"),
    "InvalidEventCategoryException": (400, "Sender"),
    # S3
    "NoSuchBucket": (404, "Sender"),
    "NoSuchKey": (404, "Sender"),
    "NoSuchUpload": (404, "Sender"),
    "NoSuchVersion": (404, "Sender"),
    "NoSuchBucketPolicy": (404, "Sender"),
    "NoSuchTagSet": (404, "Sender"),
    "BucketAlreadyExists": (409, "Sender"),
    "BucketAlreadyOwnedByYou": (409, "Sender"),
    "BucketNotEmpty": (409, "Sender"),
    "InvalidBucketName": (400, "Sender"),
    "KeyTooLongError": (400, "Sender"),
    "EntityTooLarge": (400, "Sender"),
    "EntityTooSmall": (400, "Sender"),
    "InvalidArgument": (400, "Sender"),
    "InvalidRequest": (400, "Sender"),
    "InvalidRange": (416, "Sender"),
    "InvalidPart": (400, "Sender"),
    "InvalidPartOrder": (400, "Sender"),
    "InvalidDigest": (400, "Sender"),
    "BadDigest": (400, "Sender"),
    "MalformedXML": (400, "Sender"),
    "MissingRequestBodyError": (400, "Sender"),
    "BadRequest": (400, "Sender"),
    "MalformedPolicy": (400, "Sender"),
    "MethodNotAllowed": (405, "Sender"),
    "NotImplemented": (501, "Receiver"),
    "PreconditionFailed": (412, "Sender"),
    "NotModified": (304, "Sender"),
    "MissingContentLength": (411, "Sender"),
    "IncompleteBody": (400, "Sender"),
    "InvalidURI": (400, "Sender"),
    "InvalidObjectState": (403, "Sender"),
    "InvalidTag": (400, "Sender"),
    "InvalidToken": (400, "Sender"),
    "IllegalLocationConstraintException": (400, "Sender"),
    "InvalidLocationConstraint": (400, "Sender"),
    "InvalidStorageClass": (400, "Sender"),
    "InvalidPartNumber": (416, "Sender"),
    "InvalidBucketState": (409, "Sender"),
    "MissingSecurityHeader": (400, "Sender"),
    "UnexpectedContent": (400, "Sender"),
    "TooManyParts": (400, "Sender"),
    "InternalError": (500, "Receiver"),
    "OperationAborted": (409, "Sender"),
    "MetadataTooLarge": (400, "Sender"),
    "AccessControlListNotSupported": (400, "Sender"),
    "InvalidBucketAclWithObjectOwnership": (400, "Sender"),
    "ConditionalRequestConflict": (409, "Sender"),
    "SlowDown": (503, "Receiver"),
}


# The Query and JSON protocols' common ServiceUnavailable (HTTP 503) wording (IAM and STS API
# references, "Common Errors"): a temporary failure of the service, e.g. its database.
TEMPORARY_FAILURE = "The request has failed due to a temporary failure of the server."


class AwsError(Exception):
    """An AWS error response. ``extra`` adds S3's additional fields (BucketName, Key, …);
    ``reason`` is monban's own account of a denial (policies, statements, stage) for the audit
    trail, never sent to the client; ``headers`` are response headers an S3 error carries
    (``x-amz-delete-marker``, ``x-amz-version-id``; a 304 Not Modified's ETag and Last-Modified)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        extra: Mapping[str, str] | None = None,
        reason: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if code not in ERRORS:
            raise KeyError(f"error code {code!r} is not in the error table")
        self.code = code
        self.message = message
        self.extra: Mapping[str, str] = extra or {}
        self.reason = reason
        self.headers: Mapping[str, str] = headers or {}

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    @property
    def fault(self) -> str:
        return ERRORS[self.code][1]


def validation_error(value: object, member: str, constraint: str) -> AwsError:
    """AWS's ``ValidationError`` wording for one failed member constraint."""
    return AwsError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must {constraint}",
    )

"""PutBucketVersioning and GetBucketVersioning.

Amazon S3 API Reference, "PutBucketVersioning": the body is a ``VersioningConfiguration`` with
``Status`` Enabled or Suspended (MalformedXML otherwise; a bucket once versioned never returns to
unversioned) and optionally ``MfaDelete``; Content-MD5 (or an SDK checksum) is required. MFA delete
needs the root user's MFA device in ``x-amz-mfa``, which monban has no way to check: ``MfaDelete``
Enabled without that header is refused as S3 refuses a request without MFA (AccessDenied "Mfa
Authentication must be used for this request"), and with one it is NotImplemented; Disabled is
stored and shown. "GetBucketVersioning": an unversioned bucket answers an empty
``<VersioningConfiguration/>``; ``MfaDelete`` appears only once it has been configured. Changing
the state bumps the generation (cached bucket facts), as S3 itself applies it eventually.
"""

from __future__ import annotations

from monban.protocol.errors import AwsError
from monban.services.s3 import repo, xmlio
from monban.services.s3.body import read_document, require_integrity_header
from monban.services.s3.call import S3Call
from monban.services.s3.errors import malformed_xml, no_such_bucket, not_implemented
from monban.services.s3.objects import authorized_bucket
from monban.services.s3.registry import S3Result, empty, operation, xml_response

STATES = ("Enabled", "Suspended")
MFA_STATES = ("Enabled", "Disabled")


def parse_configuration(body: bytes) -> tuple[str, str | None]:
    """(Status, MfaDelete or None) of a ``VersioningConfiguration`` document."""
    root = xmlio.parse(body, "VersioningConfiguration")
    status = xmlio.child_text(root, "Status")
    mfa = xmlio.child_text(root, "MfaDelete")
    if status is None or status.strip() not in STATES:
        raise malformed_xml()
    if mfa is not None and mfa.strip() not in MFA_STATES:
        raise malformed_xml()
    return status.strip(), (mfa.strip() if mfa is not None else None)


def _check_mfa(call: S3Call, mfa: str | None) -> None:
    if mfa != "Enabled":
        return
    if call.header("x-amz-mfa") is None:
        raise AwsError("AccessDenied", "Mfa Authentication must be used for this request")
    raise not_implemented("x-amz-mfa")


def _put(call: S3Call, status: str, mfa: str | None) -> None:
    authorized_bucket(call, "PutBucketVersioning")
    _check_mfa(call, mfa)
    with call.bucket_write() as session:
        row = repo.lock_bucket(session, call.bucket)
        row.versioning = status
        if mfa is not None:
            row.mfa_delete = mfa


@operation("PutBucketVersioning")
async def put_bucket_versioning(call: S3Call) -> S3Result:
    await call.state.run_cached(authorized_bucket, call, "PutBucketVersioning")
    require_integrity_header(call)
    status, mfa = parse_configuration(await read_document(call, 64 * 1024))
    await call.state.run_blocking(_put, call, status, mfa)
    return empty(200)


def _get(call: S3Call) -> dict[str, object]:
    authorized_bucket(call, "GetBucketVersioning")
    with call.state.db.transaction() as session:
        row = repo.find_bucket(session, call.bucket)
        if row is None:
            raise no_such_bucket(call.bucket)
        return {"Status": row.versioning, "MfaDelete": row.mfa_delete}


@operation("GetBucketVersioning")
async def get_bucket_versioning(call: S3Call) -> S3Result:
    return xml_response("VersioningConfiguration", await call.state.run_blocking(_get, call))

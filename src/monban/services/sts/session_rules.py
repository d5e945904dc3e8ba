"""Rules shared by the calls that mint sessions: session tags and chaining, session policies and
their packed size, MFA.

STS API reference, AssumeRole: "Tags", "TransitiveTagKeys", "SourceIdentity", "Policy",
"PolicyArns", "SerialNumber"/"TokenCode"; IAM User Guide, "Pass session tags in AWS STS" →
"Chaining roles with session tags".
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monban.credentials.session import SessionClaims
from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from monban.policy.parse import check_session_policy_size
from monban.protocol.errors import AwsError
from monban.store import iam_read

# The packed (compressed) form of session policies and session tags has its own limit; AWS does
# not publish it. monban packs with zlib and allows 2,048 bytes for policies and tags together:
# a 2,048-character policy of realistic ARNs packs to well under half of it, while 50 tags of
# maximal size do not fit (as in AWS, "you can hit the packed limit before 50 tags").
PACKED_LIMIT = 2048


@dataclass(frozen=True, slots=True)
class Inherited:
    """What a role session passes on when it assumes another role (role chaining)."""

    tags: tuple[tuple[str, str], ...] = ()
    transitive_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    chained: bool = False


NOTHING_INHERITED = Inherited()


def inherited(claims: SessionClaims | None) -> Inherited:
    """Transitive tags and source identity of the calling session. A role session calling
    AssumeRole is role chaining, except an instance-profile session (reference §1)."""
    if claims is None or claims.kind != "role":
        return NOTHING_INHERITED
    keys = {k.lower() for k in claims.transitive_tag_keys}
    tags = tuple((k, v) for k, v in claims.tags if k.lower() in keys)
    return Inherited(tags, claims.transitive_tag_keys, claims.source_identity, not claims.instance_profile)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


def session_tags(
    requested: Sequence[tuple[str, str]], transitive: Sequence[str], chain: Inherited
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The new session's tags and transitive keys.

    Keys are case-insensitive with their case kept; the ``aws:`` prefix is reserved; a tag with
    the key of an inherited transitive tag makes the call fail ("If you pass a session tag with
    the same key as an inherited tag, the operation fails"); TransitiveTagKeys must name session
    tags; inherited transitive keys stay transitive.
    """
    if not requested and not transitive:  # the common call: nothing to check or merge
        return chain.tags, chain.transitive_keys
    seen: set[str] = set()
    for key, _value in requested:
        lower = key.lower()
        if lower.startswith("aws:"):
            raise _invalid(f"Tag key {key} uses the prefix 'aws:', which is reserved for AWS use.")
        if lower in seen:
            raise _invalid("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(lower)
    inherited_keys = {k.lower() for k, _v in chain.tags}
    clash = [k for k, _v in requested if k.lower() in inherited_keys]
    if clash:
        raise _invalid(
            f"Cannot set session tag {clash[0]}: it is a transitive tag inherited from the calling session."
        )
    tags = (*chain.tags, *requested)
    known = {k.lower() for k, _v in tags}
    for key in transitive:
        if key.lower() not in known:
            raise _invalid(f"Transitive tag key {key} is not a session tag of this request.")
    keys: list[str] = list(chain.transitive_keys)
    lowered = {k.lower() for k in keys}
    for key in transitive:
        if key.lower() not in lowered:
            keys.append(key)
            lowered.add(key.lower())
    return tuple(tags), tuple(keys)


def source_identity(requested: str | None, chain: Inherited) -> str | None:
    """Set once, fixed for the life of a chain ("After the source identity is set, the value
    cannot be changed")."""
    if chain.source_identity is None:
        return requested
    if requested is not None and requested != chain.source_identity:
        raise _invalid("SourceIdentity cannot be changed: the calling session already has one.")
    return chain.source_identity


def session_policy(text: str | None) -> str | None:
    """The inline session policy, validated as IAM does (≤ 2,048 plain-text characters, then the
    document itself); MalformedPolicyDocument or ValidationError otherwise."""
    if text is None:
        return None
    try:
        check_session_policy_size(text)
        parse_policy(text, PolicyKind.SESSION)
    except MalformedPolicyDocument as exc:
        raise AwsError(exc.code, exc.message) from exc
    return text


def policy_arns(session: Session, arns: Sequence[str], role_account: str) -> tuple[str, ...]:
    """Managed session policies: at most 10, each AWS-managed or in the role's account, and
    existing."""
    if len(arns) > 10:
        raise _invalid("The number of policy ARNs must not exceed 10.")
    for arn in arns:
        fields = arn.split(":", 5)
        owner_ok = len(fields) == 6 and fields[4] in ("aws", role_account) and fields[5].startswith("policy/")
        if not owner_ok or iam_read.managed_document(session, arn) is None:
            raise _invalid(f"The policy {arn} does not exist or is not attachable to this session.")
    return tuple(arns)


def _minified(text: str) -> str:
    return "".join(text.split())


def _packed(parts: Sequence[str]) -> int:
    if not parts:
        return 0
    size = len(zlib.compress("\x00".join(parts).encode("utf-8"), 9))
    return math.ceil(100 * size / PACKED_LIMIT)


def packed_policy_size(
    policy: str | None, arns: Sequence[str], tags: Sequence[tuple[str, str]]
) -> int | None:
    """``PackedPolicySize``: the percentage of the packed limit that session policies and session
    tags use together (None when the request has neither); PackedPolicyTooLarge above 100."""
    if policy is None and not arns and not tags:
        return None
    policy_parts = ([_minified(policy)] if policy is not None else []) + list(arns)
    tag_parts = [f"{k}={v}" for k, v in tags]
    if not policy_parts and not tag_parts:
        return None
    by_policies, by_tags = _packed(policy_parts), _packed(tag_parts)
    total = by_policies + by_tags
    if total > 100:
        what = "session tags" if by_tags >= by_policies else "session policies"
        raise AwsError("PackedPolicyTooLarge", f"Packed size of {what} consumes {total}% of allotted space.")
    return total


def verify_mfa(serial: str | None, code: str | None) -> int | None:
    """MFA for AssumeRole / GetSessionToken: the epoch second it was proven, or None without MFA.

    monban has no MFA devices yet (IAM's CreateVirtualMFADevice is not implemented), so no serial
    number names a device and no code can be checked: a request that offers MFA is refused with
    AWS's wording rather than trusted — fail closed. A trust policy that requires
    ``aws:MultiFactorAuthPresent`` therefore denies every caller until devices exist; then this
    function checks the TOTP code of the caller's device.
    """
    if serial is None and code is None:
        return None
    if serial is None or code is None:
        raise AwsError(
            "AccessDenied",
            "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
        )
    raise AwsError("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")

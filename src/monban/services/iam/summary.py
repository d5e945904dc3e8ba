"""GetAccountSummary: IAM entity usage of the account, counted from the store, and IAM's quotas.

IAM API reference, GetAccountSummary (the SummaryMap keys), and IAM User Guide, "IAM and AWS STS
quotas" (the default quotas: 5,000 users, 300 groups, 1,000 roles, 1,500 customer managed policies,
1,000 instance profiles, 20 server certificates, 10 managed policies per user, group or role, 10
groups per user, 2 access keys and 2 signing certificates per user, 5 versions per policy; policy
sizes 2,048 (user inline), 5,120 (group inline), 10,240 (role inline), 6,144 (managed), 2,048 (trust)).
monban has no MFA devices, signing or server certificates; it keeps no identity providers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monban.protocol.xml import Raw
from monban.services.iam.entities import KINDS
from monban.services.query import Operation, QueryCall, Result, register
from monban.store.models import AccessKey, Attachment, InstanceProfile, ManagedPolicy

OPERATIONS: dict[str, Operation] = {}

QUOTAS = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "RolesQuota": 1000,
    "PoliciesQuota": 1500,
    "InstanceProfilesQuota": 1000,
    "ServerCertificatesQuota": 20,
    "AttachedPoliciesPerUserQuota": 10,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "GroupsPerUserQuota": 10,
    "AccessKeysPerUserQuota": 2,
    "SigningCertificatesPerUserQuota": 2,
    "VersionsPerPolicyQuota": 5,
    "PolicyVersionsInUseQuota": 10000,
    "UserPolicySizeQuota": 2048,
    "GroupPolicySizeQuota": 5120,
    "RolePolicySizeQuota": 10240,
    "PolicySizeQuota": 6144,
    "AssumeRolePolicySizeQuota": 2048,
    "GlobalEndpointTokenVersion": 1,
}


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _attachments(session: Session, account: str) -> int:
    """PolicyVersionsInUse: managed policies attached to the account's users, groups and roles."""
    total = 0
    for kind in KINDS.values():
        model: Any = kind.model
        query = (
            select(func.count())
            .select_from(Attachment)
            .join(model, model.id == Attachment.entity_id)
            .where(Attachment.entity_type == kind.name, model.account_id == account)
        )
        total += int(session.scalar(query) or 0)
    return total


def summary(session: Session, account: str) -> dict[str, int]:
    """Every SummaryMap key: usage counted from the store, then the quotas."""
    root_keys = _count(session, AccessKey, AccessKey.account_id == account, AccessKey.user_id.is_(None))
    usage = {
        "Users": _count(session, KINDS["user"].model, KINDS["user"].model.account_id == account),
        "Groups": _count(session, KINDS["group"].model, KINDS["group"].model.account_id == account),
        "Roles": _count(session, KINDS["role"].model, KINDS["role"].model.account_id == account),
        "InstanceProfiles": _count(session, InstanceProfile, InstanceProfile.account_id == account),
        "Policies": _count(session, ManagedPolicy, ManagedPolicy.account_id == account),
        "PolicyVersionsInUse": _attachments(session, account),
        "AccountAccessKeysPresent": int(root_keys > 0),
        "AccountMFAEnabled": 0,
        "AccountSigningCertificatesPresent": 0,
        "MFADevices": 0,
        "MFADevicesInUse": 0,
        "ServerCertificates": 0,
        "Providers": 0,
    }
    return {**usage, **QUOTAS}


def _entries(values: dict[str, int]) -> Raw:
    """A Query-protocol map: ``<entry><key>…</key><value>…</value></entry>`` per key."""
    return Raw("".join(f"<entry><key>{k}</key><value>{v}</value></entry>" for k, v in values.items()))


@register(OPERATIONS, "GetAccountSummary")
def get_account_summary(call: QueryCall) -> Result:
    call.authorize("iam:GetAccountSummary", "*")
    with call.read() as session:
        return {"SummaryMap": _entries(summary(session, call.caller.account))}

"""The instance role's credentials: ``iam/info`` and ``iam/security-credentials/<role>``.

EC2 assumes the role of the instance's profile as the service principal ``ec2.amazonaws.com``
(IAM User Guide, "Use an IAM role to grant permissions to applications running on Amazon EC2
instances"): the role's trust policy must allow it, and the session is named after the instance
(``assumed-role/<role>/i-…``). Every request made with the credentials carries the instance's
credential control properties (AWS, 2023-03: "IAM roles for Amazon EC2 now provide Credential
Control Properties"; IAM User Guide, global condition keys): ``ec2:SourceInstanceARN``,
``aws:EC2InstanceSourceVPC``, ``aws:EC2InstanceSourcePrivateIPv4``, and ``ec2:RoleDelivery``
(``2.0`` when the credentials were fetched with an IMDSv2 token, ``1.0`` without — so each
delivery is its own session).

A role that cannot be assumed (its trust policy does not allow EC2, or the role was deleted) gives
EC2's answer, ``"Code" : "AssumeRoleUnauthorizedAccess"`` with its message, in both documents; the
server's log says why, in one line, once per instance and reason.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from monban.access.audit import AuditCall
from monban.credentials.session import TokenKey
from monban.protocol.xml import utc_text
from monban.services.imds.metadata import InstanceFacts, directory_key, static_answer
from monban.services.sts.issue import Issued
from monban.services.sts.service_session import (
    Lifetime,
    Refused,
    ServiceRequest,
    SessionCache,
    audit_call,
    credentials_document,
    issue_for_service,
)

log = logging.getLogger("monban")

EC2_SERVICE = "ec2.amazonaws.com"
IAM = "/latest/meta-data/iam"
CREDENTIALS = IAM + "/security-credentials"
TROUBLESHOOT = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html"
    "#troubleshoot_iam-ec2_errors-info-doc"
)


def _json(document: dict[str, Any]) -> str:
    """EC2's layout: two-space indent, ``"Key" : value``."""
    return json.dumps(document, indent=2, separators=(",", " : "))


class InstanceCredentials:
    """The credentials each instance is served, kept until fewer than ``lifetime.refresh`` seconds
    remain (one per instance, profile association, role and delivery)."""

    def __init__(
        self,
        token_key: Callable[[], TokenKey],
        lifetime: Lifetime,
        audit: Callable[[AuditCall], None] | None = None,
    ) -> None:
        self.token_key = token_key  # the key ring's current key, which seals new sessions
        self.cache = SessionCache(lifetime)
        self.audit = audit  # where each session made (or refused) is recorded
        self._logged: dict[str, str] = {}
        self._lock = threading.Lock()

    def session(self, facts: InstanceFacts, delivery: str, now: int) -> Issued | Refused:
        record, profile = facts.record, facts.profile
        if profile is None or profile.role is None:
            return Refused("no role")  # not reached from the paths below: nothing lists one
        role = profile.role
        request = ServiceRequest(
            role_arn=role.arn,
            service=EC2_SERVICE,
            session_name=record.instance_id,
            context=(
                ("ec2:SourceInstanceARN", record.arn),
                ("aws:EC2InstanceSourceVPC", record.vpc_id),
                ("aws:EC2InstanceSourcePrivateIPv4", record.private_ip),
                ("ec2:RoleDelivery", delivery),
            ),
            instance_profile=True,
        )
        key = (record.instance_id, record.association_id, role.id, role.trust_policy, delivery)

        def issue() -> Issued | Refused:
            fresh = issue_for_service(self.token_key(), role, request, self.cache.lifetime, now)
            if self.audit is not None:
                self.audit(audit_call(request, fresh, self.cache.lifetime, record.region))
            return fresh

        got = self.cache.get(key, now, issue)
        self._note(record.instance_id, got)
        return got

    def _note(self, instance_id: str, got: Issued | Refused) -> None:
        """Log a refusal once per instance and reason (SDKs ask again and again)."""
        reason = got.reason if isinstance(got, Refused) else ""
        with self._lock:
            if self._logged.get(instance_id, "") == reason:
                return
            self._logged[instance_id] = reason
        if reason:
            log.warning("instance metadata: no credentials for %s: %s", instance_id, reason)

    def _refusal(self, facts: InstanceFacts, now: int) -> dict[str, Any]:
        assert facts.profile is not None and facts.profile.role is not None
        return {
            "Code": "AssumeRoleUnauthorizedAccess",
            "Message": f"EC2 cannot assume the role {facts.profile.role.name}.  "
            f"Please see documentation at {TROUBLESHOOT}.",
            "LastUpdated": utc_text(now),
        }

    def info(self, facts: InstanceFacts, delivery: str, now: int) -> str:
        """``iam/info``: the profile, and whether its role's credentials could be had."""
        assert facts.profile is not None
        if facts.profile.role is not None:
            got = self.session(facts, delivery, now)
            if isinstance(got, Refused):
                return _json(self._refusal(facts, now))
            updated = got.claims.issued_at
        else:
            updated = int(facts.record.launch_time.timestamp())
        return _json(
            {
                "Code": "Success",
                "LastUpdated": utc_text(updated),
                "InstanceProfileArn": facts.profile.arn,
                "InstanceProfileId": facts.profile.profile_id,
            }
        )

    def role_document(self, facts: InstanceFacts, delivery: str, now: int) -> str:
        """``iam/security-credentials/<role>``."""
        got = self.session(facts, delivery, now)
        if isinstance(got, Refused):
            return _json(self._refusal(facts, now))
        head = {"Code": "Success", "LastUpdated": utc_text(got.claims.issued_at), "Type": "AWS-HMAC"}
        return _json(credentials_document(got, head))

    def answer(self, facts: InstanceFacts, path: str, delivery: str, now: int) -> str | None:
        """The answer at ``path`` (None: 404)."""
        profile = facts.profile
        key = directory_key(path)
        if key is None:
            return None
        if profile is None or key == IAM or not path.startswith(IAM + "/"):
            return static_answer(facts, path)
        role = profile.role
        if key == IAM + "/info" and not path.endswith("/"):
            return self.info(facts, delivery, now)
        if key == CREDENTIALS:
            return role.name if role is not None else None
        if role is not None and path == f"{CREDENTIALS}/{role.name}":
            return self.role_document(facts, delivery, now)
        return None

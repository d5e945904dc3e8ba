"""Resources whose own policy must allow: data, read by ``evaluate``.

For most resources an Allow in the caller's identity policies is enough within one account. Two
kinds of resource are different — their resource policy must itself allow the request (possibly by
naming the account, which then delegates to the identity policies):

* a KMS key: AWS KMS Developer Guide, "Key policies in AWS KMS": "Every KMS key must have exactly
  one key policy … Unless the key policy explicitly allows it, you cannot use IAM policies to allow
  access to a KMS key. Without permission from the key policy, IAM policies that allow permissions
  have no effect." (ARN ``arn:aws:kms:<region>:<account>:key/<key id>``, Service Authorization
  Reference resource type ``key``);
* a role, for the STS actions that start or shape a session of it (sts:AssumeRole, TagSession,
  SetSourceIdentity, …): IAM User Guide, "Policy evaluation logic" → "Role trust policies": the
  trust policy must allow the principal; identity policies alone never let anyone assume a role.

A request for such a resource without a resource policy is an implicit deny ("no resource-based
policy allows …", "no role trust policy allows …").
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REQUIRED_RESOURCE_POLICIES", "RequiredResourcePolicy", "required_resource_policy"]


@dataclass(frozen=True, slots=True)
class RequiredResourcePolicy:
    """Actions of service ``action_service`` on resources ``arn:<p>:<arn_service>:…:<prefix>…``
    need an Allow from the resource's own policy. ``trust``: the policy is a role trust policy
    (AccessDenied then says "role trust policy")."""

    action_service: str
    arn_service: str
    resource_prefix: str
    trust: bool = False


REQUIRED_RESOURCE_POLICIES: tuple[RequiredResourcePolicy, ...] = (
    RequiredResourcePolicy("kms", "kms", "key/"),
    RequiredResourcePolicy("sts", "iam", "role/", trust=True),
)

_ACTION_SERVICES = frozenset(rule.action_service for rule in REQUIRED_RESOURCE_POLICIES)


def required_resource_policy(action: str, resource: str) -> RequiredResourcePolicy | None:
    """The rule that makes ``resource``'s own policy decisive for ``action``, if any (service
    prefixes compare case-insensitively, as in policies; the resource part as written)."""
    service = action.partition(":")[0].lower()
    if service not in _ACTION_SERVICES:
        return None
    fields = resource.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn":
        return None
    for rule in REQUIRED_RESOURCE_POLICIES:
        if (
            service == rule.action_service
            and fields[2] == rule.arn_service
            and fields[5].startswith(rule.resource_prefix)
        ):
            return rule
    return None

"""What an instance's metadata service answers (EC2 User Guide, "Instance metadata categories" and
"Instance identity documents").

Paths are EC2's: ``/latest/meta-data/`` and its categories, ``/latest/dynamic/instance-identity/
document``. A listing is text/plain, one entry a line with no newline after the last, a
sub-directory with a trailing ``/``; ``iam/`` is listed only while the instance has an instance
profile. The role's credentials come from ``services/imds/credentials.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monban.services.iam.instance_profiles import roles_of
from monban.services.sts.issue import RoleRecord, find_role
from monban.store.instances import InstanceRecord, get_instance
from monban.store.models import InstanceProfile


@dataclass(frozen=True, slots=True)
class ProfileFacts:
    """The instance's profile (by its unique id, as EC2 keeps it) and its role, if any."""

    arn: str
    profile_id: str
    role: RoleRecord | None


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    record: InstanceRecord
    profile: ProfileFacts | None


def read_facts(session: Session, instance_id: str) -> InstanceFacts | None:
    """The instance as it is now, with its profile and role (None when it no longer exists). A
    profile deleted since it was associated is no profile: the instance has no ``iam/``."""
    record = get_instance(session, instance_id)
    if record is None:
        return None
    if record.profile_id is None:
        return InstanceFacts(record, None)
    profile = session.get(InstanceProfile, record.profile_id)
    if profile is None:  # deleted since (a profile made again under its name is another one)
        return InstanceFacts(record, None)
    roles = roles_of(session, profile)
    role = find_role(session, roles[0].arn) if roles else None
    return InstanceFacts(record, ProfileFacts(profile.arn, profile.id, role))


def _mac(instance_id: str) -> str:
    """A locally administered unicast MAC address derived from the instance id (EC2's start 0x0e
    or 0x12…; stable for the instance's life)."""
    digest = hashlib.sha256(instance_id.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x0E, *digest[:5]))


def hostname(record: InstanceRecord) -> str:
    """EC2's IP-based name: ``ip-10-0-0-10.ec2.internal`` in us-east-1, else
    ``ip-….<region>.compute.internal``."""
    name = "ip-" + record.private_ip.replace(".", "-")
    domain = "ec2.internal" if record.region == "us-east-1" else f"{record.region}.compute.internal"
    return f"{name}.{domain}"


def identity_document(record: InstanceRecord) -> str:
    """``/latest/dynamic/instance-identity/document``: EC2's fields, in its order and layout."""
    document = {
        "accountId": record.account_id,
        "architecture": "x86_64",
        "availabilityZone": record.availability_zone,
        "billingProducts": None,
        "devpayProductCodes": None,
        "marketplaceProductCodes": None,
        "imageId": record.image_id,
        "instanceId": record.instance_id,
        "instanceType": record.instance_type,
        "kernelId": None,
        "pendingTime": record.launch_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "privateIp": record.private_ip,
        "ramdiskId": None,
        "region": record.region,
        "version": "2017-09-30",
    }
    return json.dumps(document, indent=2, separators=(",", " : "))


def _listing(*entries: str) -> str:
    return "\n".join(entries)


# the leaves of meta-data/ that do not depend on the profile
_LEAVES: dict[str, Callable[[InstanceRecord], str]] = {
    "ami-id": lambda r: r.image_id,
    "hostname": hostname,
    "instance-id": lambda r: r.instance_id,
    "instance-type": lambda r: r.instance_type,
    "local-hostname": hostname,
    "local-ipv4": lambda r: r.private_ip,
    "mac": lambda r: _mac(r.instance_id),
    "placement/availability-zone": lambda r: r.availability_zone,
    "placement/region": lambda r: r.region,
}


def meta_data_listing(facts: InstanceFacts) -> str:
    entries = ["ami-id", "hostname"]
    if facts.profile is not None:
        entries.append("iam/")
    entries += ["instance-id", "instance-type", "local-hostname", "local-ipv4", "mac", "placement/"]
    return _listing(*entries)


def directory_key(path: str) -> str | None:
    """The path without the one trailing slash a directory may be asked with; None for a path
    that names nothing (an empty segment)."""
    key = path[:-1] if path.endswith("/") and path != "/" else path
    if not key.startswith("/") or "//" in path:
        return None
    return key


def static_answer(facts: InstanceFacts, path: str) -> str | None:
    """Every answer but the role's credentials and ``iam/info``; None: no such resource (404).
    ``path`` is the request's path; a directory answers with or without its trailing slash."""
    record = facts.record
    key = directory_key(path)
    if key is None:
        return None
    if key == "/":
        return "latest"
    if key == "/latest":
        return _listing("dynamic", "meta-data")
    if key == "/latest/meta-data":
        return meta_data_listing(facts)
    if key == "/latest/meta-data/placement":
        return _listing("availability-zone", "region")
    if key == "/latest/meta-data/iam" and facts.profile is not None:
        return _listing("info", "security-credentials/")
    if key == "/latest/dynamic":
        return "instance-identity/"
    if key == "/latest/dynamic/instance-identity":
        return "document"
    if key == "/latest/dynamic/instance-identity/document":
        return identity_document(record)
    if path.endswith("/"):
        return None  # a leaf is not a directory
    leaf = (
        _LEAVES.get(key.removeprefix("/latest/meta-data/")) if key.startswith("/latest/meta-data/") else None
    )
    return None if leaf is None else leaf(record)

